/**
 * What bulk rewraps (files, {@link rewrapMessages}) share: telling a message already rewrapped
 * from one still to do, and ReEncrypt once per distinct wrapped key across a run. Messages written through a
 * data-key cache share one wrapped key (same bytes, same context); ReEncrypt of it gives a
 * wrapped key for the new key that is valid for every one of them, so a run of N such
 * messages needs one ReEncrypt, not N. The source keyrings are wrapped for the run only: the
 * answers live as long as the run and are keyed by everything that determines them
 * (recipient bytes, context, destination keyring).
 * @module
 */
import { bytesToHex } from '@noble/ciphers/utils.js'
import { AbortError } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import type { MessageHead } from '../format/message.js'
import type { Keyring, KeyringCallOptions } from '../keyrings/keyring.js'
import { prepareKeyrings } from '../keyrings/unwrap.js'
import { throwIfAborted, toMessageBytes } from '../validate.js'
import type { RewrapParams } from './rewrap.js'
import { parseForRewrap, rewrapParsed } from './rewrap.js'
import type { EnvelopeSettings } from './settings.js'

/**
 * Whether a message is already rewrapped: it lists no key the source holds that `to` does not
 * (a key being retired), and every destination keyring holds one of its keys. Call
 * {@link prepareKeyrings} for both sides first. A message neither side can open is not done:
 * the rewrap reports it.
 */
export function isRewrapped(head: MessageHead, from: readonly Keyring[], to: readonly Keyring[]): boolean {
  const heldBy = (keyrings: readonly Keyring[], r: Recipient): boolean => keyrings.some((k) => k.canUnwrap(r))
  // A destination public key cannot open what it was given, but it is what it was given.
  const givenTo = (k: Keyring, r: Recipient): boolean => k.wrapsFor?.(r) ?? k.canUnwrap(r)
  if (head.recipients.some((r) => heldBy(from, r) && !to.some((k) => givenTo(k, r)))) return false
  return to.every((k) => head.recipients.some((r) => givenTo(k, r)))
}

/** One result of `rewrapMany`, for the input at `index`. */
export type RewrapManyResult =
  | {
      readonly index: number
      /** The rewrapped message, or the input itself when `skipped`. */
      readonly message: Uint8Array
      /** Already wrapped for `to` and for no key being retired: returned unchanged. */
      readonly skipped: boolean
      /** Authenticated on the way (data-key path); false for ReEncrypt and for skipped messages. */
      readonly verified: boolean
      readonly error?: undefined
    }
  | {
      readonly index: number
      readonly message?: undefined
      readonly skipped?: undefined
      readonly verified?: undefined
      /** Why this message could not be rewrapped (ERR_FORMAT, ERR_NO_MATCHING_KEY, ...). */
      readonly error: Error
    }

/** One message: skipped, rewrapped, or its error (never thrown, except an abort). */
async function rewrapOneMessage(settings: EnvelopeSettings, input: unknown, index: number, params: RewrapParams): Promise<RewrapManyResult> {
  try {
    const message = toMessageBytes(input, `messages[${index}]`)
    const whole = parseForRewrap(settings, message)
    const { head } = whole
    const options = { signal: params.signal }
    await prepareKeyrings(settings.keyrings, head.recipients, options)
    await prepareKeyrings(params.to, head.recipients, options)
    if (!params.keep && isRewrapped(head, settings.keyrings, params.to)) return { index, message, skipped: true, verified: false }
    const { message: out, verified } = await rewrapParsed(settings, whole, params)
    return { index, message: out, skipped: false, verified }
  } catch (error) {
    if (error instanceof AbortError) throw error
    return { index, error: error instanceof Error ? error : new Error(String(error)) }
  }
}

/**
 * Rewraps each message of `messages` from `settings.keyrings` to `params.to`, up to
 * `concurrency` at a time, yielding one result per input in input order. At most
 * `concurrency` messages are read ahead, so memory is bounded whatever the source's length.
 */
export async function* rewrapMessages(
  settings: EnvelopeSettings,
  messages: AsyncIterable<unknown> | Iterable<unknown>,
  params: RewrapParams,
  concurrency: number,
): AsyncGenerator<RewrapManyResult, void, undefined> {
  const run = params.verify === true ? settings : { ...settings, keyrings: memoizeReEncrypt(settings.keyrings) }
  const window: Promise<RewrapManyResult>[] = []
  let index = 0
  try {
    for await (const input of messages as AsyncIterable<unknown>) {
      throwIfAborted(params.signal)
      const pending = rewrapOneMessage(run, input, index++, params)
      pending.catch(() => {}) // awaited in order below; an abort must not count as unhandled meanwhile
      window.push(pending)
      if (window.length >= concurrency) yield await window.shift()!
    }
    while (window.length > 0) yield await window.shift()!
  } finally {
    // Stopped early (break, abort, a failing source): let those in flight settle before returning.
    await Promise.allSettled(window)
  }
}

/** Answers kept per run; past this the oldest go (a run of distinct keys gains nothing from them). */
const MAX_ENTRIES = 10_000

function entryKey(recipient: Recipient, destination: Keyring, context: CanonicalContext): string {
  return JSON.stringify([recipient.type, recipient.keyId, bytesToHex(recipient.wrapped), destination.cacheId, [...context]])
}

/**
 * `keyrings` with each `reEncrypt` answered once per distinct (wrapped key, context,
 * destination) for as long as the returned keyrings are used; everything else is passed
 * through. Concurrent asks for one entry share the call; a failed call is not remembered.
 */
export function memoizeReEncrypt(keyrings: readonly Keyring[]): readonly Keyring[] {
  const answers = new Map<string, Promise<readonly Recipient[] | undefined>>()
  return keyrings.map((keyring): Keyring => {
    const reEncrypt = keyring.reEncrypt
    if (reEncrypt === undefined) return keyring
    const memo: Keyring = {
      description: keyring.description,
      cacheId: keyring.cacheId,
      maxUnwrapAttempts: keyring.maxUnwrapAttempts,
      generateDataKey: (context, options) => keyring.generateDataKey(context, options),
      wrapDataKey: (dataKey, context, options) => keyring.wrapDataKey(dataKey, context, options),
      canUnwrap: (recipient) => keyring.canUnwrap(recipient),
      unwrapDataKey: (recipient, context, options) => keyring.unwrapDataKey(recipient, context, options),
      reEncrypt(recipient: Recipient, destination: Keyring, context: CanonicalContext, options: KeyringCallOptions) {
        const key = entryKey(recipient, destination, context)
        let answer = answers.get(key)
        if (answer === undefined) {
          answer = reEncrypt.call(keyring, recipient, destination, context, options)
          answers.set(key, answer)
          if (answers.size > MAX_ENTRIES) answers.delete(answers.keys().next().value as string)
          answer.catch(() => answers.delete(key))
        }
        return answer
      },
    }
    if (keyring.unwrapAttemptKey !== undefined) memo.unwrapAttemptKey = (recipient) => keyring.unwrapAttemptKey!(recipient)
    if (keyring.prepareUnwrap !== undefined) memo.prepareUnwrap = (recipients, options) => keyring.prepareUnwrap!(recipients, options)
    return memo
  })
}
