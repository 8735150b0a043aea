/**
 * Post-quantum hybrid recipients (docs/FORMAT.md §16.2): X-Wing (ML-KEM-768 + X25519,
 * draft-connolly-cfrg-xwing-kem), the KEM age 1.3 uses for its `age1pq1…` recipients. The
 * wrapped key stays secret if either ML-KEM-768 or X25519 holds, so a message recorded today
 * cannot be opened later with a quantum computer.
 * @module
 */
import { copyBytes } from '@noble/ciphers/utils.js'
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import { DataKey } from '../crypto/data-key.js'
import { invalidArgument } from '../errors.js'
import { KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { AGE_PQ_IDENTITY, AGE_PQ_RECIPIENT, decodeAgeKey, encodeAgeKey } from './age-encoding.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import type { PublicKeyScheme, WrapTrace } from './public-key-wrap.js'
import { openForIdentity, publicKeyId, sealForRecipient, splitWrapped, unwrapFailure } from './public-key-wrap.js'
import { isLowOrderX25519 } from './x25519.js'

/** The recipient type written into messages. */
export const MLKEM768X25519_TYPE = 'mlkem768x25519'
const PUBLIC_KEY_BYTES = 1216
const CIPHERTEXT_BYTES = 1120
/** X-Wing's ciphertext ends with the X25519 ephemeral share. */
const X25519_SHARE_OFFSET = CIPHERTEXT_BYTES - 32
const SEED_BYTES = 32
const ENCAPS_RANDOM_BYTES = 64
const SCHEME: PublicKeyScheme = { type: MLKEM768X25519_TYPE, label: 'KMSE v1 mlkem768x25519 wrap', shareBytes: CIPHERTEXT_BYTES }

/** Intermediate values of one wrap, for test vectors. */
export interface PostQuantumTrace extends WrapTrace {
  readonly sharedSecret: Uint8Array
}

let fixedRandomWrap: (
  r: PostQuantumRecipient,
  dataKey: DataKey,
  context: CanonicalContext,
  random: Uint8Array,
  using: CryptoBackend,
  trace?: (t: PostQuantumTrace) => void,
) => Recipient

/**
 * A post-quantum hybrid public key to encrypt to (age 1.3's `age1pq1…` string, an X-Wing
 * encapsulation key). It only wraps: an Envelope with it encrypts and cannot decrypt.
 * A message with one refuses classical public-key recipients unless the Envelope has
 * `allowClassicalRecipients: true` (they would void the post-quantum protection).
 *
 * @example
 * ```ts
 * const archive = PostQuantumRecipient.parse('age1pq1…')
 * const env = new Envelope({ keyring: [archive, localKey] })
 * ```
 */
export class PostQuantumRecipient implements Keyring {
  readonly type = MLKEM768X25519_TYPE
  /** The key id written into messages: a 128-bit fingerprint of the public key in hex (FORMAT.md §16). */
  readonly keyId: string
  readonly #publicKey: Uint8Array

  /**
   * A recipient from its 1216-byte X-Wing public key (ML-KEM-768 encapsulation key || X25519 public key).
   * @param publicKey - The public key (copied).
   */
  constructor(publicKey: Uint8Array) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
      throw invalidArgument(`an X-Wing (ML-KEM-768 + X25519) public key must be a Uint8Array of ${PUBLIC_KEY_BYTES} bytes`)
    }
    if (isLowOrderX25519(publicKey.subarray(PUBLIC_KEY_BYTES - 32)))
      throw invalidArgument('the X25519 half of this post-quantum public key is a low-order point')
    this.#publicKey = copyBytes(publicKey)
    // One test encapsulation would prove the ML-KEM half well formed; noble checks it on every encapsulation instead.
    this.keyId = publicKeyId(MLKEM768X25519_TYPE, this.#publicKey)
  }

  /**
   * Reads an `age1pq1…` recipient string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong.
   * @param text - The recipient, as age-keygen -pq prints it.
   */
  static parse(text: string): PostQuantumRecipient {
    return new PostQuantumRecipient(decodeAgeKey(AGE_PQ_RECIPIENT, text))
  }

  /** The 1216-byte public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice()
  }

  /** The `age1pq1…` string (about 1,960 characters). */
  toString(): string {
    return encodeAgeKey(AGE_PQ_RECIPIENT, this.#publicKey)
  }

  /** Short: the full recipient string is about 1,960 characters. */
  get description(): string {
    return `${MLKEM768X25519_TYPE}:${this.keyId}`
  }

  /** Distinct from its identity's: a recipient cannot unwrap, so it must never share decrypt cache entries. */
  get cacheId(): string {
    return `${MLKEM768X25519_TYPE}-recipient:${this.keyId}`
  }

  /**
   * A random data key wrapped for this public key.
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async generateDataKey(context: CanonicalContext, _options?: KeyringCallOptions): Promise<GeneratedDataKey> {
    const dataKey = new DataKey(backend.randomBytes(KEY_BYTES))
    return { dataKey, recipients: [this.#wrap(dataKey, context)] }
  }

  /**
   * Wraps `dataKey` for this public key.
   * @param dataKey - The data key (not wiped here).
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, _options?: KeyringCallOptions): Promise<readonly Recipient[]> {
    return [this.#wrap(dataKey, context)]
  }

  #wrap(
    dataKey: DataKey,
    context: CanonicalContext,
    random = backend.randomBytes(ENCAPS_RANDOM_BYTES),
    using: CryptoBackend = backend,
    trace?: (t: PostQuantumTrace) => void,
  ): Recipient {
    const { cipherText, sharedSecret } = xwing.encapsulate(this.#publicKey, random)
    random.fill(0)
    try {
      return sealForRecipient(SCHEME, this.#publicKey, this.keyId, cipherText, sharedSecret, dataKey, context, using, (t) =>
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
   * Always throws ERR_UNWRAP: decrypting needs the {@link PostQuantumIdentity}.
   * @param recipient - The wrapped key.
   * @param _context - Unused.
   * @param _options - Unused.
   */
  async unwrapDataKey(recipient: Recipient, _context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    throw unwrapFailure(SCHEME, recipient.keyId, 'a recipient (public key) cannot decrypt; use its identity (AGE-SECRET-KEY-PQ-1…)')
  }

  /** The type and key id (the recipient string is long; call `toString()` for it). */
  toJSON(): object {
    return { type: MLKEM768X25519_TYPE, keyId: this.keyId }
  }
}

/**
 * A post-quantum hybrid secret key (age 1.3's `AGE-SECRET-KEY-PQ-1…` string, a 32-byte X-Wing
 * seed): it unwraps what was wrapped for its {@link PostQuantumIdentity.recipient}, and wraps
 * for it too. `toString()`, `toJSON()` and inspection never show the secret;
 * {@link PostQuantumIdentity.toSecretString} does.
 */
export class PostQuantumIdentity implements Keyring {
  readonly type = MLKEM768X25519_TYPE
  /** The public half. */
  readonly recipient: PostQuantumRecipient
  readonly #seed: Uint8Array

  /**
   * An identity from its 32-byte X-Wing seed (copied).
   * @param seed - The secret seed.
   */
  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw invalidArgument(`an X-Wing secret seed must be a Uint8Array of ${SEED_BYTES} bytes`)
    this.#seed = copyBytes(seed)
    this.recipient = new PostQuantumRecipient(xwing.getPublicKey(this.#seed))
  }

  /** A new random identity. */
  static generate(): PostQuantumIdentity {
    const seed = backend.randomBytes(SEED_BYTES)
    try {
      return new PostQuantumIdentity(seed)
    } finally {
      seed.fill(0)
    }
  }

  /**
   * Reads an `AGE-SECRET-KEY-PQ-1…` string; a TypeError (ERR_INVALID_ARGUMENT) says what is
   * wrong, without repeating the secret.
   * @param text - The identity, as in an age identity file.
   */
  static parse(text: string): PostQuantumIdentity {
    const seed = decodeAgeKey(AGE_PQ_IDENTITY, text)
    try {
      return new PostQuantumIdentity(seed)
    } finally {
      seed.fill(0)
    }
  }

  /** The key id of messages this identity opens (its recipient's). */
  get keyId(): string {
    return this.recipient.keyId
  }

  /** The `AGE-SECRET-KEY-PQ-1…` string: the secret itself, store it like a password. */
  toSecretString(): string {
    return encodeAgeKey(AGE_PQ_IDENTITY, this.#seed)
  }

  /** A description without the secret. */
  toString(): string {
    return `PostQuantumIdentity(${this.keyId})`
  }

  get description(): string {
    return this.recipient.description
  }

  get cacheId(): string {
    return `${MLKEM768X25519_TYPE}:${this.keyId}`
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
   * Whether `recipient` is an mlkem768x25519 entry with this identity's key id.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === MLKEM768X25519_TYPE && recipient.keyId === this.keyId
  }

  /**
   * Opens `recipient`. A wrapped key of the wrong length, or whose X25519 share is a low-order
   * point, is ERR_UNWRAP before decapsulation; a ciphertext ML-KEM rejects (implicitly, with
   * a pseudorandom secret) fails the seal: ERR_UNWRAP too.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    if (!this.canUnwrap(recipient)) throw unwrapFailure(SCHEME, this.keyId, 'the wrapped key belongs to another key')
    const { share, sealed } = splitWrapped(SCHEME, this.keyId, recipient.wrapped)
    if (isLowOrderX25519(share.subarray(X25519_SHARE_OFFSET))) {
      throw unwrapFailure(SCHEME, this.keyId, 'the X25519 share in the KEM ciphertext is a low-order point (a forged entry)')
    }
    let sharedSecret: Uint8Array
    try {
      sharedSecret = xwing.decapsulate(share, this.#seed)
    } catch {
      throw unwrapFailure(SCHEME, this.keyId, 'the KEM ciphertext is malformed')
    }
    try {
      return openForIdentity(SCHEME, this.recipient.publicKey, this.keyId, share, sealed, sharedSecret, context)
    } finally {
      sharedSecret.fill(0)
    }
  }

  /** The type and key id; never the secret. */
  toJSON(): object {
    return { type: MLKEM768X25519_TYPE, keyId: this.keyId }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PostQuantumIdentity { keyId: ${JSON.stringify(this.keyId)}, secret: <redacted> }`
  }
}

/**
 * @internal For scripts/gen-vectors.ts and byte-exact tests only: a wrap with caller-chosen
 * encapsulation randomness (64 bytes). Never exported from the package.
 */
export function wrapPostQuantumForVectors(
  recipient: PostQuantumRecipient,
  dataKey: DataKey,
  context: CanonicalContext,
  random: Uint8Array,
  using: CryptoBackend = backend,
  trace?: (t: PostQuantumTrace) => void,
): Recipient {
  if (random.length !== ENCAPS_RANDOM_BYTES) throw invalidArgument(`random must be ${ENCAPS_RANDOM_BYTES} bytes`)
  return fixedRandomWrap(recipient, dataKey, context, random.slice(), using, trace)
}
