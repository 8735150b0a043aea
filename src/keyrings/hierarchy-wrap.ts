/**
 * The bytes of an `aws-kms-hierarchy` recipient (docs/FORMAT.md §19), kept apart from the
 * keyring so the format is readable on its own and the vectors script can seal with fixed
 * randomness. The layout and AAD are those of AWS's hierarchical keyring (aws-encryption-sdk-
 * specification, framework/aws-kms/aws-kms-hierarchical-keyring.md), so `wrapped` is exactly
 * the EDK ciphertext AWS's keyring writes for the same branch key, data key and context (the
 * seal itself is in src/keyrings/hierarchy-seal.ts, loaded by the keyring's first wrap or unwrap):
 *
 *   derived = KDF-CTR-HMAC-SHA-256(branch key, label "aws-kms-hierarchy", context = salt, L = 32)
 *   aad     = "aws-kms-hierarchy" || UTF-8(branch key id) || version (16 bytes) || ESDK context
 *   wrapped = salt (16) || iv (12) || version (16) || AES-256-GCM(derived, iv, data key, aad) (32 + 16)
 * @module
 */
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'

/** The keyring type written into messages (AWS's key provider id). */
export const HIERARCHY_KEYRING_TYPE = 'aws-kms-hierarchy'
/** @internal */
export const SALT_BYTES = 16
/** @internal */
export const IV_BYTES = 12
/** @internal */
export const VERSION_BYTES = 16
/** @internal salt || iv || version || sealed data key || tag: 92 bytes. */
export const HIERARCHY_WRAPPED_BYTES = SALT_BYTES + IV_BYTES + VERSION_BYTES + KEY_BYTES + TAG_BYTES
/** @internal Most UTF-8 bytes of a branch key id: the recipient key-id bound of §4. */
export const MAX_BRANCH_KEY_ID_BYTES = 2048
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** @internal True for a version string in the form AWS's store writes (lowercase UUID). */
export function isBranchKeyVersion(version: unknown): version is string {
  return typeof version === 'string' && UUID.test(version)
}

/** @internal The 16 bytes of a version UUID (its hex digits); the caller checked the form. */
export function versionToBytes(version: string): Uint8Array {
  return hexToBytes(version.replaceAll('-', ''))
}

/** @internal The version UUID string of 16 bytes, lowercase, as AWS's store writes it. */
export function versionFromBytes(bytes: Uint8Array): string {
  const h = bytesToHex(bytes)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** @internal Whether `id` is a branch key id this format can carry: 1-2048 UTF-8 bytes, well formed. */
export function checkBranchKeyId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'it must be a non-empty string'
  if (!id.isWellFormed()) return 'it contains a lone UTF-16 surrogate'
  if (utf8ToBytes(id).length > MAX_BRANCH_KEY_ID_BYTES) return `it is longer than ${MAX_BRANCH_KEY_ID_BYTES} UTF-8 bytes`
  return undefined
}

/** @internal The parts of a wrapped key; undefined when it is not 92 bytes. */
export function splitWrapped(wrapped: Uint8Array): { salt: Uint8Array; iv: Uint8Array; version: Uint8Array; sealed: Uint8Array } | undefined {
  if (wrapped.length !== HIERARCHY_WRAPPED_BYTES) return undefined
  return {
    salt: wrapped.subarray(0, SALT_BYTES),
    iv: wrapped.subarray(SALT_BYTES, SALT_BYTES + IV_BYTES),
    version: wrapped.subarray(SALT_BYTES + IV_BYTES, SALT_BYTES + IV_BYTES + VERSION_BYTES),
    sealed: wrapped.subarray(SALT_BYTES + IV_BYTES + VERSION_BYTES),
  }
}
