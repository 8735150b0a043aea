/**
 * The data-key cache: decrypted data keys in an LRU (lru-cache) so hot paths do not call KMS
 * per message, with limits, in-flight joining and zeroing on eviction.
 *
 * What it never changes: a cached key goes through exactly the checks a fresh one does
 * (expectContext before, commitment and header tag after, the keyring's own key list), and
 * every message still gets its own message id and derived keys, so no nonce repeats under one
 * key however often a data key is reused.
 * @module
 */
import { copyBytes } from '@noble/ciphers/utils.js'
import type { LRUCache } from 'lru-cache'
import type { DataKey } from '../crypto/data-key.js'
import { invalidArgument } from '../errors.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import type { Keyring } from '../keyrings/keyring.js'
import { integerOption } from '../validate.js'
import type { DecryptKeyPrefix } from './entry-key.js'
import { decryptEntryKey, decryptKeyPrefix } from './entry-key.js'
import { joinInflight } from './singleflight.js'
import type { DecryptEntry, EncryptEntry, Entry } from './store.js'
import { Store } from './store.js'

/** Options of {@link KeyCache}. */
export interface KeyCacheOptions {
  /**
   * Most entries held (encrypt and decrypt side together); the least recently used go first.
   * Default 1000: an entry measured about 1.7 KB of heap (key, derived state, digest and
   * bookkeeping; more with large wrapped keys), so the default stays near 2 MB.
   */
  readonly maxEntries?: number
  /** Milliseconds an entry may be used after its key was obtained. Required: reuse without an age limit is never the default. */
  readonly maxAge: number
  /** Messages encrypted under one cached data key before a new one is generated (default 2^32). */
  readonly maxMessagesPerKey?: number
  /** Plaintext bytes encrypted under one cached data key before a new one is generated (default unlimited). */
  readonly maxBytesPerKey?: number
  /** Entries of different partitions are never shared, even in one cache store (e.g. one per tenant). Default "". */
  readonly partition?: string
}

/** Counters of a cache store (shared by its partitions). */
export interface KeyCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number
  /** Lookups that called the keyring. */
  readonly misses: number
  /** Lookups that joined a keyring call already in flight for the same entry. */
  readonly joined: number
  /** Entries dropped for room (LRU). */
  readonly evictions: number
  /** Entries dropped because they outlived maxAge. */
  readonly expirations: number
  /** Encryptions that bypassed the cache (stream of unknown length with a byte limit). */
  readonly bypassed: number
  /** Entries held now. */
  readonly entries: number
}

const DEFAULT_MAX_MESSAGES = 2 ** 32
const DEFAULT_MAX_ENTRIES = 1000
/** Passes a store to a partition view without widening the public constructor. */
const SHARED_STORE = Symbol('shared store')

/** @internal What a cache needs from the envelope to fill an encrypt entry. */
export type GenerateFn = (signal: AbortSignal) => Promise<{ dataKey: DataKey; recipients: readonly Recipient[] }>
/** @internal What a cache needs from the envelope to fill a decrypt entry. */
export type UnwrapFn = (signal: AbortSignal) => Promise<{ dataKey: DataKey; recipient: Recipient }>

/** A decrypt entry these keyrings may use: the same rule as a miss, only a recipient one of them accepts. */
function usableDecryptEntry(entry: Entry | undefined, keyrings: readonly Keyring[]): DecryptEntry | undefined {
  if (entry === undefined || entry.kind !== 'decrypt') return undefined
  return keyrings.some((k) => k.canUnwrap(entry.recipient)) ? entry : undefined
}

/**
 * An LRU cache of data keys for {@link Envelope} (`new Envelope({ keyring, cache })`).
 *
 * Decrypt side: a message whose wrapped keys, context and keyring match a cached entry is
 * decrypted without calling the keyring. Encrypt side: messages with the same keyring,
 * partition and context reuse one data key while within `maxAge`, `maxMessagesPerKey` and
 * `maxBytesPerKey`. Concurrent misses for one entry share a single keyring call.
 *
 * @example
 * ```ts
 * const cache = new KeyCache({ maxAge: 5 * 60_000 }) // maxEntries defaults to 1000
 * const env = new Envelope({ keyring, cache })
 * ```
 * @throws RangeError `ERR_INVALID_ARGUMENT` for missing or out-of-range limits.
 */
export class KeyCache {
  readonly #store: Store
  readonly #partition: string
  readonly #prefixes = new WeakMap<readonly Keyring[], string>()
  readonly #decryptPrefixes = new WeakMap<readonly Keyring[], DecryptKeyPrefix>()
  #lastDecrypt: { keyrings: readonly Keyring[]; suite: number; context: CanonicalContext; recipients: readonly Recipient[]; key: string } | undefined
  readonly maxEntries: number
  readonly maxAge: number
  readonly maxMessagesPerKey: number
  readonly maxBytesPerKey: number

  /**
   * Creates an empty cache with its own store.
   *
   * @param options - The limits (`maxAge` required; `maxEntries` defaults to 1000) and the partition.
   */
  constructor(options: KeyCacheOptions) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('KeyCache needs options: { maxAge } (milliseconds a cached key may be used), optionally maxEntries')
    this.maxEntries = integerOption(options.maxEntries, 'maxEntries', 1, 10_000_000, DEFAULT_MAX_ENTRIES)
    this.maxAge = integerOption(options.maxAge, 'maxAge', 1, 2 ** 31 - 1)
    this.maxMessagesPerKey = integerOption(options.maxMessagesPerKey, 'maxMessagesPerKey', 1, DEFAULT_MAX_MESSAGES, DEFAULT_MAX_MESSAGES)
    // No byte limit unless given: the fallback is Infinity, which no integer option could be.
    this.maxBytesPerKey = integerOption(options.maxBytesPerKey, 'maxBytesPerKey', 1, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY)
    if (options.partition !== undefined && typeof options.partition !== 'string') throw invalidArgument('partition must be a string')
    this.#partition = options.partition ?? ''
    this.#store = (options as { [SHARED_STORE]?: Store })[SHARED_STORE] ?? new Store(this.maxEntries, this.maxAge)
  }

  /** The partition this view of the cache reads and writes. */
  get partition(): string {
    return this.#partition
  }

  /**
   * A view of the same store (same memory bound, same counters) for another partition.
   * @param partition - The partition the view reads and writes.
   */
  withPartition(partition: string): KeyCache {
    return new KeyCache({
      maxEntries: this.maxEntries,
      maxAge: this.maxAge,
      maxMessagesPerKey: this.maxMessagesPerKey,
      ...(Number.isFinite(this.maxBytesPerKey) ? { maxBytesPerKey: this.maxBytesPerKey } : {}),
      partition,
      [SHARED_STORE]: this.#store,
    } as KeyCacheOptions)
  }

  /** Counters of the store (shared by all partitions of it). */
  stats(): KeyCacheStats {
    return { ...this.#store.counters, entries: this.#store.lru?.size ?? 0 }
  }

  /** Drops (and zeroes) every entry of the store, in every partition. */
  clear(): void {
    this.#store.lru?.clear()
  }

  /**
   * Decrypt entries: everything that determines the key, as a string for a small head and as
   * a digest for a large one (wrapped keys can be kilobytes): see entry-key.ts.
   */
  #decryptKey(keyrings: readonly Keyring[], suite: number, context: CanonicalContext, recipients: readonly Recipient[]): string {
    // Heads an Envelope parses back to back share their context and recipients objects (see
    // format/head-memo.ts), and neither is ever mutated: the same objects give the same key,
    // and the same string (its hash already computed) makes the lookup cheaper too.
    const last = this.#lastDecrypt
    if (last !== undefined && last.recipients === recipients && last.context === context && last.keyrings === keyrings && last.suite === suite) return last.key
    const key = this.#buildDecryptKey(keyrings, suite, context, recipients)
    this.#lastDecrypt = { keyrings, suite, context, recipients, key }
    return key
  }

  #buildDecryptKey(keyrings: readonly Keyring[], suite: number, context: CanonicalContext, recipients: readonly Recipient[]): string {
    let prefix = this.#decryptPrefixes.get(keyrings)
    if (prefix === undefined) {
      prefix = decryptKeyPrefix(
        this.#partition,
        keyrings.map((k) => k.cacheId),
      )
      this.#decryptPrefixes.set(keyrings, prefix)
    }
    return decryptEntryKey(prefix, suite, context, recipients)
  }

  #encryptKey(keyrings: readonly Keyring[], suite: number, context: CanonicalContext): string {
    let prefix = this.#prefixes.get(keyrings)
    if (prefix === undefined) {
      prefix = JSON.stringify(['e', this.#partition, keyrings.map((k) => k.cacheId), suite])
      this.#prefixes.set(keyrings, prefix)
    }
    // Length-prefixed pairs: injective like JSON, without building arrays per message.
    let key = prefix
    for (const [k, v] of context) key += `${k.length}:${k}${v.length}:${v}`
    return key
  }

  /** Runs `start` once per entry key among concurrent callers (see singleflight.ts). */
  #join(key: string, start: (signal: AbortSignal) => Promise<Entry>, signal: AbortSignal | undefined): Promise<Entry> {
    return joinInflight(this.#store.inflight, this.#store.counters, key, start, signal)
  }

  /**
   * @internal A data key for a new message, reused within the limits. The caller wipes the returned copy.
   * Undefined when the message must bypass the cache (a byte limit and an unknown or too large length).
   * @param keyrings - The keyrings the message is encrypted for (part of the entry key).
   * @param suite - The algorithm suite id (part of the entry key).
   * @param context - The message's encryption context (part of the entry key).
   * @param plaintextLength - The message's plaintext bytes, undefined when not known in advance.
   * @param generate - Makes a new data key and its recipients on a miss.
   * @param signal - This caller's abort signal.
   */
  async encryptionKey(
    keyrings: readonly Keyring[],
    suite: number,
    context: CanonicalContext,
    plaintextLength: number | undefined,
    generate: GenerateFn,
    signal: AbortSignal | undefined,
  ): Promise<{ dataKey: DataKey; recipients: readonly Recipient[] } | undefined> {
    if (plaintextLength === undefined && Number.isFinite(this.maxBytesPerKey)) {
      // A byte limit cannot be honoured for a length not known in advance.
      this.#store.counters.bypassed++
      return undefined
    }
    const bytes = plaintextLength ?? 0
    if (bytes > this.maxBytesPerKey) {
      this.#store.counters.bypassed++
      return undefined
    }
    const key = this.#encryptKey(keyrings, suite, context)
    const lru = this.#store.lru ?? (await this.#store.open())
    // Each pass either reserves a use of an entry or replaces an exhausted one; a burst of
    // concurrent callers may need a few passes, never unboundedly many.
    for (;;) {
      let entry = lru.get(key) as EncryptEntry | undefined
      if (entry !== undefined) {
        this.#store.counters.hits++
      } else {
        entry = (await this.#join(
          key,
          async (sig) => {
            const generated = await generate(sig)
            const fresh: EncryptEntry = { kind: 'encrypt', dataKey: generated.dataKey, recipients: generated.recipients, messages: 0, bytes: 0 }
            lru.set(key, fresh)
            return fresh
          },
          signal,
        )) as EncryptEntry
      }
      const reserved = this.#reserve(lru, key, entry, bytes)
      if (reserved !== undefined) return reserved
    }
  }

  /** Whether an encrypt entry may seal one more message of `bytes` bytes. */
  #withinLimits(entry: EncryptEntry, bytes: number): boolean {
    return !entry.dataKey.wiped && entry.messages < this.maxMessagesPerKey && entry.bytes + bytes <= this.maxBytesPerKey
  }

  /**
   * One use of an encrypt entry within its limits: a copy of its key (the caller wipes it). An
   * entry that is used up or zeroed is dropped instead, and the result is undefined.
   */
  #reserve(lru: LRUCache<string, Entry>, key: string, entry: EncryptEntry, bytes: number): { dataKey: DataKey; recipients: readonly Recipient[] } | undefined {
    if (!this.#withinLimits(entry, bytes)) {
      if (lru.peek(key) === entry) lru.delete(key)
      return undefined
    }
    entry.messages++
    entry.bytes += bytes
    const copy = entry.dataKey.clone()
    if (entry.messages >= this.maxMessagesPerKey || entry.bytes >= this.maxBytesPerKey) lru.delete(key) // used up: zero it now
    return { dataKey: copy, recipients: entry.recipients }
  }

  /**
   * @internal {@link KeyCache.encryptionKey} when it can answer without a promise: a live
   * entry within its limits, one use reserved and counted as a hit. Undefined otherwise, with
   * nothing counted or reserved: the caller then goes the async way, which decides between a
   * bypass, a replacement and a new key exactly as before.
   * @param keyrings - The keyrings the message is encrypted for (part of the entry key).
   * @param suite - The algorithm suite id (part of the entry key).
   * @param context - The message's encryption context (part of the entry key).
   * @param plaintextLength - The message's plaintext bytes, undefined when not known in advance.
   */
  cachedEncryptionKey(
    keyrings: readonly Keyring[],
    suite: number,
    context: CanonicalContext,
    plaintextLength: number | undefined,
  ): { dataKey: DataKey; recipients: readonly Recipient[] } | undefined {
    const lru = this.#store.lru
    if (lru === undefined || (plaintextLength === undefined && Number.isFinite(this.maxBytesPerKey))) return undefined
    const bytes = plaintextLength ?? 0
    if (bytes > this.maxBytesPerKey) return undefined
    const key = this.#encryptKey(keyrings, suite, context)
    const entry = lru.get(key)
    // Nothing is counted for an entry the async path must replace: it counts that itself.
    if (entry === undefined || entry.kind !== 'encrypt' || !this.#withinLimits(entry, bytes)) return undefined
    this.#store.counters.hits++
    return this.#reserve(lru, key, entry, bytes)
  }

  /**
   * @internal The data key of a message's recipients, from the cache or from `unwrap`. The
   * caller still checks it against the message (commitment, header tag). The caller wipes the copy.
   * @param keyrings - The keyrings the message is opened with (part of the entry key).
   * @param suite - The message's algorithm suite id (part of the entry key).
   * @param context - The message's encryption context (part of the entry key).
   * @param recipients - The message's wrapped keys (part of the entry key).
   * @param unwrap - Unwraps the data key on a miss.
   * @param signal - This caller's abort signal.
   */
  async decryptionKey(
    keyrings: readonly Keyring[],
    suite: number,
    context: CanonicalContext,
    recipients: readonly Recipient[],
    unwrap: UnwrapFn,
    signal: AbortSignal | undefined,
  ): Promise<{ dataKey: DataKey; recipient: Recipient }> {
    const key = this.#decryptKey(keyrings, suite, context, recipients)
    const lru = this.#store.lru ?? (await this.#store.open())
    for (let pass = 0; ; pass++) {
      let entry = usableDecryptEntry(lru.get(key), keyrings)
      if (entry !== undefined) {
        this.#store.counters.hits++
      } else {
        entry = (await this.#join(
          key,
          async (sig) => {
            const { dataKey, recipient } = await unwrap(sig)
            // A parsed recipient is a view of its message's whole head: the entry keeps a copy
            // of its own wrapped key instead, so it does not hold up to 320 KiB of head alive.
            const fresh: DecryptEntry = {
              kind: 'decrypt',
              dataKey,
              recipient: { type: recipient.type, keyId: recipient.keyId, wrapped: copyBytes(recipient.wrapped) },
            }
            lru.set(key, fresh)
            return fresh
          },
          signal,
        )) as DecryptEntry
      }
      if (!entry.dataKey.wiped) return { dataKey: entry.dataKey.clone(), recipient: entry.recipient }
      // Evicted and zeroed between the call and now (a tiny cache under heavy churn): look
      // again, and after a few tries go to the keyring without the cache.
      if (pass >= 3) return unwrap(signal ?? new AbortController().signal)
    }
  }

  /**
   * @internal {@link KeyCache.decryptionKey} when it can answer without a promise: a hit on a
   * live entry, counted as a hit. Undefined otherwise (nothing counted), and the caller goes
   * the async way. A cached decrypt is a few microseconds of work; the promises of the async
   * path measured about a fifth of it.
   * @param keyrings - The keyrings the message is opened with (part of the entry key).
   * @param suite - The message's algorithm suite id (part of the entry key).
   * @param context - The message's encryption context (part of the entry key).
   * @param recipients - The message's wrapped keys (part of the entry key).
   */
  cachedDecryptionKey(
    keyrings: readonly Keyring[],
    suite: number,
    context: CanonicalContext,
    recipients: readonly Recipient[],
  ): { dataKey: DataKey; recipient: Recipient } | undefined {
    const lru = this.#store.lru
    if (lru === undefined) return undefined
    const entry = usableDecryptEntry(lru.get(this.#decryptKey(keyrings, suite, context, recipients)), keyrings)
    if (entry === undefined || entry.dataKey.wiped) return undefined
    this.#store.counters.hits++
    return { dataKey: entry.dataKey.clone(), recipient: entry.recipient }
  }

  /** The partition and counters; never a key. */
  toJSON(): object {
    return { type: 'KeyCache', partition: this.#partition, ...this.stats() }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyCache ${JSON.stringify(this.toJSON())}`
  }
}
