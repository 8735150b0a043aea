/**
 * Rewrap as a pump session, so the CLI rewraps a message of any size in constant memory:
 * buffer the head (bounded by the format limits), replace its recipients section, then copy
 * every frame through unchanged, checking at the end that the body can be complete.
 * @module
 */
import type { Emit } from '../../crypto/stream-codec.js'
import { splitBody } from '../../crypto/frames.js'
import { TruncatedError } from '../../errors.js'
import type { MessageHead } from '../../format/message.js'
import { HeadReader } from '../../format/head-reader.js'
import type { EnvelopeSettings } from '../../materials.js'
import type { RewrapParams } from '../../rewrap.js'
import { rewrapHeadDetailed } from '../../rewrap.js'
import type { PumpSession } from '../pump.js'

export class RewrapSession implements PumpSession {
  readonly #settings: EnvelopeSettings
  readonly #params: RewrapParams
  readonly #headReader: HeadReader
  #head: MessageHead | undefined
  #bodyBytes = 0
  /** Whether the message was authenticated (data-key path) or re-wrapped inside KMS only; undefined before the head. */
  verified: boolean | undefined

  constructor(settings: EnvelopeSettings, params: RewrapParams) {
    this.#settings = settings
    this.#params = params
    this.#headReader = new HeadReader(settings)
  }

  async push(chunk: Uint8Array, emit: Emit): Promise<void> {
    if (this.#head !== undefined) {
      this.#bodyBytes += chunk.length
      emit(chunk.slice()) // the reader reuses its buffers, and the pump frees what it writes
      return
    }
    const read = this.#headReader.push(chunk)
    if (read === undefined) return
    this.#head = read.head
    const rewrapped = await rewrapHeadDetailed(this.#settings, read.head, this.#params)
    this.verified = rewrapped.verified
    emit(rewrapped.message)
    const body = read.bytes.slice(read.head.bodyOffset) // a copy: the bytes may be the reader's chunk
    this.#bodyBytes = body.length
    if (body.length > 0) emit(body)
  }

  finish(): void {
    if (this.#head === undefined) throw new TruncatedError(`the input ended after ${this.#headReader.buffered} bytes, inside the message header: it was cut short`)
    if (splitBody(this.#bodyBytes, this.#head.header.frameSize) === undefined) {
      throw new TruncatedError('the message ends before its final frame: it was cut short')
    }
  }
}
