/** Shared by the public-key recipient tests: splicing recipients, fixed identities. */
import type { Recipient } from '../src/format/header.js'
import { encodeRecipientsSection, parseHead } from '../src/format/message.js'
import { PostQuantumIdentity, X25519Identity } from '../src/index.js'
import { pattern } from './pattern.js'

/** Deterministic identities, so failures reproduce. */
export const xIdentity = new X25519Identity(pattern(32, 91))
export const xOther = new X25519Identity(pattern(32, 92))
export const pqIdentity = new PostQuantumIdentity(pattern(32, 93))
export const pqOther = new PostQuantumIdentity(pattern(32, 94))

/** The recipients of `message`, parsed. */
export function recipientsOf(message: Uint8Array): Recipient[] {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  return [...parsed.head.recipients]
}

/** `message` with its recipients section replaced (the splice rewrap does; no checks). */
export function withRecipients(message: Uint8Array, recipients: readonly Recipient[]): Uint8Array {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  const prefixEnd = parsed.head.authenticated.length + 16
  const section = encodeRecipientsSection(recipients)
  return Uint8Array.from([...message.subarray(0, prefixEnd), ...section, ...message.subarray(parsed.head.bodyOffset)])
}

/** `recipient` with `wrapped` replaced by `edit(copy)`. */
export function editWrapped(recipient: Recipient, edit: (w: Uint8Array) => Uint8Array): Recipient {
  return { ...recipient, wrapped: edit(recipient.wrapped.slice()) }
}

/** `recipient` with one bit of `wrapped` flipped at `at`. */
export function flipWrapped(recipient: Recipient, at: number): Recipient {
  return editWrapped(recipient, (w) => {
    w[at] = w[at]! ^ 1
    return w
  })
}

/** `recipient` with `bytes` written into `wrapped` at `at`. */
export function setWrapped(recipient: Recipient, at: number, bytes: Uint8Array): Recipient {
  return editWrapped(recipient, (w) => {
    w.set(bytes, at)
    return w
  })
}
