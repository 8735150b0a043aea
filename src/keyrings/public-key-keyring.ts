/**
 * What the X25519 and post-quantum recipient / identity keyrings share (docs/FORMAT.md §16):
 * each scheme differs only in its key encodings and its KEM (how a wrap draws a fresh shared
 * secret and its share, how an identity recovers it), so the Keyring behaviour lives here once
 * and src/keyrings/x25519.ts and src/keyrings/mlkem768x25519.ts supply a {@link PublicKeyKem}.
 * @module
 */
import { copyBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import type { DataKey } from '../crypto/data-key.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import type { AgeKeyKind } from './age-encoding.js'
import { encodeAgeKey } from './age-encoding.js'
import { generateWrappedDataKey } from './generate-data-key.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import type { PublicKeyScheme, WrapTrace } from './public-key-wrap.js'
import { openForIdentity, publicKeyId, sealForRecipient, splitWrapped, unwrapFailure } from './public-key-wrap.js'

/** Intermediate values of one wrap, for test vectors. */
export interface PublicKeyWrapTrace extends WrapTrace {
  readonly sharedSecret: Uint8Array
}

/**
 * One public-key scheme: its constants, key encodings and KEM. Only the two schemes in this
 * folder implement it; it is not exported from the package entry.
 */
export interface PublicKeyKem {
  readonly scheme: PublicKeyScheme
  readonly recipientKind: AgeKeyKind
  readonly identityKind: AgeKeyKind
  /** Bytes of randomness one encapsulation takes (drawn per wrap, wiped after). */
  readonly randomBytes: number
  /** Shown when a recipient is asked to decrypt. */
  readonly identityHint: string
  /**
   * Loads the KEM's code if it is not loaded yet (memoised; see src/keyrings/kem-lazy.ts), so
   * that the async methods never fall back to a synchronous load.
   */
  prepare(): Promise<unknown>
  /** A fresh shared secret for `publicKey` and the share that lets its identity recover it. */
  encapsulate(publicKey: Uint8Array, random: Uint8Array): { readonly share: Uint8Array; readonly sharedSecret: Uint8Array }
  /**
   * The shared secret of `share` (length already checked), or an ERR_UNWRAP saying why the
   * share is refused; any secret it computed before refusing is wiped.
   */
  decapsulate(secret: Uint8Array, share: Uint8Array, keyId: string): Uint8Array
}

let fixedRandomWrap: (
  r: PublicKeyRecipientBase,
  dataKey: DataKey,
  context: CanonicalContext,
  random: Uint8Array,
  using: CryptoBackend,
  trace?: (t: PublicKeyWrapTrace) => void,
) => Recipient

/**
 * The recipient half of a public-key scheme: wraps only. Its subclasses add the scheme's constructor checks,
 * `parse`, `description` and `toJSON`.
 */
export abstract class PublicKeyRecipientBase implements Keyring {
  /** The recipient type written into messages. */
  abstract readonly type: string
  /** The key id written into messages: a 128-bit fingerprint of the public key in hex (FORMAT.md §16). */
  readonly keyId: string
  readonly #publicKey: Uint8Array
  readonly #kem: PublicKeyKem

  protected constructor(kem: PublicKeyKem, publicKey: Uint8Array) {
    this.#kem = kem
    this.#publicKey = copyBytes(publicKey)
    this.keyId = publicKeyId(kem.scheme.type, this.#publicKey)
  }

  /** The public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice()
  }

  /** The age recipient string (`age1…`; a post-quantum one is about 1,960 characters). */
  toString(): string {
    return encodeAgeKey(this.#kem.recipientKind, this.#publicKey)
  }

  /** A short, secret-free label for logs and errors. */
  abstract get description(): string

  /** Distinct from its identity's: a recipient cannot unwrap, so it must never share decrypt cache entries. */
  get cacheId(): string {
    return `${this.#kem.scheme.type}-recipient:${this.keyId}`
  }

  /**
   * A random data key wrapped for this public key.
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async generateDataKey(context: CanonicalContext, _options?: KeyringCallOptions): Promise<GeneratedDataKey> {
    await this.#kem.prepare()
    return generateWrappedDataKey((dataKey) => [this.#wrap(dataKey, context)])
  }

  /**
   * Wraps `dataKey` for this public key.
   * @param dataKey - The data key (not wiped here).
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, _options?: KeyringCallOptions): Promise<readonly Recipient[]> {
    await this.#kem.prepare()
    return [this.#wrap(dataKey, context)]
  }

  /** The KEM randomness is drawn here, never taken from a caller (vectors use the internal hook below). */
  #wrap(
    dataKey: DataKey,
    context: CanonicalContext,
    random = backend.randomBytes(this.#kem.randomBytes),
    using: CryptoBackend = backend,
    trace?: (t: PublicKeyWrapTrace) => void,
  ): Recipient {
    const { share, sharedSecret } = this.#kem.encapsulate(this.#publicKey, random)
    random.fill(0)
    try {
      return sealForRecipient(this.#kem.scheme, this.#publicKey, this.keyId, share, sharedSecret, dataKey, context, using, (t) =>
        trace?.({ ...t, sharedSecret: sharedSecret.slice() }),
      )
    } finally {
      sharedSecret.fill(0)
    }
  }

  static {
    fixedRandomWrap = (r, dataKey, context, random, using, trace) => r.#wrap(dataKey, context, random, using, trace)
  }

  /**
   * Always false: a recipient holds no secret.
   * @param _recipient - A wrapped key of the message.
   */
  canUnwrap(_recipient: Recipient): boolean {
    return false
  }

  /**
   * True for the wrapped keys written for this public key (its type and key id): a rewrap to
   * it counts as done once the message lists one, though only the identity can open it.
   * @param recipient - A wrapped key of the message.
   */
  wrapsFor(recipient: Recipient): boolean {
    return recipient.type === this.#kem.scheme.type && recipient.keyId === this.keyId
  }

  /**
   * Always throws ERR_UNWRAP: decrypting needs the identity.
   * @param recipient - The wrapped key.
   * @param _context - Unused.
   * @param _options - Unused.
   */
  async unwrapDataKey(recipient: Recipient, _context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    throw unwrapFailure(this.#kem.scheme, recipient.keyId, `a recipient (public key) cannot decrypt; use its identity (${this.#kem.identityHint})`)
  }

  /** The type and key id (and, where it is short, the recipient string); never a secret. */
  abstract toJSON(): object
}

/**
 * @internal A wrap with caller-chosen KEM randomness (already length-checked by the scheme's
 * own hook). For vectors only: reused randomness reuses a wrap key.
 */
export function wrapWithRandomForVectors(
  recipient: PublicKeyRecipientBase,
  dataKey: DataKey,
  context: CanonicalContext,
  random: Uint8Array,
  using: CryptoBackend,
  trace?: (t: PublicKeyWrapTrace) => void,
): Recipient {
  return fixedRandomWrap(recipient, dataKey, context, random.slice(), using, trace)
}

/**
 * The identity half of a public-key scheme: unwraps what was wrapped for its recipient and wraps for it
 * too. Its subclasses add the scheme's constructor checks, `generate`, `parse`, `toString`,
 * `toJSON` and inspection (none of which may show the secret).
 */
export abstract class PublicKeyIdentityBase<R extends PublicKeyRecipientBase> implements Keyring {
  /** The recipient type written into messages. */
  abstract readonly type: string
  /** The public half. */
  readonly recipient: R
  readonly #secret: Uint8Array
  readonly #kem: PublicKeyKem

  protected constructor(kem: PublicKeyKem, secret: Uint8Array, recipient: R) {
    this.#kem = kem
    this.#secret = copyBytes(secret)
    this.recipient = recipient
  }

  /** The key id of messages this identity opens (its recipient's). */
  get keyId(): string {
    return this.recipient.keyId
  }

  /** The `AGE-SECRET-KEY-…` string: the secret itself, store it like a password. */
  toSecretString(): string {
    return encodeAgeKey(this.#kem.identityKind, this.#secret)
  }

  /** The recipient's description (no secret). */
  get description(): string {
    return this.recipient.description
  }

  /** The type and key id: messages this identity opens share cache entries. */
  get cacheId(): string {
    return `${this.#kem.scheme.type}:${this.keyId}`
  }

  /**
   * A random data key wrapped for this identity's recipient.
   * @param context - The message's encryption context.
   * @param options - The call's abort signal.
   */
  generateDataKey(context: CanonicalContext, options: KeyringCallOptions): Promise<GeneratedDataKey> {
    return this.recipient.generateDataKey(context, options)
  }

  /**
   * Wraps `dataKey` for this identity's recipient.
   * @param dataKey - The data key (not wiped here).
   * @param context - The message's encryption context.
   * @param options - The call's abort signal.
   */
  wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[]> {
    return this.recipient.wrapDataKey(dataKey, context, options)
  }

  /**
   * Whether `recipient` is an entry of this identity's type with its key id.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === this.#kem.scheme.type && recipient.keyId === this.keyId
  }

  /**
   * Opens `recipient`. The wrapped key's length and the share (a low-order X25519 point, a
   * malformed KEM ciphertext, an all-zero secret) are checked before the seal is opened; each
   * failure is ERR_UNWRAP.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    const scheme = this.#kem.scheme
    if (!this.canUnwrap(recipient)) throw unwrapFailure(scheme, this.keyId, 'the wrapped key belongs to another key')
    const { share, sealed } = splitWrapped(scheme, this.keyId, recipient.wrapped)
    await this.#kem.prepare()
    const sharedSecret = this.#kem.decapsulate(this.#secret, share, this.keyId)
    try {
      return openForIdentity(scheme, this.recipient.publicKey, this.keyId, share, sealed, sharedSecret, context)
    } finally {
      sharedSecret.fill(0)
    }
  }

  /** A description without the secret (declared so that no subclass falls back to a default). */
  abstract toString(): string

  /** The type, key id and what of the recipient is short; never the secret. */
  abstract toJSON(): object
}

/** Builds an identity from `secret` and wipes `secret` afterwards, whether or not it was valid. */
export function identityFromSecret<T>(secret: Uint8Array, make: (secret: Uint8Array) => T): T {
  try {
    return make(secret)
  } finally {
    secret.fill(0)
  }
}
