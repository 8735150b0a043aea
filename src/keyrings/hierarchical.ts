/**
 * The hierarchical keyring (AWS's "aws-kms-hierarchy"): one branch key per tenant, kept in a
 * branch key store (the DynamoDB `BranchKeyStore` of `kms-envelope/kms`, or any
 * {@link BranchKeySource} the application provides, e.g. one proxied to a server in a
 * browser) and cached after one read; every message still gets its own random data key,
 * wrapped locally under a key derived from the branch key with a fresh salt (FORMAT.md §19).
 * So store and KMS calls follow tenants × versions × cache windows, not messages, and a leaked
 * data key exposes one message.
 *
 * Runtime-neutral, so it lives in the core entry; only the DynamoDB store needs the AWS SDK.
 * It sits in the cache layer's rank (scripts/check-layers.ts) because it owns a branch-key cache.
 * @module
 */
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { BranchKeyCacheOptions } from '../cache/branch-key-cache.js'
import { BranchKeyCache, HeldBranchKey } from '../cache/branch-key-cache.js'
import { DataKey } from '../crypto/data-key.js'
import { AbortError, EnvelopeError, invalidArgument, KeyringError, UnwrapError } from '../errors.js'
import { KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { contextToObject } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { printable } from '../printable.js'
import { integerOption } from '../validate.js'
import type { BranchKeyMaterials, BranchKeySource } from './branch-key-source.js'
import { generateWrappedDataKey } from './generate-data-key.js'
import { checkBranchKeyId, HIERARCHY_KEYRING_TYPE, IV_BYTES, isBranchKeyVersion, SALT_BYTES, splitWrapped, versionFromBytes } from './hierarchy-wrap.js'
import type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyring.js'

export { HIERARCHY_KEYRING_TYPE } from './hierarchy-wrap.js'

/**
 * Chooses the branch key of a message from its encryption context (typically the tenant), for
 * encryption and decryption alike. Throw (or return an invalid id) to refuse the context.
 * @param context - The message's encryption context.
 */
export type BranchKeyIdSupplier = (context: EncryptionContext) => string | Promise<string>

/** Options of {@link HierarchicalKeyring}. */
export interface HierarchicalKeyringOptions {
  /** Where branch keys come from: `BranchKeyStore` (kms-envelope/kms) or your own {@link BranchKeySource}. */
  readonly store: BranchKeySource
  /** The one branch key this keyring uses. Give this or `branchKeyIdSupplier`. */
  readonly branchKeyId?: string | undefined
  /** Picks the branch key per message from its context, so one keyring serves every tenant. */
  readonly branchKeyIdSupplier?: BranchKeyIdSupplier | undefined
  /**
   * Required. Options for a cache of this keyring's own (`{ maxAge }` at least), or a
   * {@link BranchKeyCache} shared with other keyrings (give them the same `partition`).
   */
  readonly cache: BranchKeyCache | BranchKeyCacheOptions
  /**
   * Milliseconds this keyring uses a cached branch key (default: the cache's maxAge). With a
   * shared cache, each keyring's own limit holds whoever filled the entry.
   */
  readonly maxAge?: number | undefined
  /**
   * Keyrings with the same partition, store name and branch key id share entries of one
   * shared cache. Default: a random partition, so nothing is shared.
   */
  readonly partition?: string | undefined
}

const RESOURCE_HIERARCHY = 0x02
const SCOPE_ENCRYPT = 0x01
const SCOPE_DECRYPT = 0x02

/**
 * The code only wraps and unwraps run (the seal with its KDF, SHA-384 for entry ids), loaded by
 * the first of them and not at import: most programs importing the package never make this keyring.
 */
let wrapCode: Promise<{ seal: typeof import('./hierarchy-seal.js'); sha384: (bytes: Uint8Array) => Uint8Array }> | undefined
function loadWrapCode(): NonNullable<typeof wrapCode> {
  wrapCode ??= Promise.all([import('./hierarchy-seal.js'), import('@noble/hashes/sha2.js')]).then(([seal, sha2]) => ({ seal, sha384: sha2.sha384 }))
  return wrapCode
}

/** The spec's cache entry identifier (Appendix A): SHA-384 of the parts joined by 0x00. */
function entryId(
  sha384: (bytes: Uint8Array) => Uint8Array,
  scope: number,
  partition: Uint8Array,
  storeName: Uint8Array,
  branchKeyId: string,
  version?: string,
): string {
  const parts = [Uint8Array.of(RESOURCE_HIERARCHY), Uint8Array.of(scope), partition, storeName, utf8ToBytes(branchKeyId)]
  if (version !== undefined) parts.push(utf8ToBytes(version))
  const total = parts.reduce((n, p) => n + p.length, parts.length - 1)
  const bytes = new Uint8Array(total)
  let at = 0
  for (const [i, p] of parts.entries()) {
    if (i > 0) at++ // the 0x00 separator (already zero)
    bytes.set(p, at)
    at += p.length
  }
  return bytesToHex(sha384(bytes))
}

/**
 * A keyring whose wrapping keys are derived from per-tenant branch keys (see the module docs).
 *
 * @example
 * ```ts
 * const keyring = new HierarchicalKeyring({
 *   store, // a BranchKeyStore from kms-envelope/kms, or any BranchKeySource
 *   branchKeyIdSupplier: (context) => `tenant-${context.tenant}`,
 *   cache: { maxAge: 10 * 60_000, maxEntries: 5000 },
 * })
 * const env = new Envelope({ keyring })
 * await env.encrypt(data, { context: { tenant: 'acme' } })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for missing or contradictory options.
 */
export class HierarchicalKeyring implements Keyring {
  readonly type = HIERARCHY_KEYRING_TYPE
  /** The fixed branch key id, or undefined when a supplier chooses per message. */
  readonly branchKeyId: string | undefined
  /** The branch-key cache this keyring reads through (see its `stats()`). */
  readonly cache: BranchKeyCache
  /** Milliseconds this keyring uses a cached branch key. */
  readonly maxAge: number
  readonly #store: BranchKeySource
  readonly #storeName: string
  readonly #storeNameBytes: Uint8Array
  readonly #supplier: BranchKeyIdSupplier | undefined
  readonly #partition: Uint8Array
  readonly #cacheId: string

  /**
   * A hierarchical keyring.
   * @param options - The store, the branch key (id or supplier), the cache and the partition.
   */
  constructor(options: HierarchicalKeyringOptions) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('HierarchicalKeyring needs { store, branchKeyId or branchKeyIdSupplier, cache: { maxAge } }')
    const store = options.store as Partial<BranchKeySource> | null | undefined
    if (store === null || typeof store !== 'object' || typeof store.getActiveBranchKey !== 'function' || typeof store.getBranchKeyVersion !== 'function') {
      throw invalidArgument(
        'store must be a branch key store: an object with getActiveBranchKey and getBranchKeyVersion (BranchKeyStore from kms-envelope/kms, or your own)',
      )
    }
    if (typeof store.logicalKeyStoreName !== 'string' || store.logicalKeyStoreName.length === 0 || !store.logicalKeyStoreName.isWellFormed()) {
      throw invalidArgument('store.logicalKeyStoreName must be a non-empty string (it names the store in cache entries and errors)')
    }
    this.#store = store as BranchKeySource
    this.#storeName = store.logicalKeyStoreName
    this.#storeNameBytes = utf8ToBytes(this.#storeName)
    const hasId = options.branchKeyId !== undefined
    const hasSupplier = options.branchKeyIdSupplier !== undefined
    if (hasId === hasSupplier) throw invalidArgument('give exactly one of branchKeyId (one branch key) and branchKeyIdSupplier (a branch key per context)')
    if (hasId) {
      const problem = checkBranchKeyId(options.branchKeyId)
      if (problem !== undefined) throw invalidArgument(`branchKeyId is not usable: ${problem}`)
    } else if (typeof options.branchKeyIdSupplier !== 'function') {
      throw invalidArgument('branchKeyIdSupplier must be a function (context) => branch key id')
    }
    this.branchKeyId = options.branchKeyId
    this.#supplier = options.branchKeyIdSupplier
    if (options.cache === undefined || options.cache === null) {
      throw invalidArgument('cache is required: { maxAge } (milliseconds a branch key may be used before it is read again), or a shared BranchKeyCache')
    }
    this.cache = options.cache instanceof BranchKeyCache ? options.cache : new BranchKeyCache(options.cache)
    this.maxAge = integerOption(options.maxAge, 'maxAge', 1, this.cache.maxAge, this.cache.maxAge)
    if (options.partition !== undefined && (typeof options.partition !== 'string' || !options.partition.isWellFormed())) {
      throw invalidArgument('partition must be a string')
    }
    this.#partition = options.partition === undefined ? backend.randomBytes(16) : utf8ToBytes(options.partition)
    // For KeyCache: the same store, partition and branch key mean the same keys (the spec's
    // sharing rule); a supplier is a function nobody can compare, so it is never shared.
    const who = this.branchKeyId ?? `supplier:${bytesToHex(backend.randomBytes(8))}`
    this.#cacheId = `${HIERARCHY_KEYRING_TYPE}:${JSON.stringify([this.#storeName, bytesToHex(this.#partition), who])}`
  }

  get description(): string {
    return `${HIERARCHY_KEYRING_TYPE}:${this.#storeName}/${this.branchKeyId ?? '(per-context branch key)'}`
  }

  get cacheId(): string {
    return this.#cacheId
  }

  /**
   * A random data key wrapped under the active version of the context's branch key.
   * @param context - The message's encryption context (chooses the branch key; bound to the wrap).
   * @param options - The call's abort signal, passed to the store.
   */
  async generateDataKey(context: CanonicalContext, options: KeyringCallOptions = {}): Promise<GeneratedDataKey> {
    return generateWrappedDataKey((dataKey) => this.wrapDataKey(dataKey, context, options))
  }

  /**
   * Wraps `dataKey` under the active version of the context's branch key.
   * @param dataKey - The data key to wrap (not wiped here).
   * @param context - The message's encryption context (chooses the branch key; bound to the wrap).
   * @param options - The call's abort signal, passed to the store.
   */
  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<readonly Recipient[]> {
    return [await this.#wrap(dataKey, context, options.signal)]
  }

  async #wrap(dataKey: DataKey, context: CanonicalContext, signal: AbortSignal | undefined): Promise<Recipient> {
    const branchKeyId = await this.#branchKeyIdFor(context)
    const { seal, sha384 } = await loadWrapCode()
    const id = entryId(sha384, SCOPE_ENCRYPT, this.#partition, this.#storeNameBytes, branchKeyId)
    const wrapped = await this.cache.use(
      id,
      this.maxAge,
      (sig) => this.#load(sha384, branchKeyId, undefined, sig),
      signal,
      // Salt and IV are drawn here, never by a caller: see FORMAT.md §19 on their freshness.
      (held) =>
        seal.sealHierarchy(
          backend,
          held.key,
          branchKeyId,
          held.branchKeyVersion,
          dataKey.bytes,
          context,
          backend.randomBytes(SALT_BYTES),
          backend.randomBytes(IV_BYTES),
        ),
    )
    return { type: HIERARCHY_KEYRING_TYPE, keyId: branchKeyId, wrapped }
  }

  /**
   * Whether `recipient` is a hierarchical wrap this keyring may open: its branch key when the
   * id is fixed, any branch key with a supplier (which then checks it against the context).
   * @param recipient - A wrapped key of the message.
   */
  canUnwrap(recipient: Recipient): boolean {
    if (recipient.type !== HIERARCHY_KEYRING_TYPE) return false
    return this.branchKeyId === undefined ? checkBranchKeyId(recipient.keyId) === undefined : recipient.keyId === this.branchKeyId
  }

  /**
   * Opens `recipient` with the branch key version it names (from the cache, else the store).
   * @param recipient - The wrapped key to open.
   * @param context - The message's encryption context, bound to the wrap.
   * @param options - The call's abort signal, passed to the store.
   */
  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions = {}): Promise<DataKey> {
    const fail = (why: string): UnwrapError =>
      new UnwrapError([
        {
          type: HIERARCHY_KEYRING_TYPE,
          keyId: recipient.keyId,
          code: 'ERR_UNWRAP',
          message: `branch key ${printable(recipient.keyId)} of store "${printable(this.#storeName)}" could not unwrap the data key: ${why}`,
        },
      ])
    if (!this.canUnwrap(recipient)) throw fail('the wrapped key belongs to another keyring or branch key')
    const parts = splitWrapped(recipient.wrapped)
    if (parts === undefined) throw fail(`the wrapped key is ${recipient.wrapped.length} bytes, expected 92`)
    const branchKeyId = await this.#branchKeyIdFor(context)
    if (branchKeyId !== recipient.keyId) {
      // The tenant check: a message of one tenant presented under another tenant's context.
      throw fail(`the message's context selects branch key ${printable(branchKeyId)}, not the one this key was wrapped under`)
    }
    const version = versionFromBytes(parts.version)
    const { seal, sha384 } = await loadWrapCode()
    const id = entryId(sha384, SCOPE_DECRYPT, this.#partition, this.#storeNameBytes, branchKeyId, version)
    const plain = await this.cache.use(
      id,
      this.maxAge,
      (sig) => this.#load(sha384, branchKeyId, version, sig),
      options.signal,
      (held) => seal.openHierarchy(backend, held.key, branchKeyId, recipient.wrapped, context),
    )
    if (plain === undefined)
      throw fail(`version ${version} of the branch key does not open it: another branch key, another context, or the message was altered`)
    return new DataKey(plain)
  }

  async #branchKeyIdFor(context: CanonicalContext): Promise<string> {
    if (this.branchKeyId !== undefined) return this.branchKeyId
    let id: unknown
    try {
      id = await this.#supplier!(contextToObject(context))
    } catch (error) {
      if (error instanceof EnvelopeError) throw error
      throw new KeyringError(`branchKeyIdSupplier refused the context: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    const problem = checkBranchKeyId(id)
    if (problem !== undefined) throw new KeyringError(`branchKeyIdSupplier returned an unusable branch key id: ${problem}`)
    return id as string
  }

  /**
   * One store read, checked: the answer must be the branch key (and version) asked for. An
   * active key is also offered to the cache under its decrypt entry (`sha384` names it).
   */
  async #load(
    sha384: (bytes: Uint8Array) => Uint8Array,
    branchKeyId: string,
    version: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HeldBranchKey> {
    const what = `branch key ${printable(branchKeyId)}${version === undefined ? ' (active version)' : ` version ${version}`}`
    let materials: BranchKeyMaterials
    try {
      materials =
        version === undefined
          ? await this.#store.getActiveBranchKey(branchKeyId, { signal })
          : await this.#store.getBranchKeyVersion(branchKeyId, version, { signal })
    } catch (error) {
      if (error instanceof EnvelopeError) throw error
      if (signal?.aborted) throw new AbortError({ cause: error })
      throw new KeyringError(
        `branch key store "${printable(this.#storeName)}" failed to return ${what}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      )
    }
    const bad = (why: string) =>
      new KeyringError(`branch key store "${printable(this.#storeName)}" answered ${what} with ${why}; nothing was wrapped or unwrapped with it`)
    if (materials === null || typeof materials !== 'object') throw bad('no branch key materials')
    const key = materials.key
    try {
      if (materials.branchKeyId !== branchKeyId) throw bad('another branch key')
      if (!isBranchKeyVersion(materials.branchKeyVersion)) throw bad('a version that is not a lowercase UUID')
      if (version !== undefined && materials.branchKeyVersion !== version) throw bad(`version ${printable(String(materials.branchKeyVersion))}`)
      if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw bad('a key that is not 32 bytes')
      const ctx = materials.encryptionContext
      if (ctx === null || typeof ctx !== 'object') throw bad('no encryption context')
      const held = new HeldBranchKey(materials, key, Date.now())
      if (version === undefined)
        this.cache.offer(entryId(sha384, SCOPE_DECRYPT, this.#partition, this.#storeNameBytes, branchKeyId, held.branchKeyVersion), held)
      return held
    } finally {
      if (key instanceof Uint8Array) key.fill(0) // the receiver wipes the store's copy (the contract)
    }
  }

  /** The store name and branch key; never a key. */
  toJSON(): object {
    return { type: HIERARCHY_KEYRING_TYPE, store: this.#storeName, branchKeyId: this.branchKeyId ?? null }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HierarchicalKeyring { ${this.description} }`
  }
}
