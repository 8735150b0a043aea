/**
 * The AWS KMS keyring: master keys stay in KMS, data keys come from GenerateDataKey and are
 * wrapped for further keys with Encrypt; opening calls Decrypt with the key pinned to the
 * ARN in the message. The only module that imports `@aws-sdk/client-kms`, an optional peer
 * dependency: its types statically, its code through one lazy import on the first call
 * (see {@link loadKmsSdk}).
 *
 * Recipients (docs/FORMAT.md): type `aws-kms`, key id = the key ARN KMS returned (never an
 * alias, so messages still open after an alias moves), wrapped = KMS's CiphertextBlob.
 * The message's encryption context is sent to KMS as EncryptionContext on every call, so
 * KMS itself refuses a wrapped key presented with another context and logs the context in
 * CloudTrail.
 * @module
 */

import type { KMSClient } from '@aws-sdk/client-kms'
import type { DataKey } from '../crypto/data-key.js'
import { AbortError, invalidArgument, KeyringError, KmsSdkMissingError } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { printable } from '../printable.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import type { KmsArn } from './kms-arn.js'
import { parseKeyArn, parseKmsArn } from './kms-arn.js'
import type { KmsOperation } from './kms-errors.js'
import { badKmsResponse, kmsFailure } from './kms-errors.js'
import type { KmsDiscoveryFilter } from './kms-policy.js'
import { checkDiscovery, checkGrantTokens, checkKeyIds, KmsKeyPolicy, kmsCacheId, kmsDescription } from './kms-policy.js'
import {
  checkReEncryptSource,
  decryptedKey,
  decryptedKeyBytes,
  KMS_KEYRING_TYPE,
  kmsContext,
  settleAll,
  takeDataKey,
  wrappedRecipient,
} from './kms-response.js'
import { lazySdk } from './sdk-loader.js'

export type { KmsDiscoveryFilter } from './kms-policy.js'
export { DEFAULT_DISCOVERY_ATTEMPTS } from './kms-policy.js'
export { KMS_KEYRING_TYPE } from './kms-response.js'

/** Options of {@link KmsKeyring}. */
export interface KmsKeyringOptions {
  /**
   * The keys: key ARN, key id, `alias/NAME` or alias ARN. The first generates each data key,
   * every other one wraps it too (any one of them can decrypt). Decryption tries only these
   * keys: key ARNs as given (and other-Region replicas of a multi-Region key), key ids and
   * aliases once KMS has said which key ARN they mean (learned from an encrypt, or one
   * DescribeKey per id on the first decrypt; list key ARNs to avoid it).
   */
  readonly keyIds?: readonly string[]
  /**
   * Your client, used for every call (its Region must be the keys' Region). Default: one
   * client per Region, built from the standard AWS environment (credential chain,
   * `AWS_REGION`, `AWS_ENDPOINT_URL_KMS`); a key ARN's own Region is used for its calls.
   */
  readonly client?: KMSClient
  /** Grant tokens sent with every call (at most 10). */
  readonly grantTokens?: readonly string[]
  /**
   * Decrypt with any key of these accounts and partition that a message names, not only
   * `keyIds`. Off unless given: a message then chooses which key your credentials are asked
   * to use, so allow only accounts you trust.
   */
  readonly discovery?: KmsDiscoveryFilter
}

type KmsSdk = typeof import('@aws-sdk/client-kms')

/**
 * @internal The SDK's runtime values (commands, KMSClient), imported once on first use (see
 * {@link lazySdk} for why lazily). Resolved from this package, so with the peer dependency the
 * commands come from the same SDK copy as the application's own client.
 * @throws {@link KmsSdkMissingError} when `@aws-sdk/client-kms` is not installed.
 */
export const loadKmsSdk: () => Promise<KmsSdk> = lazySdk(
  '@aws-sdk/client-kms',
  () => import('@aws-sdk/client-kms'),
  (cause) => new KmsSdkMissingError({ cause }),
)

/**
 * @internal A client from the AWS environment with an optional Region and endpoint (the
 * CLI's --region/--endpoint), so no module but this one imports the SDK.
 * @param config - The Region and endpoint; each undefined one comes from the environment.
 */
export async function newKmsClient(config: { readonly region?: string | undefined; readonly endpoint?: string | undefined }): Promise<KMSClient> {
  const { KMSClient } = await loadKmsSdk()
  return new KMSClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
  })
}

/**
 * A keyring whose master keys live in AWS KMS.
 *
 * @example
 * ```ts
 * import { Envelope } from 'kms-envelope'
 * import { KmsKeyring } from 'kms-envelope/kms'
 * const keyring = new KmsKeyring({ keyIds: ['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'] })
 * const env = new Envelope({ keyring })
 * const msg = await env.encrypt('secret', { context: { tenant: 'acme' } })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options. Calls reject with {@link KmsError}
 *   (`ERR_KMS_*`, naming the key and KMS's error), `ERR_KEYRING` (a discovery-only keyring
 *   asked to encrypt), `ERR_ABORTED`, or {@link KmsSdkMissingError} (`ERR_KMS_SDK_MISSING`)
 *   when `@aws-sdk/client-kms` is not installed (the constructor itself needs no SDK).
 */
export class KmsKeyring implements Keyring {
  readonly type = KMS_KEYRING_TYPE
  /** The keys as configured. */
  readonly keyIds: readonly string[]
  readonly discovery: KmsDiscoveryFilter | undefined
  readonly maxUnwrapAttempts: number | undefined
  /** Which key ARNs a message may make this keyring call (see kms-policy.ts). */
  readonly #policy: KmsKeyPolicy
  readonly #grantTokens: readonly string[] | undefined
  readonly #client: KMSClient | undefined
  /** Own clients by Region: bounded, since the policy only calls configured or listed Regions. */
  readonly #ownClients = new Map<string, KMSClient>()
  #cacheId: string | undefined

  /**
   * Checks the options only: no KMS call and no SDK load happen until the first use.
   *
   * @param options - The keys, the optional discovery filter, client and grant tokens ({@link KmsKeyringOptions}).
   */
  constructor(options: KmsKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('KmsKeyring needs options: { keyIds }')
    const client = options.client
    if (client !== undefined && (client === null || typeof (client as Partial<KMSClient>).send !== 'function')) {
      throw invalidArgument('client must be a KMSClient from @aws-sdk/client-kms')
    }
    this.discovery = checkDiscovery(options.discovery, client !== undefined)
    this.keyIds = checkKeyIds(options.keyIds, this.discovery !== undefined)
    this.#grantTokens = checkGrantTokens(options.grantTokens)
    this.#policy = new KmsKeyPolicy(this.keyIds, this.discovery, client !== undefined)
    this.maxUnwrapAttempts = this.#policy.maxUnwrapAttempts
    this.#client = client
  }

  get description(): string {
    return kmsDescription(this.keyIds, this.discovery)
  }

  /** Same keys, filter, grant tokens and client (or both on the environment's): same authority. */
  get cacheId(): string {
    this.#cacheId ??= kmsCacheId(this.keyIds, this.discovery, this.#grantTokens, this.#client)
    return this.#cacheId
  }

  /**
   * A data key from GenerateDataKey under the first key, wrapped by Encrypt for the others.
   * @param context - The message's encryption context, sent to KMS as EncryptionContext.
   * @param options - The call's abort signal.
   */
  async generateDataKey(context: CanonicalContext, options: KeyringCallOptions = {}): Promise<GeneratedDataKey> {
    const [first, ...rest] = this.#encryptKeys()
    const response = await this.#call('GenerateDataKey', first!, options.signal, (client, sdk, o) =>
      client.send(new sdk.GenerateDataKeyCommand({ KeyId: first, KeySpec: 'AES_256', EncryptionContext: kmsContext(context), GrantTokens: this.#grants() }), o),
    )
    const dataKey = takeDataKey(response.Plaintext, 'GenerateDataKey', first!)
    try {
      const recipient = this.#recipient('GenerateDataKey', first!, response.KeyId, response.CiphertextBlob)
      return { dataKey, recipients: [recipient, ...(await this.#encryptWith(rest, dataKey, context, options.signal))] }
    } catch (error) {
      dataKey.wipe()
      throw error
    }
  }

  /**
   * Wraps `dataKey` with one Encrypt per configured key.
   * @param dataKey - The data key to wrap (not wiped here).
   * @param context - The message's encryption context, sent to KMS as EncryptionContext.
   * @param options - The call's abort signal.
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<readonly Recipient[]> {
    return this.#encryptWith(this.#encryptKeys(), dataKey, context, options.signal)
  }

  /**
   * Whether the calling policy lets this keyring call Decrypt for `recipient`. No I/O.
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === KMS_KEYRING_TYPE && this.#policy.decryptKeyFor(recipient.keyId) !== undefined
  }

  /**
   * The key ARN Decrypt would be pinned to: replicas and repeats of one key share one attempt.
   * @param recipient - A wrapped key {@link KmsKeyring.canUnwrap} accepts.
   */
  unwrapAttemptKey(recipient: Recipient): string {
    return this.#policy.decryptKeyFor(recipient.keyId) ?? recipient.keyId
  }

  /**
   * Resolves configured key ids and aliases to key ARNs (once), when a message has KMS recipients.
   * @param recipients - The message's wrapped keys; nothing is called when none is of type `aws-kms`.
   * @param options - The call's abort signal.
   */
  async prepareUnwrap(recipients: readonly Recipient[], options: KeyringCallOptions = {}): Promise<void> {
    if (!recipients.some((r) => r.type === KMS_KEYRING_TYPE)) return
    await loadKmsSdk() // no SDK: its own error, not one unwrap failure per recipient
    if (this.#client !== undefined && this.#policy.needsClientRegion()) {
      this.#policy.setClientRegion(await this.#regionOf(this.#client, 'discovery'))
    }
    await this.#policy.resolve((id) => this.#describeKey(id, options.signal), options.signal)
  }

  /**
   * Decrypt, pinned to the key ARN the policy allows for `recipient`.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, sent to KMS as EncryptionContext.
   * @param options - The call's abort signal.
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<DataKey> {
    const { keyArn, response } = await this.#decrypt(recipient, context, options)
    return decryptedKey(response.KeyId, response.Plaintext, keyArn)
  }

  /**
   * @internal For the AWS Encryption SDK reader (kms-envelope/esdk): the same pinned Decrypt
   * for a data key of `length` bytes, since legacy SDK suites use 16- and 24-byte keys. The
   * 32-byte check of {@link KmsKeyring.unwrapDataKey} stays as it is; this returns raw bytes
   * the caller wipes.
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, sent to KMS as EncryptionContext.
   * @param length - The data key length the message's suite uses.
   * @param options - The call's abort signal.
   */
  async unwrapKeyBytes(recipient: Recipient, context: CanonicalContext, length: number, options: KeyringCallOptions = {}): Promise<Uint8Array> {
    const { keyArn, response } = await this.#decrypt(recipient, context, options)
    return decryptedKeyBytes(response.KeyId, response.Plaintext, keyArn, length)
  }

  async #decrypt(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions) {
    const keyArn = recipient.type === KMS_KEYRING_TYPE ? this.#policy.decryptKeyFor(recipient.keyId) : undefined
    if (keyArn === undefined) throw new KeyringError(`the KMS keyring (${this.description}) does not hold key ${printable(recipient.keyId)}`)
    const response = await this.#call('Decrypt', keyArn, options.signal, (client, sdk, o) =>
      client.send(
        new sdk.DecryptCommand({ CiphertextBlob: recipient.wrapped, KeyId: keyArn, EncryptionContext: kmsContext(context), GrantTokens: this.#grants() }),
        o,
      ),
    )
    return { keyArn, response }
  }

  /**
   * Rewrap without the plaintext data key leaving KMS: one ReEncrypt per key of
   * `destination` (a KmsKeyring), sent with this (the source) keyring's client, credentials
   * and grant tokens, the source key pinned to the key ARN this keyring holds, the message
   * context on both sides. Undefined (no call made) for another destination type, or when a
   * destination key is in another Region than the source key (ReEncrypt works within one
   * Region).
   * @param recipient - The wrapped key this keyring holds.
   * @param destination - The keyring to wrap for; only a KmsKeyring with keys is re-encrypted for.
   * @param context - The message's encryption context, kept on both sides.
   * @param options - The call's abort signal.
   */
  async reEncrypt(
    recipient: Recipient,
    destination: Keyring,
    context: CanonicalContext,
    options: KeyringCallOptions = {},
  ): Promise<readonly Recipient[] | undefined> {
    if (!(destination instanceof KmsKeyring) || destination.keyIds.length === 0) return undefined
    const sourceArn = recipient.type === KMS_KEYRING_TYPE ? this.#policy.decryptKeyFor(recipient.keyId) : undefined
    if (sourceArn === undefined) return undefined
    const region = await this.#callRegion(sourceArn)
    for (const id of destination.keyIds) {
      const destRegion = await destination.#callRegion(id)
      if (destRegion !== region || (parseKmsArn(id)?.region ?? destRegion) !== region) return undefined
    }
    const ctx = kmsContext(context)
    return settleAll(
      destination.keyIds.map(async (id) => {
        const response = await this.#call(
          'ReEncrypt',
          id,
          options.signal,
          (client, sdk, o) =>
            client.send(
              new sdk.ReEncryptCommand({
                CiphertextBlob: recipient.wrapped,
                SourceKeyId: sourceArn,
                SourceEncryptionContext: ctx,
                DestinationKeyId: id,
                DestinationEncryptionContext: ctx,
                GrantTokens: this.#grants(),
              }),
              o,
            ),
          sourceArn,
        )
        checkReEncryptSource(response.SourceKeyId, sourceArn, id)
        return destination.#recipient('ReEncrypt', id, response.KeyId, response.CiphertextBlob)
      }),
    )
  }

  /** Closes the clients this keyring created (not one you passed in). Optional: their idle sockets do not keep a process alive. */
  destroy(): void {
    for (const client of this.#ownClients.values()) client.destroy()
    this.#ownClients.clear()
  }

  /** The type, key ids and discovery filter; never a client, credentials or grant tokens. */
  toJSON(): object {
    return { type: KMS_KEYRING_TYPE, keyIds: this.keyIds, ...(this.discovery === undefined ? {} : { discovery: this.discovery }) }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KmsKeyring { ${this.description}${this.#grantTokens === undefined ? '' : `, grantTokens: <${this.#grantTokens.length} redacted>`} }`
  }

  #encryptKeys(): readonly string[] {
    if (this.keyIds.length === 0) {
      throw new KeyringError('this KmsKeyring has only a discovery filter and cannot encrypt: pass keyIds with the key(s) to encrypt under')
    }
    return this.keyIds
  }

  #grants(): string[] | undefined {
    return this.#grantTokens === undefined ? undefined : [...this.#grantTokens]
  }

  #encryptWith(keyIds: readonly string[], dataKey: DataKey, context: CanonicalContext, signal: AbortSignal | undefined): Promise<Recipient[]> {
    const ctx = kmsContext(context)
    return settleAll(
      keyIds.map(async (id) => {
        const response = await this.#call('Encrypt', id, signal, (client, sdk, o) =>
          client.send(new sdk.EncryptCommand({ KeyId: id, Plaintext: dataKey.bytes, EncryptionContext: ctx, GrantTokens: this.#grants() }), o),
        )
        return this.#recipient('Encrypt', id, response.KeyId, response.CiphertextBlob)
      }),
    )
  }

  /** Checks what KMS returned and records which key ARN a configured id stands for. */
  #recipient(operation: KmsOperation, requested: string, keyId: string | undefined, wrapped: Uint8Array | undefined): Recipient {
    const { recipient, arn } = wrappedRecipient(operation, requested, keyId, wrapped)
    this.#policy.learn(requested, arn)
    return recipient
  }

  /** The key ARN a configured key id or alias stands for, asked of KMS. */
  async #describeKey(id: string, signal: AbortSignal | undefined): Promise<KmsArn> {
    const response = await this.#call('DescribeKey', id, signal, (client, sdk, o) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: id, GrantTokens: this.#grants() }), o),
    )
    const arn = parseKeyArn(response.KeyMetadata?.Arn ?? '')
    if (arn === undefined) throw badKmsResponse('DescribeKey', id, `Arn ${JSON.stringify(response.KeyMetadata?.Arn)} is not a key ARN`)
    return arn
  }

  async #clientFor(keyId: string): Promise<KMSClient> {
    if (this.#client !== undefined) return this.#client
    const { KMSClient } = await loadKmsSdk()
    // From here on synchronous: concurrent calls for one Region share one client.
    const region = parseKmsArn(keyId)?.region ?? ''
    let client = this.#ownClients.get(region)
    if (client === undefined) {
      client = new KMSClient(region === '' ? {} : { region })
      this.#ownClients.set(region, client)
    }
    return client
  }

  /** The Region a call about `keyId` goes to. */
  async #callRegion(keyId: string): Promise<string> {
    if (this.#client === undefined && parseKmsArn(keyId) !== undefined) return parseKmsArn(keyId)!.region
    return this.#regionOf(await this.#clientFor(keyId), keyId)
  }

  /** A client's Region; none configured is a KmsError like the one a call would raise. */
  async #regionOf(client: KMSClient, keyId: string): Promise<string> {
    try {
      return await client.config.region()
    } catch (error) {
      throw kmsFailure(error, 'client setup', keyId, undefined)
    }
  }

  async #call<T>(
    operation: KmsOperation,
    keyId: string,
    signal: AbortSignal | undefined,
    send: (client: KMSClient, sdk: KmsSdk, options: { abortSignal?: AbortSignal }) => Promise<T>,
    from?: string,
  ): Promise<T> {
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    const sdk = await loadKmsSdk() // outside the try: a missing SDK is not a failed KMS call
    try {
      // A ReEncrypt goes where the source key is, with the client allowed to read it.
      return await send(await this.#clientFor(from ?? keyId), sdk, signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      throw kmsFailure(error, operation, keyId, signal, from)
    }
  }
}
