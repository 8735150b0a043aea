/**
 * The wrap both public-key recipient types share (docs/FORMAT.md §16). A KEM (an ephemeral
 * X25519 share, or X-Wing's encapsulation) gives a fresh shared secret per wrap; the data key
 * is sealed under a one-time key derived from it:
 *
 *   wrap-key = HKDF-SHA-512(ikm = shared secret, salt = share || recipient public key, info = label, L = 32)
 *   aad      = CBOR [label, key-id, recipient public key, context]
 *   wrapped  = share || AES-256-GCM(wrap-key, nonce = 0^96, data key, aad)
 *
 * The shared secret is fresh per wrap (a new ephemeral key or encapsulation every time), so
 * each wrap key seals once, which is what src/crypto/one-time-aead.ts requires.
 * @module
 */
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import { DataKey } from '../crypto/data-key.js'
import { openOnce, sealOnce } from '../crypto/one-time-aead.js'
import { UnwrapError } from '../errors.js'
import { encodeCbor } from '../format/cbor.js'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'

/** Bytes of the sealed data key after the share. */
export const SEALED_BYTES = KEY_BYTES + TAG_BYTES

/** One public-key recipient type's constants. */
export interface PublicKeyScheme {
  /** The recipient type written into messages. */
  readonly type: string
  /** HKDF info and first AAD element. */
  readonly label: string
  /** Length of the share (ephemeral public key or KEM ciphertext) at the start of `wrapped`. */
  readonly shareBytes: number
}

/**
 * The key id of a public key: 16 bytes of SHA-256 over CBOR ["KMSE v1 public key id", type,
 * public key], in hex. Short (a post-quantum key is 1216 bytes) and the same for every
 * message to that key, so an identity finds its entry without trying the others.
 */
export function publicKeyId(type: string, publicKey: Uint8Array): string {
  return bytesToHex(backend.sha256(encodeCbor(['KMSE v1 public key id', type, publicKey])).subarray(0, 16))
}

function wrapAad(scheme: PublicKeyScheme, keyId: string, publicKey: Uint8Array, context: CanonicalContext): Uint8Array {
  return encodeCbor([scheme.label, keyId, publicKey, context])
}

function wrapKey(using: CryptoBackend, scheme: PublicKeyScheme, sharedSecret: Uint8Array, share: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const salt = new Uint8Array(share.length + publicKey.length)
  salt.set(share, 0)
  salt.set(publicKey, share.length)
  return using.hkdfSha512(sharedSecret, salt, utf8ToBytes(scheme.label), KEY_BYTES)
}

/** Intermediate values, for test vectors only. */
export interface WrapTrace {
  readonly wrapKey: Uint8Array
}

/**
 * Seals `dataKey` for the recipient `publicKey` given a fresh `sharedSecret` and its `share`.
 * The caller wipes `sharedSecret`; the wrap key is wiped here (unless traced for vectors).
 */
export function sealForRecipient(
  scheme: PublicKeyScheme,
  publicKey: Uint8Array,
  keyId: string,
  share: Uint8Array,
  sharedSecret: Uint8Array,
  dataKey: DataKey,
  context: CanonicalContext,
  using: CryptoBackend = backend,
  trace?: (t: WrapTrace) => void,
): Recipient {
  const key = wrapKey(using, scheme, sharedSecret, share, publicKey)
  const wrapped = new Uint8Array(scheme.shareBytes + SEALED_BYTES)
  wrapped.set(share, 0)
  try {
    sealOnce(using, key, dataKey.bytes, wrapAad(scheme, keyId, publicKey, context), wrapped, scheme.shareBytes)
    trace?.({ wrapKey: key.slice() })
  } finally {
    key.fill(0)
  }
  return { type: scheme.type, keyId, wrapped }
}

/** An ERR_UNWRAP for one public-key recipient, saying why. */
export function unwrapFailure(scheme: PublicKeyScheme, keyId: string, why: string): UnwrapError {
  return new UnwrapError([{ type: scheme.type, keyId, code: 'ERR_UNWRAP', message: `${scheme.type} identity ${keyId} could not unwrap the data key: ${why}` }])
}

/** Checks the length of `wrapped` before any KEM work; returns the share and the sealed part. */
export function splitWrapped(scheme: PublicKeyScheme, keyId: string, wrapped: Uint8Array): { share: Uint8Array; sealed: Uint8Array } {
  const expected = scheme.shareBytes + SEALED_BYTES
  if (wrapped.length !== expected) throw unwrapFailure(scheme, keyId, `the wrapped key is ${wrapped.length} bytes, expected ${expected}`)
  return { share: wrapped.subarray(0, scheme.shareBytes), sealed: wrapped.subarray(scheme.shareBytes) }
}

/** Opens the sealed data key with the shared secret the identity recovered (wiped by the caller). */
export function openForIdentity(
  scheme: PublicKeyScheme,
  publicKey: Uint8Array,
  keyId: string,
  share: Uint8Array,
  sealed: Uint8Array,
  sharedSecret: Uint8Array,
  context: CanonicalContext,
): DataKey {
  const key = wrapKey(backend, scheme, sharedSecret, share, publicKey)
  const plain = openOnce(backend, key, sealed, wrapAad(scheme, keyId, publicKey, context))
  key.fill(0)
  if (plain === undefined) {
    throw unwrapFailure(scheme, keyId, 'the message was encrypted to another key with this key id, under another context, or altered')
  }
  const bytes = new Uint8Array(plain) // own the bytes (node:crypto may return a pooled view)
  plain.fill(0)
  return new DataKey(bytes)
}
