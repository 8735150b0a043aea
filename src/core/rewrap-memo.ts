/**
 * ReEncrypt once per distinct wrapped key across a bulk rewrap. Messages written through a
 * data-key cache share one wrapped key (same bytes, same context); ReEncrypt of it gives a
 * wrapped key for the new key that is valid for every one of them, so a run of N such
 * messages needs one ReEncrypt, not N. The source keyrings are wrapped for the run only: the
 * answers live as long as the run and are keyed by everything that determines them
 * (recipient bytes, context, destination keyring).
 * @module
 */
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import type { Keyring, KeyringCallOptions } from '../keyrings/keyring.js'

/** Answers kept per run; past this the oldest go (a run of distinct keys gains nothing from them). */
const MAX_ENTRIES = 10_000

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

function entryKey(recipient: Recipient, destination: Keyring, context: CanonicalContext): string {
  return JSON.stringify([recipient.type, recipient.keyId, hex(recipient.wrapped), destination.cacheId, [...context]])
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
