/**
 * The text forms of field encryption: a short prefix naming the format version and the kind
 * of string, a dot, then unpadded base64url (RFC 4648 §5). They fit TEXT columns, JSON and URLs.
 *
 *   kmse1r.   a random-mode field          kmse1d.   a deterministic field
 *   kmse1h.   a record's key material      kmse1k.   a wrapped index key
 *   kmse1b.   a blind index
 *
 * Decoding is strict (non-alphabet characters and non-zero trailing bits are refused: see
 * format/base64.ts), so each byte string has exactly one text form and any edit to the text
 * is an edit to the bytes, which authentication then catches.
 * @module
 */
import { base64Codec } from '#base64'

export const PREFIX_RANDOM = 'kmse1r.'
export const PREFIX_DETERMINISTIC = 'kmse1d.'
export const PREFIX_HEAD = 'kmse1h.'
export const PREFIX_INDEX_KEY = 'kmse1k.'
export const PREFIX_BLIND_INDEX = 'kmse1b.'

export function toText(prefix: string, bytes: Uint8Array): string {
  return prefix + base64Codec.encodeUrl(bytes)
}

/**
 * The bytes of `text`, or undefined when it lacks `prefix` or is not canonical unpadded
 * base64url. For reading only: the bytes may share memory with other short-lived buffers.
 */
export function fromText(prefix: string, text: string): Uint8Array | undefined {
  if (!text.startsWith(prefix)) return undefined
  return base64Codec.decodeUrl(text.slice(prefix.length), false)
}

/** Base64url characters needed for `bytes` bytes (no padding). */
export function textLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3)
}
