/** FieldEncryptor on records: schema checks, missing fields, pass-through, swaps, key-service call counts, batches, close. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect as utilInspect } from 'node:util'
import type { CanonicalContext } from '../src/format/context.js'
import type { GeneratedDataKey, KeyringCallOptions } from '../src/index.js'
import { ContextMismatchError, Envelope, FieldEncryptor, FieldError, LocalKeyring, NoMatchingKeyError } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const local = new LocalKeyring({ keyId: 'fields-record', key: pattern(32, 31) })
const envelope = new Envelope({ keyring: local })
const indexKey = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'index' } })
const schema = { ssn: 'random', notes: 'random', email: 'deterministic', email2: 'deterministic', 'profile.address': 'random' } as const
const fields = new FieldEncryptor({ envelope, schema, indexKey, indexKeyContext: { purpose: 'index' } })
const ctx = { table: 'users', tenant: 'acme' }

function user(n: number): Record<string, unknown> {
  return {
    id: n,
    ssn: `123-45-${String(n).padStart(4, '0')}`,
    notes: `notes of ${n}`,
    email: `user${n}@example.com`,
    email2: `alt${n}@example.com`,
    profile: { address: { street: `${n} Main St`, zip: '12345' }, name: `User ${n}` },
    tags: ['a', 'b'],
  }
}

function throwsCode(fn: () => unknown, code: string, words?: string): void {
  assert.throws(fn, (error: Error & { code?: string }) => {
    assert.equal(error.code, code, error.message)
    if (words !== undefined) assert.ok(error.message.includes(words), error.message)
    return true
  })
}

describe('schema validation at construction', () => {
  const make = (options: Record<string, unknown>): FieldEncryptor => new FieldEncryptor({ envelope, ...options } as never)
  it('refuses malformed schemas and paths with ERR_INVALID_ARGUMENT naming the problem', () => {
    throwsCode(() => make({ schema: null }), 'ERR_INVALID_ARGUMENT', 'plain object')
    throwsCode(() => make({ schema: [] }), 'ERR_INVALID_ARGUMENT', 'plain object')
    throwsCode(() => make({ schema: {} }), 'ERR_INVALID_ARGUMENT', 'no fields')
    throwsCode(() => make({ schema: { ssn: 'secret' } }), 'ERR_INVALID_ARGUMENT', "'random' or 'deterministic'")
    throwsCode(() => make({ schema: { 'a..b': 'random' } }), 'ERR_INVALID_ARGUMENT', 'empty segment')
    throwsCode(() => make({ schema: { '.a': 'random' } }), 'ERR_INVALID_ARGUMENT', 'empty segment')
    throwsCode(() => make({ schema: { 'a.': 'random' } }), 'ERR_INVALID_ARGUMENT', 'empty segment')
    throwsCode(() => make({ schema: { 'a.__proto__': 'random' } }), 'ERR_INVALID_ARGUMENT', 'reserved key')
    throwsCode(() => make({ schema: { constructor: 'random' } }), 'ERR_INVALID_ARGUMENT', 'reserved key')
    throwsCode(() => make({ schema: { 'items[0]': 'random' } }), 'ERR_INVALID_ARGUMENT', 'arrays')
    throwsCode(() => make({ schema: { profile: 'random', 'profile.address': 'random' } }), 'ERR_INVALID_ARGUMENT', 'overlap')
    throwsCode(() => make({ schema: { _kmse: 'random' } }), 'ERR_INVALID_ARGUMENT', 'keyField')
    throwsCode(() => make({ schema: { 'meta.x': 'random' }, keyField: 'meta' }), 'ERR_INVALID_ARGUMENT', 'keyField')
    throwsCode(() => make({ schema: { a: 'random' }, keyField: 'a.b' }), 'ERR_INVALID_ARGUMENT', 'keyField')
    throwsCode(() => make({ schema: { ['x'.repeat(513)]: 'random' } }), 'ERR_INVALID_ARGUMENT', 'longer than')
    throwsCode(() => make({ schema: { email: 'deterministic' } }), 'ERR_INVALID_ARGUMENT', 'index key')
    throwsCode(() => make({ schema: { a: 'random' }, concurrency: 0 }), 'ERR_INVALID_ARGUMENT', 'concurrency')
    throwsCode(() => make({ schema: { a: 'random' }, indexKey: 5 }), 'ERR_INVALID_ARGUMENT', 'indexKey')
    throwsCode(() => new FieldEncryptor({ envelope: {} as Envelope, schema: { a: 'random' } }), 'ERR_INVALID_ARGUMENT', 'Envelope')
    throwsCode(() => make({ schema: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, 'random'])) }), 'ERR_LIMIT')
  })

  it('reports the schema in canonical path order', () => {
    assert.deepEqual(Object.keys(fields.schema), ['ssn', 'email', 'notes', 'email2', 'profile.address'])
    assert.equal(fields.keyField, '_kmse')
  })
})

describe('encryptRecord', () => {
  it('encrypts schema fields into prefixed strings, passes the rest through, and does not modify the input', async () => {
    const input = user(1)
    const snapshot = structuredClone(input)
    const stored = await fields.encryptRecord(input, { context: ctx })
    assert.deepEqual(input, snapshot)
    assert.match(stored.ssn as string, /^kmse1r\.[A-Za-z0-9_-]+$/)
    assert.match(stored.email as string, /^kmse1d\.[A-Za-z0-9_-]+$/)
    assert.match(stored._kmse as string, /^kmse1h\.[A-Za-z0-9_-]+$/)
    const profile = stored.profile as Record<string, unknown>
    assert.match(profile.address as string, /^kmse1r\./)
    assert.equal(profile.name, 'User 1')
    assert.notEqual(profile, input.profile, 'objects on the way to a field are copied')
    assert.equal(stored.tags, input.tags, 'everything else is shared, not cloned')
    assert.equal(stored.id, 1)
    assert.deepEqual(await fields.decryptRecord(stored, { expectContext: ctx }), input)
  })

  it('encrypts null like any other value', async () => {
    const stored = await fields.encryptRecord({ ...user(2), notes: null }, { context: ctx })
    assert.match(stored.notes as string, /^kmse1r\./)
    assert.equal((await fields.decryptRecord(stored)).notes, null)
  })

  it('refuses non-object records, missing fields and already encrypted records', async () => {
    for (const bad of [null, [], 'text', new Map(), new (class Row {})()]) {
      await rejectsWithCode(fields.encryptRecord(bad as object), 'ERR_INVALID_ARGUMENT')
    }
    const { ssn: _ssn, ...noSsn } = user(3)
    const missing = await rejectsWithCode(fields.encryptRecord(noSsn), 'ERR_INVALID_ARGUMENT')
    assert.match(missing.message, /missing field "ssn".*use null/)
    await rejectsWithCode(fields.encryptRecord({ ...user(3), ssn: undefined }), 'ERR_INVALID_ARGUMENT')
    const noProfile = await rejectsWithCode(fields.encryptRecord({ ...user(3), profile: undefined }), 'ERR_INVALID_ARGUMENT')
    assert.match(noProfile.message, /"profile.address".*no "profile"/)
    const array = await rejectsWithCode(fields.encryptRecord({ ...user(3), profile: [{ address: 'x' }] }), 'ERR_INVALID_ARGUMENT')
    assert.match(array.message, /"profile" is an array; paths cannot point inside arrays/)
    const text = await rejectsWithCode(fields.encryptRecord({ ...user(3), profile: 'x' }), 'ERR_INVALID_ARGUMENT')
    assert.match(text.message, /"profile" is a string, not an object/)
    const twice = await rejectsWithCode(fields.encryptRecord(await fields.encryptRecord(user(3))), 'ERR_INVALID_ARGUMENT')
    assert.match(twice.message, /already has a "_kmse" field/)
  })

  it('inherited properties are not fields', async () => {
    const proto = { ssn: 'inherited' }
    const record = Object.assign(Object.create(proto) as object, user(4))
    await rejectsWithCode(fields.encryptRecord(record), 'ERR_INVALID_ARGUMENT') // not a plain object
  })

  it('uses a custom keyField', async () => {
    const f = new FieldEncryptor({ envelope, schema: { secret: 'random' }, keyField: 'enc_meta' })
    const stored = await f.encryptRecord({ secret: 's', _kmse: 'not ours' })
    assert.match(stored.enc_meta as string, /^kmse1h\./)
    assert.equal(stored._kmse, 'not ours')
    assert.deepEqual(await f.decryptRecord(stored), { secret: 's', _kmse: 'not ours' })
  })
})

describe('decryptRecord', () => {
  it('missing fields are ERR_FIELD unless partial, which leaves them out', async () => {
    const stored = await fields.encryptRecord(user(5), { context: ctx })
    const { notes: _notes, email2: _email2, ...projected } = stored
    const missing = await rejectsWithCode(fields.decryptRecord(projected), 'ERR_FIELD', FieldError)
    assert.equal((missing as FieldError).path, 'notes')
    const back = await fields.decryptRecord(projected, { partial: true })
    const { notes: _n, email2: _e, ...expected } = user(5)
    assert.deepEqual(back, expected)
  })

  it('a missing or malformed key field is ERR_FIELD naming it', async () => {
    const stored = await fields.encryptRecord(user(6))
    const { _kmse: _k, ...noKey } = stored
    assert.equal(((await rejectsWithCode(fields.decryptRecord(noKey), 'ERR_FIELD')) as FieldError).path, '_kmse')
    await rejectsWithCode(fields.decryptRecord({ ...stored, _kmse: 42 }), 'ERR_FIELD')
    await rejectsWithCode(fields.decryptRecord({ ...stored, _kmse: 'kmse1h.!!' }), 'ERR_FIELD')
    await rejectsWithCode(fields.decryptRecord({ ...stored, _kmse: stored.ssn }), 'ERR_FIELD')
    await rejectsWithCode(fields.decryptRecord({ ...stored, _kmse: (stored._kmse as string).slice(0, 7 + 32) }), 'ERR_TRUNCATED')
    await rejectsWithCode(fields.decryptRecord({ ...stored, _kmse: `kmse1h.${'A'.repeat(600_000)}` }), 'ERR_LIMIT')
  })

  it('plaintext or wrongly typed values in encrypted fields are ERR_FIELD', async () => {
    const stored = await fields.encryptRecord(user(7))
    for (const value of ['123-45-6789', null, 5, { x: 1 }, 'kmse1r.', 'kmse1r.AA']) {
      const error = await rejectsWithCode(fields.decryptRecord({ ...stored, ssn: value }), 'ERR_FIELD', FieldError)
      assert.equal((error as FieldError).path, 'ssn')
    }
    const modes = await rejectsWithCode(fields.decryptRecord({ ...stored, ssn: stored.email }), 'ERR_FIELD')
    assert.match(modes.message, /deterministic value but the schema says random/)
  })

  it('checks expectContext before calling any key service', async () => {
    const keyring = new CountingKeyring(local)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema: { ssn: 'random' } })
    const stored = await f.encryptRecord({ ssn: 'x' }, { context: ctx })
    keyring.reset()
    await rejectsWithCode(f.decryptRecord(stored, { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH', ContextMismatchError)
    assert.equal(keyring.calls.unwrap, 0)
  })

  it('a keyring without the record key: ERR_NO_MATCHING_KEY', async () => {
    const stored = await fields.encryptRecord(user(8))
    const other = new FieldEncryptor({ envelope: new Envelope({ keyring: LocalKeyring.generate() }), schema: { ssn: 'random' } })
    await rejectsWithCode(other.decryptRecord(stored, { partial: true }), 'ERR_NO_MATCHING_KEY', NoMatchingKeyError)
  })

  it('reads a schema subset of what was written (fields it does not know pass through encrypted)', async () => {
    const stored = await fields.encryptRecord(user(9), { context: ctx })
    const subset = new FieldEncryptor({ envelope, schema: { ssn: 'random', email: 'deterministic' }, indexKey })
    const back = await subset.decryptRecord(stored)
    assert.equal(back.ssn, user(9).ssn)
    assert.equal(back.email, user(9).email)
    assert.equal(back.notes, stored.notes)
  })
})

describe('values moved between fields, records or contexts fail with ERR_FIELD', () => {
  async function pathOf(stored: Record<string, unknown>, expectContext?: Record<string, string>): Promise<string> {
    const error = await rejectsWithCode(fields.decryptRecord(stored, expectContext === undefined ? {} : { expectContext }), 'ERR_FIELD', FieldError)
    return (error as FieldError).path
  }

  it('between two random fields of one record', async () => {
    const s = await fields.encryptRecord(user(10), { context: ctx })
    assert.equal(await pathOf({ ...s, ssn: s.notes, notes: s.ssn }), 'ssn')
  })

  it('between two deterministic fields of one record', async () => {
    const s = await fields.encryptRecord(user(11), { context: ctx })
    assert.equal(await pathOf({ ...s, email: s.email2, email2: s.email }), 'email')
  })

  it('into a nested field', async () => {
    const s = await fields.encryptRecord(user(12), { context: ctx })
    assert.equal(await pathOf({ ...s, profile: { ...(s.profile as object), address: s.ssn } }), 'profile.address')
  })

  it('between records, random and deterministic fields', async () => {
    const a = await fields.encryptRecord(user(13), { context: ctx })
    const b = await fields.encryptRecord(user(14), { context: ctx })
    assert.equal(await pathOf({ ...a, ssn: b.ssn }), 'ssn')
    assert.equal(await pathOf({ ...a, email: b.email }), 'email')
    assert.equal(await pathOf({ ...a, _kmse: b._kmse }), 'ssn')
  })

  it('a deterministic value equal in two records is the same string, so moving it changes nothing', async () => {
    const a = await fields.encryptRecord({ ...user(15), email: 'same@example.com' }, { context: ctx })
    const b = await fields.encryptRecord({ ...user(16), email: 'same@example.com' }, { context: ctx })
    assert.equal(a.email, b.email)
    assert.equal((await fields.decryptRecord({ ...a, email: b.email })).email, 'same@example.com')
  })

  it('between contexts (tenants)', async () => {
    const a = await fields.encryptRecord({ ...user(17), email: 'same@example.com' }, { context: { ...ctx, tenant: 'one' } })
    const b = await fields.encryptRecord({ ...user(18), email: 'same@example.com' }, { context: { ...ctx, tenant: 'two' } })
    assert.notEqual(a.email, b.email)
    assert.equal(await pathOf({ ...a, ssn: b.ssn }), 'ssn')
    assert.equal(await pathOf({ ...a, email: b.email }), 'email')
    // The whole record moved to another tenant's table: its context says where it belongs.
    await rejectsWithCode(fields.decryptRecord(a, { expectContext: { tenant: 'two' } }), 'ERR_CONTEXT_MISMATCH')
  })
})

describe('key-service calls', () => {
  it('one generate per record on encrypt, one unwrap per record on decrypt, the index key unwrapped once', async () => {
    const keyring = new CountingKeyring(local)
    const env = new Envelope({ keyring })
    const f = new FieldEncryptor({ envelope: env, schema, indexKey, indexKeyContext: { purpose: 'index' } })
    const stored = []
    for (let i = 0; i < 5; i++) stored.push(await f.encryptRecord(user(i), { context: ctx }))
    assert.deepEqual(keyring.calls, { generate: 5, wrap: 0, unwrap: 1, reEncrypt: 0 })
    for (const s of stored) await f.decryptRecord(s)
    assert.deepEqual(keyring.calls, { generate: 5, wrap: 0, unwrap: 6, reEncrypt: 0 })
  })

  it('batches share the one index-key unwrap even when records start concurrently', async () => {
    const keyring = new CountingKeyring(local)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema, indexKey, concurrency: 16 })
    const stored = await f.encryptRecords(
      Array.from({ length: 40 }, (_, i) => user(i)),
      { context: ctx },
    )
    assert.deepEqual(keyring.calls, { generate: 40, wrap: 0, unwrap: 1, reEncrypt: 0 })
    await f.decryptRecords(stored)
    assert.deepEqual(keyring.calls, { generate: 40, wrap: 0, unwrap: 41, reEncrypt: 0 })
  })

  it('with two keyrings: one generate and one wrap per record', async () => {
    const first = new CountingKeyring(local)
    const second = new CountingKeyring(LocalKeyring.generate())
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring: [first, second] }), schema: { ssn: 'random' } })
    const stored = await f.encryptRecords([{ ssn: 'a' }, { ssn: 'b' }, { ssn: 'c' }])
    assert.deepEqual(first.calls, { generate: 3, wrap: 0, unwrap: 0, reEncrypt: 0 })
    assert.deepEqual(second.calls, { generate: 0, wrap: 3, unwrap: 0, reEncrypt: 0 })
    const onlySecond = new FieldEncryptor({ envelope: new Envelope({ keyring: second }), schema: { ssn: 'random' } })
    assert.deepEqual(await onlySecond.decryptRecords(stored), [{ ssn: 'a' }, { ssn: 'b' }, { ssn: 'c' }])
  })
})

/** A keyring whose calls take a few milliseconds, in a scrambled order, and that records how many overlap. */
class SlowKeyring extends CountingKeyring {
  inFlight = 0
  maxInFlight = 0
  #n = 0
  override async generateDataKey(context: CanonicalContext, options: KeyringCallOptions): Promise<GeneratedDataKey> {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    await new Promise((resolve) => setTimeout(resolve, (this.#n++ * 7) % 5))
    try {
      return await super.generateDataKey(context, options)
    } finally {
      this.inFlight--
    }
  }
}

describe('encryptRecords / decryptRecords', () => {
  it('keep input order with bounded concurrency', async () => {
    const keyring = new SlowKeyring(local)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema: { ssn: 'random' } })
    const records = Array.from({ length: 30 }, (_, i) => ({ i, ssn: `ssn-${i}` }))
    const stored = await f.encryptRecords(records, { concurrency: 4 })
    assert.ok(keyring.maxInFlight <= 4 && keyring.maxInFlight > 1, `max in flight ${keyring.maxInFlight}`)
    assert.deepEqual(
      stored.map((s) => s.i),
      records.map((r) => r.i),
    )
    assert.deepEqual(await f.decryptRecords(stored, { concurrency: 3 }), records)
  })

  it('default concurrency is 8', async () => {
    const keyring = new SlowKeyring(local)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema: { ssn: 'random' } })
    await f.encryptRecords(Array.from({ length: 30 }, () => ({ ssn: 'x' })))
    assert.equal(keyring.maxInFlight, 8)
  })

  it('gives each record its own context through a function', async () => {
    const records = [user(1), user(2), user(3)]
    const stored = await fields.encryptRecords(records, { context: (r) => ({ ...ctx, id: String((r as { id: number }).id) }) })
    assert.deepEqual(await fields.decryptRecords(stored, { expectContext: (_r, i) => ({ id: String(i + 1) }) }), records)
    await rejectsWithCode(fields.decryptRecords(stored, { expectContext: { id: '1' } }), 'ERR_CONTEXT_MISMATCH')
  })

  it('errors name the record index and keep their code; no new records start after a failure', async () => {
    const keyring = new CountingKeyring(local)
    const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema: { ssn: 'random' } })
    const records: object[] = Array.from({ length: 100 }, (_, i) => ({ ssn: `s${i}` }))
    records[3] = { other: 1 }
    const error = await rejectsWithCode(f.encryptRecords(records, { concurrency: 2 }), 'ERR_INVALID_ARGUMENT')
    assert.equal((error as Error & { recordIndex?: number }).recordIndex, 3)
    assert.match(error.message, /^record 3: record is missing field "ssn"/)
    assert.ok(keyring.calls.generate < 10, `stopped early, ${keyring.calls.generate} generated`)

    const stored = await f.encryptRecords(Array.from({ length: 10 }, (_, i) => ({ ssn: `s${i}` })))
    stored[6] = { ...stored[6], ssn: stored[5]!.ssn }
    stored[8] = { ...stored[8], ssn: 'plain' }
    const field = await rejectsWithCode(f.decryptRecords(stored), 'ERR_FIELD', FieldError)
    assert.equal((field as FieldError & { recordIndex?: number }).recordIndex, 6)
    assert.equal((field as FieldError).path, 'ssn')
  })

  it('stops on abort with ERR_ABORTED', async () => {
    const controller = new AbortController()
    controller.abort()
    await rejectsWithCode(fields.encryptRecords([user(1)], { signal: controller.signal }), 'ERR_ABORTED')
  })

  it('refuses bad arguments', async () => {
    assert.throws(() => fields.encryptRecords('x' as never), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => fields.encryptRecords([], { concurrency: 1000 }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => fields.decryptRecords([], { expectContext: { a: 1 } as never }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.deepEqual(await fields.encryptRecords([]), [])
  })
})

describe('close and secret hygiene', () => {
  it('close() wipes the index key and later calls fail', async () => {
    const f = new FieldEncryptor({ envelope, schema, indexKey, indexKeyContext: { purpose: 'index' } })
    const stored = await f.encryptRecord(user(1))
    f.close()
    f.close()
    await rejectsWithCode(f.encryptRecord(user(1)), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(f.decryptRecord(stored), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(f.blindIndex('email', 'x'), 'ERR_INVALID_ARGUMENT')
  })

  it('a record in flight when close() is called fails instead of using a wiped key', async () => {
    const f = new FieldEncryptor({ envelope, schema, indexKey })
    const pending = f.encryptRecord(user(1))
    f.close()
    await rejectsWithCode(pending, 'ERR_INVALID_ARGUMENT')
  })

  it('prints and serialises without key material', async () => {
    await fields.blindIndex('email', 'x')
    const printed = utilInspect(fields, { depth: 10, showHidden: true }) + JSON.stringify(fields)
    assert.match(printed, /indexKey: <redacted>/)
    assert.ok(!printed.includes('kmse1k'), 'not even the wrapped index key')
  })
})
