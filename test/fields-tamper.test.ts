/**
 * Every change to an encrypted field or to a record's key field gives a typed error, never a
 * wrong value: each character replaced, each byte flipped (and re-encoded), cut short, extended.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base64urlnopad } from '@scure/base'
import { Envelope, EnvelopeError, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'

assertExpectedBackend()

const envelope = new Envelope({ keyring: new LocalKeyring({ keyId: 'fields-tamper', key: pattern(32, 41) }) })
const indexKey = await FieldEncryptor.createIndexKey(envelope)
const fields = new FieldEncryptor({ envelope, indexKey, schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' } })
const context = { table: 'users', tenant: 'acme' }
const record = { id: 1, ssn: '123-45-6789', email: 'ann@example.com', profile: { address: '1 Main St' } }
const stored = await fields.encryptRecord(record, { context })
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Each variant of a string: every character replaced by another, every decoded byte flipped (two ways), cut and extended. */
function variants(text: string, prefix: string): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    const other = ALPHABET[(ALPHABET.indexOf(c) + 1) % ALPHABET.length] ?? 'A'
    out.push(text.slice(0, i) + other + text.slice(i + 1))
  }
  const bytes = base64urlnopad.decode(text.slice(prefix.length))
  for (let i = 0; i < bytes.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const copy = bytes.slice()
      copy[i]! ^= bit
      out.push(prefix + base64urlnopad.encode(copy))
    }
  }
  out.push(prefix + base64urlnopad.encode(bytes.subarray(0, bytes.length - 1)))
  out.push(prefix + base64urlnopad.encode(bytes.subarray(0, bytes.length - 16)))
  out.push(prefix + base64urlnopad.encode(new Uint8Array([...bytes, 0])))
  out.push(prefix + base64urlnopad.encode(new Uint8Array([...bytes, ...new Uint8Array(16)])))
  out.push(`${text}A`, text.slice(0, -1), '', prefix)
  return [...new Set(out)].filter((v) => v !== text)
}

async function expectTypedError(candidate: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): Promise<string> {
  try {
    await fields.decryptRecord(candidate, { expectContext: context })
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `${what}: expected an EnvelopeError, got ${String(error)}`)
    assert.ok(allowed.has(error.code), `${what}: unexpected ${error.code}: ${error.message}`)
    return error.code
  }
  assert.fail(`${what}: decrypted despite the change`)
}

describe('tampering', () => {
  it('sanity: the untouched record decrypts', async () => {
    assert.deepEqual(await fields.decryptRecord(stored, { expectContext: context }), record)
  })

  for (const [path, prefix] of [
    ['ssn', 'kmse1r.'],
    ['email', 'kmse1d.'],
    ['profile.address', 'kmse1r.'],
  ] as const) {
    it(`every change to field ${path} is ERR_FIELD`, async () => {
      const original = path === 'profile.address' ? (stored.profile as { address: string }).address : (stored[path] as string)
      const all = variants(original, prefix)
      assert.ok(all.length > 2 * original.length, `${all.length} variants`)
      for (const variant of all) {
        const candidate = path === 'profile.address' ? { ...stored, profile: { address: variant } } : { ...stored, [path]: variant }
        await expectTypedError(candidate, new Set(['ERR_FIELD']), `${path} = ${variant}`)
      }
    })
  }

  it('every change to the key field is a typed error', async () => {
    const allowed = new Set([
      'ERR_FIELD',
      'ERR_FORMAT',
      'ERR_TRUNCATED',
      'ERR_UNSUPPORTED',
      'ERR_LIMIT',
      'ERR_AUTH',
      'ERR_UNWRAP',
      'ERR_NO_MATCHING_KEY',
      'ERR_CONTEXT_MISMATCH',
    ])
    const seen = new Map<string, number>()
    const all = variants(stored._kmse as string, 'kmse1h.')
    for (const variant of all) {
      const code = await expectTypedError({ ...stored, _kmse: variant }, allowed, `_kmse = ${variant}`)
      seen.set(code, (seen.get(code) ?? 0) + 1)
    }
    // The changes reach every part: the header (format, auth), recipients (key id, wrapped key), the tags.
    for (const code of ['ERR_FIELD', 'ERR_FORMAT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])
      assert.ok(seen.has(code), `no change gave ${code}: ${[...seen]}`)
  })
})
