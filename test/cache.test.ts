import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect as utilInspect } from 'node:util'
import { decryptEntryKey, decryptKeyPrefix } from '../src/cache/entry-key.js'
import { canonicalContext } from '../src/format/context.js'
import { Envelope, inspect, KeyCache, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { pattern, rejectsWithCode } from './helpers.js'

const local = () => new LocalKeyring({ keyId: 'cache-test', key: pattern(32, 77) })
const context = { tenant: 'acme' }

describe('KeyCache: encrypt side', () => {
  it('10,000 encrypts in one window make 1 generate; after maxMessagesPerKey exactly one more', async () => {
    const keyring = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 100, maxAge: 60_000, maxMessagesPerKey: 10_000 })
    const env = new Envelope({ keyring, cache })
    const ids = new Set<string>()
    for (let i = 0; i < 10_000; i++) ids.add(inspect(await env.encrypt(pattern(100, i), { context })).messageId)
    assert.equal(keyring.calls.generate, 1)
    assert.equal(ids.size, 10_000, 'every message has its own message id')
    await env.encrypt('one more', { context })
    assert.equal(keyring.calls.generate, 2)
    assert.equal(cache.stats().hits, 9_999)
  })

  it('concurrent encrypts share one in-flight generate', async () => {
    const keyring = new CountingKeyring(local())
    keyring.delayMs = 20
    const env = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
    const messages = await Promise.all(Array.from({ length: 200 }, (_, i) => env.encrypt(`m${i}`, { context })))
    assert.equal(keyring.calls.generate, 1)
    const plain = new Envelope({ keyring: local() })
    assert.equal(new TextDecoder().decode((await plain.decrypt(messages[123]!)).plaintext), 'm123')
  })

  it('after maxAge exactly one more generate', async () => {
    const keyring = new CountingKeyring(local())
    const env = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 10, maxAge: 40 }) })
    for (let i = 0; i < 20; i++) await env.encrypt('x', { context })
    assert.equal(keyring.calls.generate, 1)
    await sleep(60)
    for (let i = 0; i < 20; i++) await env.encrypt('x', { context })
    assert.equal(keyring.calls.generate, 2)
  })

  it('maxBytesPerKey: a new key once the bytes would exceed it; unknown lengths bypass', async () => {
    const keyring = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 10, maxAge: 60_000, maxBytesPerKey: 1000 })
    const env = new Envelope({ keyring, cache })
    for (let i = 0; i < 3; i++) await env.encrypt(pattern(300), { context }) // 900 bytes
    assert.equal(keyring.calls.generate, 1)
    await env.encrypt(pattern(300), { context }) // would be 1200
    assert.equal(keyring.calls.generate, 2)
    await env.encrypt(pattern(2000), { context }) // larger than the limit alone: never cached
    assert.equal(keyring.calls.generate, 3)
    assert.equal(cache.stats().bypassed, 1)
  })

  it('different contexts and different keyrings never share a data key', async () => {
    const a = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 10, maxAge: 60_000 })
    const env = new Envelope({ keyring: a, cache })
    await env.encrypt('x', { context: { tenant: 'a' } })
    await env.encrypt('x', { context: { tenant: 'b' } })
    await env.encrypt('x')
    assert.equal(a.calls.generate, 3)
    const b = new CountingKeyring(LocalKeyring.generate({ keyId: 'other' }))
    await new Envelope({ keyring: b, cache }).encrypt('x', { context: { tenant: 'a' } })
    assert.equal(b.calls.generate, 1)
  })
})

describe('KeyCache: decrypt side', () => {
  it('100 concurrent cold decrypts of messages sharing a wrapped key: 1 unwrap; warm: 0', async () => {
    const keyring = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 100, maxAge: 60_000 })
    const writer = new Envelope({ keyring, cache })
    const messages = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.encrypt(`m${i}`, { context })))
    assert.equal(keyring.calls.generate, 1)
    const readerKeyring = new CountingKeyring(local())
    readerKeyring.delayMs = 20
    const reader = new Envelope({ keyring: readerKeyring, cache: new KeyCache({ maxEntries: 100, maxAge: 60_000 }) })
    const results = await Promise.all(messages.map((m) => reader.decrypt(m, { expectContext: context })))
    assert.equal(readerKeyring.calls.unwrap, 1)
    assert.deepEqual(
      results.map((r) => new TextDecoder().decode(r.plaintext)),
      messages.map((_, i) => `m${i}`),
    )
    await Promise.all(messages.map((m) => reader.decrypt(m)))
    assert.equal(readerKeyring.calls.unwrap, 1)
    assert.equal(results[0]!.keyId, 'cache-test')
  })

  it('a failed call is not cached: its waiters get the error, the next call reaches the keyring and succeeds', async () => {
    const keyring = new CountingKeyring(local())
    const message = await new Envelope({ keyring: local() }).encrypt('x', { context })
    const env = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
    keyring.delayMs = 10
    keyring.failNext = 1
    const joined = await Promise.allSettled([env.decrypt(message), env.decrypt(message), env.decrypt(message)])
    assert.deepEqual(
      joined.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    )
    assert.equal(keyring.calls.unwrap, 1)
    const ok = await env.decrypt(message)
    assert.equal(new TextDecoder().decode(ok.plaintext), 'x')
    assert.equal(keyring.calls.unwrap, 2)
  })

  it('a hit passes exactly the checks a miss passes (commitment, header tag, expectContext, key list)', async () => {
    const env = new Envelope({ keyring: local(), cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }), frameSize: 64 })
    const message = await env.encrypt(pattern(100), { context })
    await env.decrypt(message) // warm
    const headerLength = new DataView(message.buffer, message.byteOffset).getUint32(5)
    const commitmentAt = 9 + headerLength - 32
    const forged = message.slice()
    forged[commitmentAt]! ^= 1
    const tagBroken = message.slice()
    tagBroken[9 + headerLength]! ^= 1
    const frameBroken = message.slice()
    frameBroken[frameBroken.length - 1]! ^= 1
    const cold = new Envelope({ keyring: local(), frameSize: 64 })
    for (const bad of [forged, tagBroken, frameBroken]) {
      await rejectsWithCode(cold.decrypt(bad), 'ERR_AUTH')
      await rejectsWithCode(env.decrypt(bad), 'ERR_AUTH')
    }
    await rejectsWithCode(env.decrypt(message, { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH')
    // A keyring that does not hold the key, sharing the cache store, gets no entry of another keyring.
    const stranger = new Envelope({ keyring: LocalKeyring.generate({ keyId: 'stranger' }), cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
    await rejectsWithCode(stranger.decrypt(message), 'ERR_NO_MATCHING_KEY')
  })

  it('two partitions of one store never share an entry', async () => {
    const keyring = new CountingKeyring(local())
    const store = new KeyCache({ maxEntries: 10, maxAge: 60_000 })
    const a = new Envelope({ keyring, cache: store.withPartition('tenant-a') })
    const b = new Envelope({ keyring, cache: store.withPartition('tenant-b') })
    const m = await a.encrypt('x', { context })
    await b.encrypt('x', { context })
    assert.equal(keyring.calls.generate, 2)
    await a.decrypt(m)
    await b.decrypt(m)
    assert.equal(keyring.calls.unwrap, 2)
    await a.decrypt(m)
    await b.decrypt(m)
    assert.equal(keyring.calls.unwrap, 2)
    assert.equal(store.withPartition('tenant-a').partition, 'tenant-a')
  })

  it('abort: one waiter leaving does not cancel the shared call; all leaving does', async () => {
    const keyring = new CountingKeyring(local())
    keyring.delayMs = 30
    const message = await new Envelope({ keyring: local() }).encrypt('x')
    const env = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
    const leaving = new AbortController()
    const p1 = env.decrypt(message, { signal: leaving.signal })
    const p2 = env.decrypt(message)
    leaving.abort()
    await rejectsWithCode(p1, 'ERR_ABORTED')
    assert.equal(new TextDecoder().decode((await p2).plaintext), 'x')
    const env2 = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
    const all = new AbortController()
    const p3 = env2.decrypt(message, { signal: all.signal })
    await sleep(5)
    all.abort()
    await rejectsWithCode(p3, 'ERR_ABORTED')
    assert.equal(keyring.signals.at(-1)?.aborted, true, 'the keyring call saw the abort')
  })
})

describe('KeyCache: hygiene', () => {
  it('evicted keys are zeroed; expired keys are zeroed within a second', async () => {
    const keyring = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 1, maxAge: 50 })
    const env = new Envelope({ keyring, cache })
    await env.encrypt('x', { context: { n: '1' } })
    const first = keyring.issued[0]!
    assert.equal(first.wiped, false)
    const view = first.bytes
    assert.ok(view.some((b) => b !== 0))
    await env.encrypt('x', { context: { n: '2' } }) // evicts the first entry
    assert.equal(first.wiped, true)
    assert.ok(
      view.every((b) => b === 0),
      'the evicted key buffer is all zeros',
    )
    assert.equal(cache.stats().evictions, 1)
    const second = keyring.issued[1]!
    const secondView = second.bytes
    await sleep(200)
    assert.ok(
      secondView.every((b) => b === 0),
      'the expired key buffer is all zeros',
    )
    assert.equal(cache.stats().expirations, 1)
    assert.equal(cache.stats().entries, 0)
  })

  it('clear() zeroes everything; the cache never prints keys', async () => {
    const keyring = new CountingKeyring(local())
    const cache = new KeyCache({ maxEntries: 10, maxAge: 60_000 })
    const env = new Envelope({ keyring, cache })
    await env.encrypt('x', { context })
    const hex = Buffer.from(keyring.issued[0]!.bytes).toString('hex')
    for (const text of [utilInspect(cache, { depth: 10, showHidden: true }), JSON.stringify(cache), utilInspect(env, { depth: 10, showHidden: true })]) {
      assert.ok(!text.includes(hex), text)
    }
    cache.clear()
    assert.equal(keyring.issued[0]!.wiped, true)
    assert.equal(cache.stats().entries, 0)
  })

  it('rejects bad options with a named error', () => {
    assert.throws(() => new KeyCache({ maxEntries: 0, maxAge: 1000 }), { code: 'ERR_INVALID_ARGUMENT', message: /maxEntries/ })
    assert.throws(() => new KeyCache({ maxEntries: 10 } as never), { code: 'ERR_INVALID_ARGUMENT', message: /maxAge/ })
    assert.throws(() => new KeyCache({ maxEntries: 10, maxAge: 1000, maxMessagesPerKey: 2 ** 33 }), { message: /maxMessagesPerKey/ })
    assert.throws(() => new Envelope({ keyring: local(), cache: {} as never }), { message: /KeyCache/ })
  })
})

describe('KeyCache: decrypt entry keys stay small whatever the message holds', () => {
  const prefix = decryptKeyPrefix('partition', ['local:a'])
  const recipient = { type: 'local', keyId: 'a', wrapped: pattern(60, 1) }

  it('a small head is keyed by its fields, and a different field is a different key', () => {
    const context = canonicalContext({ tenant: 'acme' }, 'context', true)
    const key = decryptEntryKey(prefix, 1, context, [recipient])
    assert.ok(key.startsWith('r'), key)
    assert.notEqual(decryptEntryKey(prefix, 1, canonicalContext({ tenant: 'acmf' }, 'context', true), [recipient]), key)
    assert.notEqual(decryptEntryKey(prefix, 1, context, [{ ...recipient, wrapped: pattern(60, 2) }]), key)
  })

  it("a hostile writer's 60 KiB context or 16 large wrapped keys give a 64-character digest, not kilobytes of key per entry", () => {
    const big = canonicalContext(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(300)])), 'context', true)
    const byContext = decryptEntryKey(prefix, 1, big, [recipient])
    assert.match(byContext, /^[0-9a-f]{64}$/)
    const many = Array.from({ length: 16 }, (_, i) => ({ type: 'local', keyId: `k${i}`, wrapped: pattern(600, i) }))
    assert.match(decryptEntryKey(prefix, 1, canonicalContext({ tenant: 'acme' }, 'context', true), many), /^[0-9a-f]{64}$/)
  })
})
