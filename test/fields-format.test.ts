/**
 * The stored form of field encryption, re-derived independently with node:crypto and
 * hand-written CBOR, so the formulas in src/fields/{keys,record}.ts are the ones in effect.
 */
import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { aessiv } from '@noble/ciphers/aes.js'
import { openIndexKey } from '../src/fields/deterministic.js'
import { parseHead } from '../src/format/message.js'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'

assertExpectedBackend()

const local = new LocalKeyring({ keyId: 'fields-format', key: pattern(32, 61) })
const envelope = new Envelope({ keyring: local })
const indexKeyText = await FieldEncryptor.createIndexKey(envelope)
const fields = new FieldEncryptor({ envelope, indexKey: indexKeyText, schema: { ssn: 'random', n: 'random', email: 'deterministic' } })
const context = { table: 'users', tenant: 'acme' }
const stored = await fields.encryptRecord({ ssn: '123-45-6789', n: 5, email: 'ann@example.com' }, { context })

const b64 = (text: string, prefix: string): Buffer => {
  assert.ok(text.startsWith(prefix))
  return Buffer.from(text.slice(prefix.length), 'base64url')
}
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')
const hkdf = (ikm: Uint8Array, info: Uint8Array, length: number): Buffer => Buffer.from(hkdfSync('sha512', ikm, new Uint8Array(0), info, length))
const gcmTag = (key: Uint8Array, aad: Uint8Array): Buffer => {
  const c = createCipheriv('aes-256-gcm', key, Buffer.alloc(12))
  c.setAAD(aad)
  c.final()
  return c.getAuthTag()
}
/** CBOR text string with a short head (every string here is under 24 bytes). */
const text = (s: string): Buffer => {
  const b = utf8(s)
  assert.ok(b.length < 24)
  return Buffer.concat([Buffer.of(0x60 | b.length), b])
}
/** CBOR [path, {table: "users", tenant: "acme"}], keys in canonical order. */
const scopeCbor = (path: string): Buffer =>
  Buffer.concat([Buffer.of(0x82), text(path), Buffer.of(0xa2), text('table'), text('users'), text('tenant'), text('acme')])

async function contentKey(): Promise<{ contentKey: Buffer; tags: Buffer; listTag: Buffer }> {
  const bytes = b64(stored._kmse as string, 'kmse1h.')
  const parsed = parseHead(bytes)
  assert.ok('head' in parsed)
  const { head } = parsed
  assert.equal(head.header.frameSize, 64, 'record heads carry the smallest frame size')
  const dataKey = await local.unwrapDataKey(head.recipients[0]!, head.header.context, {})
  const info = Buffer.concat([utf8('KMSE v1 key schedule'), Buffer.of(0, 1)])
  const okm = Buffer.from(hkdfSync('sha512', dataKey.bytes, head.header.messageId, info, 64))
  const rest = bytes.subarray(head.bodyOffset)
  return { contentKey: okm.subarray(0, 32), tags: rest.subarray(0, rest.length - 16), listTag: rest.subarray(rest.length - 16) }
}

describe('stored form', () => {
  it('random field: AES-256-GCM under HKDF(content key, "KMSE v1 field" 0x00 path), zero nonce, AAD "kmse1r." path; value CBOR', async () => {
    const { contentKey: ck } = await contentKey()
    for (const [path, cbor] of [
      ['ssn', text('123-45-6789')],
      ['n', Buffer.from('fb4014000000000000', 'hex')], // numbers are always float64
    ] as const) {
      const sealed = b64(stored[path] as string, 'kmse1r.')
      const key = hkdf(ck, Buffer.concat([utf8('KMSE v1 field\0'), utf8(path)]), 32)
      const d = createDecipheriv('aes-256-gcm', key, Buffer.alloc(12))
      d.setAAD(utf8(`kmse1r.${path}`))
      d.setAuthTag(sealed.subarray(sealed.length - 16))
      const plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()])
      assert.deepEqual(plain, cbor)
    }
  })

  it('deterministic field: AES-256-SIV under HKDF(index key, "KMSE v1 deterministic" 0x00 SHA-256(CBOR [path, context]), 64); binding and list tags', async () => {
    const indexKey = (await openIndexKey(envelope, indexKeyText, undefined)).bytes // env.decrypt refuses index keys (§13.2)
    const scope = createHash('sha256').update(scopeCbor('email')).digest()
    const sivKey = hkdf(indexKey, Buffer.concat([utf8('KMSE v1 deterministic\0'), scope]), 64)
    const sealed = b64(stored.email as string, 'kmse1d.')
    const aad = utf8('kmse1d.email')
    assert.deepEqual(Buffer.from(aessiv(sivKey, aad).decrypt(sealed)), text('ann@example.com'))
    assert.deepEqual(Buffer.from(aessiv(sivKey, aad).encrypt(text('ann@example.com'))), sealed, 'deterministic')

    const { contentKey: ck, tags, listTag } = await contentKey()
    const fieldKey = hkdf(ck, Buffer.concat([utf8('KMSE v1 field\0'), utf8('email')]), 32)
    assert.deepEqual(tags, gcmTag(fieldKey, Buffer.concat([aad, sealed])), 'one binding tag: the one deterministic field')
    assert.deepEqual(listTag, gcmTag(hkdf(ck, utf8('KMSE v1 record tags'), 32), tags))
  })

  it('blind index: HMAC-SHA-256 under HKDF(index key, "KMSE v1 blind index" 0x00 scope, 32) of the value CBOR, first 16 bytes', async () => {
    const indexKey = (await openIndexKey(envelope, indexKeyText, undefined)).bytes // env.decrypt refuses index keys (§13.2)
    const scope = createHash('sha256').update(scopeCbor('email')).digest()
    const key = hkdf(indexKey, Buffer.concat([utf8('KMSE v1 blind index\0'), scope]), 32)
    const expected = createHmac('sha256', key).update(text('ann@example.com')).digest().subarray(0, 16)
    assert.deepEqual(b64(await fields.blindIndex('email', 'ann@example.com', { context }), 'kmse1b.'), expected)
  })
})
