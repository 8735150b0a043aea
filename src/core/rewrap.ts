/**
 * Rewrap: give a message's data key to other keys without touching its header or body.
 *
 * The recipients section is the one part of a message outside the header tag (FORMAT.md
 * §2), so a rewrapped message is the same authenticated prefix and header tag, a new
 * recipients section, and byte-identical frames. The commitment in the header still binds
 * the data key: a wrapped key of anything else fails at decryption (ERR_AUTH).
 *
 * Two ways to the new wrapped keys:
 * - KMS to KMS: the source keyring's `reEncrypt` (KMS ReEncrypt with the source's client and
 *   credentials, source key pinned, the header's context on both sides): the plaintext data
 *   key never leaves KMS. The message itself is not authenticated on this path (that needs
 *   the data key), so the result says `verified: false`; a forged message stays forged and
 *   fails at decryption as before. `verify` takes the data-key path instead.
 * - anything else: the data key is unwrapped through decryptionMaterials' checks
 *   (commitment and header tag, so a forged message is never rewrapped) and wrapped by
 *   the destination keyrings.
 * @module
 */
import type { DataKey } from '../crypto/data-key.js'
import type { UnwrapAttempt } from '../errors.js'
import { AbortError, EnvelopeError, LimitError, NoMatchingKeyError, UnwrapError } from '../errors.js'
import { INDEX_KEY_PURPOSE, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import type { MessageHead } from '../format/message.js'
import { checkBodyComplete, encodeRecipientsSection, parseWholeMessage } from '../format/message.js'
import type { Keyring } from '../keyrings/keyring.js'
import { checkKeyringRecipients } from '../keyrings/keyring.js'
import { describeKeyrings, planAttempts, prepareKeyrings } from '../keyrings/unwrap.js'
import { throwIfAborted } from '../validate.js'
import { verifiedDataKey } from './materials.js'
import { checkPassphraseRule } from './passphrase-rule.js'
import { checkPostQuantumRule } from './post-quantum-rule.js'
import type { EnvelopeSettings } from './settings.js'

/** What to rewrap to. */
export interface RewrapParams {
  /** Keyrings that receive the data key. */
  readonly to: readonly Keyring[]
  /** Keep the wrapped keys the source keyrings hold (default false: remove them). */
  readonly keep: boolean
  /** Take the data-key path (commitment and header tag checked) even when ReEncrypt could be used. */
  readonly verify?: boolean
  readonly signal: AbortSignal | undefined
}

/** A rewrapped message or head, and whether the message was authenticated on the way. */
export interface Rewrapped<T> {
  readonly message: T
  /**
   * True when the data key was unwrapped and the commitment and header tag checked (the
   * message is authentic); false when it was re-wrapped inside KMS only (ReEncrypt).
   */
  readonly verified: boolean
}

/**
 * Rewraps `message` from `settings.keyrings` (the source) to `params.to`. Recipients of
 * keys the source does not hold are kept as they are; a destination key already listed is
 * replaced by its new wrapped key.
 */
export async function rewrapMessage(settings: EnvelopeSettings, message: Uint8Array, params: RewrapParams): Promise<Rewrapped<Uint8Array>> {
  return rewrapParsed(settings, parseForRewrap(settings, message), params)
}

/** A whole message parsed the way rewrap reads it. */
export function parseForRewrap(settings: EnvelopeSettings, message: Uint8Array): ReturnType<typeof parseWholeMessage> {
  // Rewrap keeps the header byte-identical and releases no plaintext, so index keys (FORMAT.md §13.2) move like any message.
  return parseWholeMessage(message, { ...settings, reservedContext: INDEX_KEY_PURPOSE })
}

/** {@link rewrapMessage} of a message already parsed by {@link parseForRewrap}. */
export async function rewrapParsed(
  settings: EnvelopeSettings,
  whole: ReturnType<typeof parseWholeMessage>,
  params: RewrapParams,
): Promise<Rewrapped<Uint8Array>> {
  checkBodyComplete(whole)
  const { head, body } = whole
  const { message: newHead, verified } = await rewrapHeadDetailed(settings, head, params)
  const out = new Uint8Array(newHead.length + body.length)
  out.set(newHead, 0)
  out.set(body, newHead.length)
  return { message: out, verified }
}

/**
 * The rewrapped head (everything before the frames) of a parsed message: its authenticated
 * prefix and header tag unchanged, then the new recipients section. The frames that follow
 * are copied unchanged by the caller, which lets a stream rewrap messages of any size.
 */
export async function rewrapHead(settings: EnvelopeSettings, head: MessageHead, params: RewrapParams): Promise<Uint8Array> {
  return (await rewrapHeadDetailed(settings, head, params)).message
}

/** {@link rewrapHead}, saying whether the message was authenticated. */
export async function rewrapHeadDetailed(settings: EnvelopeSettings, head: MessageHead, params: RewrapParams): Promise<Rewrapped<Uint8Array>> {
  const options = { signal: params.signal }
  await prepareKeyrings(settings.keyrings, head.recipients, options)
  const held = (r: Recipient): boolean => settings.keyrings.some((k) => k.canUnwrap(r))
  // Repeats of one key (and anything over a keyring's budget) would each cost a ReEncrypt.
  const sources = [...new Set(planAttempts(settings.keyrings, head.recipients).map((a) => a.recipient))]
  if (sources.length === 0) throw new NoMatchingKeyError(head.recipients, describeKeyrings(settings.keyrings))

  const reEncrypted = params.verify === true ? undefined : await viaReEncrypt(settings.keyrings, params.to, sources, head.header.context, params.signal)
  const verified = reEncrypted === undefined
  const fresh = checkKeyringRecipients(reEncrypted ?? (await viaDataKey(settings, head, params.to, params.signal)), describeKeyrings(params.to))
  const replaced = (r: Recipient): boolean => fresh.some((f) => f.type === r.type && f.keyId === r.keyId)
  const recipients = [...head.recipients.filter((r) => !replaced(r) && (params.keep || !held(r))), ...fresh]
  checkPassphraseRule(recipients, 'rewrap')
  if (recipients.length > settings.maxWrappedKeys) {
    throw new LimitError(
      `the rewrapped message would list ${recipients.length} wrapped keys; maxWrappedKeys is ${settings.maxWrappedKeys}: rewrap without keep, or to fewer keys`,
    )
  }
  checkPostQuantumRule(recipients, settings.allowClassicalRecipients)
  const section = encodeRecipientsSection(recipients)
  const out = new Uint8Array(head.authenticated.length + TAG_BYTES + section.length)
  out.set(head.authenticated, 0)
  out.set(head.headerTag, head.authenticated.length)
  out.set(section, head.authenticated.length + TAG_BYTES)
  return { message: out, verified }
}

/**
 * ReEncrypt of the first source recipient (in message order) that every destination can
 * re-encrypt. Undefined when none can be (rewrap then goes through the data key); throws
 * when every one that could be tried failed.
 */
async function viaReEncrypt(
  from: readonly Keyring[],
  to: readonly Keyring[],
  sources: readonly Recipient[],
  context: CanonicalContext,
  signal: AbortSignal | undefined,
): Promise<Recipient[] | undefined> {
  const attempts: UnwrapAttempt[] = []
  const errors: unknown[] = []
  let skipped = false
  for (const recipient of sources) {
    throwIfAborted(signal)
    // The keyring that holds the old key asks, with its own credentials (never the destination's).
    const source = from.find((k) => k.canUnwrap(recipient))
    if (source?.reEncrypt === undefined) {
      skipped = true
      continue
    }
    try {
      const out: Recipient[] = []
      let complete = true
      for (const keyring of to) {
        const got = await source.reEncrypt(recipient, keyring, context, { signal })
        if (got === undefined) {
          complete = false // discard any partial answer: the data-key path wraps for all
          break
        }
        out.push(...got)
      }
      if (complete) return out
      skipped = true
    } catch (error) {
      if (error instanceof AbortError) throw error
      errors.push(error)
      attempts.push({
        type: recipient.type,
        keyId: recipient.keyId,
        code: error instanceof EnvelopeError ? error.code : 'ERR_KEYRING',
        message: error instanceof Error ? error.message : String(error),
      })
    }
  }
  if (errors.length === 0 || skipped) return undefined
  if (errors.length === 1 && errors[0] instanceof EnvelopeError) throw errors[0]
  throw new UnwrapError(attempts, { cause: errors[errors.length - 1] })
}

/** Unwraps (with the commitment and header-tag checks) and wraps for every destination. */
async function viaDataKey(settings: EnvelopeSettings, head: MessageHead, to: readonly Keyring[], signal: AbortSignal | undefined): Promise<Recipient[]> {
  const { dataKey } = await verifiedDataKey(settings, head, signal)
  try {
    return await wrapFor(to, dataKey, head.header.context, signal)
  } finally {
    dataKey.wipe()
  }
}

async function wrapFor(to: readonly Keyring[], dataKey: DataKey, context: CanonicalContext, signal: AbortSignal | undefined): Promise<Recipient[]> {
  const out: Recipient[] = []
  for (const keyring of to) {
    throwIfAborted(signal)
    out.push(...(await keyring.wrapDataKey(dataKey, context, { signal })))
  }
  return out
}
