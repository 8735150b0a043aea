/**
 * Hostile field values from a writer that holds the key: authentic, so they reach the value
 * decoder, which must refuse anything outside the §13 profile with ERR_FIELD, at once and
 * without building anything large. A writer controls content, never the reader's availability.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeValue, MAX_VALUE_ITEMS } from '../src/fields/codec.js'
import { Envelope, FieldEncryptor, FieldError, LocalKeyring } from '../src/index.js'
import { cborHead, recordContentKey, sealRandomField, sharedDag } from './fields-writer.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const keyring = new LocalKeyring({ keyId: 'fields-hostile', key: pattern(32, 71) })
const envelope = new Envelope({ keyring })
const fields = new FieldEncryptor({ envelope, schema: { v: 'random' } })
const stored = await fields.encryptRecord({ v: null, id: 7 })
const contentKey = await recordContentKey(keyring, stored)

/** The record with field `v` replaced by an authentic value holding exactly `cbor`. */
const withValue = (cbor: Uint8Array): Record<string, unknown> => ({ ...stored, v: sealRandomField(contentKey, 'v', cbor) })
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex')

async function refused(cbor: Uint8Array, why: RegExp): Promise<void> {
  const error = await rejectsWithCode(fields.decryptRecord(withValue(cbor)), 'ERR_FIELD', FieldError)
  assert.equal((error as FieldError).path, 'v')
  assert.match(String((error.cause as Error | undefined)?.message), why)
}

describe('hostile field values (authentic)', () => {
  it('the writer helper is faithful: an authentic ordinary value decrypts', async () => {
    assert.deepEqual(await fields.decryptRecord(withValue(hex('82 f5 6161'))), { v: [true, 'a'], id: 7 })
  })

  it('a value-sharing DAG built to cost 2^40 steps fails with ERR_FIELD in under 10 ms', async () => {
    const dag = sharedDag(40)
    assert.ok(dag.length < 300, `${dag.length} bytes`)
    await refused(dag, /tag 28/)
    // The value's own cost: the decoder on the authenticated plaintext (best of 5, on a shared machine).
    const decodeMs = Math.min(
      ...Array.from({ length: 5 }, () => {
        const t0 = performance.now()
        assert.throws(() => decodeValue(dag), /tag 28/)
        return performance.now() - t0
      }),
    )
    assert.ok(decodeMs < 10, `decoding took ${decodeMs.toFixed(3)} ms`)
    // The whole decryptRecord costs what a benign record does (key unwrap and GCM dominate; the portable backend is slower).
    const best = async (record: Record<string, unknown>, code?: string): Promise<number> => {
      let ms = Infinity
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        if (code === undefined) await fields.decryptRecord(record)
        else await rejectsWithCode(fields.decryptRecord(record), code)
        ms = Math.min(ms, performance.now() - t0)
      }
      return ms
    }
    const hostileMs = await best(withValue(dag), 'ERR_FIELD')
    const benignMs = await best(withValue(hex('f6')))
    assert.ok(hostileMs < benignMs + 10, `decryptRecord took ${hostileMs.toFixed(2)} ms, a benign record ${benignMs.toFixed(2)} ms`)
  })

  for (const [name, cbor, why] of [
    ['a sharing reference (tag 29)', hex('d81d 00'), /tag 29/],
    ['a set (tag 258)', hex('d90102 80'), /tag 258/],
    ['packed values (tag 51)', hex('d833 80'), /tag 51/],
    ['a typed array (tag 64)', hex('d840 4100'), /tag 64/],
    ['a record definition (tag 105)', hex('d869 80'), /tag 105/],
    ['undefined', hex('f7'), /simple value/],
    ['a float32', hex('fa 3fc00000'), /float32/],
    ['a float16', hex('f9 3e00'), /float16/],
    ['an indefinite-length array', hex('9f ff'), /indefinite/],
    ['an indefinite-length text string', hex('7f 6161 ff'), /indefinite/],
    ['a break code alone', hex('ff'), /break/],
    ['a reserved head', hex('1c'), /reserved/],
    ['a map key that is not text', hex('a1 01 f6'), /map key/],
    ['a duplicate map key', hex('a2 6161 f5 6161 f4'), /twice/],
    ['invalid UTF-8', hex('62 c328'), /UTF-8/],
    ['trailing bytes', hex('f6 f6'), /after the value/],
    ['an array longer than the bytes left', hex('9a 7fffffff f6'), /length/],
    ['a string longer than the bytes left', hex('7b 0000000100000000'), /length/],
    ['a date over text', hex('c1 6161'), /date/],
    ['a date beyond the range of Date', hex('c1 1b 00ffffffffffffff'), /range/],
    ['a bignum over text', hex('c2 6161'), /bignum/],
    ['empty input', hex(''), /ends/],
  ] as const) {
    it(`refuses ${name}`, () => refused(cbor, why))
  }

  it('refuses nesting deeper than the writer allows (65 arrays), and takes 64', async () => {
    await refused(Buffer.concat([Buffer.alloc(65, 0x81), hex('f6')]), /nesting/)
    let v: unknown = null
    for (let i = 0; i < 64; i++) v = [v]
    assert.deepEqual((await fields.decryptRecord(withValue(Buffer.concat([Buffer.alloc(64, 0x81), hex('f6')])))).v, v)
  })

  it(`refuses more than ${MAX_VALUE_ITEMS} data items, before building them`, async () => {
    await refused(Buffer.concat([cborHead(4, MAX_VALUE_ITEMS), Buffer.alloc(MAX_VALUE_ITEMS, 0xf6)]), /more than/)
  })

  it(`the writer refuses a value the reader would refuse for its size (more than ${MAX_VALUE_ITEMS} items)`, async () => {
    await rejectsWithCode(fields.encryptRecord({ v: new Array(MAX_VALUE_ITEMS).fill(null) }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(fields.encryptRecord({ v: new Array(MAX_VALUE_ITEMS / 2).fill(new Date(0)) }), 'ERR_INVALID_ARGUMENT')
  })

  it('integers read as bigints whatever their head (numbers are always float64), dates over any integer head', async () => {
    for (const [cbor, value] of [
      ['05', 5n],
      ['18 ff', 255n],
      ['39 0100', -257n],
      ['1b 0000000000000005', 5n],
      ['c2 4100', 0n],
      ['c3 420100', -257n],
      ['c1 00', new Date(0)],
      ['c1 1b 0000000000000001', new Date(1000)],
      ['c1 20', new Date(-1000)],
      ['fb 7ff8000000000001', NaN],
    ] as const) {
      assert.deepStrictEqual((await fields.decryptRecord(withValue(hex(cbor)))).v, value, cbor)
    }
  })
})
