/**
 * The one CBOR configuration the format uses: plain RFC 8949 data items only (no records,
 * no tags on byte strings, maps decoded as `Map`), so output is the deterministic encoding
 * and any other CBOR library can read and write it.
 * @module
 */
import { Encoder } from 'cbor-x/encode' // not 'cbor-x': its node entry loads a native string extractor; the JS path is the same on every runtime
import { FormatError } from '../errors.js'
import type { ProfileScan } from './cbor-profile.js'
import { checkCborProfile } from './cbor-profile.js'

const codec = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
})

/** Deterministic encoding of `value` (cbor-x writes preferred, shortest-form heads). */
export function encodeCbor(value: unknown): Uint8Array {
  // cbor-x reuses an internal buffer and returns a view of it: copy so the caller owns the bytes.
  return Uint8Array.prototype.slice.call(codec.encode(value))
}

/** One decoded data item, and what the profile pass saw of its bytes. */
export interface Decoded {
  readonly value: unknown
  readonly scan: ProfileScan
}

/**
 * Decodes exactly one data item that must fill `bytes`. Only the format's CBOR subset reaches
 * cbor-x (see cbor-profile.ts); any failure inside cbor-x becomes a FormatError naming `what`.
 */
export function decodeCbor(bytes: Uint8Array, what: string): Decoded {
  const scan = checkCborProfile(bytes, what)
  let value: unknown
  try {
    value = codec.decode(bytes)
  } catch (cause) {
    throw new FormatError(`${what} is not valid CBOR (${cause instanceof Error ? cause.message : String(cause)})`, { cause })
  }
  return { value, scan }
}

/** Data items in a decoded value, counted the way the profile pass counts them in the bytes. */
function countItems(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 1
    for (const item of value) n += countItems(item)
    return n
  }
  if (value instanceof Map) {
    let n = 1
    for (const [k, v] of value) n += countItems(k) + countItems(v)
    return n
  }
  return 1
}

/**
 * True when the bytes behind `decoded` are exactly the deterministic encoding of `value` (the
 * decoded item, or one rebuilt from it with the same shape), rejecting every alternative
 * spelling without re-encoding: in the subset the profile admits, the only alternatives are
 * longer heads and text that is not UTF-8 (both seen by the profile pass) and repeated map
 * keys (which the decoded Map folds into one, so it holds fewer items than the bytes). Map
 * key order is the caller's check (`isCanonicalOrder`). `value` must use numbers for the
 * integers it checked, as the header's decoder does; the test suite holds this equivalent to
 * re-encoding over the vectors, the tamper walk and the fuzz corpus.
 */
export function isCanonical(decoded: Decoded, value: unknown): boolean {
  return decoded.scan.deterministic && countItems(value) === decoded.scan.items
}
