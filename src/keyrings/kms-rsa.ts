/**
 * The KMS RSA keyring: recipients of type `aws-kms-rsa` (docs/FORMAT.md §18), for producers
 * that may encrypt without any KMS permission to decrypt. Encryption is offline with the
 * key's public key (one GetPublicKey per keyring, memoised and shared by concurrent
 * callers, or none when the public key is given); decryption is KMS Decrypt with
 * `EncryptionAlgorithm: RSAES_OAEP_SHA_256` and `KeyId` pinned to the key ARN.
 *
 * KMS RSA Decrypt takes no EncryptionContext, so the context is bound here instead. RSA
 * encrypts a fresh 32-byte secret, not the data key; the data key is sealed under a
 * one-time key derived from that secret, with the context and key ARN as AAD (as the local
 * wrap, §7):
 *
 *   secret   = 32 random bytes, fresh for every wrap
 *   rsa      = RSAES-OAEP-SHA-256(public key, secret)                         (key size: 256, 384 or 512 bytes)
 *   wrap-key = HKDF-SHA-512(IKM = secret, salt = "", info = "KMSE v1 aws-kms-rsa wrap", L = 32)
 *   aad      = CBOR ["KMSE v1 aws-kms-rsa wrap", key ARN, context]
 *   wrapped  = rsa || AES-256-GCM(wrap-key, nonce = 0^96, data key, aad)     (+ 48 bytes)
 *
 * RSA-OAEP is WebCrypto's (`crypto.subtle`: Node 20+, Deno, Bun, browsers); the SDK is loaded
 * lazily through the KMS keyring's loader, errors mapped by kms-errors.ts.
 * @module
 */
import type { GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms'
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { DataKey } from '../crypto/data-key.js'
import { openOnce, sealOnce } from '../crypto/one-time-aead.js'
import { AbortError, invalidArgument, KeyringError, UnwrapError } from '../errors.js'
import { encodeCbor } from '../format/cbor.js'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { printable } from '../printable.js'
import { generateWrappedDataKey } from './generate-data-key.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import { loadKmsSdk } from './kms.js'
import { isKmsKeyIdentifier, parseKeyArn, parseKmsArn } from './kms-arn.js'
import type { KmsOperation } from './kms-errors.js'
import { badKmsResponse, kmsFailure } from './kms-errors.js'
import { checkGrantTokens, kmsCacheId } from './kms-policy.js'

/** The keyring type written into messages. */
export const KMS_RSA_KEYRING_TYPE = 'aws-kms-rsa'
/** The only KMS encryption algorithm this keyring uses. */
export const KMS_RSA_ALGORITHM = 'RSAES_OAEP_SHA_256'
const LABEL = 'KMSE v1 aws-kms-rsa wrap'
const INFO = utf8ToBytes(LABEL)
const SEALED_BYTES = KEY_BYTES + TAG_BYTES
const RSA_BYTES = [256, 384, 512]
const KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096']

/** Options of {@link KmsRsaKeyring}. */
export interface KmsRsaKeyringOptions {
  /**
   * The KMS RSA key: key ARN, key id, `alias/NAME` or alias ARN. Messages name the key ARN,
   * which KMS's GetPublicKey reveals for the others (a key ARN needs no call to decrypt).
   * The key must be RSA_2048 or larger, KeyUsage ENCRYPT_DECRYPT, and offer RSAES_OAEP_SHA_256.
   */
  readonly keyId: string
  /**
   * The key's public key (DER SubjectPublicKeyInfo, as GetPublicKey returns it), to encrypt
   * with no KMS call and no AWS credentials at all. Needs `keyId` to be the key ARN. The
   * keyring cannot then check the key's usage in KMS: take it from a trusted GetPublicKey.
   */
  readonly publicKey?: Uint8Array
  /** Your client (its Region must be the key's). Default: one built from the AWS environment, in the key ARN's Region. */
  readonly client?: KMSClient
  /** Grant tokens sent with every call (at most 10). */
  readonly grantTokens?: readonly string[]
}

interface PublicKey {
  readonly arn: string
  readonly key: CryptoKey
}

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle
  if (s === undefined) throw new KeyringError('the aws-kms-rsa keyring needs WebCrypto (crypto.subtle), which this runtime does not provide')
  return s
}

function wrapAad(arn: string, context: CanonicalContext): Uint8Array {
  return encodeCbor([LABEL, arn, context])
}

async function importRsa(der: Uint8Array, keyId: string): Promise<CryptoKey> {
  let key: CryptoKey
  try {
    key = await subtle().importKey('spki', new Uint8Array(der), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt'])
  } catch (error) {
    throw new KeyringError(`the public key of ${printable(keyId)} is not an RSA SubjectPublicKeyInfo (DER)`, { cause: error })
  }
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength
  if (!RSA_BYTES.includes(bits / 8)) {
    throw new KeyringError(
      `KMS key ${printable(keyId)} is RSA-${bits}: an aws-kms-rsa recipient needs a 2048-, 3072- or 4096-bit key (RSA_3072 or RSA_4096 recommended)`,
    )
  }
  return key
}

/**
 * A keyring for one AWS KMS RSA key: encrypts offline with its public key, decrypts through
 * KMS. Mixes with any other keyring in one message.
 *
 * @example
 * ```ts
 * import { Envelope } from 'kms-envelope'
 * import { KmsRsaKeyring } from 'kms-envelope/kms'
 * // The producer needs kms:GetPublicKey once (or the public key itself), never kms:Decrypt.
 * const env = new Envelope({ keyring: new KmsRsaKeyring({ keyId: 'arn:aws:kms:eu-west-1:111122223333:key/…' }) })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options. Calls reject with {@link KmsError}
 *   (`ERR_KMS_*`), `ERR_KEYRING` (a key that is not a usable RSA encryption key),
 *   `ERR_UNWRAP`, `ERR_ABORTED` or `ERR_KMS_SDK_MISSING`.
 */
export class KmsRsaKeyring implements Keyring {
  /** The recipient type this keyring writes and opens. */
  readonly type = KMS_RSA_KEYRING_TYPE
  /** The key as configured. */
  readonly keyId: string
  readonly #client: KMSClient | undefined
  #ownClient: KMSClient | undefined
  readonly #grantTokens: readonly string[] | undefined
  /** The key ARN messages name: known from the start for a key ARN, else from GetPublicKey. */
  #arn: string | undefined
  /** One GetPublicKey (or one import) for the keyring's life; a failure is not kept. */
  #publicKey: Promise<PublicKey> | undefined
  readonly #givenPublicKey: Uint8Array | undefined
  #cacheId: string | undefined

  /**
   * Checks the options only: no KMS call and no SDK load until the first use.
   * @param options - The key, and optionally its public key, a client and grant tokens ({@link KmsRsaKeyringOptions}).
   */
  constructor(options: KmsRsaKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('KmsRsaKeyring needs options: { keyId }')
    if (typeof options.keyId !== 'string' || !isKmsKeyIdentifier(options.keyId)) {
      throw invalidArgument(`keyId: ${JSON.stringify(options.keyId)} is not a KMS key identifier; use a key ARN, a key id, alias/NAME or an alias ARN`)
    }
    const client = options.client
    if (client !== undefined && (client === null || typeof (client as Partial<KMSClient>).send !== 'function')) {
      throw invalidArgument('client must be a KMSClient from @aws-sdk/client-kms')
    }
    this.keyId = options.keyId
    this.#client = client
    this.#grantTokens = checkGrantTokens(options.grantTokens)
    this.#arn = parseKeyArn(options.keyId) === undefined ? undefined : options.keyId
    if (options.publicKey !== undefined) {
      if (!(options.publicKey instanceof Uint8Array) || options.publicKey.length === 0)
        throw invalidArgument('publicKey must be the DER bytes GetPublicKey returns')
      if (this.#arn === undefined) throw invalidArgument('with publicKey, keyId must be the key ARN (the one messages will name)')
      this.#givenPublicKey = new Uint8Array(options.publicKey)
    }
  }

  /** `aws-kms-rsa:` and the key as configured. */
  get description(): string {
    return `${KMS_RSA_KEYRING_TYPE}:${this.keyId}`
  }

  /** Same key, grant tokens and client (or both on the environment's): same authority. */
  get cacheId(): string {
    this.#cacheId ??= `${KMS_RSA_KEYRING_TYPE}|${kmsCacheId([this.keyId], undefined, this.#grantTokens, this.#client)}`
    return this.#cacheId
  }

  /**
   * A random data key, wrapped offline for the RSA key (no KMS call after the first GetPublicKey).
   * @param context - The message's encryption context, bound to the wrapped key (§18).
   * @param options - The call's abort signal (for the one GetPublicKey).
   */
  async generateDataKey(context: CanonicalContext, options: KeyringCallOptions = {}): Promise<GeneratedDataKey> {
    return generateWrappedDataKey(async (dataKey) => [await this.#wrap(dataKey, context, options.signal)])
  }

  /**
   * Wraps `dataKey` offline for the RSA key.
   * @param dataKey - The data key to wrap (not wiped here).
   * @param context - The message's encryption context, bound to the wrapped key (§18).
   * @param options - The call's abort signal (for the one GetPublicKey).
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<readonly Recipient[]> {
    return [await this.#wrap(dataKey, context, options.signal)]
  }

  async #wrap(dataKey: DataKey, context: CanonicalContext, signal: AbortSignal | undefined): Promise<Recipient> {
    const { arn, key } = await this.#public(signal)
    const secret = backend.randomBytes(KEY_BYTES)
    try {
      const rsa = new Uint8Array(await subtle().encrypt({ name: 'RSA-OAEP' }, key, secret as Uint8Array<ArrayBuffer>))
      const wrapKey = backend.hkdfSha512(secret, new Uint8Array(0), INFO, KEY_BYTES)
      const wrapped = new Uint8Array(rsa.length + SEALED_BYTES)
      wrapped.set(rsa, 0)
      try {
        sealOnce(backend, wrapKey, dataKey.bytes, wrapAad(arn, context), wrapped, rsa.length)
      } finally {
        wrapKey.fill(0)
      }
      return { type: KMS_RSA_KEYRING_TYPE, keyId: arn, wrapped }
    } finally {
      secret.fill(0)
    }
  }

  /**
   * Whether `recipient` names this keyring's key ARN. No I/O.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === KMS_RSA_KEYRING_TYPE && this.#arn !== undefined && recipient.keyId === this.#arn
  }

  /**
   * Learns the key ARN of a configured key id or alias (one GetPublicKey, memoised) when a message has `aws-kms-rsa` recipients.
   * @param recipients - The message's wrapped keys.
   * @param options - The call's abort signal.
   */
  async prepareUnwrap(recipients: readonly Recipient[], options: KeyringCallOptions = {}): Promise<void> {
    if (this.#arn !== undefined || !recipients.some((r) => r.type === KMS_RSA_KEYRING_TYPE)) return
    await this.#public(options.signal)
  }

  /**
   * KMS Decrypt of the RSA part (algorithm named, key pinned, no context), then the one-time-key open.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, bound to the wrapped key (§18).
   * @param options - The call's abort signal.
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<DataKey> {
    const arn = this.#arn
    const fail = (why: string): UnwrapError =>
      new UnwrapError([
        { type: KMS_RSA_KEYRING_TYPE, keyId: recipient.keyId, code: 'ERR_UNWRAP', message: `KMS RSA key ${printable(recipient.keyId)}: ${why}` },
      ])
    if (arn === undefined || !this.canUnwrap(recipient))
      throw new KeyringError(`the KMS RSA keyring (${this.description}) does not hold key ${printable(recipient.keyId)}`)
    const rsaLength = recipient.wrapped.length - SEALED_BYTES
    // Checked before any call: a malformed entry costs no KMS request.
    if (!RSA_BYTES.includes(rsaLength)) throw fail(`the wrapped key is ${recipient.wrapped.length} bytes, expected 304, 432 or 560`)
    const response = await this.#call('Decrypt', arn, options.signal, (client, sdk, o) =>
      client.send(
        new sdk.DecryptCommand({
          CiphertextBlob: recipient.wrapped.subarray(0, rsaLength),
          KeyId: arn,
          EncryptionAlgorithm: KMS_RSA_ALGORITHM,
          GrantTokens: this.#grants(),
        }),
        o,
      ),
    )
    const plain = response.Plaintext
    if (response.KeyId !== arn || !(plain instanceof Uint8Array) || plain.length !== KEY_BYTES) {
      plain?.fill(0)
      throw badKmsResponse(
        'Decrypt',
        arn,
        response.KeyId !== arn ? `it answered for key ${String(response.KeyId)}` : `the secret is ${plain?.length ?? 'missing'}, expected ${KEY_BYTES} bytes`,
      )
    }
    const wrapKey = backend.hkdfSha512(plain, new Uint8Array(0), INFO, KEY_BYTES)
    plain.fill(0)
    const opened = openOnce(backend, wrapKey, recipient.wrapped.subarray(rsaLength), wrapAad(arn, context))
    wrapKey.fill(0)
    if (opened === undefined)
      throw fail('the wrapped key does not open with this context: the message context differs from the one it was wrapped with, or the entry was altered')
    const bytes = new Uint8Array(opened)
    opened.fill(0)
    return new DataKey(bytes)
  }

  /** Closes the client this keyring created (not one you passed in). */
  destroy(): void {
    this.#ownClient?.destroy()
    this.#ownClient = undefined
  }

  /** The type and key id; never a client or grant tokens. */
  toJSON(): object {
    return { type: KMS_RSA_KEYRING_TYPE, keyId: this.keyId }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KmsRsaKeyring { ${this.description}${this.#grantTokens === undefined ? '' : `, grantTokens: <${this.#grantTokens.length} redacted>`} }`
  }

  #grants(): string[] | undefined {
    return this.#grantTokens === undefined ? undefined : [...this.#grantTokens]
  }

  /**
   * The public key, fetched or imported once; concurrent first callers share one request.
   * The request carries the first caller's signal: if that caller aborts, the others ask again
   * rather than fail with an abort that was not theirs.
   */
  async #public(signal: AbortSignal | undefined): Promise<PublicKey> {
    try {
      return await this.#sharedPublic(signal)
    } catch (error) {
      if (error instanceof AbortError && signal?.aborted !== true) return this.#sharedPublic(signal)
      throw error
    }
  }

  #sharedPublic(signal: AbortSignal | undefined): Promise<PublicKey> {
    if (this.#publicKey === undefined) {
      const given = this.#givenPublicKey
      const pending = given !== undefined ? importRsa(given, this.keyId).then((key) => ({ arn: this.#arn!, key })) : this.#fetchPublicKey(signal)
      this.#publicKey = pending
      pending.catch(() => {
        if (this.#publicKey === pending) this.#publicKey = undefined // the next call asks again
      })
    }
    return this.#publicKey
  }

  async #fetchPublicKey(signal: AbortSignal | undefined): Promise<PublicKey> {
    const response: GetPublicKeyCommandOutput = await this.#call('GetPublicKey', this.keyId, signal, (client, sdk, o) =>
      client.send(new sdk.GetPublicKeyCommand({ KeyId: this.keyId, GrantTokens: this.#grants() }), o),
    )
    const arn = parseKeyArn(response.KeyId ?? '')
    if (arn === undefined) throw badKmsResponse('GetPublicKey', this.keyId, `KeyId ${JSON.stringify(response.KeyId)} is not a key ARN`)
    const arnText = response.KeyId!
    if (this.#arn !== undefined && arnText !== this.#arn) throw badKmsResponse('GetPublicKey', this.keyId, `it answered for key ${printable(arnText)}`)
    const unusable = (why: string): KeyringError =>
      new KeyringError(
        `KMS key ${printable(arnText)} cannot be an aws-kms-rsa recipient: ${why}. Use an RSA key created with --key-spec RSA_3072 (or RSA_2048/RSA_4096) --key-usage ENCRYPT_DECRYPT`,
      )
    const spec = response.KeySpec ?? response.CustomerMasterKeySpec
    if (spec === undefined || !KEY_SPECS.includes(spec)) throw unusable(`its key spec is ${String(spec)}`)
    if (response.KeyUsage !== 'ENCRYPT_DECRYPT') throw unusable(`its key usage is ${String(response.KeyUsage)}`)
    if (!(response.EncryptionAlgorithms ?? []).includes(KMS_RSA_ALGORITHM)) throw unusable(`it does not offer ${KMS_RSA_ALGORITHM}`)
    if (!(response.PublicKey instanceof Uint8Array)) throw badKmsResponse('GetPublicKey', this.keyId, 'no PublicKey')
    const key = await importRsa(response.PublicKey, arnText)
    this.#arn = arnText
    return { arn: arnText, key }
  }

  async #clientFor(): Promise<KMSClient> {
    if (this.#client !== undefined) return this.#client
    const { KMSClient } = await loadKmsSdk()
    if (this.#ownClient === undefined) {
      const region = parseKmsArn(this.keyId)?.region
      this.#ownClient = new KMSClient(region === undefined ? {} : { region })
    }
    return this.#ownClient
  }

  async #call<T>(
    operation: KmsOperation,
    keyId: string,
    signal: AbortSignal | undefined,
    send: (client: KMSClient, sdk: typeof import('@aws-sdk/client-kms'), options: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    const sdk = await loadKmsSdk()
    try {
      return await send(await this.#clientFor(), sdk, signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      throw kmsFailure(error, operation, keyId, signal)
    }
  }
}
