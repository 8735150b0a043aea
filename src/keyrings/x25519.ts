/**
 * X25519 public-key recipients (docs/FORMAT.md §16.1): anyone holding the recipient (`age1…`)
 * encrypts, only the identity (`AGE-SECRET-KEY-1…`) decrypts. Each wrap draws an ephemeral
 * X25519 key, so the share (its public half) and the shared secret are new every time.
 * Classical only: a quantum computer recovers the data key from the share, which is why
 * post-quantum messages refuse these recipients by default (src/core/post-quantum-rule.ts).
 * @module
 */

import { copyBytes } from '@noble/ciphers/utils.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import { DataKey } from '../crypto/data-key.js'
import { invalidArgument } from '../errors.js'
import { KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { AGE_X25519_IDENTITY, AGE_X25519_RECIPIENT, decodeAgeKey, encodeAgeKey } from './age-encoding.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import type { PublicKeyScheme, WrapTrace } from './public-key-wrap.js'
import { openForIdentity, publicKeyId, sealForRecipient, splitWrapped, unwrapFailure } from './public-key-wrap.js'

/** The recipient type written into messages. */
export const X25519_TYPE = 'x25519'
const SCHEME: PublicKeyScheme = { type: X25519_TYPE, label: 'KMSE v1 x25519 wrap', shareBytes: 32 }

const P = 2n ** 255n - 19n
/**
 * u-coordinates of order dividing the cofactor (8), on the curve or its twist: X25519 with any
 * of them gives the all-zero secret. Compared after masking bit 255 and reducing mod p, so the
 * non-canonical encodings p, p+1 (and the high-bit variants) are caught too.
 */
const LOW_ORDER = new Set([
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
])

/** Whether the 32-byte X25519 public value `u` is a low-order point (useless as a key or share). */
export function isLowOrderX25519(u: Uint8Array): boolean {
  let n = 0n
  for (let i = u.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(i === 31 ? u[i]! & 0x7f : u[i]!)
  return LOW_ORDER.has(n % P)
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

let fixedEphemeralWrap: (
  r: X25519Recipient,
  dataKey: DataKey,
  context: CanonicalContext,
  ephemeral: Uint8Array,
  using: CryptoBackend,
  trace?: (t: X25519Trace) => void,
) => Recipient

/** Intermediate values of one wrap, for test vectors. */
export interface X25519Trace extends WrapTrace {
  readonly sharedSecret: Uint8Array
}

/**
 * An X25519 public key to encrypt to (age's `age1…` string). It only wraps: it holds no secret,
 * so an Envelope with it encrypts and cannot decrypt (its `canUnwrap` is always false).
 *
 * @example
 * ```ts
 * const backup = X25519Recipient.parse('age1…')
 * const env = new Envelope({ keyring: backup }) // a server that writes backups it cannot read
 * ```
 */
export class X25519Recipient implements Keyring {
  readonly type = X25519_TYPE
  /** The key id written into messages: a 128-bit fingerprint of the public key in hex (FORMAT.md §16). */
  readonly keyId: string
  readonly #publicKey: Uint8Array

  /**
   * A recipient from its 32-byte public key; a low-order point is refused (ERR_INVALID_ARGUMENT).
   * @param publicKey - The X25519 public key (copied).
   */
  constructor(publicKey: Uint8Array) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw invalidArgument('an X25519 public key must be a Uint8Array of 32 bytes')
    if (isLowOrderX25519(publicKey)) throw invalidArgument('this X25519 public key is a low-order point: every message to it could be opened by anyone')
    this.#publicKey = copyBytes(publicKey)
    this.keyId = publicKeyId(X25519_TYPE, this.#publicKey)
  }

  /**
   * Reads an `age1…` recipient string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong.
   * @param text - The recipient, as age-keygen prints it.
   */
  static parse(text: string): X25519Recipient {
    return new X25519Recipient(decodeAgeKey(AGE_X25519_RECIPIENT, text))
  }

  /** The 32-byte public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice()
  }

  /** The `age1…` string. */
  toString(): string {
    return encodeAgeKey(AGE_X25519_RECIPIENT, this.#publicKey)
  }

  get description(): string {
    return `${X25519_TYPE}:${this.toString()}`
  }

  /** Distinct from its identity's: a recipient cannot unwrap, so it must never share decrypt cache entries. */
  get cacheId(): string {
    return `${X25519_TYPE}-recipient:${this.keyId}`
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

  /** The ephemeral secret is drawn here, never taken from a caller (vectors use the internal hook below). */
  #wrap(
    dataKey: DataKey,
    context: CanonicalContext,
    ephemeral = backend.randomBytes(32),
    using: CryptoBackend = backend,
    trace?: (t: X25519Trace) => void,
  ): Recipient {
    const share = x25519.getPublicKey(ephemeral)
    const sharedSecret = x25519.getSharedSecret(ephemeral, this.#publicKey)
    ephemeral.fill(0)
    try {
      return sealForRecipient(SCHEME, this.#publicKey, this.keyId, share, sharedSecret, dataKey, context, using, (t) =>
        trace?.({ ...t, sharedSecret: sharedSecret.slice() }),
      )
    } finally {
      sharedSecret.fill(0)
    }
  }

  static {
    fixedEphemeralWrap = (r, dataKey, context, ephemeral, using, trace) => r.#wrap(dataKey, context, ephemeral, using, trace)
  }

  /**
   * Always false: a recipient holds no secret.
   * @param _recipient - A wrapped key of the message.
   */
  canUnwrap(_recipient: Recipient): boolean {
    return false
  }

  /**
   * Always throws ERR_UNWRAP: decrypting needs the {@link X25519Identity}.
   * @param recipient - The wrapped key.
   * @param _context - Unused.
   * @param _options - Unused.
   */
  async unwrapDataKey(recipient: Recipient, _context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    throw unwrapFailure(SCHEME, recipient.keyId, 'a recipient (public key) cannot decrypt; use its identity (AGE-SECRET-KEY-1…)')
  }

  /** The type, key id and recipient string. */
  toJSON(): object {
    return { type: X25519_TYPE, keyId: this.keyId, recipient: this.toString() }
  }
}

/**
 * An X25519 secret key (age's `AGE-SECRET-KEY-1…` string): it unwraps what was wrapped for its
 * {@link X25519Identity.recipient}, and wraps for it too, so it can be an Envelope's only keyring.
 * `toString()`, `toJSON()` and inspection never show the secret; {@link X25519Identity.toSecretString} does.
 */
export class X25519Identity implements Keyring {
  readonly type = X25519_TYPE
  /** The public half. */
  readonly recipient: X25519Recipient
  readonly #secret: Uint8Array

  /**
   * An identity from its 32-byte secret scalar (copied; clamped by X25519 as usual).
   * @param secretKey - The secret key.
   */
  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) throw invalidArgument('an X25519 secret key must be a Uint8Array of 32 bytes')
    this.#secret = copyBytes(secretKey)
    this.recipient = new X25519Recipient(x25519.getPublicKey(this.#secret))
  }

  /** A new random identity. */
  static generate(): X25519Identity {
    const secret = backend.randomBytes(32)
    try {
      return new X25519Identity(secret)
    } finally {
      secret.fill(0)
    }
  }

  /**
   * Reads an `AGE-SECRET-KEY-1…` string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong,
   * without repeating the secret.
   * @param text - The identity, as in an age identity file.
   */
  static parse(text: string): X25519Identity {
    const secret = decodeAgeKey(AGE_X25519_IDENTITY, text)
    try {
      return new X25519Identity(secret)
    } finally {
      secret.fill(0)
    }
  }

  /** The key id of messages this identity opens (its recipient's). */
  get keyId(): string {
    return this.recipient.keyId
  }

  /** The `AGE-SECRET-KEY-1…` string: the secret itself, store it like a password. */
  toSecretString(): string {
    return encodeAgeKey(AGE_X25519_IDENTITY, this.#secret)
  }

  /** A description without the secret (the recipient string). */
  toString(): string {
    return `X25519Identity(${this.recipient.toString()})`
  }

  get description(): string {
    return this.recipient.description
  }

  get cacheId(): string {
    return `${X25519_TYPE}:${this.keyId}`
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
   * Whether `recipient` is an x25519 entry with this identity's key id.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === X25519_TYPE && recipient.keyId === this.keyId
  }

  /**
   * Opens `recipient`. The share is checked (length, low-order point) before the scalar
   * multiplication, and an all-zero shared secret is refused: each is ERR_UNWRAP.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    if (!this.canUnwrap(recipient)) throw unwrapFailure(SCHEME, this.keyId, 'the wrapped key belongs to another key')
    const { share, sealed } = splitWrapped(SCHEME, this.keyId, recipient.wrapped)
    if (isLowOrderX25519(share)) throw unwrapFailure(SCHEME, this.keyId, 'the ephemeral share is a low-order point (a forged entry)')
    let sharedSecret: Uint8Array
    try {
      sharedSecret = x25519.getSharedSecret(this.#secret, share)
    } catch {
      throw unwrapFailure(SCHEME, this.keyId, 'the ephemeral share is not a usable X25519 public key')
    }
    try {
      if (isAllZero(sharedSecret)) throw unwrapFailure(SCHEME, this.keyId, 'the shared secret is all zero (a forged entry)')
      return openForIdentity(SCHEME, this.recipient.publicKey, this.keyId, share, sealed, sharedSecret, context)
    } finally {
      sharedSecret.fill(0)
    }
  }

  /** The type, key id and recipient; never the secret. */
  toJSON(): object {
    return { type: X25519_TYPE, keyId: this.keyId, recipient: this.recipient.toString() }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `X25519Identity { recipient: ${JSON.stringify(this.recipient.toString())}, secret: <redacted> }`
  }
}

/**
 * @internal For scripts/gen-vectors.ts and byte-exact tests only: a wrap with a caller-chosen
 * ephemeral secret. Never exported from the package: a reused ephemeral reuses a wrap key.
 */
export function wrapX25519ForVectors(
  recipient: X25519Recipient,
  dataKey: DataKey,
  context: CanonicalContext,
  ephemeral: Uint8Array,
  using: CryptoBackend = backend,
  trace?: (t: X25519Trace) => void,
): Recipient {
  if (ephemeral.length !== 32) throw invalidArgument('ephemeral must be 32 bytes')
  return fixedEphemeralWrap(recipient, dataKey, context, ephemeral.slice(), using, trace)
}
