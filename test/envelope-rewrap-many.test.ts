/**
 * rewrapMany: many messages from a source that is not files, results in input order with
 * bounded read-ahead, per-message errors, skips of done messages, unwraps counted.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { RewrapManyResult } from '../src/index.js'
import { Envelope, KeyCache, LocalKeyring, rewrapMany } from '../src/index.js'
import { countingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const newKey = new LocalKeyring({ keyId: 'many-new', key: pattern(32, 52) })
const newEnv = new Envelope({ keyring: newKey })

async function collect(results: AsyncIterable<RewrapManyResult>): Promise<RewrapManyResult[]> {
  const out: RewrapManyResult[] = []
  for await (const r of results) out.push(r)
  return out
}

describe('rewrapMany', () => {
  it('yields one result per input in input order, never reading more than `concurrency` ahead', async () => {
    const { keyring: old, calls } = countingKeyring('many-old', 51)
    const oldEnv = new Envelope({ keyring: old })
    const plaintexts = Array.from({ length: 60 }, (_, i) => pattern(i * 5, i + 1))
    const messages = await Promise.all(plaintexts.map((p) => oldEnv.encrypt(p)))
    calls.unwrap = 0
    old.delayMs = 2
    let pulled = 0
    let yielded = 0
    let mostAhead = 0
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const m of messages) {
        pulled++
        mostAhead = Math.max(mostAhead, pulled - yielded)
        yield m
      }
    }
    const results: RewrapManyResult[] = []
    for await (const r of rewrapMany(source(), { envelope: oldEnv, to: newKey, concurrency: 5 })) {
      yielded++
      results.push(r)
    }
    assert.deepEqual(
      results.map((r) => r.index),
      plaintexts.map((_, i) => i),
    )
    assert.ok(mostAhead <= 5, `read ${mostAhead} ahead`)
    assert.equal(calls.unwrap, 60)
    for (const [i, r] of results.entries()) {
      assert.equal(r.error, undefined)
      assert.equal(r.skipped, false)
      assert.equal(r.verified, true)
      assert.deepEqual((await newEnv.decrypt(r.message!)).plaintext, plaintexts[i])
      await rejectsWithCode(oldEnv.decrypt(r.message!), 'ERR_NO_MATCHING_KEY')
    }
  })

  it('reports bad messages in place, skips done ones, and unwraps once per data key with a cache', async () => {
    const { keyring: old, calls } = countingKeyring('many-old', 51)
    const writer = new Envelope({ keyring: old, cache: new KeyCache({ maxEntries: 4, maxAge: 60_000, maxMessagesPerKey: 10 }) })
    const messages: Uint8Array[] = []
    for (let i = 0; i < 30; i++) messages.push(await writer.encrypt(`row ${i}`))
    const done = await newEnv.encrypt('already new')
    const stranger = await new Envelope({ keyring: new LocalKeyring({ keyId: 'stranger', key: pattern(32, 3) }) }).encrypt('x')
    calls.unwrap = 0
    const source = new Envelope({ keyring: old, cache: new KeyCache({ maxEntries: 4, maxAge: 60_000 }) })
    const results = await collect(rewrapMany([...messages, done, new Uint8Array([1, 2, 3]), stranger], { envelope: source, to: newKey }))
    assert.equal(results.length, 33)
    assert.equal(calls.unwrap, 3) // 30 messages, 3 data keys
    assert.deepEqual(
      results.slice(0, 30).map((r) => r.skipped),
      Array(30).fill(false),
    )
    assert.equal(results[30]!.skipped, true)
    assert.equal(results[30]!.message, done)
    assert.equal((results[31]!.error as { code?: string }).code, 'ERR_FORMAT')
    assert.equal((results[32]!.error as { code?: string }).code, 'ERR_NO_MATCHING_KEY')
    assert.equal(new TextDecoder().decode((await newEnv.decrypt(results[29]!.message!)).plaintext), 'row 29')
  })

  it('checks options at the call and stops with ERR_ABORTED when the signal aborts', async () => {
    const oldEnv = new Envelope({ keyring: new LocalKeyring({ keyId: 'many-old', key: pattern(32, 51) }) })
    assert.throws(() => rewrapMany([], { envelope: {} as Envelope, to: newKey }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => rewrapMany([], { envelope: oldEnv, to: newKey, concurrency: 65 }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => rewrapMany(42 as never, { envelope: oldEnv, to: newKey }), { code: 'ERR_INVALID_ARGUMENT' })
    const messages = await Promise.all(Array.from({ length: 20 }, () => oldEnv.encrypt('x')))
    const controller = new AbortController()
    let seen = 0
    await rejectsWithCode(async () => {
      for await (const _ of rewrapMany(messages, { envelope: oldEnv, to: newKey, signal: controller.signal, concurrency: 2 })) {
        if (++seen === 3) controller.abort()
      }
    }, 'ERR_ABORTED')
    assert.ok(seen >= 3 && seen < 20, `saw ${seen}`)
  })
})
