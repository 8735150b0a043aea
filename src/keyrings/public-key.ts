/**
 * One entry point for age key strings and files: `parsePublicKeyRecipient('age1…')` and
 * `parseIdentity('AGE-SECRET-KEY-1…')` return the right class for classical or post-quantum
 * keys; the file readers take age's text formats (one key a line, `#` comments, blank lines).
 * @module
 */
import { invalidArgument } from '../errors.js'
import { AGE_PQ_IDENTITY, AGE_PQ_RECIPIENT, AGE_X25519_IDENTITY, AGE_X25519_RECIPIENT, ageKeyKindOf } from './age-encoding.js'
import { PostQuantumIdentity, PostQuantumRecipient } from './mlkem768x25519.js'
import { X25519Identity, X25519Recipient } from './x25519.js'

/** A public-key recipient: encrypts only. */
export type PublicKeyRecipient = X25519Recipient | PostQuantumRecipient
/** A public-key identity: decrypts (and encrypts to its own recipient). */
export type Identity = X25519Identity | PostQuantumIdentity

/** Most keys one recipients or identity file may hold (a bound for hostile files). */
const MAX_FILE_KEYS = 1024

/**
 * An `age1…` (X25519) or `age1pq1…` (post-quantum) recipient string as its keyring; a
 * TypeError (ERR_INVALID_ARGUMENT) says what is wrong.
 * @param text - The recipient string.
 */
export function parsePublicKeyRecipient(text: string): PublicKeyRecipient {
  const kind = typeof text === 'string' ? ageKeyKindOf(text.trim()) : undefined
  if (kind === AGE_PQ_RECIPIENT) return PostQuantumRecipient.parse(text.trim())
  if (kind === AGE_X25519_RECIPIENT) return X25519Recipient.parse(text.trim())
  if (kind === AGE_X25519_IDENTITY || kind === AGE_PQ_IDENTITY) {
    throw invalidArgument('this is an identity (a secret key), not a recipient: give the public key (age1…), and keep the identity secret')
  }
  throw invalidArgument('a recipient must be an age public key: age1… (X25519) or age1pq1… (post-quantum)')
}

/**
 * An `AGE-SECRET-KEY-1…` (X25519) or `AGE-SECRET-KEY-PQ-1…` (post-quantum) identity string as
 * its keyring; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong, never the secret.
 * @param text - The identity string.
 */
export function parseIdentity(text: string): Identity {
  const kind = typeof text === 'string' ? ageKeyKindOf(text.trim()) : undefined
  if (kind === AGE_PQ_IDENTITY) return PostQuantumIdentity.parse(text.trim())
  if (kind === AGE_X25519_IDENTITY) return X25519Identity.parse(text.trim())
  if (kind === AGE_X25519_RECIPIENT || kind === AGE_PQ_RECIPIENT)
    throw invalidArgument('this is a recipient (a public key), not an identity: decrypting needs the secret key')
  throw invalidArgument('an identity must be an age secret key: AGE-SECRET-KEY-1… (X25519) or AGE-SECRET-KEY-PQ-1… (post-quantum)')
}

function keyLines(text: string, what: string): { line: number; text: string }[] {
  if (typeof text !== 'string') throw invalidArgument(`a ${what} file must be text`)
  const out: { line: number; text: string }[] = []
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (out.length === MAX_FILE_KEYS) throw invalidArgument(`a ${what} file holds at most ${MAX_FILE_KEYS} keys`)
    out.push({ line: i + 1, text: line })
  }
  if (out.length === 0) throw invalidArgument(`the ${what} file holds no key (only comments or blank lines)`)
  return out
}

function atLine(line: number, error: unknown): TypeError {
  const message = error instanceof Error ? error.message : String(error)
  return invalidArgument(`line ${line}: ${message}`)
}

/**
 * The recipients of an age recipients file: one `age1…`/`age1pq1…` a line, `#` comments and
 * blank lines allowed. An error names the line.
 * @param text - The file's text.
 */
export function parseRecipientsFile(text: string): PublicKeyRecipient[] {
  return keyLines(text, 'recipients').map(({ line, text: key }) => {
    try {
      return parsePublicKeyRecipient(key)
    } catch (error) {
      throw atLine(line, error)
    }
  })
}

/**
 * The identities of an age identity file (as age-keygen writes it): one secret key a line,
 * `#` comments (`# created: …`, `# public key: …`) and blank lines allowed. An error names the
 * line, never the secret.
 * @param text - The file's text.
 */
export function parseIdentityFile(text: string): Identity[] {
  return keyLines(text, 'identity').map(({ line, text: key }) => {
    try {
      return parseIdentity(key)
    } catch (error) {
      throw atLine(line, error)
    }
  })
}

/**
 * The text of an identity file for `identity`, as age-keygen writes it: `# created:` and
 * `# public key:` comments, then the secret line. It holds the secret: write it with mode 0600.
 * @param identity - The identity to save.
 * @param created - The creation time written into the file (default now).
 */
export function identityFileText(identity: Identity, created: Date = new Date()): string {
  return `# created: ${created.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${identity.recipient.toString()}\n${identity.toSecretString()}\n`
}
