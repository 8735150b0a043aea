/**
 * Portable backend: @noble/ciphers AES-GCM and @noble/hashes HKDF, on any runtime with
 * `crypto.getRandomValues` (browsers, Deno, Bun, edge workers). No `node:*` imports.
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js'
import { equalBytes, randomBytes } from '@noble/ciphers/utils.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import type { CryptoBackend } from './backend.js'

function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 16) return undefined
  try {
    // noble verifies the tag before it decrypts: no unauthenticated plaintext exists.
    return gcm(key, nonce, aad).decrypt(sealed)
  } catch {
    return undefined
  }
}

export const backend: CryptoBackend = {
  name: 'portable',
  sealInto(key, nonce, plaintext, aad, out, offset) {
    out.set(gcm(key, nonce, aad).encrypt(plaintext), offset)
  },
  seal(key, nonce, plaintext, aad) {
    return [gcm(key, nonce, aad).encrypt(plaintext)]
  },
  openInto(key, nonce, sealed, aad, out, offset) {
    const body = open(key, nonce, sealed, aad)
    if (body === undefined) return false
    out.set(body, offset)
    return true
  },
  open,
  hkdfSha512(ikm, salt, info, length) {
    return hkdf(sha512, ikm, salt, info, length)
  },
  sha256(data) {
    return sha256(data)
  },
  hmacSha512(key, data) {
    return hmac(sha512, key, data)
  },
  randomBytes(length) {
    return randomBytes(length)
  },
  equal(a, b) {
    return equalBytes(a, b)
  },
  scrypt(password, salt, logN) {
    // maxmem above the 1 KiB · N the derivation needs: the caller has already bounded logN.
    return scryptAsync(password, salt, { N: 2 ** logN, r: 8, p: 1, dkLen: 32, maxmem: 1024 * 2 ** logN + 1024 * 1024 })
  },
}
