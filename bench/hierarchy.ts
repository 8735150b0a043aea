/**
 * The hierarchical keyring: 100-byte messages/s (encrypt, and encrypt + decrypt) with a warm
 * branch-key cache, beside the local keyring (a fresh local wrap per message) and beside
 * KeyCache over the local keyring (one data key reused across messages), measured in
 * interleaved rounds in one process (the machine is shared and noisy: read medians and ratios).
 * Then the store reads of a 1,000-tenant × 20-message concurrent run (in-memory store: each
 * read would be a DynamoDB GetItem/Query and a KMS Decrypt with the DynamoDB store).
 *
 *   npm run bench:hierarchy          (QUICK=1 for a short run)
 */
import { fileURLToPath } from 'node:url'
import type { Keyring } from 'kms-envelope'
import { Envelope, HierarchicalKeyring, KeyCache, LocalKeyring } from 'kms-envelope'
import { backend } from '#crypto-backend'
import { MemoryBranchKeyStore } from '../test/memory-branch-key-store.js'
import { median } from './lib.js'

/** What {@link benchHierarchy} measured. */
export interface HierarchyBenchResult {
  readonly backend: string
  readonly messages: number
  readonly rounds: number
  /** Median messages/s per configuration. */
  readonly rows: ReadonlyArray<{ readonly name: string; readonly encryptPerSecond: number; readonly roundTripPerSecond: number }>
  readonly tenants: { readonly tenants: number; readonly messages: number; readonly storeReads: number; readonly cacheMisses: number; readonly ms: number }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/** Runs the benchmark; `quick` for a short run (CI, smoke). */
export async function benchHierarchy(quick: boolean): Promise<HierarchyBenchResult> {
  const n = quick ? 300 : 2000
  const rounds = quick ? 3 : 7
  const plaintext = new Uint8Array(100).fill(7)
  const context = { tenant: 't1' }
  const store = new MemoryBranchKeyStore('bench-store')
  store.createKey('tenant-t1')
  const local = LocalKeyring.generate({ keyId: 'bench' })
  const configs: Array<{ name: string; env: Envelope }> = [
    { name: 'local keyring (fresh data key, local wrap)', env: new Envelope({ keyring: local }) },
    { name: 'local keyring + KeyCache (data key reused)', env: new Envelope({ keyring: local, cache: new KeyCache({ maxAge: 600_000 }) }) },
    {
      name: 'hierarchical keyring, warm branch-key cache',
      env: new Envelope({
        keyring: new HierarchicalKeyring({ store, branchKeyIdSupplier: (c) => `tenant-${c.tenant}`, cache: { maxAge: 600_000 } }) as Keyring,
      }),
    },
  ]
  const enc = configs.map(() => [] as number[])
  const rt = configs.map(() => [] as number[])
  for (const c of configs) await c.env.decrypt(await c.env.encrypt(plaintext, { context })) // warm
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of configs.entries()) {
      const messages: Uint8Array[] = []
      const e = await timed(async () => {
        for (let k = 0; k < n; k++) messages.push(await c.env.encrypt(plaintext, { context }))
      })
      const d = await timed(async () => {
        for (const m of messages) await c.env.decrypt(m)
      })
      enc[i]!.push(e)
      rt[i]!.push(e + d)
    }
  }
  const rows = configs.map((c, i) => ({
    name: c.name,
    encryptPerSecond: Math.round((n / median(enc[i]!)) * 1000),
    roundTripPerSecond: Math.round((n / median(rt[i]!)) * 1000),
  }))

  const tenants = quick ? 200 : 1000
  const many = new MemoryBranchKeyStore('bench-tenants')
  for (let t = 0; t < tenants; t++) many.createKey(`tenant-${t}`)
  const keyring = new HierarchicalKeyring({
    store: many,
    branchKeyIdSupplier: (c) => `tenant-${c.tenant}`,
    cache: { maxAge: 600_000, maxEntries: 2 * tenants },
  })
  const env = new Envelope({ keyring })
  const ms = await timed(async () => {
    const jobs: Promise<Uint8Array>[] = []
    for (let i = 0; i < 20; i++) for (let t = 0; t < tenants; t++) jobs.push(env.encrypt(plaintext, { context: { tenant: String(t) } }))
    const messages = await Promise.all(jobs)
    await Promise.all(messages.map((m) => env.decrypt(m)))
  })
  return {
    backend: backend.name,
    messages: n,
    rounds,
    rows,
    tenants: { tenants, messages: tenants * 20, storeReads: many.totalReads, cacheMisses: keyring.cache.stats().misses, ms: Math.round(ms) },
  }
}

/** Prints what {@link benchHierarchy} measured. */
export function printHierarchy(result: HierarchyBenchResult): void {
  console.log(`\nhierarchical keyring, 100-byte messages, ${result.backend} backend, median of ${result.rounds} rounds of ${result.messages}`)
  const base = result.rows[0]!
  for (const row of result.rows) {
    console.log(
      `  ${row.name.padEnd(46)} encrypt ${String(row.encryptPerSecond).padStart(7)}/s (${(row.encryptPerSecond / base.encryptPerSecond).toFixed(2)}x)` +
        `   encrypt+decrypt ${String(row.roundTripPerSecond).padStart(7)}/s (${(row.roundTripPerSecond / base.roundTripPerSecond).toFixed(2)}x)`,
    )
  }
  const t = result.tenants
  console.log(
    `  ${t.tenants} tenants x 20 messages, concurrent, encrypt + decrypt: ${t.storeReads} store reads (${t.cacheMisses} cache misses) for ${t.messages} messages in ${t.ms} ms`,
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printHierarchy(await benchHierarchy(process.env.QUICK === '1'))
