/**
 * Key schedule and key commitment (docs/FORMAT.md §5):
 *
 *   okm        = HKDF-SHA-512(ikm = data key, salt = message id, info = "KMSE v1 key schedule" || u16 suite, L = 64)
 *   content key = okm[0..32]     encrypts the frames and the header tag
 *   commitment  = okm[32..64]    stored in the header, compared in constant time before any decryption
 *
 * A fresh random message id per message gives a fresh content key per message, even when a
 * data key is reused (the cache), so the counter nonces of frames never repeat under one key.
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { COMMITMENT_BYTES, KEY_BYTES, KEY_SCHEDULE_LABEL } from '../format/constants.js'
import type { CryptoBackend } from './backend.js'

const LABEL = utf8ToBytes(KEY_SCHEDULE_LABEL)

const infos = new Map<number, Uint8Array>()

function info(suite: number): Uint8Array {
  let out = infos.get(suite)
  if (out === undefined) {
    out = new Uint8Array(LABEL.length + 2)
    out.set(LABEL, 0)
    out[LABEL.length] = suite >> 8
    out[LABEL.length + 1] = suite & 0xff
    infos.set(suite, out)
  }
  return out
}

/** Keys derived for one message. Call `wipe()` when done. */
export interface MessageKeys {
  readonly contentKey: Uint8Array
  readonly commitment: Uint8Array
  wipe(): void
}

export function deriveMessageKeys(backend: CryptoBackend, dataKey: Uint8Array, messageId: Uint8Array, suite: number): MessageKeys {
  const okm = backend.hkdfSha512(dataKey, messageId, info(suite), KEY_BYTES + COMMITMENT_BYTES)
  return {
    contentKey: okm.subarray(0, KEY_BYTES),
    commitment: okm.subarray(KEY_BYTES),
    wipe: () => okm.fill(0),
  }
}
