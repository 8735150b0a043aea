/**
 * The message body (data-format/message-body.md, message-body-aad.md) and footer: frames
 * are opened one at a time, each only after its tag verifies; the last piece of plaintext
 * (the final frame, or a non-framed body) is handed out only once the footer signature (for
 * signed suites) has verified and the input has ended, so a caller never receives the end
 * of a message that is then found forged or followed by stray bytes.
 * @module
 */
import { AuthenticationError, FormatError, LimitError } from '../errors.js'
import { throwIfAborted } from '../validate.js'
import { aesGcmOpen, aesGcmOpenInto } from './crypto.js'
import type { SignatureVerifier } from './signature.js'
import type { ByteSource } from './source.js'
import { IV_BYTES, TAG_BYTES } from './suites.js'

const FRAME = 'AWSKMSEncryptionClient Frame'
const FINAL = 'AWSKMSEncryptionClient Final Frame'
const SINGLE = 'AWSKMSEncryptionClient Single Block'
const END = 0xffffffff
/** The non-framed content limit of the format (GCM's 2^32 blocks less the counter's first). */
const MAX_NON_FRAMED = 2 ** 36 - 32

/** @internal What the body needs from the opened header. */
export interface BodyParams {
  readonly messageId: Uint8Array
  readonly framed: boolean
  readonly frameLength: number
  readonly key: Uint8Array
  readonly verifier: SignatureVerifier | undefined
  /** Largest frame or non-framed body a stream may make us hold; undefined for whole-buffer input. */
  readonly maxBodySize: number | undefined
  readonly signal: AbortSignal | undefined
}

/** The body AAD with room for the sequence number and length, which change per frame. */
class Aad {
  readonly bytes: Uint8Array
  readonly #view: DataView
  readonly #at: number
  constructor(messageId: Uint8Array, content: string) {
    this.#at = messageId.length + content.length
    this.bytes = new Uint8Array(this.#at + 12)
    this.bytes.set(messageId)
    for (let i = 0; i < content.length; i++) this.bytes[messageId.length + i] = content.charCodeAt(i)
    this.#view = new DataView(this.bytes.buffer)
  }
  set(seq: number, length: number): Uint8Array {
    this.#view.setUint32(this.#at, seq)
    this.#view.setUint32(this.#at + 4, Math.floor(length / 2 ** 32))
    this.#view.setUint32(this.#at + 8, length >>> 0)
    return this.bytes
  }
}

const be32 = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0

/** @internal Reads and opens the body, piece by piece. */
export class BodyReader {
  readonly #src: ByteSource
  readonly #p: BodyParams
  readonly #frameAad: Aad
  readonly #finalAad: Aad
  #seq = 1
  #done = false
  /** When set, plaintext is written here (whole-buffer decrypt) instead of fresh chunks. */
  readonly #out: Uint8Array | undefined
  /** Bytes written to `out`. */
  written = 0

  constructor(src: ByteSource, params: BodyParams, out?: Uint8Array) {
    this.#src = src
    this.#p = params
    this.#out = out
    this.#frameAad = new Aad(params.messageId, params.framed ? FRAME : SINGLE)
    this.#finalAad = new Aad(params.messageId, FINAL)
    if (params.framed && params.maxBodySize !== undefined && params.frameLength > params.maxBodySize) {
      throw new LimitError(
        `the AWS Encryption SDK message has ${params.frameLength}-byte frames, more than maxBodySize (${params.maxBodySize}) allows a stream to hold`,
      )
    }
  }

  /** The whole-buffer output: the plaintext written so far. */
  output(): Uint8Array {
    return this.#out === undefined ? new Uint8Array(0) : this.#out.subarray(0, this.written)
  }

  /** Zeroes the whole-buffer output after a failure: it may hold authenticated frames of a message that then failed. */
  wipeOutput(): void {
    this.#out?.fill(0)
  }

  /** The next authenticated piece of plaintext, or undefined once the message has ended cleanly. */
  async next(): Promise<Uint8Array | undefined> {
    if (this.#done) return undefined
    throwIfAborted(this.#p.signal)
    if (!this.#p.framed) return this.#last(await this.#nonFramed())
    const marker = be32(await this.#src.read(4, 'frame sequence number'))
    if (marker !== END) return this.#regular(marker)
    const seq = be32(await this.#src.read(4, 'final frame sequence number'))
    this.#checkSeq(seq)
    const iv = await this.#src.read(IV_BYTES, 'final frame IV')
    const length = be32(await this.#src.read(4, 'final frame length'))
    if (length > this.#p.frameLength) {
      throw new FormatError(`the final frame of the AWS Encryption SDK message holds ${length} bytes, more than its frame length ${this.#p.frameLength}`)
    }
    const sealed = await this.#src.read(length + TAG_BYTES, 'final frame')
    return this.#last(this.#open(iv, sealed, this.#finalAad.set(seq, length), length))
  }

  #checkSeq(seq: number): void {
    if (seq !== this.#seq) {
      throw new AuthenticationError(
        `frame ${this.#seq} of the AWS Encryption SDK message carries sequence number ${seq}: frames were removed, reordered or repeated`,
      )
    }
  }

  async #regular(seq: number): Promise<Uint8Array> {
    this.#checkSeq(seq)
    if (seq === END - 1) throw new FormatError('the AWS Encryption SDK message has more frames than the format allows (2^32 - 1)')
    const iv = await this.#src.read(IV_BYTES, 'frame IV')
    const length = this.#p.frameLength
    const sealed = await this.#src.read(length + TAG_BYTES, `frame ${seq}`)
    const plain = this.#open(iv, sealed, this.#frameAad.set(seq, length), length)
    this.#seq++
    return plain
  }

  async #nonFramed(): Promise<Uint8Array> {
    const iv = await this.#src.read(IV_BYTES, 'body IV')
    const lengthBytes = await this.#src.read(8, 'body length')
    const length = be32(lengthBytes) * 2 ** 32 + be32(lengthBytes.subarray(4))
    if (length > MAX_NON_FRAMED)
      throw new FormatError(`the non-framed body of the AWS Encryption SDK message declares ${length} bytes, more than the format allows`)
    if (this.#p.maxBodySize !== undefined && length > this.#p.maxBodySize) {
      throw new LimitError(
        `the non-framed body of the AWS Encryption SDK message is ${length} bytes, more than maxBodySize (${this.#p.maxBodySize}) allows a stream to hold`,
      )
    }
    const sealed = await this.#src.read(length + TAG_BYTES, 'body')
    return this.#open(iv, sealed, this.#frameAad.set(1, length), length)
  }

  #open(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array, length: number): Uint8Array {
    const out = this.#out
    if (out !== undefined) {
      if (this.written + length > out.length || !aesGcmOpenInto(this.#p.key, iv, sealed, aad, out, this.written)) throw new AuthenticationError()
      const view = out.subarray(this.written, this.written + length)
      this.written += length
      return view
    }
    const plain = aesGcmOpen(this.#p.key, iv, sealed, aad)
    if (plain === undefined) throw new AuthenticationError()
    return plain
  }

  /** Holds the last plaintext until the footer verifies and nothing follows. */
  async #last(plain: Uint8Array): Promise<Uint8Array> {
    this.#done = true
    const verifier = this.#p.verifier
    if (verifier !== undefined) {
      this.#src.onConsume = undefined // the footer is not part of what is signed
      const length = (await this.#src.read(2, 'signature length')).reduce((a, b) => a * 256 + b, 0)
      const der = await this.#src.read(length, 'signature')
      if (!verifier.verify(der)) {
        plain.fill(0)
        throw new AuthenticationError(
          'the signature of the AWS Encryption SDK message does not verify: the message was altered or not written by the holder of its signing key',
        )
      }
    }
    if (!(await this.#src.atEnd())) {
      plain.fill(0)
      throw new FormatError('bytes follow the end of the AWS Encryption SDK message: the input holds more than one message or was appended to')
    }
    return plain
  }
}
