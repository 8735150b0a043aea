/**
 * Rewrap of a message arriving in chunks, so a message of any size is rewrapped in constant
 * memory: buffer the head (bounded by the format limits), replace its recipients section, then
 * copy every frame through unchanged, checking at the end that the body can be complete. The
 * CLI's rewrap and {@link Envelope.rewrapStream} run on it.
 * @module
 */
import type { Emit } from '../crypto/stream-codec.js'
import { bodyCutShort, bodyFrames, streamHeadCutShort } from '../format/body.js'
import { INDEX_KEY_PURPOSE } from '../format/constants.js'
import { HeadReader } from '../format/head-reader.js'
import type { MessageHead } from '../format/message.js'
import type { RewrapParams } from './rewrap.js'
import { rewrapHeadDetailed } from './rewrap.js'
import type { EnvelopeSettings } from './settings.js'

export class RewrapSession {
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
    // As rewrapMessage: the header stays byte-identical, so index keys move like any message.
    this.#headReader = new HeadReader({ ...settings, reservedContext: INDEX_KEY_PURPOSE })
  }

  async push(chunk: Uint8Array, emit: Emit): Promise<void> {
    if (this.#head !== undefined) {
      this.#bodyBytes += chunk.length
      emit(chunk.slice()) // the reader reuses its buffers, and the caller may free what it writes
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
    if (this.#head === undefined) throw streamHeadCutShort(this.#headReader.buffered, this.#headReader.need)
    if (bodyFrames(this.#bodyBytes, this.#head.header.frameSize) === undefined) throw bodyCutShort()
  }
}
