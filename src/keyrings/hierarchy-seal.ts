/**
 * The seal and open of an `aws-kms-hierarchy` recipient (docs/FORMAT.md §19; the layout is in
 * src/keyrings/hierarchy-wrap.ts). Its own module because it needs the KDF's HMAC-SHA-256
 * (@noble/hashes): the keyring imports it on its first wrap or unwrap, not at package import.
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import type { CryptoBackend } from '../crypto/backend.js'
import { kdfCtrHmacSha256 } from '../crypto/kdf-ctr.js'
import { KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import { esdkContextBytes } from '../format/esdk-context.js'
import { HIERARCHY_KEYRING_TYPE, HIERARCHY_WRAPPED_BYTES, IV_BYTES, SALT_BYTES, splitWrapped, VERSION_BYTES, versionToBytes } from './hierarchy-wrap.js'

const LABEL = utf8ToBytes(HIERARCHY_KEYRING_TYPE)

function aad(branchKeyId: string, version: Uint8Array, context: CanonicalContext): Uint8Array {
  const id = utf8ToBytes(branchKeyId)
  const ctx = esdkContextBytes(context)
  const out = new Uint8Array(LABEL.length + id.length + VERSION_BYTES + ctx.length)
  out.set(LABEL, 0)
  out.set(id, LABEL.length)
  out.set(version, LABEL.length + id.length)
  out.set(ctx, LABEL.length + id.length + VERSION_BYTES)
  return out
}

/**
 * @internal Wraps `dataKey` under a key derived from `branchKey`. `salt` and `iv` must be fresh
 * random bytes (the keyring draws them; only the vectors script passes fixed ones).
 */
export function sealHierarchy(
  using: CryptoBackend,
  branchKey: Uint8Array,
  branchKeyId: string,
  version: string,
  dataKey: Uint8Array,
  context: CanonicalContext,
  salt: Uint8Array,
  iv: Uint8Array,
): Uint8Array {
  const versionBytes = versionToBytes(version)
  const wrapped = new Uint8Array(HIERARCHY_WRAPPED_BYTES)
  wrapped.set(salt, 0)
  wrapped.set(iv, SALT_BYTES)
  wrapped.set(versionBytes, SALT_BYTES + IV_BYTES)
  const derived = kdfCtrHmacSha256(branchKey, LABEL, salt, KEY_BYTES)
  try {
    using.sealInto(derived, iv, dataKey, aad(branchKeyId, versionBytes, context), wrapped, SALT_BYTES + IV_BYTES + VERSION_BYTES)
  } finally {
    derived.fill(0)
  }
  return wrapped
}

/** @internal Opens what {@link sealHierarchy} sealed: a fresh 32-byte array, or undefined when the tag is wrong. */
export function openHierarchy(
  using: CryptoBackend,
  branchKey: Uint8Array,
  branchKeyId: string,
  wrapped: Uint8Array,
  context: CanonicalContext,
): Uint8Array | undefined {
  const parts = splitWrapped(wrapped)
  if (parts === undefined) return undefined
  const derived = kdfCtrHmacSha256(branchKey, LABEL, parts.salt, KEY_BYTES)
  try {
    const out = new Uint8Array(KEY_BYTES)
    return using.openInto(derived, parts.iv, parts.sealed, aad(branchKeyId, parts.version, context), out, 0) ? out : undefined
  } finally {
    derived.fill(0)
  }
}
