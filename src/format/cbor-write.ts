/**
 * A writer for the two message sections in the deterministic encoding (RFC 8949 §4.2.1:
 * shortest-form heads, definite lengths), for the few item kinds they hold: unsigned
 * integers, byte and text strings, arrays and maps of those. The general encoder (cbor.ts)
 * writes the same bytes, and the vectors hold both to them; this one exists because it runs
 * on every encrypt, where sizing the output once and writing it in one pass is what the
 * profile asked for.
 * @module
 */

const utf8 = new TextEncoder()

/** Bytes of the head of an item whose argument is `arg`. */
export function headLength(arg: number): number {
  return arg < 24 ? 1 : arg < 256 ? 2 : arg < 65536 ? 3 : arg < 2 ** 32 ? 5 : 9
}

/** Writes items into an output sized in advance. */
export class CborWriter {
  readonly bytes: Uint8Array
  #at = 0

  /** `capacity` must hold everything written (text counts at most 3 bytes per UTF-16 unit); writing starts at `start`. */
  constructor(capacity: number, start = 0) {
    this.bytes = new Uint8Array(capacity)
    this.#at = start
  }

  head(major: number, arg: number): void {
    const b = this.bytes
    const m = major << 5
    if (arg < 24) b[this.#at++] = m | arg
    else if (arg < 256) {
      b[this.#at++] = m | 24
      b[this.#at++] = arg
    } else if (arg < 65536) {
      b[this.#at++] = m | 25
      b[this.#at++] = arg >> 8
      b[this.#at++] = arg & 0xff
    } else if (arg < 2 ** 32) {
      b[this.#at++] = m | 26
      for (let shift = 24; shift >= 0; shift -= 8) b[this.#at++] = (arg >>> shift) & 0xff
    } else {
      b[this.#at++] = m | 27
      const high = Math.floor(arg / 2 ** 32)
      for (let shift = 24; shift >= 0; shift -= 8) b[this.#at++] = (high >>> shift) & 0xff
      for (let shift = 24; shift >= 0; shift -= 8) b[this.#at++] = (arg >>> shift) & 0xff
    }
  }

  uint(value: number): void {
    this.head(0, value)
  }

  bytesItem(value: Uint8Array): void {
    this.head(2, value.length)
    this.bytes.set(value, this.#at)
    this.#at += value.length
  }

  /** A text string: its UTF-8 is written first, past the longest head it could need, then moved up if the head is shorter. */
  text(value: string): void {
    if (value.length < 24 && isAscii(value)) {
      this.bytes[this.#at++] = 0x60 | value.length
      for (let i = 0; i < value.length; i++) this.bytes[this.#at++] = value.charCodeAt(i)
      return
    }
    const reserve = headLength(3 * value.length)
    const { written } = utf8.encodeInto(value, this.bytes.subarray(this.#at + reserve))
    const start = this.#at
    this.head(3, written)
    if (this.#at !== start + reserve) this.bytes.copyWithin(this.#at, start + reserve, start + reserve + written)
    this.#at += written
  }

  /** What was written (a view of `bytes`). */
  get written(): Uint8Array {
    return this.bytes.subarray(0, this.#at)
  }
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false
  return true
}

/** The most bytes `value` can take as a text string item. */
export function textCapacity(value: string): number {
  return headLength(3 * value.length) + 3 * value.length
}
