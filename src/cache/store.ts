/**
 * The storage behind a data-key cache: an LRU (lru-cache) of entries that zeroes each key
 * however it leaves (eviction, expiry, replacement, clear), a timer that purges expired keys
 * within a second, and the counters a cache reports. Shared by a cache and every partition
 * view made from it, so they share one memory bound.
 * @module
 */
import type { LRUCache } from 'lru-cache'
import type { DataKey } from '../crypto/data-key.js'
import type { Recipient } from '../format/header.js'
import type { Inflight } from './singleflight.js'

/** @internal A data key reused for new messages, with the uses it has had. */
export interface EncryptEntry {
  readonly kind: 'encrypt'
  readonly dataKey: DataKey
  readonly recipients: readonly Recipient[]
  messages: number
  bytes: number
}

/** @internal The data key of one message's recipients. */
export interface DecryptEntry {
  readonly kind: 'decrypt'
  readonly dataKey: DataKey
  readonly recipient: Recipient
}

/** @internal What the store holds. */
export type Entry = EncryptEntry | DecryptEntry

/** @internal The running counts behind `KeyCache.stats()`. */
export interface Counters {
  hits: number
  misses: number
  joined: number
  evictions: number
  expirations: number
  bypassed: number
}

/**
 * @internal The storage shared by a cache and the partitions made from it with `withPartition`.
 * lru-cache is loaded on the first lookup, not at import: a program that never caches a key
 * (and any program's first encrypt) does not pay for loading it.
 */
export class Store {
  #lru: LRUCache<string, Entry> | undefined
  #opening: Promise<LRUCache<string, Entry>> | undefined
  readonly #maxEntries: number
  readonly #maxAge: number
  readonly inflight = new Map<string, Inflight<Entry>>()
  readonly counters: Counters = { hits: 0, misses: 0, joined: 0, evictions: 0, expirations: 0, bypassed: 0 }

  /**
   * @param maxEntries - Most entries held; the least recently used go first.
   * @param maxAge - Milliseconds an entry lives after it was stored.
   */
  constructor(maxEntries: number, maxAge: number) {
    this.#maxEntries = maxEntries
    this.#maxAge = maxAge
  }

  /** The entries, once a lookup has loaded them (undefined before: the store is empty). */
  get lru(): LRUCache<string, Entry> | undefined {
    return this.#lru
  }

  /** The entries, loading lru-cache on the first call. */
  open(): LRUCache<string, Entry> | Promise<LRUCache<string, Entry>> {
    if (this.#lru !== undefined) return this.#lru
    this.#opening ??= import('lru-cache').then(({ LRUCache }) => {
      this.#lru ??= this.#create(LRUCache)
      return this.#lru
    })
    return this.#opening
  }

  #create(Lru: typeof LRUCache): LRUCache<string, Entry> {
    const counters = this.counters
    const lru = new Lru<string, Entry>({
      max: this.#maxEntries,
      ttl: this.#maxAge,
      dispose: (entry, _key, reason) => {
        // The cache owns its copy of every key: zero it however the entry leaves.
        entry.dataKey.wipe()
        if (reason === 'evict') counters.evictions++
        else if (reason === 'expire') counters.expirations++
      },
    })
    // Expired keys are purged (and zeroed) within a second rather than when next touched; one
    // unref'd timer per store, which stops once the store is garbage.
    const ref = new WeakRef(lru)
    const timer: ReturnType<typeof setInterval> = setInterval(
      () => {
        const held = ref.deref()
        if (held === undefined) clearInterval(timer)
        else held.purgeStale()
      },
      Math.min(this.#maxAge, 1000),
    )
    ;(timer as { unref?: () => void }).unref?.()
    return lru
  }
}
