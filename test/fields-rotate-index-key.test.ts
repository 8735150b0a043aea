/**
 * FieldEncryptor.rotateIndexKey: a record moved from one index key to another has the new
 * key's deterministic values and blind indexes, decrypts to the same values, and no longer
 * matches the old key's lookups; misuse and altered records fail with their codes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const schema = { ssn: 'random', email: 'deterministic', 'profile.address': 'random' } as const
const indexKeyContext = { purpose: 'users-index' }
const context = { table: 'users', tenant: 'acme' }

async function setUp() {
  const envelope = new Envelope({ keyring: new LocalKeyring({ keyId: 'rotate-test', key: pattern(32, 61) }) })
  const oldIndexKey = await FieldEncryptor.createIndexKey(envelope, { context: indexKeyContext })
  const newIndexKey = await FieldEncryptor.createIndexKey(envelope, { context: indexKeyContext })
  const current = new FieldEncryptor({ envelope, indexKey: oldIndexKey, indexKeyContext, schema })
  const next = new FieldEncryptor({ envelope, indexKey: newIndexKey, indexKeyContext, schema })
  const records = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => ({
      id: i,
      ssn: `078-05-${String(1000 + i)}`,
      email: `user${i % 10}@example.com`,
      email_idx: await current.blindIndex('email', `user${i % 10}@example.com`, { context }),
      profile: { address: `${i} Main St`, name: `User ${i}` },
    })),
  )
  const stored = await current.encryptRecords(records, { context })
  return { envelope, current, next, records, stored }
}

describe('FieldEncryptor.rotateIndexKey', () => {
  it('gives the new key deterministic values and blind indexes; values decrypt unchanged; the old lookups no longer match', async () => {
    const { current, next, records, stored } = await setUp()
    for (const [i, row] of stored.entries()) {
      const record = records[i]!
      const moved = await next.rotateIndexKey(row, { from: current, blindIndexes: { email_idx: 'email' }, expectContext: { tenant: 'acme' } })
      assert.equal(moved.email, await next.deterministicValue('email', record.email, { context }))
      assert.notEqual(moved.email, row.email)
      assert.equal(moved.email_idx, await next.blindIndex('email', record.email, { context }))
      assert.notEqual(moved.email_idx, record.email_idx)
      assert.notEqual(moved._kmse, row._kmse, 'a new data key')
      assert.deepEqual(await next.decryptRecord(moved, { expectContext: context }), { ...record, email_idx: moved.email_idx })
      // Each encryptor opens only the records written under its own index key.
      await rejectsWithCode(current.decryptRecord(moved), 'ERR_FIELD')
      await rejectsWithCode(next.decryptRecord(row), 'ERR_FIELD')
    }
  })

  it('rebuilds blind indexes under another context when asked, and leaves other columns alone', async () => {
    const { current, next, stored } = await setUp()
    const row = { ...stored[3]!, note: 'kept' }
    const moved = await next.rotateIndexKey(row, { from: current, blindIndexes: { email_idx: 'email' }, blindIndexContext: { table: 'users' } })
    assert.equal(moved.email_idx, await next.blindIndex('email', 'user3@example.com', { context: { table: 'users' } }))
    assert.equal(moved.note, 'kept')
    assert.equal(moved.id, 3)
  })

  it('refuses misuse and reports altered or foreign records with the decrypt codes', async () => {
    const { envelope, current, next, stored } = await setUp()
    const row = stored[0]!
    await assert.rejects(next.rotateIndexKey(row, { from: {} as never }), { code: 'ERR_INVALID_ARGUMENT', message: /FieldEncryptor holding the old index key/ })
    await assert.rejects(next.rotateIndexKey(row, undefined as never), { code: 'ERR_INVALID_ARGUMENT' })
    const other = new FieldEncryptor({
      envelope,
      indexKey: await FieldEncryptor.createIndexKey(envelope, { context: indexKeyContext }),
      indexKeyContext,
      schema: { ssn: 'random', email: 'deterministic' },
    })
    await assert.rejects(next.rotateIndexKey(row, { from: other }), { code: 'ERR_INVALID_ARGUMENT', message: /same schema and keyField/ })
    await assert.rejects(next.rotateIndexKey(row, { from: current, blindIndexes: { idx: 'a..b' } }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /blindIndexes\.idx/,
    })
    await rejectsWithCode(next.rotateIndexKey(row, { from: current, expectContext: { tenant: 'globex' } }), 'ERR_CONTEXT_MISMATCH')
    const email = String(row.email)
    const altered = { ...row, email: `${email.slice(0, -2)}${email.at(-2) === 'A' ? 'B' : 'A'}${email.at(-1)}` }
    await rejectsWithCode(next.rotateIndexKey(altered, { from: current }), 'ERR_FIELD')
    const { _kmse: _, ...noKey } = row
    await rejectsWithCode(next.rotateIndexKey(noKey, { from: current }), 'ERR_FIELD')
  })
})
