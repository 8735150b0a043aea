/**
 * The one CBOR configuration the format uses: plain RFC 8949 data items only (no records,
 * no tags on byte strings, maps decoded as `Map`), so output is the deterministic encoding
 * and any other CBOR library can read and write it.
 * @module
 */
import { Encoder } from 'cbor-x/encode' // not 'cbor-x': its node entry loads a native string extractor; the JS path is the same on every runtime
import { FormatError } from '../errors.js'
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

/**
 * Decodes exactly one data item that must fill `bytes`. Only the format's CBOR subset reaches
 * cbor-x (see cbor-profile.ts); any failure inside cbor-x becomes a FormatError naming `what`.
 */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  checkCborProfile(bytes, what)
  let value: unknown
  try {
    value = codec.decode(bytes)
  } catch (cause) {
    throw new FormatError(`${what} is not valid CBOR (${cause instanceof Error ? cause.message : String(cause)})`, { cause })
  }
  return value
}

/** True when `bytes` is exactly the deterministic encoding of `value`: rejects every alternative spelling. */
export function isCanonical(bytes: Uint8Array, value: unknown): boolean {
  const again = codec.encode(value)
  if (again.length !== bytes.length) return false
  for (let i = 0; i < again.length; i++) if (again[i] !== bytes[i]) return false
  return true
}
