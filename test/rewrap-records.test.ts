/**
 * FieldEncryptor.rewrapRecord(s), node backend only (no backend-specific crypto here, and 10,000
 * records twice would double its time): 10,000 records moved to a new key with only `_kmse` changed
 * (field values, deterministic values and blind indexes byte-identical), key calls counted.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, FieldEncryptor, KeyCache, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const RECORDS = 10_000
const schema = { ssn: 'random', email: 'deterministic', 'profile.address': 'random' } as const
const indexKeyContext = { purpose: 'users-index' }
const context = { table: 'users', tenant: 'acme' }

describe('FieldEncryptor.rewrapRecords', () => {
  it(`${RECORDS.toLocaleString('en')} records: only _kmse changes, indexes stay valid, the old key fails, calls counted`, async (t) => {
    const oldKey = new CountingKeyring(new LocalKeyring({ keyId: 'records-old', key: pattern(32, 81) }))
    const newKey = new CountingKeyring(new LocalKeyring({ keyId: 'records-new', key: pattern(32, 82) }))
    const oldEnv = new Envelope({ keyring: oldKey })
    const indexKey = await FieldEncryptor.createIndexKey(oldEnv, { context: indexKeyContext })
    const oldFields = new FieldEncryptor({ envelope: oldEnv, indexKey, indexKeyContext, schema, concurrency: 16 })
    const records = await Promise.all(
      Array.from({ length: RECORDS }, async (_, i) => ({
        id: i,
        ssn: `${100 + (i % 900)}-${String(i).padStart(4, '0')}`,
        email: `user${i % 5000}@example.com`,
        email_idx: await oldFields.blindIndex('email', `user${i % 5000}@example.com`, { context }),
        profile: { address: `${i} Main St`, name: `User ${i}` },
      })),
    )
    const stored = await oldFields.encryptRecords(records, { context })
    oldKey.reset()

    const started = performance.now()
    const moved = await oldFields.rewrapRecords(stored, { to: newKey })
    t.diagnostic(`${RECORDS} records rewrapped in ${(performance.now() - started).toFixed(0)} ms`)
    assert.deepEqual(oldKey.calls, { generate: 0, wrap: 0, unwrap: RECORDS, reEncrypt: 0 })
    assert.deepEqual(newKey.calls, { generate: 0, wrap: RECORDS, unwrap: 0, reEncrypt: 0 })
    for (const [i, after] of moved.entries()) {
      const { _kmse: before, ...rest } = stored[i]!
      const { _kmse: now, ...restAfter } = after
      assert.notEqual(now, before)
      assert.deepEqual(restAfter, rest) // encrypted values, deterministic values, blind indexes
    }

    const newEnv = new Envelope({ keyring: newKey })
    const newIndexKey = await FieldEncryptor.rewrapIndexKey(oldEnv, indexKey, { to: newKey })
    const newFields = new FieldEncryptor({ envelope: newEnv, indexKey: newIndexKey, indexKeyContext, schema, concurrency: 16 })
    newKey.reset()
    assert.deepEqual(await newFields.decryptRecords(moved, { expectContext: context }), records)
    assert.equal(newKey.calls.unwrap, RECORDS + 1) // plus the index key, once
    // Old queries still match: the blind index and the deterministic value did not change.
    assert.equal(await newFields.blindIndex('email', 'user7@example.com', { context }), records[7]!.email_idx)
    assert.equal(await newFields.deterministicValue('email', 'user7@example.com', { context }), moved[7]!.email)

    const oldOnly = new FieldEncryptor({ envelope: oldEnv, indexKey, indexKeyContext, schema })
    for (const record of moved.slice(0, 200)) await rejectsWithCode(oldOnly.decryptRecord(record), 'ERR_NO_MATCHING_KEY')
    // A rerun finds every record done: copies, no key called.
    oldKey.reset()
    newKey.reset()
    const again = await oldFields.rewrapRecords(moved, { to: newKey })
    assert.deepEqual(again, moved)
    assert.equal(oldKey.calls.unwrap + newKey.calls.wrap, 0)
  })

  it('records written through a cache: one unwrap per distinct data key with a cache; a single record; bad input', async () => {
    const oldKey = new CountingKeyring(new LocalKeyring({ keyId: 'records-old', key: pattern(32, 81) }))
    const newKey = new LocalKeyring({ keyId: 'records-new', key: pattern(32, 82) })
    const writer = new FieldEncryptor({
      envelope: new Envelope({ keyring: oldKey, cache: new KeyCache({ maxEntries: 8, maxAge: 60_000, maxMessagesPerKey: 50 }) }),
      schema: { ssn: 'random' },
    })
    const stored = await writer.encryptRecords(
      Array.from({ length: 200 }, (_, i) => ({ id: i, ssn: String(i) })),
      { context },
    )
    oldKey.reset()
    const source = new FieldEncryptor({
      envelope: new Envelope({ keyring: oldKey, cache: new KeyCache({ maxEntries: 8, maxAge: 60_000 }) }),
      schema: { ssn: 'random' },
    })
    const moved = await source.rewrapRecords(stored, { to: newKey })
    assert.equal(oldKey.calls.unwrap, 4)
    const reader = new FieldEncryptor({ envelope: new Envelope({ keyring: newKey }), schema: { ssn: 'random' } })
    assert.deepEqual(await reader.decryptRecord(moved[123]!), { id: 123, ssn: '123' })
    const one = await source.rewrapRecord(stored[5]!, { to: newKey })
    assert.deepEqual(await reader.decryptRecord(one), { id: 5, ssn: '5' })
    await rejectsWithCode(source.rewrapRecord({ id: 1 }, { to: newKey }), 'ERR_FIELD')
    await rejectsWithCode(FieldEncryptor.rewrapIndexKey(new Envelope({ keyring: oldKey }), 'kmse1k.AAAA', { to: newKey }), 'ERR_FORMAT')
    await rejectsWithCode(FieldEncryptor.rewrapIndexKey(new Envelope({ keyring: oldKey }), String(stored[0]!._kmse), { to: newKey }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(source.rewrapRecord(stored[0]!, { to: [] as never }), 'ERR_INVALID_ARGUMENT')
    const altered = { ...stored[0]!, _kmse: `${String(stored[0]!._kmse).slice(0, -4)}AAAA` }
    // The field tags are under the record's content key, not the head: a rewrap carries an altered
    // list tag along unchanged, and decryption still refuses it.
    await rejectsWithCode(reader.decryptRecord(await source.rewrapRecord(altered, { to: newKey, verify: true })), 'ERR_FIELD')
  })
})
