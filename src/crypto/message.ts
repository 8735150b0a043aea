/**
 * Whole-message sealing and opening for a known data key: the part of encryption and
 * decryption that involves no keyring. Streams use the same pieces frame by frame.
 * @module
 */

import { AuthenticationError, LimitError } from '../errors.js'
import { bodyCutShort, bodyFrames, bodyLayout } from '../format/body.js'
import { MAX_FRAMES, SUITE_AES256GCM_HKDFSHA512_COMMIT, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Header, Recipient } from '../format/header.js'
import type { MessageHead } from '../format/message.js'
import { authenticatedLength as authenticatedLengthOf, encodeRecipientsSection, writeAuthenticated } from '../format/message.js'
import type { CryptoBackend } from './backend.js'
import type { DataKey } from './data-key.js'
import { frameAad, frameNonce, headerTagInto, verifyHeaderTag } from './frames.js'
import type { MessageKeys } from './keys.js'
import { deriveMessageKeys } from './keys.js'

/** What a message needs besides its plaintext. */
export interface SealParams {
  readonly dataKey: DataKey
  readonly recipients: readonly Recipient[]
  readonly context: CanonicalContext
  readonly frameSize: number
  /** 32 random bytes, fresh for every message. */
  readonly messageId: Uint8Array
}

/** The head of a new message (everything before the frames) and its keys. */
export interface SealedHead {
  readonly head: Uint8Array
  readonly keys: MessageKeys
  readonly header: Header
}

/**
 * The head of a new message written at the start of a buffer with `room` more bytes after it
 * (for the frames of a whole message), and its keys, wiped if writing fails.
 */
function writeHead(backend: CryptoBackend, p: SealParams, room: number): SealedHead & { readonly headLength: number } {
  const suite = SUITE_AES256GCM_HKDFSHA512_COMMIT
  const keys = deriveMessageKeys(backend, p.dataKey.bytes, p.messageId, suite)
  try {
    const header: Header = { suite, messageId: p.messageId, frameSize: p.frameSize, context: p.context, commitment: keys.commitment }
    const authenticatedLength = authenticatedLengthOf(header)
    const recipients = encodeRecipientsSection(p.recipients)
    const headLength = authenticatedLength + TAG_BYTES + recipients.length
    const head = new Uint8Array(headLength + room)
    writeAuthenticated(header, head, authenticatedLength)
    headerTagInto(backend, keys.contentKey, head.subarray(0, authenticatedLength), head, authenticatedLength)
    head.set(recipients, authenticatedLength + TAG_BYTES)
    return { head, keys, header, headLength }
  } catch (error) {
    keys.wipe()
    throw error
  }
}

export function sealHead(backend: CryptoBackend, p: SealParams): SealedHead {
  const { head, keys, header } = writeHead(backend, p, 0)
  return { head, keys, header }
}

/**
 * Encrypts a whole plaintext into one message buffer. The head is written straight into the
 * output (not sealed apart and copied as streams do): one allocation for the whole message,
 * which at 100-byte sizes is a measurable part of the cost. Same bytes as {@link sealHead}
 * followed by the frames.
 */
export function sealMessage(backend: CryptoBackend, p: SealParams, plaintext: Uint8Array): Uint8Array {
  const { frames, bodyLength } = bodyLayout(plaintext.length, p.frameSize)
  if (frames > MAX_FRAMES) throw new LimitError(`the plaintext needs ${frames} frames; a message holds at most ${MAX_FRAMES}`)
  const { head: out, keys, headLength } = writeHead(backend, p, bodyLength)
  try {
    let at = headLength
    for (let i = 0; i < frames; i++) {
      const final = i === frames - 1
      const chunk = plaintext.subarray(i * p.frameSize, final ? plaintext.length : (i + 1) * p.frameSize)
      backend.sealInto(keys.contentKey, frameNonce(i), chunk, frameAad(p.messageId, i, final), out, at)
      at += chunk.length + TAG_BYTES
    }
    return out
  } finally {
    keys.wipe()
  }
}

/**
 * Checks a data key against the message: the commitment (constant time) and then the header
 * tag. Nothing is decrypted before both pass. Returns the message keys.
 */
export function verifyDataKey(backend: CryptoBackend, head: MessageHead, dataKey: DataKey): MessageKeys {
  const { header } = head
  const keys = deriveMessageKeys(backend, dataKey.bytes, header.messageId, header.suite)
  if (!backend.equal(keys.commitment, header.commitment) || !verifyHeaderTag(backend, keys.contentKey, head.authenticated, head.headerTag)) {
    keys.wipe()
    throw new AuthenticationError()
  }
  return keys
}

/** Decrypts the body of a whole message held in memory. The keys must come from {@link verifyDataKey}. */
export function openBody(backend: CryptoBackend, head: MessageHead, keys: MessageKeys, body: Uint8Array): Uint8Array {
  const { frameSize, messageId } = head.header
  const layout = bodyFrames(body.length, frameSize)
  if (layout === undefined) throw bodyCutShort()
  if (layout.frames > MAX_FRAMES) throw new LimitError(`the message has ${layout.frames} frames; at most ${MAX_FRAMES} are allowed`)
  if (layout.frames === 1) return openOneFrame(backend, keys, messageId, body)
  const out = new Uint8Array(layout.plaintextLength)
  const step = frameSize + TAG_BYTES
  for (let i = 0; i < layout.frames; i++) {
    const final = i === layout.frames - 1
    const sealed = body.subarray(i * step, final ? body.length : (i + 1) * step)
    if (!backend.openInto(keys.contentKey, frameNonce(i), sealed, frameAad(messageId, i, final), out, i * frameSize)) {
      out.fill(0)
      throw new AuthenticationError()
    }
  }
  return out
}

/**
 * A one-frame body (every message under the frame size): the backend's own output is the
 * plaintext, with no second buffer and copy. Handed out only as a plain Uint8Array that alone
 * owns its memory; anything else (a view of a shared pool) is copied and wiped.
 */
function openOneFrame(backend: CryptoBackend, keys: MessageKeys, messageId: Uint8Array, body: Uint8Array): Uint8Array {
  const plain = backend.open(keys.contentKey, frameNonce(0), body, frameAad(messageId, 0, true))
  if (plain === undefined) throw new AuthenticationError()
  const { buffer, byteOffset, length } = plain
  if (byteOffset === 0 && buffer.byteLength === length && buffer instanceof ArrayBuffer) {
    return plain.constructor === Uint8Array ? plain : new Uint8Array(buffer, 0, length)
  }
  const out = new Uint8Array(plain)
  plain.fill(0)
  return out
}
