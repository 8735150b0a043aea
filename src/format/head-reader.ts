/**
 * Collects the head of a message from chunks of any size (streams, pipes, files). Buffers
 * only up to what `parseHead` says the head needs, which it checks against the limits before
 * saying so, so a hostile length costs nothing and 1-byte chunks cost no per-chunk copies.
 * @module
 */
import type { MessageHead, ReadLimits } from './message.js'
import { parseHead } from './message.js'

/** The parsed head, and every byte seen so far (the head, then the start of the body). */
export interface HeadRead {
  readonly head: MessageHead
  readonly bytes: Uint8Array
}

export class HeadReader {
  readonly #limits: ReadLimits
  /** Bytes so far: `#head[0..#buffered]`, sized to `#need`, the least the head needs by what is known yet. */
  #head = new Uint8Array(0)
  #buffered = 0
  #need = 1

  constructor(limits: ReadLimits = {}) {
    this.#limits = limits
  }

  /** Bytes held while the head is incomplete. */
  get buffered(): number {
    return this.#buffered
  }

  /** The least number of bytes the head needs, by what is known yet. */
  get need(): number {
    return this.#need
  }

  /**
   * Adds `chunk`. Returns the head once complete; `bytes` may be `chunk` itself when nothing
   * was buffered, so a caller that keeps it past the chunk's lifetime must copy it.
   */
  push(chunk: Uint8Array): HeadRead | undefined {
    if (chunk.length === 0) return undefined
    if (this.#buffered + chunk.length < this.#need) {
      this.#head.set(chunk, this.#buffered)
      this.#buffered += chunk.length
      return undefined
    }
    let bytes = chunk
    if (this.#buffered > 0) {
      bytes = new Uint8Array(this.#buffered + chunk.length)
      bytes.set(this.#head.subarray(0, this.#buffered), 0)
      bytes.set(chunk, this.#buffered)
    }
    const parsed = parseHead(bytes, this.#limits)
    if ('need' in parsed) {
      this.#need = parsed.need
      this.#head = new Uint8Array(parsed.need)
      this.#head.set(bytes, 0)
      this.#buffered = bytes.length
      return undefined
    }
    this.#head = new Uint8Array(0)
    this.#buffered = 0
    return { head: parsed.head, bytes }
  }
}
