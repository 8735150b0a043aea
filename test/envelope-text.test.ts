/** Text surfaces of the main entry: decryptString, the base64url helper pair, KeyCache defaults. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, fromBase64url, KeyCache, LocalKeyring, NotTextError, toBase64url } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { pattern, rejectsWithCode } from './helpers.js'

const keyring = new LocalKeyring({ keyId: 'text-test', key: pattern(32, 9) })
const env = new Envelope({ keyring })

describe('decryptString', () => {
  it('returns the exact string for ASCII, astral, BOM-led and empty text', async () => {
    for (const text of ['hello', 'naïve 日本 😀 \u{10FFFF}', '\uFEFFkeeps the BOM', '', 'a\r\nb\tc\u0000d']) {
      assert.equal(await env.decryptString(await env.encrypt(text)), text)
    }
  })

  it('refuses invalid UTF-8 with ERR_NOT_TEXT naming the size, never the bytes', async () => {
    const message = await env.encrypt(Uint8Array.of(0x41, 0xff, 0x42))
    const error = await rejectsWithCode(env.decryptString(message), 'ERR_NOT_TEXT', NotTextError)
    assert.match((error as Error).message, /\(3 bytes\) is not valid UTF-8 text; use decrypt\(\) for binary data/)
    // A lone surrogate encoded as CESU-style bytes is invalid UTF-8 too (no U+FFFD substitution).
    await rejectsWithCode(env.decryptString(await env.encrypt(Uint8Array.of(0xed, 0xa0, 0x80))), 'ERR_NOT_TEXT')
    // The message itself is untouched: decrypt still gives the bytes.
    assert.deepEqual((await env.decrypt(message)).plaintext, Uint8Array.of(0x41, 0xff, 0x42))
  })

  it('applies expectContext and reports tampering as decrypt does', async () => {
    const message = await env.encrypt('ctx', { context: { tenant: 'acme' } })
    assert.equal(await env.decryptString(message, { expectContext: { tenant: 'acme' } }), 'ctx')
    await rejectsWithCode(env.decryptString(message, { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH')
    const altered = message.slice()
    altered[altered.length - 1] = (altered.at(-1) ?? 0) ^ 1
    await rejectsWithCode(env.decryptString(altered), 'ERR_AUTH')
  })
})

describe('toBase64url / fromBase64url', () => {
  it('round-trips a message through unpadded base64url text', async () => {
    const message = await env.encrypt('to text')
    const text = toBase64url(message)
    assert.match(text, /^[A-Za-z0-9_-]+$/)
    assert.equal(text.length, Math.ceil((message.length * 4) / 3))
    assert.deepEqual(fromBase64url(text), message)
    assert.equal(await env.decryptString(fromBase64url(text)), 'to text')
  })

  it('is strict: padding, the standard alphabet, whitespace and non-canonical tails are ERR_FORMAT', () => {
    assert.throws(() => fromBase64url('AAE='), { code: 'ERR_FORMAT', message: /index 3 \(padding is not used\)/ })
    assert.throws(() => fromBase64url('A+/B'), { code: 'ERR_FORMAT', message: /index 1/ })
    assert.throws(() => fromBase64url(' AAE'), { code: 'ERR_FORMAT', message: /index 0/ })
    // "AAF" and "AAE" would both decode to 00 01 without the trailing-bits check.
    assert.deepEqual(fromBase64url('AAE'), Uint8Array.of(0, 1))
    assert.throws(() => fromBase64url('AAF'), { code: 'ERR_FORMAT', message: /not canonical/ })
    assert.throws(() => fromBase64url('A'), { code: 'ERR_FORMAT', message: /length \(1\)/ })
    assert.throws(() => toBase64url('text' as never), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => fromBase64url(Uint8Array.of(1) as never), { code: 'ERR_INVALID_ARGUMENT' })
  })

  it('decrypt of a string says how to decode it', async () => {
    await assert.rejects(env.decrypt('AAE' as never), { code: 'ERR_INVALID_ARGUMENT', message: /fromBase64url\(text\).*dearmor\(text\)/ })
  })
})

describe('KeyCache defaults', () => {
  it('maxEntries defaults to 1000 and holds 1000 distinct entries', async () => {
    const cache = new KeyCache({ maxAge: 60_000 })
    assert.equal(cache.maxEntries, 1000)
    const counting = new CountingKeyring(keyring)
    const cached = new Envelope({ keyring: counting, cache })
    for (let i = 0; i < 1001; i++) await cached.encrypt('x', { context: { n: String(i) } })
    assert.equal(counting.calls.generate, 1001)
    assert.equal(cache.stats().entries, 1000)
    assert.equal(cache.stats().evictions, 1)
    assert.throws(() => new KeyCache({} as never), { code: 'ERR_INVALID_ARGUMENT', message: /maxAge/ })
  })
})
