/**
 * The branch key store of AWS's hierarchical keyring, on DynamoDB: the same table layout,
 * attribute names and KMS encryption context as AWS's implementations
 * (aws-encryption-sdk-specification, framework/branch-key-store.md), so a table written by
 * AWS's tooling is read here and the other way round. Item layout and checks live in
 * branch-key-item.ts; this module is the calls.
 *
 * Branch keys come from KMS GenerateDataKeyWithoutPlaintext: their plaintext never leaves
 * KMS when they are made, and is only ever obtained through KMS Decrypt, pinned to the
 * store's key ARN, with every attribute of the item in the encryption context. The store
 * imports `@aws-sdk/client-dynamodb` (an optional peer dependency, like the KMS client) on
 * its first call.
 * @module
 */
import type { AttributeValue, DescribeTableCommandOutput, DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb'
import type { KMSClient } from '@aws-sdk/client-kms'
import { AbortError, BranchKeyStoreError, invalidArgument } from '../errors.js'
import { KEY_BYTES } from '../format/constants.js'
import { printable } from '../printable.js'
import type { CheckedItem, StoreContext } from './branch-key-item.js'
import {
  ACTIVE_TYPE,
  activeContext,
  BEACON_TYPE,
  beaconContext,
  CREATE_TIME_FIELD,
  checkItem,
  ENC_FIELD,
  MAX_BRANCH_KEY_ID_LENGTH,
  PARTITION_KEY,
  SORT_KEY,
  timestamp,
  toItem,
  VERSION_FIELD,
  VERSION_PREFIX,
  versionContext,
} from './branch-key-item.js'
import type { BranchKeyMaterials, BranchKeySource } from './branch-key-source.js'
import type { DynamoDbOperation } from './dynamodb-errors.js'
import { dynamoDbFailure } from './dynamodb-errors.js'
import type { DynamoDbSdk } from './dynamodb-sdk.js'
import { loadDynamoDbSdk } from './dynamodb-sdk.js'
import { loadKmsSdk } from './kms.js'
import { parseKeyArn } from './kms-arn.js'
import type { KmsOperation } from './kms-errors.js'
import { badKmsResponse, kmsFailure } from './kms-errors.js'
import { checkGrantTokens } from './kms-policy.js'

type KmsSdk = Awaited<ReturnType<typeof loadKmsSdk>>

/**
 * The part of a `DynamoDBClient` (from `@aws-sdk/client-dynamodb`) the store uses: pass the
 * SDK's client. Declared structurally so that `kms-envelope/kms` type-checks in applications
 * that use KMS only and have no DynamoDB SDK installed.
 */
export interface DynamoDbClientLike {
  /**
   * The SDK client's `send`.
   * @param command - an SDK command
   * @param options - the SDK's per-call options (the store passes `abortSignal`)
   */
  send(command: never, options?: never): Promise<unknown>
  /** The SDK client's `destroy`. */
  destroy(): void
}

/** Options of {@link BranchKeyStore}. */
export interface BranchKeyStoreOptions {
  /** The DynamoDB table (partition key `branch-key-id`, sort key `type`, both strings). */
  readonly tableName: string
  /**
   * The KMS key that wraps every branch key: a key ARN (not an alias, as the specification
   * requires, so the store is pinned to one key). Items wrapped by another key are refused.
   */
  readonly kmsKeyArn: string
  /**
   * The name bound into every branch key's KMS encryption context (`tablename`). Default: the
   * table name. Must be the same for every reader and writer of the table, AWS's included;
   * a different one lets the table be restored under another name.
   */
  readonly logicalKeyStoreName?: string
  /** Your DynamoDB client. Default: one from the AWS environment, in the KMS key's Region (`AWS_ENDPOINT_URL_DYNAMODB` applies). */
  readonly dynamoDbClient?: DynamoDbClientLike
  /** Your KMS client. Default: one from the AWS environment, in the KMS key's Region (`AWS_ENDPOINT_URL_KMS` applies). */
  readonly kmsClient?: KMSClient
  /** Grant tokens sent with every KMS call (at most 10). */
  readonly grantTokens?: readonly string[]
}

/** Options of the calls of {@link BranchKeyStore}. */
export interface BranchKeyStoreCallOptions {
  /** Cancels the call (it rejects with `ERR_ABORTED`). */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link BranchKeyStore.createKey}. */
export interface CreateBranchKeyOptions extends BranchKeyStoreCallOptions {
  /**
   * Custom encryption context bound to every version of the branch key: stored as
   * `aws-crypto-ec:NAME` attributes and sent to KMS, so CloudTrail shows it. Required, and
   * not empty, when a branch key id is given (as the specification says).
   */
  readonly encryptionContext?: Readonly<Record<string, string>>
}

/** What {@link BranchKeyStore.describe} reads from the table (unauthenticated: nothing is unwrapped). */
export interface BranchKeyDescription {
  readonly branchKeyId: string
  /** The active version's UUID. */
  readonly activeVersion: string
  /** Every version, oldest first, with its `create-time`. */
  readonly versions: readonly { readonly version: string; readonly createTime: string }[]
  /** The KMS key ARN the active item names. */
  readonly kmsArn: string
  /** The custom encryption context (names without `aws-crypto-ec:`). */
  readonly encryptionContext: Readonly<Record<string, string>>
  /** Whether the `beacon:ACTIVE` item exists. */
  readonly hasBeaconKey: boolean
}

/** A beacon key (AWS's searchable encryption), unwrapped. `key` is 32 bytes; wipe it when done. */
export interface BeaconKeyMaterials {
  readonly branchKeyId: string
  readonly key: Uint8Array
  readonly encryptionContext: Readonly<Record<string, string>>
}

const REDACTED = '<redacted>'

/**
 * Unwrapped key materials that keep the key out of logs: `key` is a getter on the prototype,
 * so `console.log`, `util.inspect` and `JSON.stringify` never show it.
 */
class UnwrappedKey implements BranchKeyMaterials {
  readonly branchKeyId: string
  readonly branchKeyVersion: string
  readonly encryptionContext: Readonly<Record<string, string>>
  readonly #key: Uint8Array

  constructor(branchKeyId: string, branchKeyVersion: string, key: Uint8Array, encryptionContext: Readonly<Record<string, string>>) {
    this.branchKeyId = branchKeyId
    this.branchKeyVersion = branchKeyVersion
    this.#key = key
    this.encryptionContext = Object.freeze({ ...encryptionContext })
    Object.freeze(this)
  }

  get key(): Uint8Array {
    return this.#key
  }

  toJSON(): Record<string, unknown> {
    return { branchKeyId: this.branchKeyId, branchKeyVersion: this.branchKeyVersion, key: REDACTED, encryptionContext: this.encryptionContext }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `BranchKeyMaterials { branchKeyId: ${JSON.stringify(this.branchKeyId)}, branchKeyVersion: ${JSON.stringify(this.branchKeyVersion)}, key: ${REDACTED} }`
  }
}

function checkBranchKeyId(id: unknown, what = 'branchKeyId'): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_BRANCH_KEY_ID_LENGTH) {
    throw invalidArgument(`${what} must be a non-empty string of at most ${MAX_BRANCH_KEY_ID_LENGTH} characters`)
  }
  return id
}

function checkCustomContext(context: unknown): Readonly<Record<string, string>> {
  if (context === undefined) return {}
  if (context === null || typeof context !== 'object' || Array.isArray(context)) throw invalidArgument('encryptionContext must be an object of strings')
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(context)) {
    if (name === '' || typeof value !== 'string')
      throw invalidArgument(`encryptionContext ${JSON.stringify(name)} must be a non-empty name with a string value`)
    out[name] = value
  }
  return out
}

/**
 * AWS's branch key store on a DynamoDB table: creates, rotates and unwraps branch keys for
 * the hierarchical keyring. Implements {@link BranchKeySource}.
 *
 * @example
 * ```ts
 * import { BranchKeyStore } from 'kms-envelope/kms'
 * const store = new BranchKeyStore({ tableName: 'branch-keys', kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' })
 * await store.createTable() // once
 * const id = await store.createKey('tenant-acme', { encryptionContext: { tenant: 'acme' } })
 * await store.versionKey(id) // rotation: a new active version, old ones still open
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options. Calls reject with
 *   {@link BranchKeyStoreError} (`ERR_BRANCH_KEY_*`, `ERR_DYNAMODB`), {@link KmsError}
 *   (`ERR_KMS_*`: a tampered item is `ERR_KMS_INVALID_CIPHERTEXT`), `ERR_ABORTED`, or the
 *   `ERR_*_SDK_MISSING` errors when an AWS SDK client package is not installed.
 */
export class BranchKeyStore implements BranchKeySource {
  readonly tableName: string
  readonly logicalKeyStoreName: string
  readonly kmsKeyArn: string
  readonly #region: string
  readonly #grantTokens: readonly string[] | undefined
  readonly #dynamoDb: DynamoDBClient | undefined
  readonly #kms: KMSClient | undefined
  #ownDynamoDb: DynamoDBClient | undefined
  #ownKms: KMSClient | undefined

  /**
   * Checks the options only: no call and no SDK load happen until the first use.
   *
   * @param options - The table, KMS key ARN, optional logical name, clients and grant tokens ({@link BranchKeyStoreOptions}).
   */
  constructor(options: BranchKeyStoreOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('BranchKeyStore needs options: { tableName, kmsKeyArn }')
    const { tableName, kmsKeyArn, logicalKeyStoreName = options.tableName, dynamoDbClient, kmsClient } = options
    if (typeof tableName !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
      throw invalidArgument('tableName must be a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."')
    }
    const arn = typeof kmsKeyArn === 'string' ? parseKeyArn(kmsKeyArn) : undefined
    if (arn === undefined)
      throw invalidArgument(
        `kmsKeyArn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias or a key id; got ${printable(String(kmsKeyArn))}`,
      )
    if (typeof logicalKeyStoreName !== 'string' || logicalKeyStoreName === '') throw invalidArgument('logicalKeyStoreName must be a non-empty string')
    if (dynamoDbClient !== undefined && typeof (dynamoDbClient as Partial<DynamoDBClient>)?.send !== 'function') {
      throw invalidArgument('dynamoDbClient must be a DynamoDBClient from @aws-sdk/client-dynamodb')
    }
    if (kmsClient !== undefined && typeof (kmsClient as Partial<KMSClient>)?.send !== 'function')
      throw invalidArgument('kmsClient must be a KMSClient from @aws-sdk/client-kms')
    this.tableName = tableName
    this.kmsKeyArn = kmsKeyArn
    this.logicalKeyStoreName = logicalKeyStoreName
    this.#region = arn.region
    this.#grantTokens = checkGrantTokens(options.grantTokens)
    this.#dynamoDb = dynamoDbClient as DynamoDBClient | undefined
    this.#kms = kmsClient
  }

  /**
   * Creates the table with the specification's key schema (on-demand capacity) and waits until
   * it is active; an existing table with that key schema is accepted as it is.
   *
   * @param options - `signal` cancels the wait.
   * @returns The table's ARN and whether this call created it.
   * @throws {@link BranchKeyStoreError} `ERR_DYNAMODB` if it cannot, or `ERR_BRANCH_KEY_ITEM` when the table exists with another key schema.
   */
  async createTable(options: BranchKeyStoreCallOptions = {}): Promise<{ readonly tableArn: string; readonly created: boolean }> {
    const sdk = await loadDynamoDbSdk()
    const existing = await this.#describeTable(sdk, options.signal)
    if (existing !== undefined) return { tableArn: existing, created: false }
    const created = await this.#ddb('CreateTable', '', options.signal, (client, o) =>
      client.send(
        new sdk.CreateTableCommand({
          TableName: this.tableName,
          KeySchema: [
            { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
            { AttributeName: SORT_KEY, KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: PARTITION_KEY, AttributeType: 'S' },
            { AttributeName: SORT_KEY, AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
        o,
      ),
    )
    // A new table is CREATING for seconds on AWS (moto answers ACTIVE at once): wait up to 5 minutes.
    let status = created.TableDescription?.TableStatus
    for (let i = 0; status !== 'ACTIVE' && i < 600; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const described = await this.#ddb('DescribeTable', '', options.signal, (client, o) =>
        client.send(new sdk.DescribeTableCommand({ TableName: this.tableName }), o),
      )
      status = described.Table?.TableStatus
    }
    if (status !== 'ACTIVE') {
      throw new BranchKeyStoreError(
        'ERR_DYNAMODB',
        '',
        `table ${printable(this.tableName)} was created but is still ${printable(String(status))} after 5 minutes: check it in the DynamoDB console, then call createTable again`,
        'TableNotActive',
      )
    }
    return { tableArn: created.TableDescription?.TableArn ?? '', created: true }
  }

  /**
   * Creates a branch key: its first version (version and active items) and its beacon key,
   * in one conditional transaction, so an existing branch key id is never overwritten.
   * Three KMS calls (GenerateDataKeyWithoutPlaintext twice, ReEncrypt once) and one DynamoDB
   * TransactWriteItems.
   *
   * @param branchKeyId - The id (for example the tenant's); default a random UUID.
   * @param options - The custom encryption context (required with an id) and `signal`.
   * @returns The branch key id.
   * @throws {@link BranchKeyStoreError} `ERR_BRANCH_KEY_EXISTS` when the id exists.
   */
  async createKey(branchKeyId?: string, options: CreateBranchKeyOptions = {}): Promise<string> {
    const custom = checkCustomContext(options.encryptionContext)
    if (branchKeyId !== undefined && Object.keys(custom).length === 0) {
      throw invalidArgument(
        'createKey with a branch key id needs a non-empty encryptionContext (the specification requires it, so each key says in CloudTrail what it is for)',
      )
    }
    const id = branchKeyId === undefined ? crypto.randomUUID() : checkBranchKeyId(branchKeyId)
    const { signal } = options
    const decryptOnly = versionContext(id, crypto.randomUUID(), timestamp(), this.logicalKeyStoreName, this.kmsKeyArn, custom)
    const fresh = await this.#newVersion(decryptOnly, signal)
    const beaconCtx = beaconContext(decryptOnly)
    const beacon = await this.#generate(beaconCtx, signal)
    await this.#transact(
      id,
      [this.#putNew(toItem(decryptOnly, fresh.versionBlob)), this.#putNew(toItem(fresh.active, fresh.activeBlob)), this.#putNew(toItem(beaconCtx, beacon))],
      signal,
      {
        code: 'ERR_BRANCH_KEY_EXISTS',
        message: `branch key ${printable(id)} already exists in table ${printable(this.tableName)}: nothing was written. Use versionKey to rotate it, or another id`,
      },
    )
    return id
  }

  /**
   * Rotates a branch key: a new version becomes active; every old version stays in the table,
   * so what it protected still opens. The active item is read and authenticated through KMS
   * (ReEncrypt to itself), then replaced on the condition that it did not change meanwhile:
   * of two concurrent rotations one wins, the other fails with `ERR_BRANCH_KEY_CONFLICT` and
   * writes nothing. One GetItem, three KMS calls (ReEncrypt, GenerateDataKeyWithoutPlaintext,
   * ReEncrypt), one TransactWriteItems.
   *
   * @param branchKeyId - The branch key to rotate.
   * @param options - `signal` cancels the call.
   * @returns The new active version's UUID.
   * @throws {@link BranchKeyStoreError} `ERR_BRANCH_KEY_NOT_FOUND`, `ERR_BRANCH_KEY_CONFLICT`, `ERR_BRANCH_KEY_ITEM`.
   */
  async versionKey(branchKeyId: string, options: BranchKeyStoreCallOptions = {}): Promise<string> {
    const id = checkBranchKeyId(branchKeyId)
    const { signal } = options
    const current = await this.#read(id, ACTIVE_TYPE, signal)
    // Authenticates every attribute of the active item without revealing the key.
    await this.#kmsCall('ReEncrypt', signal, (client, sdk, o) =>
      client.send(
        new sdk.ReEncryptCommand({
          CiphertextBlob: current.wrapped,
          SourceKeyId: this.kmsKeyArn,
          SourceEncryptionContext: { ...current.context },
          DestinationKeyId: this.kmsKeyArn,
          DestinationEncryptionContext: { ...current.context },
          GrantTokens: this.#grants(),
        }),
        o,
      ),
    )
    const version = crypto.randomUUID()
    const decryptOnly: Record<string, string> = {
      ...current.context,
      [SORT_KEY]: `${VERSION_PREFIX}${version}`,
      [CREATE_TIME_FIELD]: timestamp(),
    }
    delete decryptOnly[VERSION_FIELD]
    const fresh = await this.#newVersion(decryptOnly, signal)
    await this.#transact(
      id,
      [
        this.#putNew(toItem(decryptOnly, fresh.versionBlob)),
        {
          Put: {
            TableName: this.tableName,
            Item: toItem(fresh.active, fresh.activeBlob),
            ConditionExpression: 'attribute_exists(#id) AND #enc = :old',
            ExpressionAttributeNames: { '#id': PARTITION_KEY, '#enc': ENC_FIELD },
            ExpressionAttributeValues: { ':old': { B: current.wrapped } },
          },
        },
      ],
      signal,
      {
        code: 'ERR_BRANCH_KEY_CONFLICT',
        message: `branch key ${printable(id)} changed while it was being rotated (another versionKey won): nothing was written. Retry if a further rotation is still wanted`,
      },
    )
    return version
  }

  /**
   * The active version of a branch key, unwrapped: one GetItem and one KMS Decrypt. The
   * caller owns the returned key bytes (wipe them when done).
   *
   * @param branchKeyId - The branch key.
   * @param options - `signal` cancels the call.
   * @throws {@link BranchKeyStoreError} `ERR_BRANCH_KEY_NOT_FOUND`, `ERR_BRANCH_KEY_ITEM`; {@link KmsError} when KMS refuses the item.
   */
  async getActiveBranchKey(branchKeyId: string, options: BranchKeyStoreCallOptions = {}): Promise<BranchKeyMaterials> {
    const id = checkBranchKeyId(branchKeyId)
    const item = await this.#read(id, ACTIVE_TYPE, options.signal)
    return new UnwrappedKey(id, item.version, await this.#unwrap(item, options.signal), item.custom)
  }

  /**
   * One version of a branch key, unwrapped: one GetItem and one KMS Decrypt.
   *
   * @param branchKeyId - The branch key.
   * @param branchKeyVersion - The version's UUID (without `branch:version:`).
   * @param options - `signal` cancels the call.
   * @throws {@link BranchKeyStoreError} `ERR_BRANCH_KEY_NOT_FOUND`, `ERR_BRANCH_KEY_ITEM`; {@link KmsError} when KMS refuses the item.
   */
  async getBranchKeyVersion(branchKeyId: string, branchKeyVersion: string, options: BranchKeyStoreCallOptions = {}): Promise<BranchKeyMaterials> {
    const id = checkBranchKeyId(branchKeyId)
    if (typeof branchKeyVersion !== 'string' || branchKeyVersion === '' || branchKeyVersion.length > 64) {
      throw invalidArgument('branchKeyVersion must be a version UUID (without "branch:version:")')
    }
    const item = await this.#read(id, `${VERSION_PREFIX}${branchKeyVersion}`, options.signal)
    return new UnwrappedKey(id, item.version, await this.#unwrap(item, options.signal), item.custom)
  }

  /**
   * The branch key's beacon key (used by AWS's searchable encryption), unwrapped.
   *
   * @param branchKeyId - The branch key.
   * @param options - `signal` cancels the call.
   */
  async getBeaconKey(branchKeyId: string, options: BranchKeyStoreCallOptions = {}): Promise<BeaconKeyMaterials> {
    const id = checkBranchKeyId(branchKeyId)
    const item = await this.#read(id, BEACON_TYPE, options.signal)
    const key = await this.#unwrap(item, options.signal)
    return Object.freeze({
      branchKeyId: id,
      encryptionContext: Object.freeze({ ...item.custom }),
      get key() {
        return key
      },
      toJSON: () => ({ branchKeyId: id, key: REDACTED }),
    })
  }

  /**
   * What the table holds for a branch key, read with one Query and nothing unwrapped or
   * authenticated (for operators and the CLI; use the get methods to trust an item).
   *
   * @param branchKeyId - The branch key.
   * @param options - `signal` cancels the call.
   * @throws {@link BranchKeyStoreError} `ERR_BRANCH_KEY_NOT_FOUND` when it has no active item.
   */
  async describe(branchKeyId: string, options: BranchKeyStoreCallOptions = {}): Promise<BranchKeyDescription> {
    const id = checkBranchKeyId(branchKeyId)
    const sdk = await loadDynamoDbSdk()
    const items: Record<string, AttributeValue>[] = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const page = await this.#ddb('Query', id, options.signal, (client, o) =>
        client.send(
          new sdk.QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#id = :id',
            ExpressionAttributeNames: { '#id': PARTITION_KEY },
            ExpressionAttributeValues: { ':id': { S: id } },
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
          o,
        ),
      )
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start !== undefined && items.length < 100_000)
    const active = items.find((item) => item[SORT_KEY]?.S === ACTIVE_TYPE)
    if (active === undefined) throw this.#notFound(id, ACTIVE_TYPE)
    const checked = checkItem(active, id, ACTIVE_TYPE, this.logicalKeyStoreName, active['kms-arn']?.S ?? '')
    const versions = items
      .map((item) => ({ type: item[SORT_KEY]?.S ?? '', createTime: item[CREATE_TIME_FIELD]?.S ?? '' }))
      .filter((v) => v.type.startsWith(VERSION_PREFIX))
      .map((v) => ({ version: v.type.slice(VERSION_PREFIX.length), createTime: v.createTime }))
      .sort((a, b) => (a.createTime < b.createTime ? -1 : a.createTime > b.createTime ? 1 : 0))
    return {
      branchKeyId: id,
      activeVersion: checked.version,
      versions,
      kmsArn: checked.kmsArn,
      encryptionContext: checked.custom,
      hasBeaconKey: items.some((item) => item[SORT_KEY]?.S === BEACON_TYPE),
    }
  }

  /** Closes the clients this store created (not ones you passed in). */
  destroy(): void {
    this.#ownDynamoDb?.destroy()
    this.#ownKms?.destroy()
    this.#ownDynamoDb = undefined
    this.#ownKms = undefined
  }

  /** The table, logical name and KMS key; never a client or grant tokens. */
  toJSON(): Record<string, string> {
    return { type: 'BranchKeyStore', tableName: this.tableName, logicalKeyStoreName: this.logicalKeyStoreName, kmsKeyArn: this.kmsKeyArn }
  }

  /** The wrapped version key (GenerateDataKeyWithoutPlaintext) and the same key wrapped for the active item (ReEncrypt). */
  async #newVersion(decryptOnly: StoreContext, signal: AbortSignal | undefined) {
    const versionBlob = await this.#generate(decryptOnly, signal)
    const active = activeContext(decryptOnly)
    const reEncrypted = await this.#kmsCall('ReEncrypt', signal, (client, sdk, o) =>
      client.send(
        new sdk.ReEncryptCommand({
          CiphertextBlob: versionBlob,
          SourceKeyId: this.kmsKeyArn,
          SourceEncryptionContext: { ...decryptOnly },
          DestinationKeyId: this.kmsKeyArn,
          DestinationEncryptionContext: { ...active },
          GrantTokens: this.#grants(),
        }),
        o,
      ),
    )
    return { versionBlob, active, activeBlob: this.#blob('ReEncrypt', reEncrypted.CiphertextBlob) }
  }

  async #generate(context: StoreContext, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const response = await this.#kmsCall('GenerateDataKeyWithoutPlaintext', signal, (client, sdk, o) =>
      client.send(
        new sdk.GenerateDataKeyWithoutPlaintextCommand({
          KeyId: this.kmsKeyArn,
          NumberOfBytes: KEY_BYTES,
          EncryptionContext: { ...context },
          GrantTokens: this.#grants(),
        }),
        o,
      ),
    )
    if (response.KeyId !== this.kmsKeyArn) throw badKmsResponse('GenerateDataKeyWithoutPlaintext', this.kmsKeyArn, `it used key ${String(response.KeyId)}`)
    return this.#blob('GenerateDataKeyWithoutPlaintext', response.CiphertextBlob)
  }

  #blob(operation: KmsOperation, blob: Uint8Array | undefined): Uint8Array {
    if (!(blob instanceof Uint8Array) || blob.length === 0) throw badKmsResponse(operation, this.kmsKeyArn, 'no ciphertext blob')
    return blob
  }

  /** Writes `items` all or none; a failed condition becomes `onCondition` (nothing was written). */
  async #transact(
    id: string,
    items: TransactWriteItem[],
    signal: AbortSignal | undefined,
    onCondition: { readonly code: 'ERR_BRANCH_KEY_EXISTS' | 'ERR_BRANCH_KEY_CONFLICT'; readonly message: string },
  ): Promise<void> {
    const sdk = await loadDynamoDbSdk()
    await this.#ddb('TransactWriteItems', id, signal, (client, o) => client.send(new sdk.TransactWriteItemsCommand({ TransactItems: items }), o), onCondition)
  }

  #putNew(item: Record<string, AttributeValue>) {
    return {
      Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': PARTITION_KEY } },
    }
  }

  #notFound(id: string, sortKey: string): BranchKeyStoreError {
    const what = sortKey === ACTIVE_TYPE ? `branch key ${printable(id)}` : `${printable(sortKey)} of branch key ${printable(id)}`
    return new BranchKeyStoreError(
      'ERR_BRANCH_KEY_NOT_FOUND',
      id,
      `${what} is not in table ${printable(this.tableName)}: check the id (and version), the table name and the Region, or create it with createKey`,
    )
  }

  /** One strongly consistent GetItem, checked (see checkItem). */
  async #read(id: string, sortKey: string, signal: AbortSignal | undefined): Promise<CheckedItem> {
    const sdk = await loadDynamoDbSdk()
    const response = await this.#ddb('GetItem', id, signal, (client, o) =>
      client.send(
        new sdk.GetItemCommand({ TableName: this.tableName, Key: { [PARTITION_KEY]: { S: id }, [SORT_KEY]: { S: sortKey } }, ConsistentRead: true }),
        o,
      ),
    )
    if (response.Item === undefined) throw this.#notFound(id, sortKey)
    return checkItem(response.Item, id, sortKey, this.logicalKeyStoreName, this.kmsKeyArn)
  }

  /** KMS Decrypt pinned to the store's key, with every attribute of the item as the context. */
  async #unwrap(item: CheckedItem, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const response = await this.#kmsCall('Decrypt', signal, (client, sdk, o) =>
      client.send(
        new sdk.DecryptCommand({ KeyId: this.kmsKeyArn, CiphertextBlob: item.wrapped, EncryptionContext: { ...item.context }, GrantTokens: this.#grants() }),
        o,
      ),
    )
    const plain = response.Plaintext
    if (response.KeyId !== this.kmsKeyArn || !(plain instanceof Uint8Array) || plain.length !== KEY_BYTES) {
      plain?.fill(0)
      throw badKmsResponse(
        'Decrypt',
        this.kmsKeyArn,
        response.KeyId !== this.kmsKeyArn ? `it answered for key ${String(response.KeyId)}` : 'the branch key is not 32 bytes',
      )
    }
    const key = new Uint8Array(plain)
    plain.fill(0)
    return key
  }

  #grants(): string[] | undefined {
    return this.#grantTokens === undefined ? undefined : [...this.#grantTokens]
  }

  async #describeTable(sdk: DynamoDbSdk, signal: AbortSignal | undefined): Promise<string | undefined> {
    let table: DescribeTableCommandOutput
    try {
      const client = await this.#dynamoDbClient(sdk)
      table = await client.send(new sdk.DescribeTableCommand({ TableName: this.tableName }), signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      if ((error as { name?: unknown })?.name === 'ResourceNotFoundException') return undefined
      throw dynamoDbFailure(error, 'DescribeTable', this.tableName, '', signal)
    }
    const description = table.Table
    const schema = (description?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',')
    if (schema !== `${PARTITION_KEY}:HASH,${SORT_KEY}:RANGE`) {
      throw new BranchKeyStoreError(
        'ERR_BRANCH_KEY_ITEM',
        '',
        `table ${printable(this.tableName)} exists with key schema ${printable(schema)}, not a branch key store's (${PARTITION_KEY} partition key, ${SORT_KEY} sort key): use another table name`,
      )
    }
    return description?.TableArn ?? ''
  }

  async #dynamoDbClient(sdk: DynamoDbSdk): Promise<DynamoDBClient> {
    if (this.#dynamoDb !== undefined) return this.#dynamoDb
    this.#ownDynamoDb ??= new sdk.DynamoDBClient({ region: this.#region })
    return this.#ownDynamoDb
  }

  async #ddb<T>(
    operation: DynamoDbOperation,
    id: string,
    signal: AbortSignal | undefined,
    send: (client: DynamoDBClient, options: { abortSignal?: AbortSignal }) => Promise<T>,
    onCondition?: { readonly code: 'ERR_BRANCH_KEY_EXISTS' | 'ERR_BRANCH_KEY_CONFLICT'; readonly message: string },
  ): Promise<T> {
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    const client = await this.#dynamoDbClient(await loadDynamoDbSdk())
    try {
      return await send(client, signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      throw dynamoDbFailure(error, operation, this.tableName, id, signal, onCondition)
    }
  }

  async #kmsCall<T>(
    operation: KmsOperation,
    signal: AbortSignal | undefined,
    send: (client: KMSClient, sdk: KmsSdk, options: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    const sdk = await loadKmsSdk()
    this.#ownKms ??= this.#kms === undefined ? new sdk.KMSClient({ region: this.#region }) : undefined
    const client = this.#kms ?? this.#ownKms!
    try {
      return await send(client, sdk, signal === undefined ? {} : { abortSignal: signal })
    } catch (error) {
      throw kmsFailure(error, operation, this.kmsKeyArn, signal)
    }
  }
}
