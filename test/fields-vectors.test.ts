/**
 * Field-encryption vectors (test/vectors/fields/), both ways: FieldEncryptor decrypts every
 * positive vector to its typed values and reproduces its deterministic values and blind
 * indexes; every negative vector fails with its code; and the generator, run on this run's
 * crypto backend (scripts/test.js runs fields* files on both), reproduces every file byte for byte.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { FieldVector } from '../scripts/gen-field-vectors.js'
import { fromTyped, generateFieldVectors } from '../scripts/gen-field-vectors.js'
import { openIndexKey } from '../src/fields/deterministic.js'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, VECTORS_DIR } from './helpers.js'

assertExpectedBackend()

const dir = join(VECTORS_DIR, 'fields')
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
const vectors = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as FieldVector)

function encryptorFor(v: FieldVector): { envelope: Envelope; fields: FieldEncryptor } {
  const envelope = new Envelope({ keyring: v.keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) })) })
  const fields = new FieldEncryptor({
    envelope,
    schema: v.schema,
    ...(v.indexKey !== undefined && { indexKey: v.indexKey }),
    ...(v.indexKeyContext !== undefined && { indexKeyContext: v.indexKeyContext }),
  })
  return { envelope, fields }
}

describe('field vectors from test/vectors/fields/', () => {
  it('covers records, index keys, deterministic values and blind indexes, positive and negative', () => {
    assert.ok(vectors.some((v) => v.stored !== undefined && v.expect === 'success'))
    assert.ok(vectors.some((v) => v.indexKeyBytes !== undefined))
    assert.ok(vectors.some((v) => (v.deterministic?.length ?? 0) > 0))
    assert.ok(vectors.some((v) => (v.blind?.length ?? 0) > 0))
    assert.ok(vectors.filter((v) => v.expect === 'failure').length >= 6)
    for (const v of vectors) assert.equal(`${v.name}.json`, files[vectors.indexOf(v)])
  })

  for (const v of vectors) {
    it(`${v.name}: ${v.comment}`, async () => {
      const { envelope, fields } = encryptorFor(v)
      const options = v.expectContext === undefined ? {} : { expectContext: v.expectContext }
      if (v.expect === 'failure') {
        await assert.rejects(fields.decryptRecord(v.stored!, options), (error: Error & { code?: string }) => {
          assert.equal(error.code, v.code, `expected ${v.code}, got ${error.code}: ${error.message}`)
          return true
        })
        return
      }
      if (v.stored !== undefined) {
        const back = await fields.decryptRecord(v.stored, options)
        for (const [path, typed] of Object.entries(v.values!)) assert.deepStrictEqual(back[path], fromTyped(typed), path)
      }
      if (v.indexKeyBytes !== undefined) {
        const key = await openIndexKey(envelope, v.indexKey!, v.indexKeyContext)
        assert.equal(Buffer.from(key.bytes).toString('hex'), v.indexKeyBytes)
      }
      for (const s of v.deterministic ?? [])
        assert.equal(await fields.deterministicValue(s.path, fromTyped(s.value), { context: s.context }), s.text, `${s.path} ${s.cbor}`)
      for (const s of v.blind ?? []) assert.equal(await fields.blindIndex(s.path, fromTyped(s.value), { context: s.context }), s.text, `${s.path} ${s.cbor}`)
    })
  }

  it('the generator reproduces every file byte for byte on this backend', () => {
    const fresh = generateFieldVectors()
    assert.deepEqual(fresh.map((v) => `${v.name}.json`).sort(), files)
    for (const v of fresh)
      assert.equal(`${JSON.stringify(v, null, 2)}\n`, readFileSync(join(dir, `${v.name}.json`), 'utf8'), `${v.name} differs from the generator`)
  })
})
