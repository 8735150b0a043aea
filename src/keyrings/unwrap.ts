/**
 * Choosing which wrapped key to open, and with which keyring. Shared by buffer and stream
 * decryption and by rewrap, so all of them call key services in the same bounded way:
 * only recipients a keyring claims (`canUnwrap`, no I/O) are tried, in message order,
 * stopping at the first success. Recipients naming a key already tried in this message
 * are skipped ({@link Keyring.unwrapAttemptKey}) and a keyring's `maxUnwrapAttempts` caps
 * the rest, so a message causes at most one attempt per distinct key the caller holds.
 * @module
 */
import type { DataKey } from '../crypto/data-key.js'
import type { UnwrapAttempt } from '../errors.js'
import { AbortError, EnvelopeError, NoMatchingKeyError, UnwrapError } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { throwIfAborted } from '../validate.js'
import type { Keyring, KeyringCallOptions } from './keyring.js'

/** A data key and the recipient it came from. */
export interface Unwrapped {
  readonly dataKey: DataKey
  readonly recipient: Recipient
  readonly keyring: Keyring
}

/**
 * The keyrings' descriptions joined for an error message (`local:a, aws-kms:arn:...`); not
 * KMS DescribeKey, and never secret.
 * @param keyrings - The keyrings the caller offered.
 */
export function describeKeyrings(keyrings: readonly Keyring[]): string {
  return keyrings.map((k) => k.description).join(', ')
}

/** Lets each keyring prepare for `canUnwrap` (see {@link Keyring.prepareUnwrap}). */
export async function prepareKeyrings(keyrings: readonly Keyring[], recipients: readonly Recipient[], options: KeyringCallOptions): Promise<void> {
  for (const keyring of keyrings) {
    if (keyring.prepareUnwrap === undefined) continue
    throwIfAborted(options.signal)
    await keyring.prepareUnwrap(recipients, options)
  }
}

/** A recipient and the keyring that will try it. */
export interface Attempt {
  readonly recipient: Recipient
  readonly keyring: Keyring
}

/**
 * The unwrap attempts a message may cost, in message order: each (keyring, recipient) the
 * keyring claims, once per distinct key of that keyring, and no more per keyring than its
 * `maxUnwrapAttempts`. Pure (call {@link prepareKeyrings} first).
 */
export function planAttempts(keyrings: readonly Keyring[], recipients: readonly Recipient[]): Attempt[] {
  const plan: Attempt[] = []
  // Most messages give each keyring one recipient, which needs no de-duplication: a keyring's
  // set of attempt keys is made on its second claimed recipient (the sets and key strings for
  // every message were 3-4% of an uncached local decrypt).
  const first: Array<Recipient | undefined> = new Array(keyrings.length)
  const tried: Array<Set<string> | undefined> = new Array(keyrings.length)
  for (const recipient of recipients) {
    for (let i = 0; i < keyrings.length; i++) {
      const keyring = keyrings[i]!
      if (!keyring.canUnwrap(recipient)) continue
      const max = keyring.maxUnwrapAttempts
      const earlier = first[i]
      if (earlier === undefined) {
        if (max !== undefined && max < 1) continue
        first[i] = recipient
        plan.push({ recipient, keyring })
        continue
      }
      let seen = tried[i]
      if (seen === undefined) {
        seen = new Set([attemptKey(keyring, earlier)])
        tried[i] = seen
      }
      const key = attemptKey(keyring, recipient)
      if (seen.has(key) || (max !== undefined && seen.size >= max)) continue
      seen.add(key)
      plan.push({ recipient, keyring })
    }
  }
  return plan
}

/** What makes two recipients the same attempt for `keyring`: its own key, else type and key id. */
const attemptKey = (keyring: Keyring, recipient: Recipient): string =>
  keyring.unwrapAttemptKey?.(recipient) ?? JSON.stringify([recipient.type, recipient.keyId])

/**
 * Unwraps the data key of a message: the first recipient, in message order, that one of the
 * keyrings holds and opens. The caller checks the key against the commitment.
 */
export async function unwrapDataKey(
  keyrings: readonly Keyring[],
  recipients: readonly Recipient[],
  context: CanonicalContext,
  options: KeyringCallOptions,
): Promise<Unwrapped> {
  await prepareKeyrings(keyrings, recipients, options)
  const attempts: UnwrapAttempt[] = []
  const errors: unknown[] = []
  for (const { recipient, keyring } of planAttempts(keyrings, recipients)) {
    throwIfAborted(options.signal)
    try {
      const dataKey = await keyring.unwrapDataKey(recipient, context, options)
      return { dataKey, recipient, keyring }
    } catch (error) {
      if (error instanceof AbortError) throw error
      errors.push(error)
      const code = error instanceof EnvelopeError ? error.code : 'ERR_KEYRING'
      const message = error instanceof Error ? error.message : String(error)
      attempts.push({ type: recipient.type, keyId: recipient.keyId, code, message })
    }
  }
  if (errors.length === 0) throw new NoMatchingKeyError(recipients, describeKeyrings(keyrings))
  // One attempt: its own error is the most precise answer. Several: say what each answered.
  if (errors.length === 1 && errors[0] instanceof EnvelopeError) throw errors[0]
  throw new UnwrapError(attempts, { cause: errors[errors.length - 1] })
}
