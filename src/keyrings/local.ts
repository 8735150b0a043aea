/**
 * The local keyring: a 256-bit master key held by the application (a key file, a secret
 * manager, an environment variable). The embedded default: no cloud account needed.
 *
 * Wrapping (docs/FORMAT.md §7): each wrap draws a 32-byte salt and derives a one-time
 * wrapping key from the master key, so no nonce is ever reused under one key however many
 * data keys are wrapped (the one-time-key AEAD of src/crypto/one-time-aead.ts):
 *
 *   wrap-key = HKDF-SHA-512(ikm = master key, salt = salt, info = "KMSE v1 local wrap", L = 32)
 *   aad      = CBOR ["KMSE v1 local wrap", key id, context]
 *   wrapped  = salt || AES-256-GCM(wrap-key, nonce = 0^96, data key, aad)      (80 bytes)
 * @module
 */
import { bytesToHex, copyBytes, hexToBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { CryptoBackend } from '../crypto/backend.js'
import { DataKey } from '../crypto/data-key.js'
import { openOnce, sealOnce } from '../crypto/one-time-aead.js'
import { invalidArgument, UnwrapError } from '../errors.js'
import { CborWriter, textLength, textMapLength } from '../format/cbor-write.js'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { generateWrappedDataKey } from './generate-data-key.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'

/** The keyring type written into messages. */
export const LOCAL_KEYRING_TYPE = 'local'
const WRAP_LABEL = 'KMSE v1 local wrap'
const WRAP_INFO = utf8ToBytes(WRAP_LABEL)
const SALT_BYTES = 32
const WRAPPED_BYTES = SALT_BYTES + KEY_BYTES + TAG_BYTES
const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}$/
/** Tag of the key file format (docs/FORMAT.md §8). */
export const KEY_FILE_TYPE = 'kms-envelope/local-key'

/**
 * A local key's status in its key file (FORMAT.md §8): `active` keys wrap new messages,
 * `decrypt-only` keys (retired, kept until every message is rewrapped) only open old ones.
 */
export type LocalKeyStatus = 'active' | 'decrypt-only'
const KEY_STATUSES: readonly string[] = ['active', 'decrypt-only']

/** Options of {@link LocalKeyring}. */
export interface LocalKeyringOptions {
  /** Names the key in every message it wraps; 1-256 characters of `A-Z a-z 0-9 . _ : / @ + = -`. */
  readonly keyId: string
  /** The 256-bit master key. Copied; the caller may wipe its own copy. */
  readonly key: Uint8Array
  /** What the key is for (default `active`); see {@link LocalKeyring.status}. */
  readonly status?: LocalKeyStatus
}

function checkStatus(status: unknown, what: string): LocalKeyStatus {
  if (status === undefined) return 'active'
  if (typeof status !== 'string' || !KEY_STATUSES.includes(status)) {
    const shown = typeof status === 'string' ? JSON.stringify(status.slice(0, 40)) : typeof status
    throw invalidArgument(`${what} must be "active" or "decrypt-only", got ${shown}`)
  }
  return status as LocalKeyStatus
}

function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) {
    throw invalidArgument(`keyId must be 1-256 characters of A-Z a-z 0-9 . _ : / @ + = - starting with a letter or digit, got ${JSON.stringify(keyId)}`)
  }
  return keyId
}

let fixedSaltWrap: (keyring: LocalKeyring, dataKey: DataKey, context: CanonicalContext, salt: Uint8Array, using: CryptoBackend) => Recipient

/**
 * The wrap AAD, CBOR [label, key id, context]: the bytes the general encoder writes (the
 * vectors hold it to them), written by hand into one buffer sized exactly, because it runs on
 * every wrap and unwrap and cbor-x's encoder cost as much as the AAD's GCM in the profile.
 */
function wrapAad(keyId: string, context: CanonicalContext): Uint8Array {
  const w = new CborWriter(1 + textLength(WRAP_LABEL) + textLength(keyId) + textMapLength(context))
  w.head(4, 3)
  w.text(WRAP_LABEL)
  w.text(keyId)
  w.textMap(context)
  return w.bytes
}

/**
 * A keyring holding one local 256-bit master key.
 *
 * @example
 * ```ts
 * const keyring = LocalKeyring.generate({ keyId: 'backups-2026' })
 * const env = new Envelope({ keyring })
 * const saved = keyring.toKeyFile() // JSON text; keep it secret (see kms-envelope/node for files)
 * ```
 */
export class LocalKeyring implements Keyring {
  readonly type = LOCAL_KEYRING_TYPE
  readonly keyId: string
  /**
   * `active` or `decrypt-only`, as the key file says (FORMAT.md §8). Metadata for tools that
   * sort a set of keys (the CLI's `--key dir:PATH`): an Envelope does not read it, so put a
   * decrypt-only key in `decryptOnly` yourself. Not part of `cacheId`: the key is the same.
   */
  readonly status: LocalKeyStatus
  readonly #key: Uint8Array
  #cacheId: string | undefined

  /**
   * A keyring holding one local master key.
   *
   * @param options - The key id and the 256-bit master key (copied).
   */
  constructor(options: LocalKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('LocalKeyring needs { keyId, key }')
    this.keyId = checkKeyId(options.keyId)
    this.status = checkStatus(options.status, 'status')
    const key = options.key
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
      throw invalidArgument(`key must be a Uint8Array of ${KEY_BYTES} bytes (a 256-bit key)`)
    }
    this.#key = copyBytes(key) // a copy even when `key` is a Buffer (whose slice() is a view)
  }

  /**
   * A keyring with a new random master key.
   * @param options - `keyId`, which defaults to `local:` and 16 random hex digits; `status` (default `active`).
   */
  static generate(options: { keyId?: string; status?: LocalKeyStatus } = {}): LocalKeyring {
    const keyId = options.keyId ?? `local:${bytesToHex(backend.randomBytes(8))}`
    const key = backend.randomBytes(KEY_BYTES)
    try {
      return new LocalKeyring({ keyId, key, ...(options.status === undefined ? {} : { status: options.status }) })
    } finally {
      key.fill(0)
    }
  }

  /**
   * Reads the key file format (docs/FORMAT.md §8). Throws a TypeError naming what is wrong.
   * Node programs usually call `loadLocalKeyring(path)` from `kms-envelope/node` instead.
   * @param text - The key file's JSON text.
   */
  static fromKeyFile(text: string): LocalKeyring {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      throw invalidArgument('key file is not JSON')
    }
    const d = data as Record<string, unknown>
    if (d === null || typeof d !== 'object' || d.type !== KEY_FILE_TYPE) {
      throw invalidArgument(`key file must be a JSON object with "type": "${KEY_FILE_TYPE}"`)
    }
    if (d.version !== 1) throw invalidArgument(`key file version ${JSON.stringify(d.version)} is not supported (expected 1)`)
    if (typeof d.key !== 'string' || !/^[0-9a-f]{64}$/.test(d.key)) {
      throw invalidArgument('key file "key" must be 64 lowercase hex digits (256 bits)')
    }
    const status = checkStatus(d.status, 'key file "status"')
    const key = hexToBytes(d.key)
    try {
      return new LocalKeyring({ keyId: d.keyId as string, key, status })
    } finally {
      key.fill(0)
    }
  }

  /**
   * The key file text (JSON) for this key. It holds the secret key: store it like a password.
   * `status` is written only for a decrypt-only key, so an active key's file is the same as
   * before the field existed (FORMAT.md §8).
   * @param created - The creation time written into the file (default now).
   */
  toKeyFile(created: Date = new Date()): string {
    const status = this.status === 'active' ? {} : { status: this.status }
    return `${JSON.stringify({ type: KEY_FILE_TYPE, version: 1, keyId: this.keyId, key: bytesToHex(this.#key), ...status, created: created.toISOString() }, null, 2)}\n`
  }

  get description(): string {
    // Generated ids already start with "local:"; do not print "local:local:…".
    return this.keyId.startsWith(`${LOCAL_KEYRING_TYPE}:`) ? this.keyId : `${LOCAL_KEYRING_TYPE}:${this.keyId}`
  }

  /** Distinct per key material, not just per id: two keys sharing an id must not share cache entries. */
  get cacheId(): string {
    if (this.#cacheId === undefined) {
      const fingerprint = backend.hkdfSha512(this.#key, new Uint8Array(0), utf8ToBytes('KMSE v1 local key fingerprint'), 16)
      this.#cacheId = `${LOCAL_KEYRING_TYPE}:${this.keyId}:${bytesToHex(fingerprint)}`
    }
    return this.#cacheId
  }

  /**
   * A random data key wrapped under this key.
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async generateDataKey(context: CanonicalContext, _options?: KeyringCallOptions): Promise<GeneratedDataKey> {
    return generateWrappedDataKey((dataKey) => [this.#wrap(dataKey, context)])
  }

  /**
   * Wraps `dataKey` under this key.
   * @param dataKey - The data key to wrap (not wiped here).
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, _options?: KeyringCallOptions): Promise<readonly Recipient[]> {
    return [this.#wrap(dataKey, context)]
  }

  /**
   * The salt is drawn here, never taken from a caller: two wraps sharing a salt would seal
   * two data keys under one GCM key and nonce. Test vectors need fixed salts; they go through
   * {@link wrapWithFixedSaltForVectors}, which is not exported from the package.
   */
  #wrap(dataKey: DataKey, context: CanonicalContext, salt: Uint8Array = backend.randomBytes(SALT_BYTES), using: CryptoBackend = backend): Recipient {
    const wrapKey = using.hkdfSha512(this.#key, salt, WRAP_INFO, KEY_BYTES)
    const wrapped = new Uint8Array(WRAPPED_BYTES)
    wrapped.set(salt, 0)
    try {
      sealOnce(using, wrapKey, dataKey.bytes, wrapAad(this.keyId, context), wrapped, SALT_BYTES)
    } finally {
      wrapKey.fill(0)
    }
    return { type: LOCAL_KEYRING_TYPE, keyId: this.keyId, wrapped }
  }

  static {
    fixedSaltWrap = (keyring, dataKey, context, salt, using) => keyring.#wrap(dataKey, context, salt, using)
  }

  /**
   * Whether `recipient` names this key.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === LOCAL_KEYRING_TYPE && recipient.keyId === this.keyId
  }

  /**
   * Opens `recipient` with this key.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, bound to the wrapped key.
   * @param _options - The call's abort signal (unused: no I/O).
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, _options?: KeyringCallOptions): Promise<DataKey> {
    const fail = (why: string): UnwrapError =>
      new UnwrapError([
        { type: LOCAL_KEYRING_TYPE, keyId: this.keyId, code: 'ERR_UNWRAP', message: `local key "${this.keyId}" could not unwrap the data key: ${why}` },
      ])
    if (!this.canUnwrap(recipient)) throw fail('the wrapped key belongs to another key')
    if (recipient.wrapped.length !== WRAPPED_BYTES) throw fail(`the wrapped key is ${recipient.wrapped.length} bytes, expected ${WRAPPED_BYTES}`)
    const salt = recipient.wrapped.subarray(0, SALT_BYTES)
    const wrapKey = backend.hkdfSha512(this.#key, salt, WRAP_INFO, KEY_BYTES)
    const plain = openOnce(backend, wrapKey, recipient.wrapped.subarray(SALT_BYTES), wrapAad(this.keyId, context))
    wrapKey.fill(0)
    if (plain === undefined) {
      throw fail('this key holds different key material than the one the message was encrypted to, or the message was altered')
    }
    // Own the bytes in a plain array (node:crypto may hand out a view of a shared pool).
    const bytes = new Uint8Array(plain)
    plain.fill(0)
    return new DataKey(bytes)
  }

  /** The type and key id; never the key. */
  toJSON(): object {
    return { type: LOCAL_KEYRING_TYPE, keyId: this.keyId }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `LocalKeyring { keyId: ${JSON.stringify(this.keyId)}, key: <redacted> }`
  }
}

/**
 * @internal For scripts/gen-vectors.ts and byte-exact tests only: a wrap with a caller-chosen
 * salt, so vectors are reproducible. Never exported from the package (src/index.ts); a salt
 * used twice reuses a GCM key and nonce (see src/crypto/one-time-aead.ts).
 */
export function wrapWithFixedSaltForVectors(
  keyring: LocalKeyring,
  dataKey: DataKey,
  context: CanonicalContext,
  salt: Uint8Array,
  using: CryptoBackend = backend,
): Recipient {
  if (salt.length !== SALT_BYTES) throw invalidArgument(`salt must be ${SALT_BYTES} bytes`)
  return fixedSaltWrap(keyring, dataKey, context, salt, using)
}
