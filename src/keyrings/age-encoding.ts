/**
 * age's key strings (bech32, BIP 173 checksum): `age1…` X25519 recipients,
 * `AGE-SECRET-KEY-1…` X25519 identities, and age 1.3's post-quantum `age1pq1…` recipients and
 * `AGE-SECRET-KEY-PQ-1…` identities, so a user can reuse keys made by age, rage or typage.
 * Only the key strings are shared with age: messages stay kms-envelope's format.
 *
 * bech32's 90-character limit is lifted (as age does) because a post-quantum recipient is 1216
 * bytes, about 1,960 characters; the checksum is still verified. Decoding is bounded: a string
 * longer than the longest key is refused before it is decoded.
 * @module
 */
import { bech32Sync } from '#public-key-kems'
import { invalidArgument } from '../errors.js'

/** What an age key string holds. */
export interface AgeKeyKind {
  /** Human-readable part as written before the separator `1` (age writes it lowercase for recipients, uppercase for identities). */
  readonly prefix: string
  /** Payload length in bytes. */
  readonly bytes: number
  /** For messages: e.g. "X25519 recipient". */
  readonly what: string
}

/** `age1…`: an X25519 public key (32 bytes). */
export const AGE_X25519_RECIPIENT: AgeKeyKind = { prefix: 'age', bytes: 32, what: 'age X25519 recipient' }
/** `AGE-SECRET-KEY-1…`: an X25519 secret scalar (32 bytes). */
export const AGE_X25519_IDENTITY: AgeKeyKind = { prefix: 'AGE-SECRET-KEY-', bytes: 32, what: 'age X25519 identity' }
/** `age1pq1…`: an X-Wing (ML-KEM-768 + X25519) encapsulation key (1216 bytes). */
export const AGE_PQ_RECIPIENT: AgeKeyKind = { prefix: 'age1pq', bytes: 1216, what: 'age post-quantum recipient' }
/** `AGE-SECRET-KEY-PQ-1…`: an X-Wing decapsulation seed (32 bytes). */
export const AGE_PQ_IDENTITY: AgeKeyKind = { prefix: 'AGE-SECRET-KEY-PQ-', bytes: 32, what: 'age post-quantum identity' }

/** Longest string any kind can be (a PQ recipient), so hostile input is refused before decoding. */
const MAX_KEY_STRING = 2048

function encodedLength(kind: AgeKeyKind): number {
  return kind.prefix.length + 1 + Math.ceil((kind.bytes * 8) / 5) + 6
}

/** Encodes `bytes` as `kind` (uppercase for identities, as age writes them). */
export function encodeAgeKey(kind: AgeKeyKind, bytes: Uint8Array): string {
  const bech32 = bech32Sync()
  const text = bech32.encode(kind.prefix, bech32.toWords(bytes), false)
  return kind.prefix === kind.prefix.toUpperCase() ? text.toUpperCase() : text
}

/**
 * Which kind `text` claims to be, by its prefix alone (no decoding): the longest prefix wins,
 * so `age1pq1…` is not taken for an X25519 `age1…` string.
 */
export function ageKeyKindOf(text: string): AgeKeyKind | undefined {
  const lower = text.toLowerCase()
  for (const kind of [AGE_PQ_RECIPIENT, AGE_PQ_IDENTITY, AGE_X25519_IDENTITY, AGE_X25519_RECIPIENT]) {
    if (lower.startsWith(`${kind.prefix.toLowerCase()}1`)) return kind
  }
  return undefined
}

/**
 * The payload of an age key string of `kind`; a TypeError (ERR_INVALID_ARGUMENT) naming what
 * is wrong: the prefix, the length, mixed case, or the checksum (a typo).
 */
export function decodeAgeKey(kind: AgeKeyKind, text: unknown): Uint8Array {
  if (typeof text !== 'string') throw invalidArgument(`${kind.what} must be a string starting with ${kind.prefix}1, got ${typeof text}`)
  // Never echo an identity: even a prefix of the secret does not belong in an error.
  const secret = kind.prefix === kind.prefix.toUpperCase()
  const shown = secret ? 'the string' : JSON.stringify(text.length > 24 ? `${text.slice(0, 24)}…` : text)
  if (text.length > MAX_KEY_STRING) throw invalidArgument(`${kind.what} is ${text.length} characters; no age key string is longer than ${MAX_KEY_STRING}`)
  if (ageKeyKindOf(text) !== kind) {
    const other = ageKeyKindOf(text)
    throw invalidArgument(
      other === undefined
        ? `${shown} is not an ${kind.what}: it must start with ${kind.prefix}1`
        : `${shown} is an ${other.what}, not an ${kind.what} (which starts with ${kind.prefix}1)`,
    )
  }
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw invalidArgument(`${kind.what} mixes upper and lower case; bech32 allows one case only`)
  if (text.length !== encodedLength(kind)) {
    throw invalidArgument(`${kind.what} is ${text.length} characters, expected ${encodedLength(kind)} (is it cut or padded?)`)
  }
  let decoded: { prefix: string; bytes: Uint8Array }
  try {
    decoded = bech32Sync().decodeToBytes(text, false)
  } catch {
    throw invalidArgument(`${kind.what} ${secret ? '' : `${shown} `}has a bad bech32 checksum or character: check it for typos`)
  }
  if (decoded.prefix !== kind.prefix.toLowerCase() || decoded.bytes.length !== kind.bytes) {
    throw invalidArgument(`${kind.what} must hold ${kind.bytes} bytes after ${kind.prefix}1, got ${decoded.bytes.length}`)
  }
  return decoded.bytes
}
