/**
 * An in-memory branch key store for tests, benchmarks and the browser page: what an
 * application would proxy to its server. Counts every read (the figure the hierarchical
 * keyring's cache must keep down), can delay reads so concurrent callers pile up, and rotates
 * like AWS's store: `versionKey` makes a new active version, old versions stay readable.
 * Runtime-neutral (no node:*), so test/browser/page.ts uses it too.
 */
import type { BranchKeyMaterials, BranchKeySource } from '../src/index.js'

/** "No such branch key": a plain Error, as an app-proxied store might throw. */
export class BranchKeyNotFound extends Error {
  constructor(what: string) {
    super(`no branch key ${what} in the memory store`)
  }
}

interface Version {
  readonly version: string
  readonly key: Uint8Array
}

export class MemoryBranchKeyStore implements BranchKeySource {
  readonly reads = { active: 0, version: 0 }
  /** Milliseconds each read waits before answering. */
  delayMs = 0
  readonly #keys = new Map<string, { active: Version; versions: Map<string, Version> }>()

  constructor(readonly logicalKeyStoreName = 'memory-store') {}

  get totalReads(): number {
    return this.reads.active + this.reads.version
  }

  /** A new branch key; `key` and `version` fixed only for vectors. Returns the version. */
  createKey(branchKeyId: string, key: Uint8Array = crypto.getRandomValues(new Uint8Array(32)), version: string = crypto.randomUUID()): string {
    const v: Version = { version, key: new Uint8Array(key) }
    this.#keys.set(branchKeyId, { active: v, versions: new Map([[version, v]]) })
    return version
  }

  /** Rotation: a new active version; the old ones still open old messages. */
  versionKey(branchKeyId: string): string {
    const entry = this.#keys.get(branchKeyId)
    if (entry === undefined) throw new BranchKeyNotFound(branchKeyId)
    const v: Version = { version: crypto.randomUUID(), key: crypto.getRandomValues(new Uint8Array(32)) }
    entry.versions.set(v.version, v)
    entry.active = v
    return v.version
  }

  activeVersion(branchKeyId: string): string | undefined {
    return this.#keys.get(branchKeyId)?.active.version
  }

  async getActiveBranchKey(branchKeyId: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials> {
    this.reads.active++
    await this.#wait(options?.signal)
    const entry = this.#keys.get(branchKeyId)
    if (entry === undefined) throw new BranchKeyNotFound(branchKeyId)
    return materials(branchKeyId, entry.active)
  }

  async getBranchKeyVersion(branchKeyId: string, branchKeyVersion: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials> {
    this.reads.version++
    await this.#wait(options?.signal)
    const v = this.#keys.get(branchKeyId)?.versions.get(branchKeyVersion)
    if (v === undefined) throw new BranchKeyNotFound(`${branchKeyId} version ${branchKeyVersion}`)
    return materials(branchKeyId, v)
  }

  async #wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    signal?.throwIfAborted()
  }
}

function materials(branchKeyId: string, v: Version): BranchKeyMaterials {
  // Like bks's store: a fresh copy of the key per read, which the receiver wipes.
  return { branchKeyId, branchKeyVersion: v.version, key: new Uint8Array(v.key), encryptionContext: {} }
}
