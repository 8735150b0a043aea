/**
 * CBOR bytes that no deterministic encoder writes, for hostile inputs: heads in any width
 * (non-canonical or declaring lengths far beyond the data), indefinite lengths, duplicate map
 * keys, tags, floats and simple values. Everything else comes from cbor-x itself.
 */
import { Encoder, Tag } from 'cbor-x/encode'
import { concatBytes } from './corpus.js'

/** Major types of RFC 8949 §3.1. */
export const UINT = 0
export const NINT = 1
export const BYTES = 2
export const TEXT = 3
export const ARRAY = 4
export const MAP = 5
export const TAG = 6
export const SIMPLE = 7

/** A head: major type and argument, in the shortest form or a chosen width (1, 2, 4 or 8 bytes after the initial byte). */
export function head(major: number, value: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const v = BigInt(value)
  const w = width ?? (v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8)
  if (w === 0) return Uint8Array.of((major << 5) | Number(v & 0x1fn))
  const out = new Uint8Array(1 + w)
  out[0] = (major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[w]
  for (let i = 0; i < w; i++) out[w - i] = Number((v >> BigInt(8 * i)) & 0xffn)
  return out
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

export function tstr(s: string, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const b = text(s)
  return concatBytes([head(TEXT, b.length, width), b])
}

export function bstr(b: Uint8Array, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  return concatBytes([head(BYTES, b.length, width), b])
}

/** A definite array of already-encoded items; `declared` may lie about the count. */
export function array(items: readonly Uint8Array[], declared: number | bigint = items.length, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  return concatBytes([head(ARRAY, declared, width), ...items])
}

/** A definite map of already-encoded key/value pairs, in the order given (duplicates allowed). */
export function map(
  entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>,
  declared: number | bigint = entries.length,
  width?: 0 | 1 | 2 | 4 | 8,
): Uint8Array {
  return concatBytes([head(MAP, declared, width), ...entries.flat()])
}

export const BREAK = Uint8Array.of(0xff)

/** The indefinite-length form of an array or map: 0x9f/0xbf, the items, a break. */
export function indefinite(major: typeof ARRAY | typeof MAP, items: readonly Uint8Array[]): Uint8Array {
  return concatBytes([Uint8Array.of((major << 5) | 31), ...items, BREAK])
}

/** A byte or text string as indefinite-length chunks. */
export function chunked(major: typeof BYTES | typeof TEXT, chunks: readonly Uint8Array[]): Uint8Array {
  return concatBytes([Uint8Array.of((major << 5) | 31), ...chunks.map((c) => concatBytes([head(major, c.length), c])), BREAK])
}

export function tagged(tag: number | bigint, item: Uint8Array, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  return concatBytes([head(TAG, tag, width), item])
}

/** A float of 2, 4 or 8 bytes (the value is written in the width asked for, even when a shorter one would do). */
export function float(value: number, bytes: 2 | 4 | 8): Uint8Array {
  if (bytes === 8) {
    const out = new Uint8Array(9)
    out[0] = 0xfb
    new DataView(out.buffer).setFloat64(1, value)
    return out
  }
  if (bytes === 4) {
    const out = new Uint8Array(5)
    out[0] = 0xfa
    new DataView(out.buffer).setFloat32(1, value)
    return out
  }
  // Half precision: only exact small integers, which is what a hostile "frame size 64.0" needs.
  const out = Uint8Array.of(0xf9, 0, 0)
  if (value === 0) return out
  const exponent = Math.floor(Math.log2(Math.abs(value)))
  const mantissa = Math.round((Math.abs(value) / 2 ** exponent - 1) * 1024)
  const half = (value < 0 ? 0x8000 : 0) | ((exponent + 15) << 10) | mantissa
  out[1] = half >> 8
  out[2] = half & 0xff
  return out
}

/** Nested containers `depth` deep around `inner`: arrays of one, maps of one (key 0), or tags. */
export function nested(kind: 'array' | 'map' | 'tag', depth: number, inner: Uint8Array = Uint8Array.of(0)): Uint8Array {
  const open = kind === 'array' ? Uint8Array.of(0x81) : kind === 'map' ? Uint8Array.of(0xa1, 0x00) : Uint8Array.of(0xc6)
  const out = new Uint8Array(open.length * depth + inner.length)
  for (let i = 0; i < depth; i++) out.set(open, i * open.length)
  out.set(inner, open.length * depth)
  return out
}

/** cbor-x with its defaults (records, tags, floats where they fit): a second, looser writer. */
const loose = new Encoder({ useRecords: true, mapsAsObjects: false })
/** cbor-x as the format configures it. */
const strict = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false })

/** Encodes `value` with cbor-x (strict or loose); undefined when cbor-x refuses the value. */
export function cborx(value: unknown, looseEncoder = false): Uint8Array | undefined {
  try {
    return Uint8Array.prototype.slice.call((looseEncoder ? loose : strict).encode(value))
  } catch {
    return undefined
  }
}

export { Tag }
