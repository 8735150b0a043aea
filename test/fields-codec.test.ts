/** Field values keep their exact type through encrypt/decrypt, in both modes and at nested paths; values with no exact stored form are refused. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern } from './helpers.js'

assertExpectedBackend()

const envelope = new Envelope({ keyring: new LocalKeyring({ keyId: 'fields-codec', key: pattern(32, 21) }) })
const indexKey = await FieldEncryptor.createIndexKey(envelope)
const fields = new FieldEncryptor({
  envelope,
  indexKey,
  schema: { r: 'random', d: 'deterministic', 'deep.er.r': 'random', 'deep.er.d': 'deterministic' },
})
const context = { table: 'codec' }

/** Stores `value` in all four fields and checks each comes back identical (deepStrictEqual: Object.is on primitives, same prototypes). */
async function roundTrip(value: unknown): Promise<void> {
  const record = { r: value, d: value, deep: { er: { r: value, d: value }, keep: 1 } }
  const stored = await fields.encryptRecord(record, { context })
  for (const text of [stored.r, stored.d, (stored.deep as { er: Record<string, unknown> }).er.r]) assert.equal(typeof text, 'string')
  const back = await fields.decryptRecord(stored, { expectContext: context })
  assert.deepStrictEqual(back, record)
}

const cases: Array<[string, unknown]> = [
  ['empty string', ''],
  ['ascii string', 'hello'],
  ['unicode string', 'grüße, 世界 😀 \u0000 end'],
  ['long string', 'x'.repeat(100_000)],
  ['zero', 0],
  ['negative zero', -0],
  ['integers', [1, -1, 23, 24, 255, 256, 65536, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER]],
  ['floats', [1.5, 0.1, -2.5e-300, Number.MAX_VALUE, Number.MIN_VALUE, Math.PI]],
  ['NaN and infinities', [NaN, Infinity, -Infinity]],
  ['bigints', [0n, 5n, -5n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n), -(2n ** 64n) - 1n, 2n ** 200n, -(2n ** 200n)]],
  ['a number and an equal bigint stay apart', { n: 5, b: 5n }],
  ['booleans', [true, false]],
  ['null', null],
  ['dates', [new Date(0), new Date(1_700_000_000_123), new Date(-1), new Date(1), new Date(-62_135_596_800_001), new Date(4e15), new Date(-4e15)]],
  ['a single date', new Date(1_234_567_890_999)],
  ['bytes', new Uint8Array([0, 1, 2, 255])],
  ['empty bytes', new Uint8Array(0)],
  ['empty array', []],
  ['empty object', {}],
  ['nested arrays and objects', { a: [1, 'two', [null, [true, { x: 3n }]]], b: { c: { d: new Date(5), e: new Uint8Array([9]) } } }],
  ['object with a __proto__ key', JSON.parse('{"__proto__": {"polluted": true}, "z": 1}')],
  ['numeric-looking keys', { '10': 'a', '2': 'b', x: 'c' }],
]

describe('type-preserving round trips (random and deterministic, top level and nested)', () => {
  for (const [name, value] of cases) it(name, () => roundTrip(value))

  it('a Buffer comes back as a plain Uint8Array with the same bytes', async () => {
    const stored = await fields.encryptRecord({ r: Buffer.from([1, 2]), d: 1, deep: { er: { r: 1, d: 1 } } })
    const back = await fields.decryptRecord<{ r: Uint8Array }>(stored)
    assert.equal(Object.getPrototypeOf(back.r), Uint8Array.prototype)
    assert.deepEqual([...back.r], [1, 2])
  })

  it('an object without a prototype comes back as a plain object with the same entries', async () => {
    const value = Object.assign(Object.create(null) as object, { a: 1 })
    const stored = await fields.encryptRecord({ r: value, d: value, deep: { er: { r: 1, d: 1 } } })
    const back = await fields.decryptRecord<{ r: object; d: object }>(stored)
    assert.deepStrictEqual(back.r, { a: 1 })
    assert.deepStrictEqual(back.d, { a: 1 })
  })

  it('decrypted bytes are an own copy, not a view of a shared buffer', async () => {
    const stored = await fields.encryptRecord({ r: new Uint8Array([7, 7, 7]), d: 1, deep: { er: { r: 1, d: 1 } } })
    const back = await fields.decryptRecord<{ r: Uint8Array }>(stored)
    assert.equal(back.r.byteOffset, 0)
    assert.equal(back.r.buffer.byteLength, 3)
  })

  it('key order is kept for random fields and canonical (sorted) for deterministic ones', async () => {
    const value = { b: 1, a: 2, cc: 3 }
    const stored = await fields.encryptRecord({ r: value, d: value, deep: { er: { r: 1, d: 1 } } })
    const back = await fields.decryptRecord<{ r: object; d: object }>(stored)
    assert.deepEqual(Object.keys(back.r), ['b', 'a', 'cc'])
    assert.deepEqual(Object.keys(back.d), ['a', 'b', 'cc'])
  })
})

describe('values with no exact stored form are refused before any key service call', () => {
  class Point {
    x = 1
  }
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const withSymbolKey = { [Symbol('s')]: 1 }
  const bad: Array<[string, unknown, string]> = [
    ['a function', () => 1, 'function'],
    ['a symbol', Symbol('x'), 'symbol'],
    ['undefined inside an array', [1, undefined], 'undefined'],
    ['undefined inside an object', { a: undefined }, 'undefined'],
    // A hole at index 1 (a literal `[1, , 3]` is rewritten by the formatter into a dense array).
    ['a sparse array', Object.assign(new Array<unknown>(3), { 0: 1, 2: 3 }), 'sparse'],
    ['a Map', new Map([['a', 1]]), 'Map'],
    ['a Set', new Set([1]), 'Set'],
    ['a class instance', new Point(), 'Point'],
    ['another typed array', new Int16Array(2), 'Int16Array'],
    ['an ArrayBuffer', new ArrayBuffer(2), 'ArrayBuffer'],
    ['a boxed string', new String('x'), 'String'],
    ['a RegExp', /x/, 'RegExp'],
    ['a lone surrogate', 'a\ud800b', 'surrogate'],
    ['a key with a lone surrogate', { '\udc00': 1 }, 'surrogate'],
    ['symbol keys', withSymbolKey, 'symbol'],
    ['an invalid Date', new Date(NaN), 'invalid Date'],
    ['a Date too far out to keep its milliseconds', new Date(-4_398_575_797_726_221), 'too far'],
    ['a cycle', cyclic, 'nested more than'],
    ['nesting deeper than 64', Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], 1), 'nested more than'],
  ]
  for (const [name, value, words] of bad) {
    it(name, async () => {
      const keyring = new CountingKeyring(LocalKeyring.generate())
      const f = new FieldEncryptor({ envelope: new Envelope({ keyring }), schema: { 'a.b': 'random' } })
      await assert.rejects(f.encryptRecord({ a: { b: value } }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_INVALID_ARGUMENT')
        assert.ok(error instanceof TypeError || error instanceof RangeError)
        assert.ok(error.message.includes(words), error.message)
        assert.ok(error.message.includes('a.b'), `names the field: ${error.message}`)
        return true
      })
      assert.deepEqual(keyring.calls, { generate: 0, wrap: 0, unwrap: 0, reEncrypt: 0 })
    })
  }
})
