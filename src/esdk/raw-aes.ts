/**
 * The AWS Encryption SDK's raw AES keyring (framework/raw-aes-keyring.md), decrypt side: a
 * data key wrapped with AES-GCM under a 128-, 192- or 256-bit wrapping key, the serialized
 * encryption context as AAD, and the wrap's IV in the key provider info.
 * @module
 */
import { invalidArgument, UnwrapError } from '../errors.js'
import { aesGcmOpen } from './crypto.js'
import type { EsdkEncryptedDataKey } from './header.js'
import { serializeContext } from './header.js'

/** Options of {@link RawAesKeyring}: the names the SDK keyring was built with, and its key. */
export interface RawAesKeyringOptions {
  /** The SDK keyring's `keyNamespace` (the encrypted data key's provider id). */
  readonly keyNamespace: string
  /** The SDK keyring's `keyName`. */
  readonly keyName: string
  /** The wrapping key: 16, 24 or 32 bytes (copied; the copy is wiped by {@link RawAesKeyring.wipe}). */
  readonly key: Uint8Array
}

const encoder = new TextEncoder()
const REDACTED = 'RawAesKeyring <key redacted>'
const TAG_BITS = 128
const IV_BYTES = 12

/** @internal What the reader asks of every ESDK keyring. */
export interface EsdkKeyOpener {
  readonly description: string
  /** Whether this keyring would try `edk` (pure). */
  holds(edk: EsdkEncryptedDataKey): boolean
  /** The data key of `edk` (`keyBytes` long); throws an EnvelopeError when it cannot. */
  openKey(edk: EsdkEncryptedDataKey, context: ReadonlyMap<string, string>, keyBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array>
}

/** @internal The key name's bytes and, for AES, the wrap's parameters in provider info. */
export function checkName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || !value.isWellFormed()) throw invalidArgument(`${name} must be a non-empty string`)
  return value
}

/**
 * Opens data keys an AWS Encryption SDK `RawAesKeyringNode` / `RawAesKeyringWebCrypto` (or
 * any SDK's raw AES keyring) wrapped, given the same namespace, name and wrapping key.
 *
 * @example
 * ```ts
 * import { decryptEsdk, RawAesKeyring } from 'kms-envelope/esdk'
 * const keyring = new RawAesKeyring({ keyNamespace: 'my-app', keyName: 'key-1', key: wrappingKey })
 * const { plaintext } = await decryptEsdk(message, { keyring })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for a missing name or a key that is not 16, 24 or 32 bytes.
 */
export class RawAesKeyring {
  readonly keyNamespace: string
  readonly keyName: string
  readonly #key: Uint8Array
  readonly #name: Uint8Array

  /**
   * Checks the options and copies the key; nothing is decrypted until a message is read.
   * @param options - Namespace, name and wrapping key ({@link RawAesKeyringOptions}).
   */
  constructor(options: RawAesKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('RawAesKeyring needs options: { keyNamespace, keyName, key }')
    this.keyNamespace = checkName(options.keyNamespace, 'keyNamespace')
    this.keyName = checkName(options.keyName, 'keyName')
    const key = options.key
    if (!(key instanceof Uint8Array) || ![16, 24, 32].includes(key.length)) throw invalidArgument('key must be a Uint8Array of 16, 24 or 32 bytes')
    this.#key = new Uint8Array(key)
    this.#name = encoder.encode(this.keyName)
  }

  /** For messages and errors: `raw-aes:NAMESPACE/NAME`. Never secret. */
  get description(): string {
    return `raw-aes:${this.keyNamespace}/${this.keyName}`
  }

  /**
   * @internal Same provider id, and provider info = key name, tag bits, IV length, IV.
   * @param edk - An encrypted data key of the message.
   */
  holds(edk: EsdkEncryptedDataKey): boolean {
    const info = edk.providerInfo
    const n = this.#name.length
    if (edk.providerId !== this.keyNamespace || info.length !== n + 8 + IV_BYTES) return false
    for (let i = 0; i < n; i++) if (info[i] !== this.#name[i]) return false
    const view = new DataView(info.buffer, info.byteOffset, info.length)
    return view.getUint32(n) === TAG_BITS && view.getUint32(n + 4) === IV_BYTES
  }

  /**
   * @internal AES-GCM open of the wrapped key, the serialized context as AAD.
   * @param edk - An encrypted data key {@link RawAesKeyring.holds} accepts.
   * @param context - The message's encryption context (stored and required).
   * @param keyBytes - The suite's data key length.
   */
  async openKey(edk: EsdkEncryptedDataKey, context: ReadonlyMap<string, string>, keyBytes: number): Promise<Uint8Array> {
    const iv = edk.providerInfo.subarray(this.#name.length + 8)
    const key = edk.ciphertext.length === keyBytes + 16 ? aesGcmOpen(this.#key, iv, edk.ciphertext, serializeContext(context)) : undefined
    if (key === undefined) {
      throw new UnwrapError([
        {
          type: this.keyNamespace,
          keyId: this.keyName,
          code: 'ERR_UNWRAP',
          message: `the raw AES key ${this.description} could not unwrap the data key: another key under the same name, another encryption context, or an altered wrapped key`,
        },
      ])
    }
    return key
  }

  /** Overwrites the wrapping key copy with zeros; the keyring cannot be used afterwards. */
  wipe(): void {
    this.#key.fill(0)
  }

  /** Namespace and name only. */
  toJSON(): object {
    return { type: 'raw-aes', keyNamespace: this.keyNamespace, keyName: this.keyName }
  }

  /** Never the key. */
  toString(): string {
    return REDACTED
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED
  }
}
