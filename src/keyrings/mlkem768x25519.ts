/**
 * Post-quantum hybrid recipients (docs/FORMAT.md §16.2): X-Wing (ML-KEM-768 + X25519,
 * draft-connolly-cfrg-xwing-kem), the KEM age 1.3 uses for its `age1pq1…` recipients. The
 * wrapped key stays secret if either ML-KEM-768 or X25519 holds, so a message recorded today
 * cannot be opened later with a quantum computer.
 * @module
 */
import { backend } from '#crypto-backend'
import { loadXWing, xwingSync } from '#public-key-kems'
import type { CryptoBackend } from '../crypto/backend.js'
import type { DataKey } from '../crypto/data-key.js'
import { invalidArgument } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { AGE_PQ_IDENTITY, AGE_PQ_RECIPIENT, decodeAgeKey } from './age-encoding.js'
import type { Keyring } from './keyring.js'
import type { PublicKeyKem } from './public-key-keyring.js'
import { identityFromSecret, PublicKeyIdentityBase, PublicKeyRecipientBase, wrapWithRandomForVectors } from './public-key-keyring.js'
import type { WrapTrace } from './public-key-wrap.js'
import { unwrapFailure } from './public-key-wrap.js'
import { isLowOrderX25519 } from './x25519.js'

/** The recipient type written into messages. */
export const MLKEM768X25519_TYPE = 'mlkem768x25519'
const PUBLIC_KEY_BYTES = 1216
const CIPHERTEXT_BYTES = 1120
/** X-Wing's ciphertext ends with the X25519 ephemeral share. */
const X25519_SHARE_OFFSET = CIPHERTEXT_BYTES - 32
const SEED_BYTES = 32
const ENCAPS_RANDOM_BYTES = 64

/** X-Wing: the KEM ciphertext is the share. */
const KEM: PublicKeyKem = {
  scheme: { type: MLKEM768X25519_TYPE, label: 'KMSE v1 mlkem768x25519 wrap', shareBytes: CIPHERTEXT_BYTES },
  recipientKind: AGE_PQ_RECIPIENT,
  identityKind: AGE_PQ_IDENTITY,
  randomBytes: ENCAPS_RANDOM_BYTES,
  identityHint: 'AGE-SECRET-KEY-PQ-1…',
  prepare: loadXWing,
  encapsulate(publicKey, random) {
    const { cipherText, sharedSecret } = xwingSync().encapsulate(publicKey, random)
    return { share: cipherText, sharedSecret }
  },
  decapsulate(seed, share, keyId) {
    // A low-order X25519 share is refused before decapsulation; a ciphertext ML-KEM rejects
    // (implicitly, with a pseudorandom secret) fails the seal later.
    if (isLowOrderX25519(share.subarray(X25519_SHARE_OFFSET))) {
      throw unwrapFailure(KEM.scheme, keyId, 'the X25519 share in the KEM ciphertext is a low-order point (a forged entry)')
    }
    try {
      return xwingSync().decapsulate(share, seed)
    } catch {
      throw unwrapFailure(KEM.scheme, keyId, 'the KEM ciphertext is malformed')
    }
  },
}

/** Intermediate values of one wrap, for test vectors. */
export interface PostQuantumTrace extends WrapTrace {
  readonly sharedSecret: Uint8Array
}

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
export class PostQuantumRecipient extends PublicKeyRecipientBase implements Keyring {
  readonly type = MLKEM768X25519_TYPE

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
    // One test encapsulation would prove the ML-KEM half well formed; noble checks it on every encapsulation instead.
    super(KEM, publicKey)
  }

  /**
   * Reads an `age1pq1…` recipient string; a TypeError (ERR_INVALID_ARGUMENT) says what is wrong.
   * @param text - The recipient, as age-keygen -pq prints it.
   */
  static parse(text: string): PostQuantumRecipient {
    return new PostQuantumRecipient(decodeAgeKey(AGE_PQ_RECIPIENT, text))
  }

  /** Short: the full recipient string is about 1,960 characters. */
  get description(): string {
    return `${MLKEM768X25519_TYPE}:${this.keyId}`
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
export class PostQuantumIdentity extends PublicKeyIdentityBase<PostQuantumRecipient> implements Keyring {
  readonly type = MLKEM768X25519_TYPE

  /**
   * An identity from its 32-byte X-Wing seed (copied).
   * @param seed - The secret seed.
   */
  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw invalidArgument(`an X-Wing secret seed must be a Uint8Array of ${SEED_BYTES} bytes`)
    super(KEM, seed, new PostQuantumRecipient(xwingSync().getPublicKey(seed)))
  }

  /** A new random identity. */
  static generate(): PostQuantumIdentity {
    return identityFromSecret(backend.randomBytes(SEED_BYTES), (seed) => new PostQuantumIdentity(seed))
  }

  /**
   * Reads an `AGE-SECRET-KEY-PQ-1…` string; a TypeError (ERR_INVALID_ARGUMENT) says what is
   * wrong, without repeating the secret.
   * @param text - The identity, as in an age identity file.
   */
  static parse(text: string): PostQuantumIdentity {
    return identityFromSecret(decodeAgeKey(AGE_PQ_IDENTITY, text), (seed) => new PostQuantumIdentity(seed))
  }

  /** A description without the secret. */
  toString(): string {
    return `PostQuantumIdentity(${this.keyId})`
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
  return wrapWithRandomForVectors(recipient, dataKey, context, random, using, trace)
}
