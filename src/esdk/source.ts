/**
 * Sequential reads of exact byte counts from a whole buffer or a Web ReadableStream, so one
 * parser serves the buffer and the streaming surfaces. Every consumed byte can be observed
 * (`onConsume`): signed suites hash the message as it is read instead of keeping it.
 * @module
 */
import { AbortError, TruncatedError } from '../errors.js'

/** @internal The reader the header and body parsers take. */
export class ByteSource {
  #chunks: Uint8Array[] = []
  #buffered = 0
  #ended: boolean
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  readonly #signal: AbortSignal | undefined
  /** Bytes consumed so far. */
  consumed = 0
  /** Sees every consumed byte, in order. */
  onConsume: ((bytes: Uint8Array) => void) | undefined

  /**
   * @param input - The whole message, or a stream of its chunks.
   * @param signal - Aborts a wait for more bytes.
   */
  constructor(input: Uint8Array | ReadableStream<Uint8Array>, signal?: AbortSignal) {
    this.#signal = signal
    if (input instanceof Uint8Array) {
      if (input.length > 0) this.#chunks.push(input)
      this.#buffered = input.length
      this.#ended = true
      this.#reader = undefined
    } else {
      this.#ended = false
      this.#reader = input.getReader()
    }
  }

  /** Bytes available without waiting. */
  get buffered(): number {
    return this.#buffered
  }

  /** True when every byte of a whole-buffer input is in memory (no waiting ever). */
  get complete(): boolean {
    return this.#ended
  }

  /** Waits until `n` bytes are buffered or the input ends; false when it ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (this.#ended) return false
      if (this.#signal?.aborted) throw new AbortError({ cause: this.#signal.reason })
      const { done, value } = await this.#reader!.read()
      if (done) {
        this.#ended = true
        return this.#buffered >= n
      }
      if (!(value instanceof Uint8Array)) throw new TypeError('the ESDK message stream must carry Uint8Array chunks')
      if (value.length === 0) continue
      this.#chunks.push(value)
      this.#buffered += value.length
    }
    return true
  }

  /** Exactly `n` bytes (a view when they lie in one chunk); ERR_TRUNCATED when the input ends first. */
  async read(n: number, what: string): Promise<Uint8Array> {
    if (this.#buffered < n && !(await this.fill(n))) {
      throw new TruncatedError(`the AWS Encryption SDK message ends inside its ${what}: it was cut short; use the complete message`)
    }
    return this.take(n)
  }

  /** Exactly `n` bytes already buffered (check `buffered` or `fill` first). */
  take(n: number): Uint8Array {
    let out: Uint8Array
    const first = this.#chunks[0]
    if (n === 0) out = new Uint8Array(0)
    else if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let at = 0
      while (at < n) {
        const c = this.#chunks[0]!
        const k = Math.min(c.length, n - at)
        out.set(c.subarray(0, k), at)
        at += k
        if (k === c.length) this.#chunks.shift()
        else this.#chunks[0] = c.subarray(k)
      }
    }
    this.#buffered -= n
    this.consumed += n
    this.onConsume?.(out)
    return out
  }

  /** True when no byte follows (waits for the input to end). */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1))
  }

  /** Stops reading the stream (after a failure, or once the message is done). */
  release(reason?: unknown): void {
    if (this.#reader !== undefined && !this.#ended) {
      this.#ended = true
      this.#reader.cancel(reason).catch(() => {})
    }
    this.#chunks = []
    this.#buffered = 0
  }
}
