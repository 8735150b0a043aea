/**
 * Keys for writing, keys for reading: `new Envelope({ keyring, decryptOnly })` on every
 * surface (buffers, streams, files, records, rewrap, key status), and the data-key cache
 * never handing a decrypt-only key's data key to encryption. Local keys; the KMS version is
 * test/kms-rotation.test.ts.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { Keyring } from '../src/index.js'
import { bytesSource, Envelope, FieldEncryptor, inspect, KeyCache, LocalKeyring } from '../src/index.js'
import { decryptFile, encryptFile } from '../src/node/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode, tempDir } from './helpers.js'
import { concat, through } from './stream-helpers.js'

assertExpectedBackend()

const k1 = new LocalKeyring({ keyId: 'k-2025', key: pattern(32, 71) })
const k2 = new LocalKeyring({ keyId: 'k-2026', key: pattern(32, 72) })
const context = { tenant: 'acme' }

describe('Envelope decryptOnly', () => {
  it('old messages open, new ones are wrapped for the writing key only, the old key alone cannot open them', async () => {
    const old = await new Envelope({ keyring: k1 }).encrypt('from 2025', { context })
    const rotated = new Envelope({ keyring: k2, decryptOnly: k1 })
    assert.equal(await rotated.decryptString(old, { expectContext: context }), 'from 2025')
    const fresh = await rotated.encrypt('from 2026', { context })
    assert.deepEqual(
      inspect(fresh).recipients.map((r) => r.keyId),
      ['k-2026'],
    )
    await rejectsWithCode(new Envelope({ keyring: k1 }).decrypt(fresh), 'ERR_NO_MATCHING_KEY')
    assert.equal(await new Envelope({ keyring: k2 }).decryptString(fresh), 'from 2026')
  })

  it('decryptOnly keyrings are tried after the writers, in order; none calls generate or wrap', async () => {
    const w = new CountingKeyring(k2)
    const a = new CountingKeyring(new LocalKeyring({ keyId: 'k-2024', key: pattern(32, 70) }))
    const b = new CountingKeyring(k1)
    const env = new Envelope({ keyring: w, decryptOnly: [a, b] })
    const old = await new Envelope({ keyring: k1 }).encrypt('x')
    assert.equal(await env.decryptString(old), 'x')
    assert.deepEqual([w.calls.unwrap, a.calls.unwrap, b.calls.unwrap], [0, 0, 1]) // only b holds k-2025
    await env.encrypt('y')
    assert.deepEqual([w.calls.generate, a.calls.generate + a.calls.wrap, b.calls.generate + b.calls.wrap], [1, 0, 0])
  })

  it('streams, random access and files follow the settings', async (t) => {
    const plaintext = pattern(200_000, 5)
    const oldEnv = new Envelope({ keyring: k1, frameSize: 4096 })
    const rotated = new Envelope({ keyring: k2, decryptOnly: k1, frameSize: 4096 })
    const oldStream = concat((await through(plaintext, 7000, oldEnv.encryptStream())).chunks)
    assert.deepEqual(concat((await through(oldStream, 5000, rotated.decryptStream())).chunks), plaintext)
    const newStream = concat((await through(plaintext, 7000, rotated.encryptStream())).chunks)
    assert.deepEqual(
      inspect(newStream).recipients.map((r) => r.keyId),
      ['k-2026'],
    )
    const reader = await rotated.openRandomAccess(bytesSource(oldStream))
    assert.deepEqual(await reader.read(100_000, 5000), plaintext.subarray(100_000, 105_000))
    reader.close()
    const dir = await tempDir(t)
    await writeFile(join(dir, 'plain'), plaintext)
    await encryptFile(join(dir, 'plain'), join(dir, 'old.kmse'), { envelope: oldEnv })
    await decryptFile(join(dir, 'old.kmse'), join(dir, 'old.out'), { envelope: rotated })
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'old.out'))), plaintext)
    await encryptFile(join(dir, 'plain'), join(dir, 'new.kmse'), { envelope: rotated })
    const newFile = new Uint8Array(await readFile(join(dir, 'new.kmse')))
    assert.deepEqual(
      inspect(newFile).recipients.map((r) => r.keyId),
      ['k-2026'],
    )
    await rejectsWithCode(decryptFile(join(dir, 'new.kmse'), join(dir, 'new.out'), { envelope: oldEnv }), 'ERR_NO_MATCHING_KEY')
  })

  it('rewrap takes the decrypt-only key as its source: away from the retired key', async () => {
    const old = await new Envelope({ keyring: k1 }).encrypt('move me', { context })
    const rotated = new Envelope({ keyring: k2, decryptOnly: k1 })
    const moved = await rotated.rewrap(old, { to: k2 })
    assert.deepEqual(
      inspect(moved).recipients.map((r) => r.keyId),
      ['k-2026'],
    )
    // Only the recipients section changed.
    assert.deepEqual(moved.subarray(inspect(moved).headerBytes), old.subarray(inspect(old).headerBytes))
    await rejectsWithCode(new Envelope({ keyring: k1 }).decrypt(moved), 'ERR_NO_MATCHING_KEY')
    assert.equal(await new Envelope({ keyring: k2 }).decryptString(moved), 'move me')
  })

  it('FieldEncryptor: old records open, new ones are wrapped for the writer only', async () => {
    const schema = { ssn: 'random', email: 'deterministic' } as const
    const oldEnv = new Envelope({ keyring: k1 })
    const indexKey = await FieldEncryptor.createIndexKey(oldEnv, { context: { purpose: 'index' } })
    const options = { schema, indexKey, indexKeyContext: { purpose: 'index' } }
    const before = await new FieldEncryptor({ envelope: oldEnv, ...options }).encryptRecord({ ssn: '1', email: 'a@x' }, { context })
    const rotated = new FieldEncryptor({ envelope: new Envelope({ keyring: k2, decryptOnly: k1 }), ...options })
    assert.deepEqual(await rotated.decryptRecord(before, { expectContext: context }), { ssn: '1', email: 'a@x' })
    const after = await rotated.encryptRecord({ ssn: '2', email: 'b@x' }, { context })
    // The index key is still under k1 (index-key rotation is another operation); the record's head is k2's only.
    const onlyNew = new FieldEncryptor({ envelope: new Envelope({ keyring: k2, decryptOnly: k1 }), ...options })
    assert.deepEqual(await onlyNew.decryptRecord(after), { ssn: '2', email: 'b@x' })
    await rejectsWithCode(new FieldEncryptor({ envelope: oldEnv, ...options }).decryptRecord(after), 'ERR_NO_MATCHING_KEY')
  })

  it('refuses a keyring given as both keyring and decryptOnly, and non-keyrings', () => {
    for (const decryptOnly of [k1, [k1], new LocalKeyring({ keyId: 'k-2025', key: pattern(32, 71) })]) {
      assert.throws(
        () => new Envelope({ keyring: k1, decryptOnly }),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /both as keyring and as decryptOnly/.test(e.message),
      )
    }
    assert.throws(
      () => new Envelope({ keyring: k1, decryptOnly: {} as Keyring }),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /decryptOnly must be a keyring/.test(e.message),
    )
    // An empty list means none (a caller's list of retired keys may be empty).
    assert.ok(new Envelope({ keyring: k1, decryptOnly: [] }))
  })
})

describe('KeyCache with decryptOnly', () => {
  it('a data key unwrapped through a decrypt-only keyring is never used for a new message', async () => {
    const writer = new CountingKeyring(k2)
    const reader = new CountingKeyring(k1)
    const cache = new KeyCache({ maxAge: 600_000 })
    const env = new Envelope({ keyring: writer, decryptOnly: reader, cache })
    const old = await new Envelope({ keyring: k1 }).encrypt('old', { context })
    for (let i = 0; i < 5; i++) assert.equal(await env.decryptString(old, { expectContext: context }), 'old')
    assert.deepEqual(reader.calls, { generate: 0, wrap: 0, unwrap: 1, reEncrypt: 0 }) // cached after the first
    const a = await env.encrypt('new a', { context })
    const b = await env.encrypt('new b', { context })
    // One generate by the writer (then the cache), no wrap by anything, nothing more from the reader.
    assert.deepEqual(writer.calls, { generate: 1, wrap: 0, unwrap: 0, reEncrypt: 0 })
    assert.deepEqual(reader.calls, { generate: 0, wrap: 0, unwrap: 1, reEncrypt: 0 })
    for (const m of [a, b]) {
      assert.deepEqual(
        inspect(m).recipients.map((r) => r.keyId),
        ['k-2026'],
      )
      await rejectsWithCode(new Envelope({ keyring: k1 }).decrypt(m), 'ERR_NO_MATCHING_KEY')
    }
  })

  it('an Envelope writing to K1 and one reading K1 share a cache without sharing encrypt entries', async () => {
    const cache = new KeyCache({ maxAge: 600_000 })
    const w1 = new CountingKeyring(k1)
    const w2 = new CountingKeyring(k2)
    const rotated = new Envelope({ keyring: w2, decryptOnly: w1, cache })
    const legacy = new Envelope({ keyring: w1, cache })
    await legacy.encrypt('x', { context })
    await rotated.encrypt('y', { context })
    await legacy.encrypt('z', { context })
    assert.deepEqual([w1.calls.generate, w2.calls.generate, w1.calls.wrap, w2.calls.wrap], [1, 1, 0, 0])
  })
})

describe('Envelope.keyStatus', () => {
  it('says write, decrypt-only or none per recipient, calling no keyring', async () => {
    const k3 = new LocalKeyring({ keyId: 'k-other', key: pattern(32, 73) })
    const both = await new Envelope({ keyring: [k1, k2, k3] }).encrypt('x')
    const w = new CountingKeyring(k2)
    const r = new CountingKeyring(k1)
    const env = new Envelope({ keyring: w, decryptOnly: r })
    assert.deepEqual(await env.keyStatus(both), [
      { type: 'local', keyId: 'k-2025', status: 'decrypt-only' },
      { type: 'local', keyId: 'k-2026', status: 'write' },
      { type: 'local', keyId: 'k-other', status: 'none' },
    ])
    assert.deepEqual(
      [w.calls, r.calls],
      [
        { generate: 0, wrap: 0, unwrap: 0, reEncrypt: 0 },
        { generate: 0, wrap: 0, unwrap: 0, reEncrypt: 0 },
      ],
    )
    // The head is enough; less is ERR_TRUNCATED.
    assert.equal((await env.keyStatus(both.subarray(0, inspect(both).headerBytes))).length, 3)
    await rejectsWithCode(env.keyStatus(both.subarray(0, inspect(both).headerBytes - 1)), 'ERR_TRUNCATED')
  })
})

describe('read-only Envelope and key file status', () => {
  it('keyring: [] with decryptOnly decrypts and refuses to encrypt; [] alone is refused', async () => {
    const old = await new Envelope({ keyring: k1 }).encrypt('x')
    const reader = new Envelope({ keyring: [], decryptOnly: k1 })
    assert.equal(await reader.decryptString(old), 'x')
    await rejectsWithCode(reader.encrypt('y'), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(FieldEncryptor.createIndexKey(reader, { context: { purpose: 'index' } }), 'ERR_INVALID_ARGUMENT')
    for (const options of [{ keyring: [] }, { keyring: [], decryptOnly: [] }]) {
      assert.throws(
        () => new Envelope(options),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
      )
    }
  })

  it('LocalKeyring status: active by default, written to the key file only when decrypt-only, checked on read', () => {
    const active = LocalKeyring.generate({ keyId: 'a' })
    assert.equal(active.status, 'active')
    const activeFile = JSON.parse(active.toKeyFile()) as Record<string, unknown>
    assert.equal('status' in activeFile, false)
    assert.equal(LocalKeyring.fromKeyFile(active.toKeyFile()).status, 'active')
    const retired = LocalKeyring.generate({ keyId: 'r', status: 'decrypt-only' })
    const retiredFile = JSON.parse(retired.toKeyFile()) as Record<string, unknown>
    assert.equal(retiredFile.status, 'decrypt-only')
    const back = LocalKeyring.fromKeyFile(retired.toKeyFile())
    assert.equal(back.status, 'decrypt-only')
    assert.equal(back.cacheId, retired.cacheId) // same key, whatever its status
    assert.equal(LocalKeyring.fromKeyFile(JSON.stringify({ ...activeFile, status: 'active' })).status, 'active')
    for (const status of ['retired', 'ACTIVE', 1, null]) {
      assert.throws(
        () => LocalKeyring.fromKeyFile(JSON.stringify({ ...activeFile, status })),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /key file "status" must be "active" or "decrypt-only"/.test(e.message),
      )
    }
    assert.throws(
      () => new LocalKeyring({ keyId: 'x', key: pattern(32, 1), status: 'old' as never }),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
    )
  })
})
