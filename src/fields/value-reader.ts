/**
 * Reads a field value's CBOR (docs/FORMAT.md §13.1) in one bounded, linear pass that checks
 * the profile and builds the value together.
 *
 * cbor-x is not used on this path. Its decoder knows every tag in its (process-global) table,
 * and some are costly out of all proportion to their size: value-sharing tags 28/29 build a
 * DAG that a tree walk then visits 2^depth times (183 bytes at depth 30 ran V8 out of memory).
 * A field value is authenticated, but a writer controls its content and never the reader's
 * availability. Message sections get the same protection from format/cbor-profile.ts, whose
 * subset has no tags, floats or simple values; field values need those and also per-type
 * rules (integers are bigints whatever their head, dates, bignums, duplicate keys, UTF-8), so
 * a checker that also decodes is simpler than a checker followed by a second parser.
 *
 * Accepted: integers (any definite head) as bigint, bignums (tags 2/3) as bigint, byte strings,
 * text strings (valid UTF-8), arrays, maps with distinct text keys, tag 1 over an integer or a
 * float64 (epoch seconds) as Date, false/true/null, float64. Everything else is refused: other
 * tags, other simple values, float16/32, undefined, indefinite lengths, reserved heads.
 * @module
 */
import { FormatError, LimitError } from '../errors.js'

/** Deepest nesting of arrays, maps, dates and byte strings inside one value, as the writer enforces. */
export const MAX_VALUE_DEPTH = 64
/** Most CBOR data items in one value (the writer refuses more): bounds work and memory per field. */
export const MAX_VALUE_ITEMS = 1 << 20

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class Reader {
  at = 0
  items = 0
  constructor(readonly bytes: Uint8Array) {}

  fail(why: string, at: number): FormatError {
    return new FormatError(`the field value is not in the CBOR profile of §13: ${why} at byte ${at}`)
  }

  /** Reads an item head: major type and argument (a bigint only for 8-byte arguments, else a number). */
  head(): { major: number; info: number; arg: number; big: bigint | undefined; start: number } {
    const start = this.at
    if (++this.items > MAX_VALUE_ITEMS) throw new LimitError(`the field value holds more than ${MAX_VALUE_ITEMS} CBOR data items (at byte ${start})`)
    const { bytes } = this
    if (this.at >= bytes.length) throw this.fail('the value ends inside a data item', start)
    const initial = bytes[this.at++]!
    const major = initial >> 5
    const info = initial & 0x1f
    if (info < 24) return { major, info, arg: info, big: undefined, start }
    if (info > 27) throw this.fail(info === 31 ? 'an indefinite length or break code (not allowed)' : 'a reserved head', start)
    const size = 1 << (info - 24)
    if (this.at + size > bytes.length) throw this.fail('the value ends inside a head', start)
    let arg = 0
    let big: bigint | undefined
    if (size === 8) {
      big = 0n
      for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(bytes[this.at++]!)
      arg = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : Number.MAX_SAFE_INTEGER + 1
    } else {
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[this.at++]!
    }
    return { major, info, arg, big, start }
  }

  /** A length argument, checked against the bytes left (each element takes at least one byte). */
  length(arg: number, perItem: number, start: number): number {
    const left = this.bytes.length - this.at
    if (arg * perItem > left) throw this.fail(`a length of ${arg} with ${left} bytes left`, start)
    return arg
  }

  value(depth: number): unknown {
    const { major, info, arg, big, start } = this.head()
    switch (major) {
      case 0:
        return big ?? BigInt(arg)
      case 1:
        return -1n - (big ?? BigInt(arg))
      case 2: {
        if (depth >= MAX_VALUE_DEPTH) throw this.fail(`nesting deeper than ${MAX_VALUE_DEPTH} levels`, start)
        const end = this.at + this.length(arg, 1, start)
        const bytes = new Uint8Array(this.bytes.subarray(this.at, end)) // own copy, never a Buffer
        this.at = end
        return bytes
      }
      case 3:
        return this.text(arg, start)
      case 4: {
        if (depth >= MAX_VALUE_DEPTH) throw this.fail(`nesting deeper than ${MAX_VALUE_DEPTH} levels`, start)
        const count = this.length(arg, 1, start)
        const out = new Array<unknown>(count)
        for (let i = 0; i < count; i++) out[i] = this.value(depth + 1)
        return out
      }
      case 5: {
        if (depth >= MAX_VALUE_DEPTH) throw this.fail(`nesting deeper than ${MAX_VALUE_DEPTH} levels`, start)
        const count = this.length(arg, 2, start)
        const out: Record<string, unknown> = {}
        for (let i = 0; i < count; i++) {
          const key = this.head()
          if (key.major !== 3) throw this.fail('a map key that is not a text string', key.start)
          const name = this.text(key.arg, key.start)
          if (Object.hasOwn(out, name)) throw this.fail(`the map key ${JSON.stringify(name)} twice`, key.start)
          // defineProperty, not assignment: a "__proto__" key must stay an own key.
          Object.defineProperty(out, name, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true })
        }
        return out
      }
      case 6:
        return this.tagged(arg, String(big ?? arg), depth, start)
      default:
        if (info === 20) return false
        if (info === 21) return true
        if (info === 22) return null
        if (info === 27) return this.float64(start)
        throw this.fail(info === 25 || info === 26 ? 'a float16 or float32 (numbers are float64)' : 'a simple value other than false, true and null', start)
    }
  }

  text(arg: number, start: number): string {
    const end = this.at + this.length(arg, 1, start)
    try {
      return utf8.decode(this.bytes.subarray(this.at, end))
    } catch {
      throw this.fail('a text string that is not valid UTF-8', start)
    } finally {
      this.at = end
    }
  }

  float64(start: number): number {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + start + 1, 8).getFloat64(0)
  }

  tagged(tag: number, label: string, depth: number, start: number): unknown {
    if (tag === 1) {
      if (depth >= MAX_VALUE_DEPTH) throw this.fail(`nesting deeper than ${MAX_VALUE_DEPTH} levels`, start)
      const inner = this.head()
      let ms: number
      if (inner.major === 0 || inner.major === 1) {
        const seconds = inner.big ?? BigInt(inner.arg)
        ms = Number((inner.major === 0 ? seconds : -1n - seconds) * 1000n)
      } else if (inner.major === 7 && inner.info === 27) {
        ms = Math.round(this.float64(inner.start) * 1000)
      } else {
        throw this.fail('a date (tag 1) over something other than an integer or a float64', inner.start)
      }
      const date = new Date(ms)
      if (Number.isNaN(date.getTime())) throw this.fail('a date (tag 1) outside the range of a JavaScript Date', start)
      return date
    }
    if (tag === 2 || tag === 3) {
      const inner = this.head()
      if (inner.major !== 2) throw this.fail('a bignum (tag 2 or 3) over something other than a byte string', inner.start)
      const end = this.at + this.length(inner.arg, 1, inner.start)
      let hex = ''
      for (let i = this.at; i < end; i++) hex += this.bytes[i]! < 16 ? `0${this.bytes[i]!.toString(16)}` : this.bytes[i]!.toString(16)
      this.at = end
      const n = hex === '' ? 0n : BigInt(`0x${hex}`) // hex parsing is linear in the length
      return tag === 2 ? n : -1n - n
    }
    throw this.fail(`tag ${label} (only tags 1, 2 and 3 are allowed)`, start)
  }
}

/**
 * Decodes one field value that must fill `bytes`. Throws a FormatError (or a LimitError past
 * {@link MAX_VALUE_ITEMS}) naming what is wrong; the caller turns it into ERR_FIELD with the path.
 */
export function readValue(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes)
  const value = reader.value(0)
  if (reader.at !== bytes.length) throw reader.fail(`${bytes.length - reader.at} bytes after the value`, reader.at)
  return value
}
