/**
 * The data-key cache against a real KMS server (moto), with every KMS call counted at the SDK.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Envelope, FieldEncryptor, KeyCache } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { pattern, rejectsWithCode } from './helpers.js'
import { createKey, motoClient } from './kms-helpers.js'

const context = { tenant: 'acme', table: 'users' }
let arn: string

before(async () => {
  arn = await createKey()
})

describe('KeyCache with KmsKeyring (moto)', () => {
  it('10,000 encrypts in one window: 1 GenerateDataKey; after maxMessagesPerKey exactly one more', async () => {
    const { client, calls } = await motoClient()
    const env = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000, maxMessagesPerKey: 10_000 }),
    })
    const data = pattern(100)
    for (let i = 0; i < 10_000; i++) await env.encrypt(data, { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    await env.encrypt(data, { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
  })

  it('after maxAge exactly one more GenerateDataKey', async () => {
    const { client, calls } = await motoClient()
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }), cache: new KeyCache({ maxEntries: 100, maxAge: 300 }) })
    for (let i = 0; i < 50; i++) await env.encrypt('x', { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    await sleep(350)
    for (let i = 0; i < 50; i++) await env.encrypt('x', { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
  })

  it('100 concurrent cold decrypts of messages sharing a wrapped key: 1 Decrypt; warm: 0', async () => {
    const writer = await motoClient()
    const writerEnv = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client: writer.client }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000 }),
    })
    const messages = await Promise.all(Array.from({ length: 100 }, (_, i) => writerEnv.encrypt(`record ${i}`, { context })))
    assert.deepEqual(writer.calls.take(), { GenerateDataKey: 1 })
    const { client, calls } = await motoClient()
    const cache = new KeyCache({ maxEntries: 100, maxAge: 600_000 })
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }), cache })
    const results = await Promise.all(messages.map((m) => env.decrypt(m, { expectContext: context })))
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    assert.deepEqual(
      results.map((r) => new TextDecoder().decode(r.plaintext)),
      messages.map((_, i) => `record ${i}`),
    )
    await Promise.all(messages.map((m) => env.decrypt(m)))
    assert.deepEqual(calls.take(), {})
    assert.equal(cache.stats().joined, 99)
  })

  it('a failed Decrypt is not cached: the next call reaches KMS again and succeeds', async () => {
    const { client, calls } = await motoClient()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x', { context })
    calls.take()
    let failures = 1
    client.middlewareStack.add(
      (next) => async (args) => {
        if (failures-- > 0) throw Object.assign(new Error('injected outage'), { name: 'KMSInternalException', $fault: 'server', $metadata: {} })
        return next(args)
      },
      { step: 'initialize', name: 'kmseInjectFailure' },
    )
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }), cache: new KeyCache({ maxEntries: 10, maxAge: 600_000 }) })
    const failed = await Promise.allSettled([env.decrypt(message), env.decrypt(message)])
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected'],
    )
    assert.match(String((failed[0] as PromiseRejectedResult).reason.code), /^ERR_KMS/)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    const ok = await env.decrypt(message)
    assert.equal(new TextDecoder().decode(ok.plaintext), 'x')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })

  it('a message that fails without the cache also fails with a warm cache, with no KMS call', async () => {
    const { client, calls } = await motoClient()
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }), cache: new KeyCache({ maxEntries: 10, maxAge: 600_000 }) })
    const message = await env.encrypt(pattern(500), { context })
    await env.decrypt(message)
    calls.take()
    const h = new DataView(message.buffer, message.byteOffset).getUint32(5)
    const forged = message.slice()
    forged[9 + h - 1]! ^= 1 // last byte of the commitment
    const cold = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) })
    await rejectsWithCode(cold.decrypt(forged), 'ERR_AUTH')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    await rejectsWithCode(env.decrypt(forged), 'ERR_AUTH')
    await rejectsWithCode(env.decrypt(message, { expectContext: { tenant: 'globex' } }), 'ERR_CONTEXT_MISMATCH')
    assert.deepEqual(calls.take(), {})
  })
})

describe('FieldEncryptor with KmsKeyring and a cache (moto)', () => {
  it('10,000 records: KMS calls per cache window, not per record', async () => {
    const RECORDS = 10_000
    const PER_KEY = 1_000
    const { client, calls } = await motoClient()
    const envelope = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000, maxMessagesPerKey: PER_KEY }),
    })
    const indexKey = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'users-index' } })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    const fields = new FieldEncryptor({
      envelope,
      indexKey,
      indexKeyContext: { purpose: 'users-index' },
      schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' },
    })
    const records = Array.from({ length: RECORDS }, (_, i) => ({
      id: i,
      ssn: `078-05-${String(i).padStart(4, '0')}`,
      email: `user${i}@example.com`,
      profile: { address: `${i} Main St` },
    }))
    const stored = await fields.encryptRecords(records, { context })
    // One GenerateDataKey per PER_KEY records, plus the index key's one Decrypt.
    assert.deepEqual(calls.take(), { GenerateDataKey: RECORDS / PER_KEY, Decrypt: 1 })
    fields.close()

    const reader = await motoClient()
    const readerEnvelope = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client: reader.client }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000 }),
    })
    const readerFields = new FieldEncryptor({
      envelope: readerEnvelope,
      indexKey,
      indexKeyContext: { purpose: 'users-index' },
      schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' },
    })
    const back = await readerFields.decryptRecords(stored, { expectContext: context })
    assert.deepEqual(back, records)
    // One Decrypt per distinct data key (10), plus the index key.
    assert.deepEqual(reader.calls.take(), { Decrypt: RECORDS / PER_KEY + 1 })
    readerFields.close()
  })
})
