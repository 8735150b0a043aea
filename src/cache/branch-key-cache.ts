/**
 * The branch-key cache of the hierarchical keyring: unwrapped branch keys in an LRU
 * (lru-cache) so a tenant costs one store read (and, with the DynamoDB store, one KMS call)
 * per branch key version per `maxAge`, however many messages it writes or reads.
 *
 * - Concurrent misses for one entry share one store call (singleflight.ts).
 * - Refresh ahead: a hit within `graceMs` of the entry's end starts one background reload and
 *   is served the current key meanwhile, so a hot tenant never waits for the store at expiry.
 *   A failed refresh is counted and retried by the next hit; the old key serves until maxAge.
 * - Every key is zeroed however its entry leaves (eviction, expiry, replacement, clear).
 * - One cache may serve many keyrings: entries are keyed by the spec's cache identifiers, which
 *   hold the keyring's partition, the store's logical name and the branch key id and version.
 * - lru-cache is loaded by the first lookup, not at import (as src/cache/store.ts does): a
 *   program without a hierarchical keyring, and any program's first import, does not pay for it.
 * @module
 */
import { copyBytes } from '@noble/ciphers/utils.js'
import type { LRUCache } from 'lru-cache'
import { invalidArgument } from '../errors.js'
import type { BranchKeyMaterials } from '../keyrings/branch-key-source.js'
import { integerOption } from '../validate.js'
import type { Inflight } from './singleflight.js'
import { joinInflight } from './singleflight.js'

/** Options of {@link BranchKeyCache}. */
export interface BranchKeyCacheOptions {
  /** Milliseconds a branch key may be used after it was read from the store. Required: there is no safe default. */
  readonly maxAge: number
  /** Most branch key versions held (active and decrypt-side entries together); default 1000. */
  readonly maxEntries?: number | undefined
  /**
   * Milliseconds before an entry's end at which a hit starts one background refresh (default
   * a tenth of maxAge, at most 10 s; 0 turns refresh-ahead off). Must be less than maxAge.
   */
  readonly graceMs?: number | undefined
}

/** Counters of a {@link BranchKeyCache}. */
export interface BranchKeyCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number
  /** Lookups that called the store. */
  readonly misses: number
  /** Lookups that waited for a store call already in flight for the same entry. */
  readonly joined: number
  /** Background reloads started ahead of an entry's end. */
  readonly refreshes: number
  /** Background reloads that failed (the old entry served on). */
  readonly refreshFailures: number
  /** Entries dropped for room (LRU). */
  readonly evictions: number
  /** Entries dropped because they outlived maxAge. */
  readonly expirations: number
  /** Entries held now. */
  readonly entries: number
}

const DEFAULT_MAX_ENTRIES = 1000
const REDACTED = '<redacted>'

/** @internal A branch key version held by the cache; the key is reachable only while not wiped. */
export class HeldBranchKey {
  readonly branchKeyId: string
  readonly branchKeyVersion: string
  readonly encryptionContext: Readonly<Record<string, string>>
  /** `Date.now()` when the store returned it. */
  readonly created: number
  readonly #key: Uint8Array
  #wiped = false

  /** Copies what the store returned (the caller wipes the store's own copy). */
  constructor(materials: BranchKeyMaterials, key: Uint8Array, created: number) {
    this.branchKeyId = materials.branchKeyId
    this.branchKeyVersion = materials.branchKeyVersion
    this.encryptionContext = Object.freeze({ ...materials.encryptionContext })
    this.#key = copyBytes(key)
    this.created = created
  }

  /** The 32 key bytes; throws once wiped. */
  get key(): Uint8Array {
    if (this.#wiped) throw new TypeError('this branch key was wiped and can no longer be used')
    return this.#key
  }

  get wiped(): boolean {
    return this.#wiped
  }

  wipe(): void {
    this.#key.fill(0)
    this.#wiped = true
  }

  /** A copy that is wiped independently. */
  clone(): HeldBranchKey {
    return new HeldBranchKey(this, this.key, this.created)
  }

  toJSON(): object {
    return { branchKeyId: this.branchKeyId, branchKeyVersion: this.branchKeyVersion, key: REDACTED }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HeldBranchKey ${JSON.stringify(this.toJSON())}`
  }
}

/**
 * A cache of unwrapped branch keys for {@link HierarchicalKeyring}s. A keyring given cache
 * options makes its own; pass one instance to several keyrings (with the same `partition`)
 * to share entries between them, for example one per process for every tenant.
 *
 * @example
 * ```ts
 * const cache = new BranchKeyCache({ maxAge: 10 * 60_000, maxEntries: 5000 })
 * const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: (c) => `tenant-${c.tenant}`, cache })
 * ```
 * @throws RangeError `ERR_INVALID_ARGUMENT` for a missing or out-of-range limit.
 */
export class BranchKeyCache {
  readonly maxAge: number
  readonly maxEntries: number
  readonly graceMs: number
  #lru: LRUCache<string, HeldBranchKey> | undefined
  #opening: Promise<LRUCache<string, HeldBranchKey>> | undefined
  readonly #inflight = new Map<string, Inflight<HeldBranchKey>>()
  readonly #counters = { hits: 0, misses: 0, joined: 0, refreshes: 0, refreshFailures: 0, evictions: 0, expirations: 0 }

  /**
   * An empty cache.
   * @param options - `maxAge` (required), `maxEntries`, `graceMs`.
   */
  constructor(options: BranchKeyCacheOptions) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('BranchKeyCache needs options: { maxAge } (milliseconds a branch key may be used)')
    this.maxAge = integerOption(options.maxAge, 'cache maxAge', 1, 2 ** 31 - 1)
    this.maxEntries = integerOption(options.maxEntries, 'cache maxEntries', 1, 10_000_000, DEFAULT_MAX_ENTRIES)
    this.graceMs = integerOption(options.graceMs, 'cache graceMs', 0, this.maxAge - 1, Math.min(Math.floor(this.maxAge / 10), 10_000))
  }

  /** The entries, loading lru-cache on the first call. */
  #open(): LRUCache<string, HeldBranchKey> | Promise<LRUCache<string, HeldBranchKey>> {
    if (this.#lru !== undefined) return this.#lru
    this.#opening ??= import('lru-cache').then(({ LRUCache }) => {
      this.#lru ??= this.#create(LRUCache)
      return this.#lru
    })
    return this.#opening
  }

  #create(Lru: typeof LRUCache): LRUCache<string, HeldBranchKey> {
    const counters = this.#counters
    const created = new Lru<string, HeldBranchKey>({
      max: this.maxEntries,
      ttl: this.maxAge,
      dispose: (held, _key, reason) => {
        held.wipe()
        if (reason === 'evict') counters.evictions++
        else if (reason === 'expire') counters.expirations++
      },
    })
    // Expired keys are purged (and zeroed) within a second, not when next touched; the timer
    // is unref'd and stops once the cache is garbage.
    const ref = new WeakRef(created)
    const timer: ReturnType<typeof setInterval> = setInterval(
      () => {
        const lru = ref.deref()
        if (lru === undefined) clearInterval(timer)
        else lru.purgeStale()
      },
      Math.min(this.maxAge, 1000),
    )
    ;(timer as { unref?: () => void }).unref?.()
    return created
  }

  /** The counters since the cache was made. */
  stats(): BranchKeyCacheStats {
    return { ...this.#counters, entries: this.#lru?.size ?? 0 }
  }

  /** Drops (and zeroes) every entry. */
  clear(): void {
    this.#lru?.clear()
  }

  /**
   * @internal Runs `use` on the branch key of entry `id`, synchronously right after checking it
   * is not wiped (an eviction between an await and the use would otherwise hand out zeros).
   * @param id - The entry's cache identifier.
   * @param maxAge - The asking keyring's own limit (a shared cache may hold older entries).
   * @param load - Reads the branch key from the store on a miss or refresh.
   * @param signal - This caller's abort signal.
   * @param use - What to do with the key; must not keep it.
   */
  async use<T>(
    id: string,
    maxAge: number,
    load: (signal: AbortSignal | undefined) => Promise<HeldBranchKey>,
    signal: AbortSignal | undefined,
    use: (held: HeldBranchKey) => T,
  ): Promise<T> {
    const limit = Math.min(maxAge, this.maxAge)
    for (let pass = 0; ; pass++) {
      const lru = this.#lru ?? (await this.#open())
      const now = Date.now()
      let held = lru.get(id)
      if (held !== undefined && now - held.created <= limit && !held.wiped) {
        this.#counters.hits++
        if (this.graceMs > 0 && now >= held.created + limit - this.graceMs) this.#refresh(id, load)
        return use(held)
      }
      held = await joinInflight(this.#inflight, this.#counters, id, (sig) => this.#fill(id, load, sig), signal)
      if (!held.wiped) return use(held)
      if (pass >= 3) {
        // Replaced or evicted each time before this caller ran (a tiny cache under heavy
        // churn): use a key of its own rather than loop.
        const own = await load(signal)
        try {
          return use(own)
        } finally {
          own.wipe()
        }
      }
    }
  }

  /**
   * @internal Stores a copy of `held` under `id` when that entry is absent and the cache has
   * room: the active key read for writing also opens that version's messages, so a process
   * that writes and reads a tenant reads its branch key once. Never evicts anything for it.
   */
  offer(id: string, held: HeldBranchKey): void {
    // Only reached from a load inside `use`, so the entries exist; without them there is nothing to offer to.
    const lru = this.#lru
    if (lru !== undefined && lru.size < this.maxEntries && !lru.has(id)) lru.set(id, held.clone())
  }

  async #fill(id: string, load: (signal: AbortSignal | undefined) => Promise<HeldBranchKey>, signal: AbortSignal | undefined): Promise<HeldBranchKey> {
    const held = await load(signal)
    ;(this.#lru ?? (await this.#open())).set(id, held)
    return held
  }

  /** One background reload per entry; hits meanwhile get the current key. */
  #refresh(id: string, load: (signal: AbortSignal | undefined) => Promise<HeldBranchKey>): void {
    if (this.#inflight.has(id)) return
    this.#counters.refreshes++
    const counters = { misses: 0, joined: 0 }
    joinInflight(this.#inflight, counters, id, (sig) => this.#fill(id, load, sig), undefined).catch(() => {
      this.#counters.refreshFailures++
    })
  }

  /** The limits and counters; never a key. */
  toJSON(): object {
    return { type: 'BranchKeyCache', maxAge: this.maxAge, maxEntries: this.maxEntries, graceMs: this.graceMs, ...this.stats() }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `BranchKeyCache ${JSON.stringify(this.toJSON())}`
  }
}
