/**
 * Tampering with a message whose recipient is an aws-kms-hierarchy entry (FORMAT.md §19): every
 * single-byte change and every truncation gives a typed error, never plaintext. Changed bytes of
 * the entry's version field name a version the store does not hold: that is the store's answer
 * (ERR_KEYRING from this in-memory store), and only there. Runs on both backends.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, EnvelopeError, HierarchicalKeyring, inspect } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { MemoryBranchKeyStore } from './memory-branch-key-store.js'
import { edits } from './mutations.js'

assertExpectedBackend()

const CODES = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])

describe('tampering with an aws-kms-hierarchy message', () => {
  it('every single-byte change and truncation: a typed error, the store asked only for versions the entry names', async () => {
    const store = new MemoryBranchKeyStore()
    store.createKey('tenant-acme')
    const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: (c) => `tenant-${c.tenant}`, cache: { maxAge: 60_000 } })
    const env = new Envelope({ keyring, frameSize: 64 })
    const message = await env.encrypt(pattern(100, 3), { context: { tenant: 'acme' } })
    const entryEnd = inspect(message).headerBytes // the 92-byte entry is the last thing before the body
    const versionStart = entryEnd - 92 + 28
    const codes = new Set<string>()
    let n = 0
    for (const { label, message: m, at } of edits(message)) {
      n++
      try {
        await env.decrypt(m)
        assert.fail(`${label}: decrypted instead of failing`)
      } catch (error) {
        assert.ok(error instanceof EnvelopeError, `${label}: untyped ${String(error)}`)
        const inVersion = at !== undefined && at >= versionStart && at < versionStart + 16
        assert.ok(CODES.has(error.code) || (inVersion && error.code === 'ERR_KEYRING'), `${label}: unexpected ${error.code}: ${error.message}`)
        codes.add(error.code)
      }
    }
    for (const code of ['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_KEYRING']) assert.ok(codes.has(code), `no ${code}: ${[...codes]}`)
    assert.ok(n > 300)
  })
})
