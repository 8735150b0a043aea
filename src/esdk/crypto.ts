/**
 * The suite primitives: AES-GCM with 128-, 192- or 256-bit keys, the suites' key derivations
 * and the key commitment check. AES-256 (every committing suite) goes through the library's
 * backend (node:crypto on Node, @noble/ciphers elsewhere); the legacy 128- and 192-bit suites
 * use @noble/ciphers, as the backend only does AES-256.
 * @module
 */

import { gcm } from '@noble/ciphers/aes.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256, sha384 } from '@noble/hashes/sha2.js'
import { backend } from '#crypto-backend'
import { AuthenticationError } from '../errors.js'
import type { EsdkSuite } from './suites.js'

/** @internal AES-GCM open of ciphertext || tag; undefined when the tag is wrong. */
export function aesGcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (key.length === 32) return backend.open(key, iv, sealed, aad)
  try {
    return gcm(key, iv, aad).decrypt(sealed)
  } catch {
    return undefined
  }
}

/** @internal As {@link aesGcmOpen}, into `out` at `offset`; false (nothing written) when the tag is wrong. */
export function aesGcmOpenInto(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): boolean {
  if (key.length === 32) return backend.openInto(key, iv, sealed, aad, out, offset)
  const plain = aesGcmOpen(key, iv, sealed, aad)
  if (plain === undefined) return false
  out.set(plain, offset)
  plain.fill(0)
  return true
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const DERIVE_KEY = ascii('DERIVEKEY')
const COMMIT_KEY = ascii('COMMITKEY')

/**
 * @internal The frame key of a message (algorithm-suites.md, key derivation), after checking
 * the commitment of committing suites in constant time. The caller wipes `dataKey`; the
 * returned key is a new buffer the caller wipes too.
 * @throws {@link AuthenticationError} when the data key does not match the header's commitment.
 */
export function deriveFrameKey(suite: EsdkSuite, dataKey: Uint8Array, messageId: Uint8Array, commitment: Uint8Array | undefined): Uint8Array {
  const id = Uint8Array.of(suite.id >> 8, suite.id & 0xff)
  switch (suite.kdf) {
    case 'identity':
      return new Uint8Array(dataKey)
    case 'hkdf-sha256':
    case 'hkdf-sha384': {
      const info = new Uint8Array(2 + messageId.length)
      info.set(id)
      info.set(messageId, 2)
      return hkdf(suite.kdf === 'hkdf-sha256' ? sha256 : sha384, dataKey, undefined, info, suite.keyBytes)
    }
    case 'hkdf-sha512-commit': {
      const commit = backend.hkdfSha512(dataKey, messageId, COMMIT_KEY, 32)
      const ok = commitment !== undefined && backend.equal(commit, commitment)
      commit.fill(0)
      if (!ok)
        throw new AuthenticationError('the data key does not match the commitment of the AWS Encryption SDK header: the message or its wrapped key was altered')
      const info = new Uint8Array(2 + DERIVE_KEY.length)
      info.set(id)
      info.set(DERIVE_KEY, 2)
      return backend.hkdfSha512(dataKey, messageId, info, 32)
    }
  }
}
