import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, EnvelopeError, inspect, KeyCache, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { edits } from './mutations.js'

assertExpectedBackend()

const CODES = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])

/** Decrypts a mutated message: the typed error code, or the plaintext when it still opened. */
async function attempt(env: Envelope, message: Uint8Array, where: string): Promise<{ code: string } | { plaintext: Uint8Array }> {
  try {
    return { plaintext: (await env.decrypt(message)).plaintext }
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `${where}: untyped ${String(error)}`)
    assert.ok(CODES.has(error.code), `${where}: unexpected code ${error.code}`)
    return { code: error.code }
  }
}

describe('tampering: every single-byte change and every truncation', () => {
  for (const size of [0, 100]) {
    it(`one recipient, ${size}-byte plaintext, frame size 64: every change gives a typed error`, async () => {
      const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'a', key: pattern(32, 1) }), frameSize: 64 })
      const message = await env.encrypt(pattern(size, 3), { context: { k: 'v' } })
      const codes = new Set<string>()
      for (const { label, message: m } of edits(message)) {
        const r = await attempt(env, m, label)
        assert.ok('code' in r, `${label}: decrypted instead of failing`)
        codes.add(r.code)
      }
      // The walk reached every stage, not only the first check.
      for (const code of ['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])
        assert.ok(codes.has(code), `no ${code}: ${[...codes]}`)
    })
  }

  it('two recipients: outside the recipient entries every change fails; inside them the result is a typed error or the authentic plaintext, never other bytes', async () => {
    // The recipients section is outside the header tag by design (rewrap without the data
    // key, docs/FORMAT.md §9): an edit to an entry the reader does not need cannot change
    // what is decrypted, because the commitment pins the data key.
    const a = new LocalKeyring({ keyId: 'a', key: pattern(32, 1) })
    const b = new LocalKeyring({ keyId: 'b', key: pattern(32, 2) })
    const env = new Envelope({ keyring: [a, b], frameSize: 64 })
    const plaintext = pattern(100, 3)
    const message = await env.encrypt(plaintext)
    const headerLength = new DataView(message.buffer, message.byteOffset).getUint32(5)
    const entriesStart = 9 + headerLength + 16 + 4 + 1 // after the recipients array head
    const entriesEnd = inspect(message).headerBytes
    let opened = 0
    for (const { label, message: m, at } of edits(message)) {
      const r = await attempt(env, m, label)
      if ('plaintext' in r) {
        assert.ok(at !== undefined && at >= entriesStart && at < entriesEnd, `${label}: decrypted although outside the recipient entries`)
        assert.deepEqual(r.plaintext, plaintext, `${label}: released other bytes`)
        opened++
      }
    }
    assert.ok(opened > 0)
  })
})

describe('tampering with a cache: the remembered head (format/head-memo.ts) and cached entry key change no outcome', () => {
  it('every change of a message whose intact head and data key were just used gives exactly the outcome of an Envelope without a cache', async () => {
    const keyring = new LocalKeyring({ keyId: 'a', key: pattern(32, 1) })
    const cached = new Envelope({ keyring, frameSize: 64, cache: new KeyCache({ maxAge: 60_000 }) })
    const plain = new Envelope({ keyring, frameSize: 64 })
    const plaintext = pattern(100, 3)
    // Two messages under one cached data key: their heads differ only in id, commitment and tag.
    const first = await cached.encrypt(plaintext, { context: { k: 'v' } })
    const message = await cached.encrypt(plaintext, { context: { k: 'v' } })
    let hits = 0
    for (const { label, message: m } of edits(message)) {
      // The memo and the cache's last entry key now hold the other message's head.
      assert.deepEqual((await cached.decrypt(first)).plaintext, plaintext)
      const expected = await attempt(plain, m, label)
      assert.deepEqual(await attempt(cached, m, label), expected, label)
      if ('plaintext' in expected) hits++
    }
    assert.equal(hits, 0)
    assert.deepEqual((await cached.decrypt(message)).plaintext, plaintext)
  })
})
