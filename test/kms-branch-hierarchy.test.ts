/**
 * The hierarchical keyring end to end on the DynamoDB BranchKeyStore on moto: store reads and
 * KMS calls follow tenants × versions, not messages, and rotation with versionKey keeps old
 * messages open. (The keyring's own proofs, at 1,000 tenants, are the hierarchy tests.)
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, HierarchicalKeyring } from '../src/index.js'
import { newStore } from './kms-branch-helpers.js'
import { recipientsOf } from './kms-helpers.js'

const TENANTS = 8
const MESSAGES = 10

describe('HierarchicalKeyring on the DynamoDB BranchKeyStore (moto)', () => {
  it(`${TENANTS} tenants × ${MESSAGES} concurrent messages: 1 GetItem + 1 Decrypt per tenant to encrypt, and again to decrypt with a cold cache`, async () => {
    const { store, kms, ddb } = await newStore()
    for (let t = 0; t < TENANTS; t++) await store.createKey(`tenant-${t}`, { encryptionContext: { tenant: String(t) } })
    kms.calls.take()
    ddb.calls.take()
    const keyring = () => new HierarchicalKeyring({ store, branchKeyIdSupplier: (context) => `tenant-${context.tenant}`, cache: { maxAge: 60_000 } })
    const writer = new Envelope({ keyring: keyring() })
    const jobs = Array.from({ length: TENANTS * MESSAGES }, (_, i) => ({ tenant: String(i % TENANTS), text: `message ${i}` }))
    const messages = await Promise.all(jobs.map((j) => writer.encrypt(j.text, { context: { tenant: j.tenant } })))
    assert.deepEqual(kms.calls.take(), { Decrypt: TENANTS })
    assert.deepEqual(ddb.calls.take(), { GetItem: TENANTS })
    const wrapped = new Set(messages.map((m) => Buffer.from(recipientsOf(m)[0]!.wrapped).toString('hex')))
    assert.equal(wrapped.size, messages.length, 'every message has its own wrapped data key')
    const reader = new Envelope({ keyring: keyring() })
    const opened = await Promise.all(messages.map((m, i) => reader.decrypt(m, { expectContext: { tenant: jobs[i]!.tenant } })))
    assert.deepEqual(
      opened.map((o) => new TextDecoder().decode(o.plaintext)),
      jobs.map((j) => j.text),
    )
    assert.deepEqual(kms.calls.take(), { Decrypt: TENANTS })
    assert.deepEqual(ddb.calls.take(), { GetItem: TENANTS })
  })

  it('after versionKey a new keyring encrypts under the new version; messages of both versions open', async () => {
    const { store, kms, ddb } = await newStore()
    const id = await store.createKey('tenant-r', { encryptionContext: { tenant: 'r' } })
    const keyring = () => new HierarchicalKeyring({ store, branchKeyId: id, cache: { maxAge: 60_000 } })
    const old = await new Envelope({ keyring: keyring() }).encrypt('before', { context: { tenant: 'r' } })
    await store.versionKey(id)
    const fresh = await new Envelope({ keyring: keyring() }).encrypt('after', { context: { tenant: 'r' } })
    kms.calls.take()
    ddb.calls.take()
    const reader = new Envelope({ keyring: keyring() })
    assert.equal(new TextDecoder().decode((await reader.decrypt(old)).plaintext), 'before')
    assert.equal(new TextDecoder().decode((await reader.decrypt(fresh)).plaintext), 'after')
    // Two versions: one read and one Decrypt each.
    assert.deepEqual(kms.calls.take(), { Decrypt: 2 })
    assert.deepEqual(ddb.calls.take(), { GetItem: 2 })
  })
})
