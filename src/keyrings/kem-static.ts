/**
 * `#public-key-kems` where modules cannot be loaded synchronously on demand (browsers, bundles,
 * and every runtime that does not resolve the `node` condition): the X25519 and X-Wing code
 * (and bech32, for age key strings) is imported statically, as a bundler would include it anyway, so every sync method works at once.
 * The `node` condition gets src/keyrings/kem-lazy.ts, which loads them on first use instead.
 * @module
 */
import { x25519 } from '@noble/curves/ed25519.js'
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js'
import { bech32 } from '@scure/base'

/** The X25519 functions the public-key keyrings use. */
export interface X25519Kem {
  getPublicKey(secretKey: Uint8Array): Uint8Array
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array
}

/** The X-Wing (ML-KEM-768 + X25519) functions the post-quantum keyrings use. */
export interface XWingKem {
  getPublicKey(seed: Uint8Array): Uint8Array
  encapsulate(publicKey: Uint8Array, random: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array }
  decapsulate(cipherText: Uint8Array, seed: Uint8Array): Uint8Array
}

/** X25519, for a synchronous caller (a constructor deriving a public key). */
export function x25519Sync(): X25519Kem {
  return x25519
}

/** X25519, for an asynchronous caller (a wrap or unwrap). */
export async function loadX25519(): Promise<X25519Kem> {
  return x25519
}

/** X-Wing, for a synchronous caller. */
export function xwingSync(): XWingKem {
  return xwing
}

/** X-Wing, for an asynchronous caller. */
export async function loadXWing(): Promise<XWingKem> {
  return xwing
}

/** The bech32 codec of age key strings (always used synchronously). */
export type Bech32 = typeof bech32

/** bech32, for age key strings. */
export function bech32Sync(): Bech32 {
  return bech32
}
