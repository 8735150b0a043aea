/**
 * A whole message as text: unpadded base64url (RFC 4648 §5) of its bytes, for JSON, URLs,
 * environment variables and TEXT columns. No prefix: the message's own magic says what it is.
 *
 * Decoding is strict (padding, non-alphabet characters and non-zero trailing bits are
 * refused: see base64.ts), so a message has exactly one text form and an edit to the text is
 * an edit to the bytes, which decryption then reports.
 * @module
 */
import { base64Codec } from '#base64'
import { FormatError, invalidArgument } from '../errors.js'

/**
 * A message's text form: unpadded base64url of its bytes (4 characters per 3 bytes).
 *
 * @example
 * ```ts
 * const text = toBase64url(await env.encrypt('s3cret'))        // store in a JSON field
 * const { plaintext } = await env.decrypt(fromBase64url(text))
 * ```
 * @param message - the message bytes, as `encrypt` returned them
 * @throws TypeError `ERR_INVALID_ARGUMENT` when `message` is not a Uint8Array.
 */
export function toBase64url(message: Uint8Array): string {
  if (!(message instanceof Uint8Array)) throw invalidArgument('toBase64url needs the message bytes (a Uint8Array)')
  return base64Codec.encodeUrl(message)
}

/**
 * The message bytes of a text written by {@link toBase64url}.
 *
 * @param text - unpadded base64url (whitespace around it is not accepted either: trim first if
 *   your storage adds it)
 * @throws {@link FormatError} `ERR_FORMAT` when `text` is not canonical unpadded base64url;
 *   TypeError `ERR_INVALID_ARGUMENT` when it is not a string.
 */
export function fromBase64url(text: string): Uint8Array {
  if (typeof text !== 'string') throw invalidArgument('fromBase64url needs a string')
  const bytes = base64Codec.decodeUrl(text, true)
  if (bytes === undefined) {
    const bad = text.search(/[^A-Za-z0-9_-]/)
    const what =
      bad >= 0
        ? `it has a character outside the base64url alphabet at index ${bad}${text[bad] === '=' ? ' (padding is not used)' : ''}`
        : `its length (${text.length}) or last character is not canonical`
    throw new FormatError(`the text is not a base64url message: ${what}; pass exactly what toBase64url returned`)
  }
  return bytes
}
