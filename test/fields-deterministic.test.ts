/** Deterministic fields, blind indexes and the index key: equal under one key and context, different otherwise. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CanonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import type { DataKey, KeyringCallOptions } from '../src/index.js'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const local = new LocalKeyring({ keyId: 'fields-det', key: pattern(32, 51) })
const envelope = new Envelope({ keyring: local })
const indexKey = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'index' } })
const schema = { email: 'deterministic', email2: 'deterministic', data: 'deterministic', ssn: 'random' } as const
const fields = new FieldEncryptor({ envelope, schema, indexKey, indexKeyContext: { purpose: 'index' } })
const acme = { table: 'users', tenant: 'acme' }
const globex = { table: 'users', tenant: 'globex' }

const row = (email: unknown, data: unknown = 1): Record<string, unknown> => ({ email, email2: email, data, ssn: 'same ssn' })

describe('deterministic fields', () => {
  it('equal values give equal strings in different records under one context; random fields never do', async () => {
    const a = await fields.encryptRecord(row('ann@example.com'), { context: acme })
    const b = await fields.encryptRecord(row('ann@example.com'), { context: acme })
    assert.equal(a.email, b.email)
    assert.notEqual(a.ssn, b.ssn)
    assert.notEqual(a._kmse, b._kmse)
  })

  it('different values, paths, contexts or index keys give different strings', async () => {
    const base = (await fields.encryptRecord(row('ann@example.com'), { context: acme })).email
    assert.notEqual((await fields.encryptRecord(row('bob@example.com'), { context: acme })).email, base)
    assert.notEqual((await fields.encryptRecord(row('ann@example.com'), { context: globex })).email, base)
    assert.notEqual((await fields.encryptRecord(row('ann@example.com'), { context: { ...acme, extra: 'x' } })).email, base)
    assert.notEqual((await fields.encryptRecord(row('ann@example.com'))).email, base)
    const sameRecord = await fields.encryptRecord(row('ann@example.com'), { context: acme })
    assert.notEqual(sameRecord.email2, sameRecord.email, 'same value, other path')
    const otherKey = new FieldEncryptor({ envelope, schema, indexKey: await FieldEncryptor.createIndexKey(envelope) })
    assert.notEqual((await otherKey.encryptRecord(row('ann@example.com'), { context: acme })).email, base)
  })

  it('context key order does not matter; value types do', async () => {
    const a = await fields.encryptRecord(row('x', 5), { context: { table: 'users', tenant: 'acme' } })
    const b = await fields.encryptRecord(row('x', 5), { context: { tenant: 'acme', table: 'users' } })
    assert.equal(a.data, b.data)
    const types = await Promise.all([5, 5n, '5', -0, 0, [5], { v: 5 }].map(async (v) => (await fields.encryptRecord(row('x', v), { context: acme })).data))
    assert.equal(new Set(types).size, types.length)
  })

  it('objects are equal whatever their key order', async () => {
    const a = await fields.encryptRecord(row('x', { a: 1, b: { c: 2, d: 3 } }), { context: acme })
    const b = await fields.encryptRecord(row('x', { b: { d: 3, c: 2 }, a: 1 }), { context: acme })
    assert.equal(a.data, b.data)
  })

  it('deterministicValue gives the stored string, for WHERE email = ?', async () => {
    const stored = await fields.encryptRecord(row('ann@example.com'), { context: acme })
    assert.equal(await fields.deterministicValue('email', 'ann@example.com', { context: acme }), stored.email)
    assert.notEqual(await fields.deterministicValue('email', 'ann@example.com', { context: globex }), stored.email)
    await rejectsWithCode(fields.deterministicValue('ssn', 'x'), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(fields.deterministicValue('nope', 'x'), 'ERR_INVALID_ARGUMENT')
  })

  it('a new encryptor with the same wrapped index key (another process) gives the same strings', async () => {
    const again = new FieldEncryptor({ envelope: new Envelope({ keyring: local }), schema, indexKey })
    const a = await fields.encryptRecord(row('ann@example.com'), { context: acme })
    const b = await again.encryptRecord(row('ann@example.com'), { context: acme })
    assert.equal(a.email, b.email)
    assert.equal((await again.decryptRecord(a)).email, 'ann@example.com')
  })
})

describe('blind indexes', () => {
  it('equal values give equal indexes; other values, paths, contexts or keys give others', async () => {
    const idx = await fields.blindIndex('email', 'ann@example.com', { context: acme })
    assert.match(idx, /^kmse1b\.[A-Za-z0-9_-]{22}$/)
    assert.equal(await fields.blindIndex('email', 'ann@example.com', { context: { tenant: 'acme', table: 'users' } }), idx)
    const others = [
      await fields.blindIndex('email', 'bob@example.com', { context: acme }),
      await fields.blindIndex('email', 'ann@example.com', { context: globex }),
      await fields.blindIndex('email', 'ann@example.com'),
      await fields.blindIndex('email2', 'ann@example.com', { context: acme }),
      await fields.blindIndex('email', ['ann@example.com'], { context: acme }),
      await new FieldEncryptor({ envelope, schema: { ssn: 'random' }, indexKey: await FieldEncryptor.createIndexKey(envelope) }).blindIndex(
        'email',
        'ann@example.com',
        { context: acme },
      ),
    ]
    assert.equal(new Set([idx, ...others]).size, others.length + 1)
  })

  it('is not the deterministic ciphertext (a separately derived key)', async () => {
    const det = await fields.deterministicValue('email', 'ann@example.com', { context: acme })
    const idx = await fields.blindIndex('email', 'ann@example.com', { context: acme })
    assert.ok(!det.includes(idx.slice('kmse1b.'.length, 20)))
  })

  it('needs an index key and valid arguments', async () => {
    const noKey = new FieldEncryptor({ envelope, schema: { ssn: 'random' } })
    await rejectsWithCode(noKey.blindIndex('email', 'x'), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(fields.blindIndex('bad..path', 'x'), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(fields.blindIndex('email', undefined), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(fields.blindIndex('email', 'x', { context: { 'kmse:x': 'y' } }), 'ERR_INVALID_ARGUMENT')
  })
})

/** Fails its first `failures` unwraps with a keyring error, then works. */
class FlakyKeyring extends CountingKeyring {
  constructor(
    inner: LocalKeyring,
    public failures: number,
  ) {
    super(inner)
  }
  override async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<DataKey> {
    if (this.failures-- > 0) {
      this.calls.unwrap++
      throw Object.assign(new Error('service unavailable'), { code: 'ERR_KMS' })
    }
    return super.unwrapDataKey(recipient, context, options)
  }
}

describe('the index key', () => {
  it('is a kms-envelope message under the envelope, in text form', () => {
    assert.match(indexKey, /^kmse1k\.[A-Za-z0-9_-]+$/)
  })

  it('must have the expected context', async () => {
    const f = new FieldEncryptor({ envelope, schema, indexKey, indexKeyContext: { purpose: 'other' } })
    await rejectsWithCode(f.encryptRecord(row('x')), 'ERR_CONTEXT_MISMATCH')
  })

  it('refuses text that is not an index key', async () => {
    await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: 'secret' }).blindIndex('a', 1), 'ERR_INVALID_ARGUMENT')
    const notAKey = `kmse1k.${Buffer.from(await envelope.encrypt('short')).toString('base64url')}`
    await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: notAKey }).blindIndex('a', 1), 'ERR_FORMAT')
    const otherKeyring = new FieldEncryptor({ envelope: new Envelope({ keyring: LocalKeyring.generate() }), schema, indexKey })
    await rejectsWithCode(otherKeyring.blindIndex('a', 1), 'ERR_NO_MATCHING_KEY')
  })

  it('is unwrapped once, and a failed unwrap is retried by the next call', async () => {
    const keyring = new FlakyKeyring(local, 1)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema, indexKey })
    await assert.rejects(f.blindIndex('email', 'x'), /service unavailable/)
    const a = await f.blindIndex('email', 'x')
    const b = await f.blindIndex('email', 'x')
    assert.equal(a, b)
    assert.equal(keyring.calls.unwrap, 2)
  })
})
