/**
 * Framing of the body (docs/FORMAT.md §6). Frame i (from 0) is AES-256-GCM under the content key:
 *
 *   nonce(i) = 0x00000000 || u64(i)
 *   aad(i)   = message id || u64(i) || final (0x01 for the last frame, else 0x00)
 *
 * Every frame but the last holds exactly frame-size plaintext bytes; the last holds
 * 0..frame-size-1 (an empty last frame ends a message whose length is a multiple of the frame
 * size). So a reader always knows where the last frame is, and the AAD makes dropping it,
 * cutting the body inside a frame, swapping frames or appending bytes fail authentication.
 *
 * The header tag is the GCM tag of the empty plaintext under the content key with the
 * all-ones nonce, which no frame can use, and the preamble and header as AAD.
 * @module
 */

import { MESSAGE_ID_BYTES, NONCE_BYTES } from '../format/constants.js'
import type { CryptoBackend } from './backend.js'

const HEADER_NONCE = new Uint8Array(NONCE_BYTES).fill(0xff)
const EMPTY = new Uint8Array(0)

/** Big-endian u64 of a safe integer, byte by byte (this runs once per frame; no DataView, no BigInt). */
function writeU64(out: Uint8Array, at: number, value: number): void {
  let high = Math.floor(value / 2 ** 32)
  let low = value >>> 0
  for (let i = 7; i >= 4; i--) {
    out[at + i] = low & 0xff
    low >>>= 8
  }
  for (let i = 3; i >= 0; i--) {
    out[at + i] = high & 0xff
    high >>>= 8
  }
}

export function frameNonce(index: number): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES)
  writeU64(nonce, 4, index)
  return nonce
}

export function frameAad(messageId: Uint8Array, index: number, final: boolean): Uint8Array {
  const aad = new Uint8Array(MESSAGE_ID_BYTES + 9)
  aad.set(messageId, 0)
  writeU64(aad, MESSAGE_ID_BYTES, index)
  aad[MESSAGE_ID_BYTES + 8] = final ? 1 : 0
  return aad
}

/** Writes the header tag into `out` at `offset` (the head is written into one buffer). */
export function headerTagInto(backend: CryptoBackend, contentKey: Uint8Array, authenticated: Uint8Array, out: Uint8Array, offset: number): void {
  backend.sealInto(contentKey, HEADER_NONCE, EMPTY, authenticated, out, offset)
}

export function verifyHeaderTag(backend: CryptoBackend, contentKey: Uint8Array, authenticated: Uint8Array, tag: Uint8Array): boolean {
  return backend.openInto(contentKey, HEADER_NONCE, tag, authenticated, EMPTY, 0)
}
