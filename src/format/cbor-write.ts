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

  /**
   * Writes into `target` (a buffer, or the size of a new one), starting at `start`; it must
   * hold everything written ({@link textLength} and {@link textMapLength} give exact sizes).
   */
  constructor(target: Uint8Array | number, start = 0) {
    this.bytes = typeof target === 'number' ? new Uint8Array(target) : target
    this.#at = start
  }

  /** Where the next item goes. */
  get at(): number {
    return this.#at
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

  /** A text string: its UTF-8 length is counted first, so the head is written in place and nothing moves. */
  text(value: string): void {
    if (value.length < 24 && isAscii(value)) {
      this.bytes[this.#at++] = 0x60 | value.length
      for (let i = 0; i < value.length; i++) this.bytes[this.#at++] = value.charCodeAt(i)
      return
    }
    const length = utf8Length(value)
    this.head(3, length)
    this.#at += utf8.encodeInto(value, this.bytes.subarray(this.#at, this.#at + length)).written
  }

  /** A map of text to text, in the map's own order (a canonical context is already in canonical order). */
  textMap(map: ReadonlyMap<string, string>): void {
    this.head(5, map.size)
    for (const [k, v] of map) {
      this.text(k)
      this.text(v)
    }
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

/**
 * Bytes of the UTF-8 form TextEncoder gives `value`: a surrogate pair is 4 bytes, a lone
 * surrogate 3 (it becomes U+FFFD), so the count always matches what `text` writes.
 */
export function utf8Length(value: string): number {
  let n = value.length
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2 // 2 units, 4 bytes
      i++
    } else n += 2
  }
  return n
}

/** Bytes `value` takes as a text string item. */
export function textLength(value: string): number {
  const n = utf8Length(value)
  return headLength(n) + n
}

/** Bytes `map` takes as a map of text strings. */
export function textMapLength(map: ReadonlyMap<string, string>): number {
  let n = headLength(map.size)
  for (const [k, v] of map) n += textLength(k) + textLength(v)
  return n
}
