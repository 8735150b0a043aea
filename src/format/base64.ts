/**
 * The base64 codec every text form uses (message text, field texts, armor), chosen by
 * `#base64`: Node's native one under the `node` condition, @scure/base elsewhere. Both
 * decode strictly: a text has exactly one accepted spelling, so an edit to the text is an edit
 * to the bytes, which authentication then reports.
 * @module
 */

/** Encoders and strict decoders (undefined for a text that is not canonical). */
export interface Base64Codec {
  /** Unpadded base64url (RFC 4648 §5). */
  encodeUrl(bytes: Uint8Array): string
  /** `owned`: the result must not share memory with anything else (it is handed to a caller). */
  decodeUrl(text: string, owned: boolean): Uint8Array | undefined
  /** Padded standard base64 (RFC 4648 §4). */
  encode(bytes: Uint8Array): string
  decode(text: string, owned: boolean): Uint8Array | undefined
}
