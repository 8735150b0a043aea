/**
 * The keyring contract. A keyring turns a data key into wrapped copies (recipients) for the
 * keys it holds, and back. The envelope never sees master keys, only data keys.
 *
 * Implement this to plug in another key service; `LocalKeyring` and `KmsKeyring` are the
 * two built in.
 * @module
 */
import type { DataKey } from '../crypto/data-key.js'
import { KeyringError } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { checkRecipient } from '../format/header.js'

/** Options every keyring call receives. */
export interface KeyringCallOptions {
  /** Cancels the call; keyrings pass it on to network requests. */
  readonly signal?: AbortSignal | undefined
}

/** A new data key and its wrapped copies. */
export interface GeneratedDataKey {
  readonly dataKey: DataKey
  readonly recipients: readonly Recipient[]
}

/** A source of data keys; see the module docs. */
export interface Keyring {
  /** For messages and errors, e.g. `local:team-key`. Never secret. */
  readonly description: string
  /**
   * Identity for caches: two keyrings with the same `cacheId` must unwrap the same recipients
   * to the same keys with the same authority, so a cache entry of one may serve the other.
   */
  readonly cacheId: string
  /**
   * A fresh data key wrapped for every key this keyring holds.
   * @param context - The message's encryption context; the wrap must bind it.
   * @param options - The call's abort signal.
   */
  generateDataKey(context: CanonicalContext, options: KeyringCallOptions): Promise<GeneratedDataKey>
  /**
   * Wraps an existing data key for every key this keyring holds.
   * @param dataKey - The data key to wrap; the keyring must not wipe or keep it.
   * @param context - The message's encryption context; the wrap must bind it.
   * @param options - The call's abort signal.
   */
  wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[]>
  /**
   * Whether this keyring holds the key of `recipient` and would try it. Pure: no I/O.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean
  /**
   * Optional. Whether `recipient` is a wrapped key this keyring writes, for a keyring that
   * writes keys it cannot open (a public key): a rewrap then counts a message that lists it as
   * already given to this keyring, so a rerun skips it. Pure: no I/O. Default: `canUnwrap`.
   * @param recipient - A wrapped key of the message.
   */
  wrapsFor?(recipient: Recipient): boolean
  /**
   * Unwraps one recipient; throws an EnvelopeError when it cannot.
   * @param recipient - The wrapped key to open (one `canUnwrap` accepts).
   * @param context - The message's encryption context, as it was when wrapped.
   * @param options - The call's abort signal.
   */
  unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<DataKey>
  /**
   * Optional. The key an unwrap of `recipient` (one `canUnwrap` accepts) would use, e.g. the
   * KMS key ARN Decrypt is pinned to. Recipients with the same answer are tried at most once
   * per message, so a message repeating one key cannot multiply key-service calls.
   * Default: the recipient's type and key id.
   * @param recipient - A wrapped key `canUnwrap` accepts.
   */
  unwrapAttemptKey?(recipient: Recipient): string
  /**
   * Optional. At most this many unwrap attempts of this keyring per message (e.g. the KMS
   * keyring's discovery budget, since a message can name any number of keys in a trusted
   * account). Default: no limit beyond one per distinct key.
   */
  readonly maxUnwrapAttempts?: number | undefined
  /**
   * Optional. Runs before `canUnwrap` for every message being opened or rewrapped, so a
   * keyring can learn what it needs to answer `canUnwrap` without I/O (the KMS keyring turns
   * a configured alias or key id into its key ARN). It must memoise: a lookup happens once
   * per keyring, never once per message, and nothing at all when no recipient concerns it.
   * @param recipients - Every wrapped key of the message.
   * @param options - The call's abort signal.
   */
  prepareUnwrap?(recipients: readonly Recipient[], options: KeyringCallOptions): Promise<void>
  /**
   * Optional, on the source of a rewrap (the keyring holding `recipient`). Re-encrypts
   * `recipient` for every key of `destination` without the plaintext data key ever reaching
   * this process (KMS ReEncrypt), with this keyring's own client and credentials: the
   * principal that may read the old key is the one asking. Resolves to `undefined`, having
   * called nothing, when it cannot (another keyring type, another Region): rewrap then
   * unwraps and wraps. The caller has already checked that this keyring holds `recipient`.
   * @param recipient - The wrapped key this keyring holds.
   * @param destination - The keyring to wrap for.
   * @param context - The message's encryption context, kept on both sides.
   * @param options - The call's abort signal.
   */
  reEncrypt?(recipient: Recipient, destination: Keyring, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[] | undefined>
}

/**
 * @internal Checks what a keyring returned, before anything is sealed with it, by the rules
 * the decoder applies to every recipient entry (the same function, so the two cannot drift).
 * A custom keyring producing an entry no reader accepts would otherwise yield messages that
 * every reader rejects with ERR_FORMAT: data lost at the moment it was written.
 */
export function checkKeyringRecipients(recipients: unknown, keyring: string): readonly Recipient[] {
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new KeyringError(`keyring ${keyring} returned no wrapped keys (it must return at least one recipient for every data key it wraps)`)
  }
  for (const [i, r] of (recipients as unknown[]).entries()) {
    const entry = r as Partial<Recipient> | null
    const problem =
      entry === null || typeof entry !== 'object' ? 'it is not an object { type, keyId, wrapped }' : checkRecipient(entry.type, entry.keyId, entry.wrapped)
    if (problem !== undefined)
      throw new KeyringError(`keyring ${keyring} returned an invalid wrapped key (recipient ${i}): ${problem}; no reader could open the message`)
  }
  return recipients as readonly Recipient[]
}
