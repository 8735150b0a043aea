/**
 * The AWS KMS keyring: master keys stay in KMS, data keys come from GenerateDataKey and are
 * wrapped for further keys with Encrypt; opening calls Decrypt with the key pinned to the
 * ARN in the message. The only module that imports `@aws-sdk/client-kms`.
 *
 * Recipients (docs/FORMAT.md): type `aws-kms`, key id = the key ARN KMS returned (never an
 * alias, so messages still open after an alias moves), wrapped = KMS's CiphertextBlob.
 * The message's encryption context is sent to KMS as EncryptionContext on every call, so
 * KMS itself refuses a wrapped key presented with another context and logs the context in
 * CloudTrail.
 * @module
 */

import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms'
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { DataKey } from '../crypto/data-key.js'
import { AbortError, invalidArgument, KeyringError } from '../errors.js'
import { KEY_BYTES, MAX_WRAPPED_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { printable } from '../printable.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'
import type { KmsArn } from './kms-arn.js'
import { formatKmsArn, isKmsKeyIdentifier, isMultiRegionKey, keyArnsMatch, parseKeyArn, parseKmsArn } from './kms-arn.js'
import type { KmsOperation } from './kms-errors.js'
import { badKmsResponse, kmsFailure } from './kms-errors.js'

/** The keyring type written into messages. */
export const KMS_KEYRING_TYPE = 'aws-kms'

/** Which keys a discovery keyring may try: any key of these accounts in this partition. */
export interface KmsDiscoveryFilter {
  /** 12-digit AWS account ids. */
  readonly accountIds: readonly string[]
  /** `aws`, `aws-cn`, `aws-us-gov`, ... */
  readonly partition: string
  /**
   * The Regions to call, required without `client` (with one, its Region is the only one).
   * A message naming a key of another Region costs no call and creates no client, except a
   * multi-Region key (`mrk-`), which is asked in the first listed Region instead.
   */
  readonly regions?: readonly string[]
  /**
   * At most this many keys a message names are tried per message (default
   * {@link DEFAULT_DISCOVERY_ATTEMPTS}): a message can list many keys of a trusted account,
   * each one a Decrypt call.
   */
  readonly maxAttempts?: number
}

/** Default {@link KmsDiscoveryFilter.maxAttempts}. */
export const DEFAULT_DISCOVERY_ATTEMPTS = 3

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

const MAX_GRANT_TOKENS = 10
const ACCOUNT_ID = /^\d{12}$/
const PARTITION = /^[a-z][a-z0-9-]{0,62}$/
const REGION = /^[a-z0-9-]{1,64}$/
const MAX_DISCOVERY_REGIONS = 32
const clientIds = new WeakMap<object, number>()
let nextClientId = 1

function checkKeyIds(value: unknown, hasDiscovery: boolean): readonly string[] {
  if (value === undefined) {
    if (hasDiscovery) return Object.freeze([])
    throw invalidArgument('KmsKeyring needs keyIds (key ARNs, key ids or alias/NAME), or discovery: { accountIds, partition } to decrypt only')
  }
  if (!Array.isArray(value) || (value.length === 0 && !hasDiscovery)) throw invalidArgument('keyIds must be a non-empty array of KMS key identifiers')
  const seen = new Set<string>()
  for (const id of value as unknown[]) {
    if (typeof id !== 'string' || !isKmsKeyIdentifier(id)) {
      throw invalidArgument(`keyIds: ${JSON.stringify(id)} is not a KMS key identifier; use a key ARN, a key id, alias/NAME or an alias ARN`)
    }
    if (seen.has(id)) throw invalidArgument(`keyIds lists ${id} twice`)
    seen.add(id)
  }
  return Object.freeze([...(value as string[])])
}

function checkDiscovery(value: unknown, hasClient: boolean): KmsDiscoveryFilter | undefined {
  if (value === undefined) return undefined
  const d = value as KmsDiscoveryFilter
  if (
    value === null ||
    typeof value !== 'object' ||
    !Array.isArray(d.accountIds) ||
    d.accountIds.length === 0 ||
    !d.accountIds.every((a) => typeof a === 'string' && ACCOUNT_ID.test(a))
  ) {
    throw invalidArgument('discovery.accountIds must be a non-empty array of 12-digit AWS account ids')
  }
  if (typeof d.partition !== 'string' || !PARTITION.test(d.partition)) throw invalidArgument('discovery.partition must be an AWS partition such as "aws"')
  if (d.regions === undefined && !hasClient) {
    throw invalidArgument('discovery needs regions (e.g. regions: ["eu-west-1"]) or a client: otherwise each message would choose which Regions are called')
  }
  if (
    d.regions !== undefined &&
    (!Array.isArray(d.regions) ||
      d.regions.length === 0 ||
      d.regions.length > MAX_DISCOVERY_REGIONS ||
      !d.regions.every((r) => typeof r === 'string' && REGION.test(r)) ||
      new Set(d.regions).size !== d.regions.length)
  ) {
    throw invalidArgument(`discovery.regions must be a non-empty array of at most ${MAX_DISCOVERY_REGIONS} distinct AWS Regions such as "eu-west-1"`)
  }
  if (d.regions !== undefined && hasClient) throw invalidArgument('discovery.regions and client exclude each other: a client calls its own Region only')
  const maxAttempts = d.maxAttempts ?? DEFAULT_DISCOVERY_ATTEMPTS
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 16) throw invalidArgument('discovery.maxAttempts must be an integer from 1 to 16')
  return Object.freeze({
    accountIds: Object.freeze([...d.accountIds]),
    partition: d.partition,
    ...(d.regions === undefined ? {} : { regions: Object.freeze([...d.regions]) }),
    maxAttempts,
  })
}

function checkGrantTokens(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length > MAX_GRANT_TOKENS || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    throw invalidArgument(`grantTokens must be an array of at most ${MAX_GRANT_TOKENS} non-empty strings`)
  }
  return value.length === 0 ? undefined : Object.freeze([...(value as string[])])
}

function kmsContext(context: CanonicalContext): Record<string, string> | undefined {
  return context.size === 0 ? undefined : Object.fromEntries(context)
}

/** Copies a plaintext key out of an SDK response into a DataKey and zeroes the response's bytes. */
function takeDataKey(plain: Uint8Array | undefined, operation: KmsOperation, keyId: string): DataKey {
  if (!(plain instanceof Uint8Array) || plain.length !== KEY_BYTES) {
    plain?.fill(0)
    throw badKmsResponse(operation, keyId, `the plaintext data key is ${plain?.length ?? 'missing'}, expected ${KEY_BYTES} bytes`)
  }
  const bytes = new Uint8Array(plain)
  plain.fill(0)
  return new DataKey(bytes)
}

/** Waits for every promise (none is left running against a wiped key), then fails with the first error. */
async function all<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises)
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value)
}

/**
 * @internal A client from the AWS environment with an optional Region and endpoint (the
 * CLI's --region/--endpoint), so no module but this one imports the SDK.
 */
export function newKmsClient(config: { readonly region?: string | undefined; readonly endpoint?: string | undefined }): KMSClient {
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
 *   asked to encrypt) or `ERR_ABORTED`.
 */
export class KmsKeyring implements Keyring {
  readonly type = KMS_KEYRING_TYPE
  /** The keys as configured. */
  readonly keyIds: readonly string[]
  readonly discovery: KmsDiscoveryFilter | undefined
  readonly maxUnwrapAttempts: number | undefined
  readonly #grantTokens: readonly string[] | undefined
  readonly #client: KMSClient | undefined
  readonly #ownClients = new Map<string, KMSClient>()
  /** Configured id → its key ARN: given for key ARNs, learned from KMS for the rest. */
  readonly #resolved = new Map<string, KmsArn>()
  #resolving: Promise<void> | undefined
  #clientRegion: string | undefined
  #cacheId: string | undefined

  constructor(options: KmsKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('KmsKeyring needs options: { keyIds }')
    const client = options.client
    if (client !== undefined && (client === null || typeof (client as Partial<KMSClient>).send !== 'function')) {
      throw invalidArgument('client must be a KMSClient from @aws-sdk/client-kms')
    }
    this.discovery = checkDiscovery(options.discovery, client !== undefined)
    this.keyIds = checkKeyIds(options.keyIds, this.discovery !== undefined)
    this.#grantTokens = checkGrantTokens(options.grantTokens)
    // Configured keys are each tried at most once (unwrapAttemptKey); discovery keys, which
    // the message chooses, share a budget.
    this.maxUnwrapAttempts = this.discovery === undefined ? undefined : this.keyIds.length + this.discovery.maxAttempts!
    this.#client = client
    for (const id of this.keyIds) {
      const arn = parseKeyArn(id)
      if (arn !== undefined) this.#resolved.set(id, arn)
    }
  }

  get description(): string {
    const keys = this.keyIds.length > 0 ? this.keyIds.join(',') : ''
    const discovery =
      this.discovery === undefined ? '' : `${keys === '' ? '' : ' '}discovery(${this.discovery.partition}:${this.discovery.accountIds.join(',')})`
    return `${KMS_KEYRING_TYPE}:${keys}${discovery}`
  }

  /** Same keys, filter, grant tokens and client (or both on the environment's): same authority. */
  get cacheId(): string {
    if (this.#cacheId === undefined) {
      let client = 'env'
      if (this.#client !== undefined) {
        if (!clientIds.has(this.#client)) clientIds.set(this.#client, nextClientId++)
        client = `client#${clientIds.get(this.#client)}`
      }
      // Grant tokens are bearer secrets: only a fingerprint goes into the id.
      const tokens =
        this.#grantTokens === undefined
          ? ''
          : bytesToHex(backend.hkdfSha512(utf8ToBytes(JSON.stringify(this.#grantTokens)), new Uint8Array(0), utf8ToBytes('KMSE v1 grant tokens'), 16))
      this.#cacheId = `${KMS_KEYRING_TYPE}:${JSON.stringify([this.keyIds, this.discovery ?? null, tokens, client])}`
    }
    return this.#cacheId
  }

  async generateDataKey(context: CanonicalContext, options: KeyringCallOptions = {}): Promise<GeneratedDataKey> {
    const [first, ...rest] = this.#encryptKeys()
    const response = await this.#call('GenerateDataKey', first!, options.signal, (client, o) =>
      client.send(new GenerateDataKeyCommand({ KeyId: first, KeySpec: 'AES_256', EncryptionContext: kmsContext(context), GrantTokens: this.#grants() }), o),
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

  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<readonly Recipient[]> {
    return this.#encryptWith(this.#encryptKeys(), dataKey, context, options.signal)
  }

  canUnwrap(recipient: Recipient): boolean {
    return recipient.type === KMS_KEYRING_TYPE && this.#decryptKeyFor(recipient.keyId) !== undefined
  }

  /** The key ARN Decrypt would be pinned to: replicas and repeats of one key share one attempt. */
  unwrapAttemptKey(recipient: Recipient): string {
    return this.#decryptKeyFor(recipient.keyId) ?? recipient.keyId
  }

  /** Resolves configured key ids and aliases to key ARNs (once), when a message has KMS recipients. */
  async prepareUnwrap(recipients: readonly Recipient[], options: KeyringCallOptions = {}): Promise<void> {
    if (!recipients.some((r) => r.type === KMS_KEYRING_TYPE)) return
    if (this.discovery !== undefined && this.#client !== undefined && this.#clientRegion === undefined) {
      this.#clientRegion = await this.#regionOf(this.#client, 'discovery')
    }
    while (this.keyIds.some((id) => !this.#resolved.has(id))) {
      const mine = this.#resolving === undefined
      this.#resolving ??= this.#resolveKeyIds(options.signal).finally(() => {
        this.#resolving = undefined
      })
      const resolving = this.#resolving
      try {
        await resolving
        return
      } catch (error) {
        // Another caller's abort is not ours: resolve again under our own signal.
        if (mine || !(error instanceof AbortError) || options.signal?.aborted) throw error
      }
    }
  }

  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<DataKey> {
    const keyArn = recipient.type === KMS_KEYRING_TYPE ? this.#decryptKeyFor(recipient.keyId) : undefined
    if (keyArn === undefined) throw new KeyringError(`the KMS keyring (${this.description}) does not hold key ${printable(recipient.keyId)}`)
    const response = await this.#call('Decrypt', keyArn, options.signal, (client, o) =>
      client.send(
        new DecryptCommand({ CiphertextBlob: recipient.wrapped, KeyId: keyArn, EncryptionContext: kmsContext(context), GrantTokens: this.#grants() }),
        o,
      ),
    )
    if (response.KeyId !== keyArn) {
      response.Plaintext?.fill(0)
      throw badKmsResponse('Decrypt', keyArn, `it answered for key ${String(response.KeyId)}`)
    }
    return takeDataKey(response.Plaintext, 'Decrypt', keyArn)
  }

  /**
   * Rewrap without the plaintext data key leaving KMS: one ReEncrypt per key of
   * `destination` (a KmsKeyring), sent with this (the source) keyring's client, credentials
   * and grant tokens, the source key pinned to the key ARN this keyring holds, the message
   * context on both sides. Undefined (no call made) for another destination type, or when a
   * destination key is in another Region than the source key (ReEncrypt works within one
   * Region).
   */
  async reEncrypt(
    recipient: Recipient,
    destination: Keyring,
    context: CanonicalContext,
    options: KeyringCallOptions = {},
  ): Promise<readonly Recipient[] | undefined> {
    if (!(destination instanceof KmsKeyring) || destination.keyIds.length === 0) return undefined
    const sourceArn = recipient.type === KMS_KEYRING_TYPE ? this.#decryptKeyFor(recipient.keyId) : undefined
    if (sourceArn === undefined) return undefined
    const region = await this.#callRegion(sourceArn)
    for (const id of destination.keyIds) {
      const destRegion = await destination.#callRegion(id)
      if (destRegion !== region || (parseKmsArn(id)?.region ?? destRegion) !== region) return undefined
    }
    const ctx = kmsContext(context)
    return all(
      destination.keyIds.map(async (id) => {
        const response = await this.#call(
          'ReEncrypt',
          id,
          options.signal,
          (client, o) =>
            client.send(
              new ReEncryptCommand({
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
        if (response.SourceKeyId !== sourceArn)
          throw badKmsResponse('ReEncrypt', id, `it re-encrypted from key ${String(response.SourceKeyId)}, not ${printable(sourceArn)}`)
        return destination.#recipient('ReEncrypt', id, response.KeyId, response.CiphertextBlob)
      }),
    )
  }

  /** Closes the clients this keyring created (not one you passed in). Optional: their idle sockets do not keep a process alive. */
  destroy(): void {
    for (const client of this.#ownClients.values()) client.destroy()
    this.#ownClients.clear()
  }

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
    return all(
      keyIds.map(async (id) => {
        const response = await this.#call('Encrypt', id, signal, (client, o) =>
          client.send(new EncryptCommand({ KeyId: id, Plaintext: dataKey.bytes, EncryptionContext: ctx, GrantTokens: this.#grants() }), o),
        )
        return this.#recipient('Encrypt', id, response.KeyId, response.CiphertextBlob)
      }),
    )
  }

  /** Checks what KMS returned and records which key ARN a configured id stands for. */
  #recipient(operation: KmsOperation, requested: string, keyId: string | undefined, wrapped: Uint8Array | undefined): Recipient {
    const arn = keyId === undefined ? undefined : parseKeyArn(keyId)
    if (arn === undefined) throw badKmsResponse(operation, requested, `KeyId ${JSON.stringify(keyId)} is not a key ARN`)
    if (parseKeyArn(requested) !== undefined && keyId !== requested) throw badKmsResponse(operation, requested, `it used key ${keyId}`)
    if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > MAX_WRAPPED_BYTES) {
      throw badKmsResponse(operation, requested, `the ciphertext blob is ${wrapped?.length ?? 'missing'} bytes (expected 1..${MAX_WRAPPED_BYTES})`)
    }
    if (!this.#resolved.has(requested) && this.keyIds.includes(requested)) this.#resolved.set(requested, arn)
    return { type: KMS_KEYRING_TYPE, keyId: keyId!, wrapped: wrapped.slice() }
  }

  /** The key ARN to call Decrypt with for a message's key ARN, or undefined when this keyring may not try it. */
  #decryptKeyFor(keyId: string): string | undefined {
    const wrapped = parseKeyArn(keyId)
    if (wrapped === undefined) return undefined
    for (const configured of this.#resolved.values()) {
      if (keyArnsMatch(configured, wrapped)) return formatKmsArn(configured)
    }
    const d = this.discovery
    if (d === undefined || wrapped.partition !== d.partition || !d.accountIds.includes(wrapped.account)) return undefined
    if (this.#client === undefined) {
      // Only the listed Regions are called: the message must not choose where (or how many clients).
      const regions = d.regions ?? []
      if (regions.includes(wrapped.region)) return keyId
      return isMultiRegionKey(wrapped) && regions.length > 0 ? formatKmsArn(wrapped, regions[0]) : undefined
    }
    const region = this.#clientRegion
    if (region === undefined) return undefined
    if (wrapped.region === region) return keyId
    return isMultiRegionKey(wrapped) ? formatKmsArn(wrapped, region) : undefined
  }

  async #resolveKeyIds(signal: AbortSignal | undefined): Promise<void> {
    await all(
      this.keyIds
        .filter((id) => !this.#resolved.has(id))
        .map(async (id) => {
          const response = await this.#call('DescribeKey', id, signal, (client, o) =>
            client.send(new DescribeKeyCommand({ KeyId: id, GrantTokens: this.#grants() }), o),
          )
          const arn = parseKeyArn(response.KeyMetadata?.Arn ?? '')
          if (arn === undefined) throw badKmsResponse('DescribeKey', id, `Arn ${JSON.stringify(response.KeyMetadata?.Arn)} is not a key ARN`)
          this.#resolved.set(id, arn)
        }),
    )
  }

  #clientFor(keyId: string): KMSClient {
    if (this.#client !== undefined) return this.#client
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
    return this.#regionOf(this.#clientFor(keyId), keyId)
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
    send: (client: KMSClient, options: { abortSignal?: AbortSignal }) => Promise<T>,
    from?: string,
  ): Promise<T> {
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    try {
      // A ReEncrypt goes where the source key is, with the client allowed to read it.
      return await send(this.#clientFor(from ?? keyId), signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      throw kmsFailure(error, operation, keyId, signal, from)
    }
  }
}
