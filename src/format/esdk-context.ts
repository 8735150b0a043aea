/**
 * The AWS Encryption SDK's serialization of an encryption context (aws-encryption-sdk-specification,
 * framework/structures.md), in one place for the two parts of this library that must produce its
 * exact bytes: the hierarchical keyring's AAD (FORMAT.md §19, compatible with AWS's keyring) and the
 * ESDK reader (`kms-envelope/esdk`: the raw AES keyring's AAD and a v2 header's required context).
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'

/** Bytewise order of UTF-8 encodings (a shorter key first when one is a prefix), as the SDK sorts keys. */
function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/**
 * `u16(count)`, then `u16(len(key)) || key || u16(len(value)) || value` for each pair sorted by
 * the keys' UTF-8 bytes; an empty context is zero bytes (no count). Throws a RangeError for a key
 * or value over 65,535 UTF-8 bytes (no message header can hold one).
 * @param context - The pairs, in any order.
 */
export function esdkContextBytes(context: ReadonlyMap<string, string>): Uint8Array {
  if (context.size === 0) return new Uint8Array(0)
  const pairs = [...context].map(([k, v]) => [utf8ToBytes(k), utf8ToBytes(v)] as const).sort(([a], [b]) => compareUtf8(a, b))
  let size = 2
  for (const [k, v] of pairs) {
    if (k.length > 0xffff || v.length > 0xffff) throw new RangeError('an encryption context key or value is longer than 65,535 UTF-8 bytes')
    size += 4 + k.length + v.length
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint16(0, pairs.length)
  let at = 2
  for (const [k, v] of pairs) {
    view.setUint16(at, k.length)
    out.set(k, at + 2)
    at += 2 + k.length
    view.setUint16(at, v.length)
    out.set(v, at + 2)
    at += 2 + v.length
  }
  return out
}
