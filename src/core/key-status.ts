/**
 * Key status: for each recipient of a message, whether an Envelope holds its key as a
 * writing key, a decrypt-only key, or not at all. For operators during a rotation ("which
 * messages still need the retired key?"); it answers from what the keyrings say they would
 * try (`canUnwrap`), so no data key is unwrapped and nothing is verified.
 * @module
 */
import { headCutShort } from '../format/body.js'
import { INDEX_KEY_PURPOSE } from '../format/constants.js'
import type { Recipient } from '../format/header.js'
import { parseHead } from '../format/message.js'
import { prepareKeyrings } from '../keyrings/unwrap.js'
import type { EnvelopeSettings } from './settings.js'

/** How an Envelope holds one recipient's key: see {@link RecipientKeyStatus}. */
export type KeyStatus = 'write' | 'decrypt-only' | 'none'

/** One recipient of a message and how an Envelope holds its key. */
export interface RecipientKeyStatus {
  readonly type: string
  readonly keyId: string
  /**
   * `write`: one of the Envelope's `keyring`s would try it; `decrypt-only`: only one of its
   * `decryptOnly` keyrings would; `none`: no keyring of the Envelope would.
   */
  readonly status: KeyStatus
}

/** The status of each recipient, in message order; runs the keyrings' `prepareUnwrap` first. */
export async function recipientsStatus(
  settings: EnvelopeSettings,
  recipients: readonly Recipient[],
  signal: AbortSignal | undefined,
): Promise<RecipientKeyStatus[]> {
  // A KMS keyring configured by alias learns its key ARN here (once per keyring); no unwrap.
  await prepareKeyrings(settings.keyrings, recipients, { signal })
  return recipients.map((r) => {
    const status: KeyStatus = settings.writers.some((k) => k.canUnwrap(r))
      ? 'write'
      : settings.decryptOnly.some((k) => k.canUnwrap(r))
        ? 'decrypt-only'
        : 'none'
    return { type: r.type, keyId: r.keyId, status }
  })
}

/** The status of each recipient of `message` (a whole message, or at least its head). */
export async function messageKeyStatus(settings: EnvelopeSettings, message: Uint8Array, signal: AbortSignal | undefined): Promise<RecipientKeyStatus[]> {
  // Like inspect: an index key's purpose pair is just context here, nothing is released.
  const parsed = parseHead(message, { ...settings, reservedContext: INDEX_KEY_PURPOSE })
  if ('need' in parsed) throw headCutShort(message.length, parsed.need)
  return recipientsStatus(settings, parsed.head.recipients, signal)
}
