/**
 * NIST SP 800-108r1 key derivation in counter mode with HMAC-SHA-256, the KDF AWS's
 * hierarchical keyring derives its per-wrap keys with (docs/FORMAT.md §19):
 *
 *   K(i) = HMAC-SHA-256(key, u32(i) || label || 0x00 || context || u32(L bits)),  i = 1, 2, …
 *   output = the first L bytes of K(1) || K(2) || …
 *
 * @noble/hashes on every backend: the node:crypto backend has no HMAC-SHA-256, and one HMAC per
 * wrap costs microseconds beside the store and KMS calls the keyring saves.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'

const HASH_BYTES = 32

/**
 * @internal SP 800-108 counter-mode KDF with HMAC-SHA-256.
 * @param key - The key-derivation key (the branch key).
 * @param label - The purpose label (`aws-kms-hierarchy`).
 * @param context - The context (the wrap's 16-byte salt).
 * @param length - Output bytes, 1 to 8,160.
 */
export function kdfCtrHmacSha256(key: Uint8Array, label: Uint8Array, context: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 1 || length > 255 * HASH_BYTES) throw new RangeError(`KDF output length ${length} is out of range`)
  const input = new Uint8Array(4 + label.length + 1 + context.length + 4)
  const view = new DataView(input.buffer)
  input.set(label, 4)
  input.set(context, 4 + label.length + 1)
  view.setUint32(input.length - 4, length * 8)
  const out = new Uint8Array(length)
  for (let i = 1, offset = 0; offset < length; i++, offset += HASH_BYTES) {
    view.setUint32(0, i)
    const block = hmac(sha256, key, input)
    out.set(block.subarray(0, Math.min(HASH_BYTES, length - offset)), offset)
    block.fill(0)
  }
  input.fill(0)
  return out
}
