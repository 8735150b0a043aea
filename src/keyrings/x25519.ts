/**
 * X25519 public-key recipients (docs/FORMAT.md §16.1): anyone holding the recipient (`age1…`)
 * encrypts, only the identity (`AGE-SECRET-KEY-1…`) decrypts. Each wrap draws an ephemeral
 * X25519 key, so the share (its public half) and the shared secret are new every time.
 * Classical only: a quantum computer recovers the data key from the share, which is why
 * post-quantum messages refuse these recipients by default (src/core/post-quantum-rule.ts).
 * @module
 */

import { backend } from '#crypto-backend'
import { loadX25519, x25519Sync } from '#public-key-kems'
import type { CryptoBackend } from '../crypto/backend.js'
import type { DataKey } from '../crypto/data-key.js'
import { invalidArgument } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { AGE_X25519_IDENTITY, AGE_X25519_RECIPIENT, decodeAgeKey } from './age-encoding.js'
import type { Keyring } from './keyring.js'
import type { PublicKeyKem } from './public-key-keyring.js'
import { identityFromSecret, PublicKeyIdentityBase, PublicKeyRecipientBase, wrapWithRandomForVectors } from './public-key-keyring.js'
import type { WrapTrace } from './public-key-wrap.js'
import { unwrapFailure } from './public-key-wrap.js'

/** The recipient type written into messages. */
export const X25519_TYPE = 'x25519'

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

/** An ephemeral X25519 key per wrap: its public half is the share. */
const KEM: PublicKeyKem = {
  scheme: { type: X25519_TYPE, label: 'KMSE v1 x25519 wrap', shareBytes: 32 },
  recipientKind: AGE_X25519_RECIPIENT,
  identityKind: AGE_X25519_IDENTITY,
  randomBytes: 32,
  identityHint: 'AGE-SECRET-KEY-1…',
  prepare: loadX25519,
  encapsulate(publicKey, ephemeral) {
    const x25519 = x25519Sync()
    return { share: x25519.getPublicKey(ephemeral), sharedSecret: x25519.getSharedSecret(ephemeral, publicKey) }
  },
  decapsulate(secret, share, keyId) {
    // The share is checked before the scalar multiplication, and an all-zero secret refused.
    if (isLowOrderX25519(share)) throw unwrapFailure(KEM.scheme, keyId, 'the ephemeral share is a low-order point (a forged entry)')
    let sharedSecret: Uint8Array
    try {
      sharedSecret = x25519Sync().getSharedSecret(secret, share)
    } catch {
      throw unwrapFailure(KEM.scheme, keyId, 'the ephemeral share is not a usable X25519 public key')
    }
    if (isAllZero(sharedSecret)) {
      sharedSecret.fill(0)
      throw unwrapFailure(KEM.scheme, keyId, 'the shared secret is all zero (a forged entry)')
    }
    return sharedSecret
  },
}

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
export class X25519Recipient extends PublicKeyRecipientBase implements Keyring {
  readonly type = X25519_TYPE

  /**
   * A recipient from its 32-byte public key; a low-order point is refused (ERR_INVALID_ARGUMENT).
   * @param publicKey - The X25519 public key (copied).
   */
  constructor(publicKey: Uint8Array) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw invalidArgument('an X25519 public key must be a Uint8Array of 32 bytes')
    if (isLowOrderX25519(publicKey)) throw invalidArgument('this X25519 public key is a low-order point: every message to it could be opened by anyone')
    super(KEM, publicKey)
  }

  /**
   * Reads an `age1…` recipient string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong.
   * @param text - The recipient, as age-keygen prints it.
   */
  static parse(text: string): X25519Recipient {
    return new X25519Recipient(decodeAgeKey(AGE_X25519_RECIPIENT, text))
  }

  /** The type and the `age1…` string. */
  get description(): string {
    return `${X25519_TYPE}:${this.toString()}`
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
export class X25519Identity extends PublicKeyIdentityBase<X25519Recipient> implements Keyring {
  readonly type = X25519_TYPE

  /**
   * An identity from its 32-byte secret scalar (copied; clamped by X25519 as usual).
   * @param secretKey - The secret key.
   */
  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) throw invalidArgument('an X25519 secret key must be a Uint8Array of 32 bytes')
    super(KEM, secretKey, new X25519Recipient(x25519Sync().getPublicKey(secretKey)))
  }

  /** A new random identity. */
  static generate(): X25519Identity {
    return identityFromSecret(backend.randomBytes(32), (secret) => new X25519Identity(secret))
  }

  /**
   * Reads an `AGE-SECRET-KEY-1…` string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong,
   * without repeating the secret.
   * @param text - The identity, as in an age identity file.
   */
  static parse(text: string): X25519Identity {
    return identityFromSecret(decodeAgeKey(AGE_X25519_IDENTITY, text), (secret) => new X25519Identity(secret))
  }

  /** A description without the secret (the recipient string). */
  toString(): string {
    return `X25519Identity(${this.recipient.toString()})`
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
  return wrapWithRandomForVectors(recipient, dataKey, context, ephemeral, using, trace)
}
