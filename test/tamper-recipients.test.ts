/**
 * Tampering with messages for public-key recipients (FORMAT.md §16): every single-byte change
 * and truncation of an x25519 message gives a typed error; edits inside a post-quantum entry
 * (sampled: each costs a decapsulation) give ERR_UNWRAP, and edits inside the entry the reader
 * does not use release the authentic plaintext or a typed error, never other bytes. Both backends.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, EnvelopeError, inspect } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { edits } from './mutations.js'
import { flipWrapped, pqIdentity, recipientsOf, withRecipients, xIdentity } from './recipients-helpers.js'

assertExpectedBackend()

const CODES = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])

async function attempt(env: Envelope, message: Uint8Array, where: string): Promise<{ code: string } | { plaintext: Uint8Array }> {
  try {
    return { plaintext: (await env.decrypt(message)).plaintext }
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `${where}: untyped ${String(error)}`)
    assert.ok(CODES.has(error.code), `${where}: unexpected code ${error.code}`)
    return { code: error.code }
  }
}

describe('tampering with public-key recipient messages', () => {
  it('x25519: every single-byte change (low bit) and every truncation gives a typed error', async () => {
    const env = new Envelope({ keyring: xIdentity, frameSize: 64 })
    const message = await env.encrypt(pattern(100, 3), { context: { k: 'v' } })
    const codes = new Set<string>()
    for (const { label, message: m } of edits(message, [0x01])) {
      const r = await attempt(env, m, label)
      assert.ok('code' in r, `${label}: decrypted instead of failing`)
      codes.add(r.code)
    }
    for (const code of ['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY']) assert.ok(codes.has(code), `no ${code}: ${[...codes]}`)
  })

  it('mlkem768x25519: sampled bit flips across the KEM ciphertext and the sealed key are ERR_UNWRAP', async () => {
    const env = new Envelope({ keyring: pqIdentity, frameSize: 64 })
    const message = await env.encrypt(pattern(100, 4))
    const [entry] = recipientsOf(message)
    for (let at = 0; at < entry!.wrapped.length; at += 29) {
      const r = await attempt(env, withRecipients(message, [flipWrapped(entry!, at)]), `wrapped byte ${at}`)
      assert.ok('code' in r && r.code === 'ERR_UNWRAP', `wrapped byte ${at}: ${JSON.stringify(r)}`)
    }
  })

  it('pq + x25519, read with the x25519 identity: changes inside the unused pq entry release only the authentic plaintext', async () => {
    const plaintext = pattern(50, 5)
    const message = await new Envelope({ keyring: [pqIdentity.recipient, xIdentity.recipient], allowClassicalRecipients: true, frameSize: 64 }).encrypt(
      plaintext,
    )
    const reader = new Envelope({ keyring: xIdentity })
    const info = inspect(message)
    const entriesEnd = info.headerBytes
    let opened = 0
    for (const { label, message: m, at } of edits(message, [0x80])) {
      if (at === undefined || at % 7 !== 0) continue // a sample: the walk is about 1,500 bytes long
      const r = await attempt(reader, m, label)
      if ('plaintext' in r) {
        assert.ok(at < entriesEnd, `${label}: decrypted although outside the recipients`)
        assert.deepEqual(r.plaintext, plaintext, `${label}: released other bytes`)
        opened++
      }
    }
    assert.ok(opened > 100, `only ${opened} edits in the pq entry opened`)
  })
})
