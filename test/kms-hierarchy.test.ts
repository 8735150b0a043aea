/**
 * The hierarchical keyring on the DynamoDB BranchKeyStore with KMS, both served by moto: many
 * tenants writing concurrently cost one DynamoDB read and one KMS call per tenant (counted at
 * the clients), every data key differs, tenants are refused under each other's context, and a
 * rotation (versionKey) under 100 writers fails nothing and takes over within one cache window.
 * The same properties with an in-memory store and both AES backends: envelope-hierarchy.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesToHex } from '@noble/hashes/utils.js'
import { canonicalContext } from '../src/format/context.js'
import { parseHead } from '../src/format/message.js'
import type { Keyring, Recipient } from '../src/index.js'
import { Envelope, HierarchicalKeyring } from '../src/index.js'
import { versionFromBytes } from '../src/keyrings/hierarchy-wrap.js'
import { BranchKeyStoreError } from '../src/kms.js'
import { rejectsWithCode } from './helpers.js'
import { newStore } from './kms-branch-helpers.js'

// Each tenant needs a createKey on moto first (3 KMS calls and a transaction, ~100 ms on a
// loaded machine, and moto fails concurrent transactions), so this stage runs 50 tenants; the
// 1,000-tenant run is envelope-hierarchy.test.ts. KMSE_HIERARCHY_TENANTS=1000 runs it here too.
const TENANTS = Number(process.env.KMSE_HIERARCHY_TENANTS ?? 50)
const PER_TENANT = 20
const tenantOf = (c: Readonly<Record<string, string>>) => `tenant-${c.tenant}`

function recipientsOf(message: Uint8Array): readonly Recipient[] {
  const parsed = parseHead(message)
  assert.ok('head' in parsed && parsed.head !== undefined)
  return parsed.head.recipients
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

describe('HierarchicalKeyring on the DynamoDB branch key store (moto)', () => {
  it(`${TENANTS} tenants × ${PER_TENANT} concurrent messages: ≤ 1 DynamoDB read and 1 KMS call per tenant, all data keys different`, async () => {
    const { store, kms, ddb } = await newStore()
    for (let t = 0; t < TENANTS; t++) await store.createKey(`tenant-${t}`, { encryptionContext: { tenant: String(t) } })
    kms.calls.take()
    ddb.calls.take()
    const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 10 * 60_000, maxEntries: 2 * TENANTS } })
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
    for (let i = 0; i < PER_TENANT; i++) {
      for (let t = 0; t < TENANTS; t++) jobs.push(env.encrypt(`t${t} m${i}`, { context: { tenant: String(t) } }).then((message) => ({ tenant: t, message })))
    }
    const messages = await Promise.all(jobs)
    const kmsCalls = kms.calls.take()
    const ddbCalls = ddb.calls.take()
    assert.ok(sum(kmsCalls) <= TENANTS, `KMS calls ${JSON.stringify(kmsCalls)}`)
    assert.ok(sum(ddbCalls) <= TENANTS, `DynamoDB calls ${JSON.stringify(ddbCalls)}`)
    assert.equal(sum(kmsCalls), TENANTS)
    assert.equal(keys.size, TENANTS * PER_TENANT)
    // A fresh reader (another process, say) opens every tenant's messages: one version read each.
    const reader = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 10 * 60_000, maxEntries: 2 * TENANTS } })
    const readEnv = new Envelope({ keyring: reader })
    const texts = await Promise.all(messages.map(({ tenant, message }) => readEnv.decryptString(message, { expectContext: { tenant: String(tenant) } })))
    for (const [i, text] of texts.entries()) assert.equal(text, `t${messages[i]!.tenant} m${Math.floor(i / TENANTS)}`)
    assert.equal(sum(kms.calls.take()), TENANTS)
    assert.ok(sum(ddb.calls.take()) <= TENANTS)
    for (let t = 0; t < TENANTS; t += Math.max(1, Math.floor(TENANTS / 20))) {
      const other = String((t + 1) % TENANTS)
      await rejectsWithCode(readEnv.decrypt(messages[t]!.message, { expectContext: { tenant: other } }), 'ERR_CONTEXT_MISMATCH')
      await rejectsWithCode(reader.unwrapDataKey(recipientsOf(messages[t]!.message)[0]!, canonicalContext({ tenant: other }, 'c', false), {}), 'ERR_UNWRAP')
    }
    // Relabelled as another tenant's branch key: the store has no such version of it.
    const r = recipientsOf(messages[0]!.message)[0]!
    await rejectsWithCode(
      reader.unwrapDataKey({ ...r, keyId: 'tenant-1' }, canonicalContext({ tenant: '1' }, 'c', false), {}),
      'ERR_BRANCH_KEY_NOT_FOUND',
      BranchKeyStoreError,
    )
  })

  it('versionKey while 100 writers encrypt: nothing fails, the new version takes over within one cache window, old messages open', async () => {
    const { store } = await newStore()
    await store.createKey('tenant-hot', { encryptionContext: { tenant: 'hot' } })
    const v1 = (await store.getActiveBranchKey('tenant-hot')).branchKeyVersion
    const maxAge = 1500
    const keyring = new HierarchicalKeyring({ store, branchKeyId: 'tenant-hot', cache: { maxAge, graceMs: 500 } })
    const env = new Envelope({ keyring })
    const written: { at: number; message: Uint8Array }[] = [{ at: Date.now(), message: await env.encrypt('warm', { context: { tenant: 'hot' } }) }]
    let stop = false
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        written.push({ at: Date.now(), message: await env.encrypt(`w${w} m${i}`, { context: { tenant: 'hot' } }) })
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    const writers = Array.from({ length: 100 }, (_, w) => writer(w))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const v2 = await store.versionKey('tenant-hot')
    const rotatedAt = Date.now()
    await new Promise((resolve) => setTimeout(resolve, maxAge + 1000))
    stop = true
    await Promise.all(writers)
    const versionOf = (m: Uint8Array) => versionFromBytes(recipientsOf(m)[0]!.wrapped.subarray(28, 44))
    const late = written.filter((w) => w.at > rotatedAt + maxAge + 300)
    assert.ok(late.length >= 100, `${late.length} messages after the window`)
    const stale = late.filter((w) => versionOf(w.message) !== v2)
    assert.equal(stale.length, 0, `${stale.length} of ${late.length} late messages still on the old version`)
    const early = written.filter((w) => versionOf(w.message) === v1)
    assert.ok(early.length > 0, 'messages before the rotation')
    const reader = new Envelope({ keyring: new HierarchicalKeyring({ store, branchKeyId: 'tenant-hot', cache: { maxAge: 60_000 } }) })
    for (const w of [...early.slice(0, 30), ...late.slice(0, 30)]) assert.match(await reader.decryptString(w.message), /^(w\d+ m\d+|warm)$/)
  })

  it('an unknown branch key: the store’s ERR_BRANCH_KEY_NOT_FOUND, nothing written', async () => {
    const { store } = await newStore()
    const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: tenantOf, cache: { maxAge: 60_000 } })
    await rejectsWithCode(new Envelope({ keyring }).encrypt('x', { context: { tenant: 'nobody' } }), 'ERR_BRANCH_KEY_NOT_FOUND', BranchKeyStoreError)
  })
})
