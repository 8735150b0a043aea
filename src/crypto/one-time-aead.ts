/**
 * AES-256-GCM under a key that seals exactly one plaintext, as age's file-key and header
 * primitives do. The only place in the library where a fixed nonce appears.
 *
 * GCM fails catastrophically when one (key, nonce) pair seals two plaintexts: the XOR of the
 * ciphertexts is the XOR of the plaintexts, and the authentication key leaks. A fixed
 * all-zero nonce is safe only because the caller guarantees each key is fresh and used for
 * one seal: every key passed here must be derived from a fresh random salt (local wrap,
 * docs/FORMAT.md §7) and never reused. Opening may be repeated; it seals nothing.
 *
 * Internal: nothing outside src/ may pick the key material for a seal, so no caller can
 * choose a salt and make two seals share a key.
 * @module
 */

import { NONCE_BYTES } from '../format/constants.js'
import type { CryptoBackend } from './backend.js'

const ZERO_NONCE = new Uint8Array(NONCE_BYTES)

/**
 * Seals `plaintext` under `oneTimeKey` into `out` at `offset` (ciphertext || tag).
 * `oneTimeKey` must never have sealed anything before and must never seal again.
 */
export function sealOnce(using: CryptoBackend, oneTimeKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): void {
  using.sealInto(oneTimeKey, ZERO_NONCE, plaintext, aad, out, offset)
}

/** Opens what {@link sealOnce} sealed; undefined when the tag is wrong. */
export function openOnce(using: CryptoBackend, oneTimeKey: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  return using.open(oneTimeKey, ZERO_NONCE, sealed, aad)
}
