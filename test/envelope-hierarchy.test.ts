/**
 * The hierarchical keyring with an in-memory branch key store (test/memory-branch-key-store.ts),
 * on both AES backends: round trips, the wrapped bytes against AWS's own hierarchical keyring
 * helpers (@aws-crypto/kms-keyring-node), 1,000 tenants × 20 messages with store reads counted,
 * tenant isolation, rotation under 100 writers, the branch-key cache (singleflight, refresh
 * ahead, zeroing, sharing by partition) and the typed errors. The same keyring on DynamoDB and
 * KMS (moto) is test/kms-hierarchy.test.ts.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { bytesToHex } from '@noble/hashes/utils.js'
import { backend } from '#crypto-backend'
import { BranchKeyCache, HeldBranchKey } from '../src/cache/branch-key-cache.js'
import { canonicalContext } from '../src/format/context.js'
import { parseHead } from '../src/format/message.js'
import type { Keyring, Recipient } from '../src/index.js'
import { DataKey, Envelope, HierarchicalKeyring, inspect } from '../src/index.js'
import { versionFromBytes } from '../src/keyrings/hierarchy-wrap.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'
import { MemoryBranchKeyStore } from './memory-branch-key-store.js'

assertExpectedBackend()

const require = createRequire(import.meta.url)
// AWS's implementation of the same wrap, from the dev dependency (CommonJS, internal helpers).
const aws = require('@aws-crypto/kms-keyring-node/build/main/src/kms_hkeyring_node_helpers.js') as {
  wrapPlaintextDataKey(pdk: Uint8Array, bkm: unknown, material: { encryptionContext: Record<string, string> }, utf8Sorting: boolean): Uint8Array
  unwrapEncryptedDataKey(
    ct: Uint8Array,
    bkm: unknown,
    material: { encryptionContext: Record<string, string>; suite: { keyLengthBytes: number } },
    utf8Sorting: boolean,
  ): Uint8Array
}
const { NodeBranchKeyMaterial } = require('@aws-crypto/material-management') as {
  NodeBranchKeyMaterial: new (key: Buffer, id: string, version: string, ec: Record<string, string>) => unknown
}

const tenantOf = (c: Readonly<Record<string, string>>): string => {
  if (c.tenant === undefined) throw new Error('the context names no tenant')
  return `tenant-${c.tenant}`
}

describe('HierarchicalKeyring', () => {
  it('round trip: one aws-kms-hierarchy recipient, key id = branch key id, 92 bytes carrying the active version', async () => {
    const store = new MemoryBranchKeyStore()
    const version = store.createKey('tenant-acme')
    const keyring = new HierarchicalKeyring({ store, branchKeyId: 'tenant-acme', cache: { maxAge: 60_000 } })
    const env = new Envelope({ keyring })
    const message = await env.encrypt('hello tenant', { context: { tenant: 'acme' } })
    const info = inspect(message)
    assert.equal(info.recipients.length, 1)
    assert.equal(info.recipients[0]!.type, 'aws-kms-hierarchy')
    assert.equal(info.recipients[0]!.keyId, 'tenant-acme')
    const { dataKey, recipients } = await keyring.generateDataKey(canonicalContext({ tenant: 'acme' }, 'c', true), {})
    assert.equal(recipients[0]!.wrapped.length, 92)
    assert.equal(versionFromBytes(recipients[0]!.wrapped.subarray(28, 44)), version)
    dataKey.wipe()
    assert.equal(await env.decryptString(message, { expectContext: { tenant: 'acme' } }), 'hello tenant')
    assert.deepEqual(store.reads, { active: 1, version: 0 }) // the active read also seeded the decrypt entry
  })

  it('the wrapped key is AWS’s EDK ciphertext: AWS’s helpers open ours, ours opens AWS’s', async () => {
    const store = new MemoryBranchKeyStore()
    const branchKey = pattern(32, 9)
    const version = store.createKey('bk-interop', branchKey)
    const keyring = new HierarchicalKeyring({ store, branchKeyId: 'bk-interop', cache: { maxAge: 60_000 } })
    // A context whose UTF-16 and UTF-8 orders differ, and one pair whose keys only differ in length.
    const ec = { tenant: 'acme', 'é': 'accent', '\u{1F600}': 'emoji', '\uFF5E': 'fullwidth', a: '1', ab: '2' }
    const context = canonicalContext(ec, 'c', true)
    const bkm = new NodeBranchKeyMaterial(Buffer.from(branchKey), 'bk-interop', version, {})
    const dk = new DataKey(pattern(32, 10))
    const [ours] = await keyring.wrapDataKey(dk, context, {})
    const opened = aws.unwrapEncryptedDataKey(ours!.wrapped, bkm, { encryptionContext: ec, suite: { keyLengthBytes: 32 } }, true)
    assert.deepEqual(new Uint8Array(opened), pattern(32, 10))
    const theirs = aws.wrapPlaintextDataKey(pattern(32, 11), bkm, { encryptionContext: ec }, true)
    const back = await keyring.unwrapDataKey({ type: 'aws-kms-hierarchy', keyId: 'bk-interop', wrapped: new Uint8Array(theirs) }, context, {})
    assert.deepEqual(back.bytes, pattern(32, 11))
    // Empty context: AWS serializes nothing at all.
    const [empty] = await keyring.wrapDataKey(dk, canonicalContext({}, 'c', true), {})
    assert.deepEqual(
      new Uint8Array(aws.unwrapEncryptedDataKey(empty!.wrapped, bkm, { encryptionContext: {}, suite: { keyLengthBytes: 32 } }, true)),
      pattern(32, 10),
    )
    assert.throws(() => aws.unwrapEncryptedDataKey(ours!.wrapped, bkm, { encryptionContext: { ...ec, tenant: 'globex' }, suite: { keyLengthBytes: 32 } }, true))
  })

  // The full run on node:crypto; on the portable backend (same logic, slower AES) a quarter of
  // the tenants, which keeps the file's time modest.
  const tenants = backend.name === 'node' ? 1000 : 250
  it(`${tenants} tenants × 20 messages, concurrent: 1 store read per tenant, every data key different, no tenant opens another’s`, async () => {
    const perTenant = 20
    const store = new MemoryBranchKeyStore()
    store.delayMs = 2 // so concurrent misses of one tenant really overlap
    for (let t = 0; t < tenants; t++) store.createKey(`tenant-${t}`)
    const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 5 * 60_000, maxEntries: 2 * tenants } })
    // Every data key, recorded as the keyring hands it out.
    const keys = new Set<string>()
    const recording: Keyring = {
      description: keyring.description,
      cacheId: keyring.cacheId,
      canUnwrap: (r) => keyring.canUnwrap(r),
      generateDataKey: async (c, o) => {
        const generated = await keyring.generateDataKey(c, o)
        keys.add(bytesToHex(generated.dataKey.bytes))
        return generated
      },
      wrapDataKey: (k, c, o) => keyring.wrapDataKey(k, c, o),
      unwrapDataKey: (r, c, o) => keyring.unwrapDataKey(r, c, o),
    }
    const env = new Envelope({ keyring: recording })
    const jobs: Promise<{ tenant: number; message: Uint8Array }>[] = []
    for (let i = 0; i < perTenant; i++) {
      for (let t = 0; t < tenants; t++)
        jobs.push(env.encrypt(pattern(100, t + i), { context: { tenant: String(t) } }).then((message) => ({ tenant: t, message })))
    }
    const messages = await Promise.all(jobs)
    assert.deepEqual(store.reads, { active: tenants, version: 0 })
    assert.equal(keys.size, tenants * perTenant)
    // The data key in each message is the one generated for it: its recipient opens to a recorded key.
    for (const { tenant, message } of messages.filter((_, i) => i % 97 === 0)) {
      const dk = await keyring.unwrapDataKey(recipientsOf(message)[0]!, canonicalContext({ tenant: String(tenant) }, 'c', false), {})
      assert.ok(keys.has(bytesToHex(dk.bytes)))
      dk.wipe()
    }
    // Two messages of every tenant opened by the writer's keyring (no store read: the active
    // read seeded the version), then all 20 of 50 tenants by a fresh reader: one read each.
    const sample = messages.filter((_, i) => i < 2 * tenants)
    const opened = await Promise.all(sample.map(({ tenant, message }) => env.decrypt(message, { expectContext: { tenant: String(tenant) } })))
    for (const [i, result] of opened.entries()) assert.deepEqual(result.plaintext, pattern(100, sample[i]!.tenant + Math.floor(i / tenants)))
    assert.equal(store.totalReads, tenants, 'decryption reused the versions the writers read')
    const stats = keyring.cache.stats()
    assert.equal(stats.misses, tenants)
    assert.equal(stats.joined, tenants * (perTenant - 1))
    const fresh = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 60_000 } })
    const few = messages.filter(({ tenant }) => tenant < 50)
    await Promise.all(few.map(({ tenant, message }) => new Envelope({ keyring: fresh }).decrypt(message, { expectContext: { tenant: String(tenant) } })))
    assert.deepEqual(store.reads, { active: tenants, version: 50 })
    // Another tenant's context: refused by the envelope (expectContext) and by the keyring
    // (the supplier picks the other tenant's branch key).
    for (let t = 0; t < tenants; t += 37) {
      const { message } = messages[t]!
      const other = String((t + 1) % tenants)
      await rejectsWithCode(env.decrypt(message, { expectContext: { tenant: other } }), 'ERR_CONTEXT_MISMATCH')
      const r = recipientsOf(message)[0]!
      await rejectsWithCode(keyring.unwrapDataKey(r, canonicalContext({ tenant: other }, 'c', false), {}), 'ERR_UNWRAP')
      // Relabelled as the other tenant's: the store has no such version of that branch key.
      await rejectsWithCode(keyring.unwrapDataKey({ ...r, keyId: `tenant-${other}` }, canonicalContext({ tenant: other }, 'c', false), {}), 'ERR_KEYRING')
    }
  })

  it('rotation while 100 writers encrypt: nothing fails, new messages use the new version within one cache window, old ones open', async () => {
    const store = new MemoryBranchKeyStore()
    const v1 = store.createKey('tenant-hot')
    const maxAge = 400
    const keyring = new HierarchicalKeyring({ store, branchKeyId: 'tenant-hot', cache: { maxAge, graceMs: 150 } })
    const env = new Envelope({ keyring })
    const written: { at: number; message: Uint8Array }[] = []
    let rotatedAt = Number.POSITIVE_INFINITY
    let stop = false
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        written.push({ at: Date.now(), message: await env.encrypt(`w${w} m${i}`, { context: { tenant: 'hot' } }) })
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    const writers = Array.from({ length: 100 }, (_, w) => writer(w))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const v2 = store.versionKey('tenant-hot')
    rotatedAt = Date.now()
    await new Promise((resolve) => setTimeout(resolve, maxAge + 600))
    stop = true
    await Promise.all(writers)
    const versionOf = (m: Uint8Array) => versionFromBytes(recipientsOf(m)[0]!.wrapped.subarray(28, 44))
    const late = written.filter((w) => w.at > rotatedAt + maxAge + 100)
    assert.ok(late.length > 100, `${late.length} messages after the window`)
    for (const w of late) assert.equal(versionOf(w.message), v2)
    assert.ok(written.some((w) => versionOf(w.message) === v1))
    // A reader that never cached anything opens every message, old version and new.
    const reader = new Envelope({ keyring: new HierarchicalKeyring({ store, branchKeyId: 'tenant-hot', cache: { maxAge: 60_000 } }) })
    const sample = [...written.filter((w) => versionOf(w.message) === v1).slice(0, 50), ...late.slice(0, 50)]
    for (const w of sample) assert.match(await reader.decryptString(w.message), /^w\d+ m\d+$/)
  })
})

/** The raw recipients of a message (inspect gives descriptions; the decoder gives bytes). */
function recipientsOf(message: Uint8Array): readonly Recipient[] {
  const parsed = parseHead(message)
  assert.ok('head' in parsed && parsed.head !== undefined)
  return parsed.head.recipients
}

describe('BranchKeyCache', () => {
  it('50 concurrent cold reads of one version = 1 store read; a hot tenant never waits at expiry (one refresh ahead)', async () => {
    const store = new MemoryBranchKeyStore()
    store.createKey('tenant-a')
    const writer = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache: { maxAge: 60_000 } })
    const messages = await Promise.all(Array.from({ length: 50 }, (_, i) => new Envelope({ keyring: writer }).encrypt(`m${i}`)))
    store.delayMs = 30
    const before = store.totalReads
    const reader = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache: { maxAge: 60_000 } })
    const env = new Envelope({ keyring: reader })
    const texts = await Promise.all(messages.map((m) => env.decryptString(m)))
    assert.deepEqual(
      texts,
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    )
    assert.equal(store.totalReads - before, 1)
    assert.deepEqual([reader.cache.stats().misses, reader.cache.stats().joined], [1, 49])

    // Refresh ahead: maxAge 800 ms, grace 400 ms, a read takes 300 ms. Writing every 10 ms for
    // 2.5 s crosses several windows; only the first encryption may wait for the store.
    store.delayMs = 300
    const hot = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache: { maxAge: 800, graceMs: 400 } })
    const hotEnv = new Envelope({ keyring: hot })
    await hotEnv.encrypt('warm')
    let slowest = 0
    const end = Date.now() + 2500
    while (Date.now() < end) {
      const t0 = performance.now()
      await hotEnv.encrypt('x')
      slowest = Math.max(slowest, performance.now() - t0)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const s = hot.cache.stats()
    assert.equal(s.misses, 1, 'every later key came from a refresh, none from a miss')
    assert.ok(s.refreshes >= 3, `refreshes ${s.refreshes}`)
    assert.ok(slowest < 250, `an encryption waited ${slowest.toFixed(1)} ms (a store read takes 300)`)
  })

  it('a failed refresh is counted, the current key serves on, the next hit retries', async () => {
    const store = new MemoryBranchKeyStore()
    store.createKey('tenant-a')
    const keyring = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache: { maxAge: 3000, graceMs: 2500 } })
    const env = new Envelope({ keyring })
    await env.encrypt('warm')
    await new Promise((resolve) => setTimeout(resolve, 600))
    const real = store.getActiveBranchKey.bind(store)
    store.getActiveBranchKey = async () => {
      throw new Error('store down')
    }
    await env.encrypt('served from the cache while the refresh fails')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(keyring.cache.stats().refreshFailures, 1)
    store.getActiveBranchKey = real
    await env.encrypt('next hit retries')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(keyring.cache.stats().refreshes, 2)
    assert.equal(keyring.cache.stats().refreshFailures, 1)
  })

  it('zeroes keys on eviction, expiry and clear; never prints them', async () => {
    const cache = new BranchKeyCache({ maxAge: 100, maxEntries: 1 })
    const held = (v: number) =>
      new HeldBranchKey({ branchKeyId: 'b', branchKeyVersion: crypto.randomUUID(), key: pattern(32, v), encryptionContext: {} }, pattern(32, v), Date.now())
    const a = held(1)
    await cache.use(
      'a',
      100,
      async () => a,
      undefined,
      () => undefined,
    )
    const b = held(2)
    await cache.use(
      'b',
      100,
      async () => b,
      undefined,
      () => undefined,
    )
    assert.ok(a.wiped, 'evicted for room')
    assert.throws(() => a.key, TypeError)
    assert.equal(cache.stats().evictions, 1)
    await new Promise((resolve) => setTimeout(resolve, 1250)) // the purge timer runs within a second of expiry
    assert.ok(b.wiped, 'expired')
    assert.equal(cache.stats().expirations, 1)
    const c = held(3)
    await cache.use(
      'c',
      100,
      async () => c,
      undefined,
      () => undefined,
    )
    cache.clear()
    assert.ok(c.wiped)
    assert.doesNotMatch(JSON.stringify(held(4)) + String(inspectText(held(4))), /0405|key":\[/)
  })

  it('is shared by keyrings of one partition and store name, and not across partitions', async () => {
    const store = new MemoryBranchKeyStore()
    store.createKey('tenant-a')
    const cache = new BranchKeyCache({ maxAge: 60_000 })
    const k1 = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache, partition: 'api' })
    const k2 = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache, partition: 'api' })
    const k3 = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache, partition: 'batch' })
    const k4 = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache }) // random partition
    const m = await new Envelope({ keyring: k1 }).encrypt('shared')
    assert.equal(await new Envelope({ keyring: k2 }).decryptString(m), 'shared')
    await new Envelope({ keyring: k2 }).encrypt('hit')
    assert.equal(store.totalReads, 1)
    await new Envelope({ keyring: k3 }).encrypt('own entry')
    await new Envelope({ keyring: k4 }).encrypt('own entry')
    assert.equal(store.totalReads, 3)
    assert.equal(k1.cacheId, k2.cacheId)
    assert.notEqual(k1.cacheId, k3.cacheId)
  })
})

describe('HierarchicalKeyring errors', () => {
  const store = new MemoryBranchKeyStore('errors-store')
  store.createKey('tenant-a')
  const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 60_000 } })
  const env = new Envelope({ keyring })

  it('refuses bad options with ERR_INVALID_ARGUMENT', () => {
    const ok = { store, cache: { maxAge: 1000 } }
    const bad: unknown[] = [
      undefined,
      { ...ok },
      { ...ok, branchKeyId: 'a', branchKeyIdSupplier: tenantOf },
      { ...ok, branchKeyId: '' },
      { ...ok, branchKeyId: 'x'.repeat(2049) },
      { store, branchKeyId: 'a' },
      { store, branchKeyId: 'a', cache: {} },
      { store, branchKeyId: 'a', cache: { maxAge: 100, graceMs: 100 } },
      { ...ok, branchKeyId: 'a', maxAge: 2000 },
      { ...ok, store: {}, branchKeyId: 'a' },
      {
        ...ok,
        store: { ...store, getActiveBranchKey: store.getActiveBranchKey, getBranchKeyVersion: store.getBranchKeyVersion, logicalKeyStoreName: '' },
        branchKeyId: 'a',
      },
      { ...ok, branchKeyIdSupplier: 'tenant' },
    ]
    for (const options of bad) {
      assert.throws(
        () => new HierarchicalKeyring(options as never),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
        JSON.stringify(options, (_k, v) => (typeof v === 'function' ? 'fn' : v)),
      )
    }
  })

  it('a supplier that refuses the context, an unknown branch key, a store answering with the wrong key: ERR_KEYRING, nothing written', async () => {
    await rejectsWithCode(env.encrypt('x', { context: { other: '1' } }), 'ERR_KEYRING')
    await rejectsWithCode(env.encrypt('x', { context: { tenant: 'nobody' } }), 'ERR_KEYRING')
    const liar = new MemoryBranchKeyStore('liar')
    liar.createKey('tenant-a')
    const wrongId = Object.assign(Object.create(liar) as MemoryBranchKeyStore, {
      getActiveBranchKey: async () => ({ ...(await liar.getActiveBranchKey('tenant-a')), branchKeyId: 'tenant-b' }),
    })
    await rejectsWithCode(
      new Envelope({ keyring: new HierarchicalKeyring({ store: wrongId, branchKeyId: 'tenant-a', cache: { maxAge: 1000 } }) }).encrypt('x'),
      'ERR_KEYRING',
    )
    const shortKey = Object.assign(Object.create(liar) as MemoryBranchKeyStore, {
      getActiveBranchKey: async () => ({ ...(await liar.getActiveBranchKey('tenant-a')), key: new Uint8Array(31) }),
    })
    await rejectsWithCode(
      new Envelope({ keyring: new HierarchicalKeyring({ store: shortKey, branchKeyId: 'tenant-a', cache: { maxAge: 1000 } }) }).encrypt('x'),
      'ERR_KEYRING',
    )
  })

  it('any changed byte of the wrapped key, a wrong length, or another context: ERR_UNWRAP (or ERR_KEYRING when the version does not exist)', async () => {
    const context = canonicalContext({ tenant: 'a' }, 'c', true)
    const [r] = await keyring.wrapDataKey(new DataKey(pattern(32, 3)), context, {})
    for (let i = 0; i < 92; i++) {
      const wrapped = new Uint8Array(r!.wrapped)
      wrapped[i]! ^= 0x01
      // Bytes 28..43 name the version: a changed one is a version the store does not have.
      await rejectsWithCode(keyring.unwrapDataKey({ ...r!, wrapped }, context, {}), i >= 28 && i < 44 ? 'ERR_KEYRING' : 'ERR_UNWRAP')
    }
    await rejectsWithCode(keyring.unwrapDataKey({ ...r!, wrapped: r!.wrapped.subarray(0, 91) }, context, {}), 'ERR_UNWRAP')
    await rejectsWithCode(keyring.unwrapDataKey(r!, canonicalContext({ tenant: 'a', extra: '1' }, 'c', true), {}), 'ERR_UNWRAP')
    const fixed = new HierarchicalKeyring({ store, branchKeyId: 'tenant-a', cache: { maxAge: 1000 } })
    await rejectsWithCode(fixed.unwrapDataKey(r!, canonicalContext({ tenant: 'b' }, 'c', true), {}), 'ERR_UNWRAP')
    assert.equal((await fixed.unwrapDataKey(r!, context, {})).bytes[0], pattern(32, 3)[0])
  })

  it('a message for a branch key the keyring does not hold: ERR_NO_MATCHING_KEY, no store call', async () => {
    const m = await env.encrypt('x', { context: { tenant: 'a' } })
    const reads = store.totalReads
    const other = new HierarchicalKeyring({ store, branchKeyId: 'tenant-z', cache: { maxAge: 1000 } })
    await rejectsWithCode(new Envelope({ keyring: other }).decrypt(m), 'ERR_NO_MATCHING_KEY')
    assert.equal(store.totalReads, reads)
    assert.equal(JSON.stringify(other), '{"type":"aws-kms-hierarchy","store":"errors-store","branchKeyId":"tenant-z"}')
  })

  it('aborts a store read with ERR_ABORTED', async () => {
    const slow = new MemoryBranchKeyStore()
    slow.createKey('tenant-a')
    slow.delayMs = 200
    const k = new HierarchicalKeyring({ store: slow, branchKeyId: 'tenant-a', cache: { maxAge: 1000 } })
    await rejectsWithCode(new Envelope({ keyring: k }).encrypt('x', { signal: AbortSignal.timeout(20) }), 'ERR_ABORTED')
  })
})

function inspectText(value: unknown): string {
  return (value as { [k: symbol]: () => string })[Symbol.for('nodejs.util.inspect.custom')]!()
}
