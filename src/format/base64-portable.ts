/**
 * Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded) on @scure/base: strict by itself
 * (it refuses other characters, wrong padding and non-zero trailing bits), on every runtime.
 * The default of `#base64`; Node has a native codec (base64-node.ts).
 * @module
 */
import { base64, base64urlnopad } from '@scure/base'
import type { Base64Codec } from './base64.js'

function strict(decode: (text: string) => Uint8Array, text: string): Uint8Array | undefined {
  try {
    return decode(text)
  } catch {
    return undefined
  }
}

export const base64Codec: Base64Codec = {
  encodeUrl: (bytes) => base64urlnopad.encode(bytes),
  decodeUrl: (text) => strict(base64urlnopad.decode, text),
  encode: (bytes) => base64.encode(bytes),
  decode: (text) => strict(base64.decode, text),
}
