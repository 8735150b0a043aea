/**
 * The passphrase keyring: recipients of type `scrypt`, for data a person opens by typing a
 * passphrase (docs/FORMAT.md §17). The construction is age's scrypt recipient with this
 * format's one-time-key wrap:
 *
 *   salt     = 32 random bytes, fresh for every wrap
 *   wrap-key = scrypt(P = passphrase, S = "KMSE v1 scrypt wrap" || salt, N = 2^logN, r = 8, p = 1, 32)
 *   aad      = CBOR ["KMSE v1 scrypt wrap", logN, context]
 *   wrapped  = logN (1 byte) || salt || AES-256-GCM(wrap-key, nonce = 0^96, data key, aad)   (81 bytes)
 *
 * A reader refuses a work factor above its limit before running scrypt, so a hostile message
 * cannot make it burn more than about a second (the default limit, measured, is §17's), and
 * refuses a `scrypt` entry that is not the message's only recipient (age's rule; the writer's
 * half is src/core/passphrase-rule.ts).
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import { DataKey } from '../crypto/data-key.js'
import { openOnce, sealOnce } from '../crypto/one-time-aead.js'
import { invalidArgument, LimitError, outOfRange, UnwrapError } from '../errors.js'
import { encodeCbor } from '../format/cbor.js'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { generateWrappedDataKey } from './generate-data-key.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'

/** The keyring type written into messages. */
export const SCRYPT_KEYRING_TYPE = 'scrypt'
/** The key id of every `scrypt` entry: a passphrase has no name worth writing down. */
export const SCRYPT_KEY_ID = 'passphrase'
/**
 * The work factor (log2 N) a passphrase keyring writes by default: age's, 2^18 (about 1 s
 * with node:crypto and 1.6 s with the portable backend on the 2-core machine it was measured on).
 */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18
/**
 * The highest work factor a reader accepts by default (log2 N): one such message costs
 * about 1 s (node) to 1.6 s (portable) and 256 MiB; 19 would already be 2-3 s.
 */
export const DEFAULT_MAX_SCRYPT_WORK_FACTOR = 18
/** Bounds of either option: 2^10 is too weak to protect anything, 2^20 needs 1 GiB and 5-8 s. */
const MIN_WORK_FACTOR = 10
const MAX_WORK_FACTOR = 20
const LABEL = 'KMSE v1 scrypt wrap'
const LABEL_BYTES = utf8ToBytes(LABEL)
const SALT_BYTES = 32
const WRAPPED_BYTES = 1 + SALT_BYTES + KEY_BYTES + TAG_BYTES
const MAX_PASSPHRASE_BYTES = 4096

/** Options of {@link PassphraseKeyring}. */
export interface PassphraseKeyringOptions {
  /**
   * The passphrase. A string is NFC-normalised and UTF-8 encoded, so one passphrase typed
   * on systems that compose accents differently gives one key; bytes are used as given.
   * Copied; the keyring zeroes its copy on {@link PassphraseKeyring.wipe} (a JS string
   * cannot be zeroed: pass bytes to control every copy). 1 to 4,096 bytes.
   */
  readonly passphrase: string | Uint8Array
  /** log2 of scrypt's N for new wraps, 10..20 (default {@link DEFAULT_SCRYPT_WORK_FACTOR}). */
  readonly workFactor?: number
  /**
   * The highest log2 N this keyring runs when opening, 10..20 (default
   * {@link DEFAULT_MAX_SCRYPT_WORK_FACTOR}); an entry above it is refused with ERR_LIMIT
   * before scrypt runs. Raise it only to read messages written with a higher work factor.
   */
  readonly maxWorkFactor?: number
}

function checkWorkFactor(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_WORK_FACTOR || value > MAX_WORK_FACTOR) {
    throw outOfRange(`${name} must be an integer log2(N) from ${MIN_WORK_FACTOR} to ${MAX_WORK_FACTOR}, got ${String(value)}`)
  }
  return value
}

function passphraseBytes(passphrase: unknown): Uint8Array {
  let bytes: Uint8Array
  if (typeof passphrase === 'string') bytes = utf8ToBytes(passphrase.normalize('NFC'))
  else if (passphrase instanceof Uint8Array) bytes = new Uint8Array(passphrase)
  else throw invalidArgument('passphrase must be a string or a Uint8Array')
  if (bytes.length === 0 || bytes.length > MAX_PASSPHRASE_BYTES) {
    bytes.fill(0)
    throw invalidArgument(`passphrase must be 1 to ${MAX_PASSPHRASE_BYTES} bytes`)
  }
  return bytes
}

function wrapAad(logN: number, context: CanonicalContext): Uint8Array {
  return encodeCbor([LABEL, logN, context])
}

function scryptSalt(salt: Uint8Array): Uint8Array {
  const out = new Uint8Array(LABEL_BYTES.length + salt.length)
  out.set(LABEL_BYTES, 0)
  out.set(salt, LABEL_BYTES.length)
  return out
}

let fixedSaltWrap: (keyring: PassphraseKeyring, dataKey: DataKey, context: CanonicalContext, salt: Uint8Array, using: CryptoBackend) => Promise<Recipient>

/**
 * A keyring holding one passphrase. It must be a message's only recipient: an Envelope
 * that would add other keys refuses to encrypt, and this keyring refuses to open a
 * `scrypt` entry in a message that lists others (a passphrase then authenticates nothing
 * about who wrote it).
 *
 * @example
 * ```ts
 * const keyring = new PassphraseKeyring({ passphrase: 'correct horse battery staple' })
 * const env = new Envelope({ keyring })
 * const msg = await env.encrypt('secret') // about 1 s: scrypt at 2^18
 * ```
 * @throws TypeError / RangeError `ERR_INVALID_ARGUMENT` for a bad passphrase or work factor.
 */
export class PassphraseKeyring implements Keyring {
  /** The recipient type this keyring writes and opens. */
  readonly type = SCRYPT_KEYRING_TYPE
  /** log2 N of new wraps. */
  readonly workFactor: number
  /** The highest log2 N this keyring runs when opening. */
  readonly maxWorkFactor: number
  readonly #passphrase: Uint8Array
  #wiped = false
  #cacheId: string | undefined

  /**
   * Copies the passphrase; no scrypt runs until the first wrap or unwrap.
   * @param options - The passphrase and work factors ({@link PassphraseKeyringOptions}).
   */
  constructor(options: PassphraseKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('PassphraseKeyring needs { passphrase }')
    this.workFactor = checkWorkFactor(options.workFactor, 'workFactor', DEFAULT_SCRYPT_WORK_FACTOR)
    this.maxWorkFactor = checkWorkFactor(options.maxWorkFactor, 'maxWorkFactor', DEFAULT_MAX_SCRYPT_WORK_FACTOR)
    this.#passphrase = passphraseBytes(options.passphrase)
  }

  /** `scrypt:passphrase`: never the passphrase. */
  get description(): string {
    return `${SCRYPT_KEYRING_TYPE}:${SCRYPT_KEY_ID}`
  }

  /**
   * Distinct per passphrase, without revealing it: a fast hash would let anyone holding the
   * id test guesses cheaply, so the fingerprint is an scrypt-cost-free random tag per
   * instance. Two instances therefore never share cache entries, which costs at most one
   * extra scrypt per instance.
   */
  get cacheId(): string {
    this.#cacheId ??= `${SCRYPT_KEYRING_TYPE}:instance:${Array.from(backend.randomBytes(12), (b) => b.toString(16).padStart(2, '0')).join('')}`
    return this.#cacheId
  }

  /**
   * A random data key wrapped under the passphrase (one scrypt).
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (scrypt itself is not interruptible).
   */
  async generateDataKey(context: CanonicalContext, _options?: KeyringCallOptions): Promise<GeneratedDataKey> {
    return generateWrappedDataKey(async (dataKey) => [await this.#wrap(dataKey, context)])
  }

  /**
   * Wraps `dataKey` under the passphrase (one scrypt).
   * @param dataKey - The data key to wrap (not wiped here).
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (scrypt itself is not interruptible).
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, _options?: KeyringCallOptions): Promise<readonly Recipient[]> {
    return [await this.#wrap(dataKey, context)]
  }

  /** The salt is drawn here, never taken from a caller (see src/crypto/one-time-aead.ts). */
  async #wrap(
    dataKey: DataKey,
    context: CanonicalContext,
    salt: Uint8Array = backend.randomBytes(SALT_BYTES),
    using: CryptoBackend = backend,
  ): Promise<Recipient> {
    const logN = this.workFactor
    const wrapKey = await using.scrypt(this.#secret(), scryptSalt(salt), logN)
    const wrapped = new Uint8Array(WRAPPED_BYTES)
    wrapped[0] = logN
    wrapped.set(salt, 1)
    try {
      sealOnce(using, wrapKey, dataKey.bytes, wrapAad(logN, context), wrapped, 1 + SALT_BYTES)
    } finally {
      wrapKey.fill(0)
    }
    return { type: SCRYPT_KEYRING_TYPE, keyId: SCRYPT_KEY_ID, wrapped }
  }

  static {
    fixedSaltWrap = (keyring, dataKey, context, salt, using) => keyring.#wrap(dataKey, context, salt, using)
  }

  /**
   * Whether `recipient` is a passphrase entry (whose passphrase only trying can tell).
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === SCRYPT_KEYRING_TYPE
  }

  /**
   * Refuses, before any scrypt, a message that lists a `scrypt` entry beside other recipients.
   * @param recipients - Every wrapped key of the message.
   * @param _options - Unused: no I/O.
   */
  async prepareUnwrap(recipients: readonly Recipient[], _options?: KeyringCallOptions): Promise<void> {
    if (recipients.length > 1 && recipients.some((r) => r.type === SCRYPT_KEYRING_TYPE)) {
      throw new UnwrapError([
        {
          type: SCRYPT_KEYRING_TYPE,
          keyId: SCRYPT_KEY_ID,
          code: 'ERR_UNWRAP',
          message: `the message lists a passphrase (scrypt) entry beside ${recipients.length - 1} other wrapped key(s); a passphrase must be a message's only recipient (otherwise anyone holding another key could have written it), so the passphrase is not tried`,
        },
      ])
    }
  }

  /**
   * Opens a `scrypt` entry: work factor checked against {@link PassphraseKeyring.maxWorkFactor} first, then one scrypt.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (scrypt itself is not interruptible).
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    const fail = (why: string): UnwrapError =>
      new UnwrapError([
        { type: SCRYPT_KEYRING_TYPE, keyId: recipient.keyId, code: 'ERR_UNWRAP', message: `the passphrase could not unwrap the data key: ${why}` },
      ])
    if (!this.canUnwrap(recipient)) throw fail('the wrapped key is not a passphrase entry')
    if (recipient.keyId !== SCRYPT_KEY_ID) throw fail(`a scrypt entry's key id must be "${SCRYPT_KEY_ID}"`)
    if (recipient.wrapped.length !== WRAPPED_BYTES) throw fail(`the wrapped key is ${recipient.wrapped.length} bytes, expected ${WRAPPED_BYTES}`)
    const logN = recipient.wrapped[0]!
    if (logN === 0) throw fail('the work factor is 0')
    if (logN > this.maxWorkFactor) {
      throw new LimitError(
        `the passphrase entry asks for scrypt work factor 2^${logN}; this reader runs at most 2^${this.maxWorkFactor} (maxWorkFactor), so it did not try: raise maxWorkFactor (at most ${MAX_WORK_FACTOR}) only for messages you expect`,
      )
    }
    const salt = recipient.wrapped.subarray(1, 1 + SALT_BYTES)
    const wrapKey = await backend.scrypt(this.#secret(), scryptSalt(salt), logN)
    const plain = openOnce(backend, wrapKey, recipient.wrapped.subarray(1 + SALT_BYTES), wrapAad(logN, context))
    wrapKey.fill(0)
    if (plain === undefined) throw fail('wrong passphrase, or the message was altered')
    const bytes = new Uint8Array(plain)
    plain.fill(0)
    return new DataKey(bytes)
  }

  /** Zeroes the keyring's copy of the passphrase; every later wrap or unwrap throws. */
  wipe(): void {
    this.#passphrase.fill(0)
    this.#wiped = true
  }

  #secret(): Uint8Array {
    if (this.#wiped) throw invalidArgument('this PassphraseKeyring was wiped: create a new one')
    return this.#passphrase
  }

  /** The type and work factors; never the passphrase. */
  toJSON(): object {
    return { type: SCRYPT_KEYRING_TYPE, workFactor: this.workFactor, maxWorkFactor: this.maxWorkFactor }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PassphraseKeyring { workFactor: ${this.workFactor}, maxWorkFactor: ${this.maxWorkFactor}, passphrase: <redacted> }`
  }
}

/**
 * @internal For vector generation and byte-exact tests only: a wrap with a caller-chosen
 * salt. Never exported from the package; a salt used twice reuses a GCM key and nonce.
 */
export function wrapPassphraseWithFixedSaltForVectors(
  keyring: PassphraseKeyring,
  dataKey: DataKey,
  context: CanonicalContext,
  salt: Uint8Array,
  using: CryptoBackend = backend,
): Promise<Recipient> {
  if (salt.length !== SALT_BYTES) throw invalidArgument(`salt must be ${SALT_BYTES} bytes`)
  return fixedSaltWrap(keyring, dataKey, context, salt, using)
}
