/**
 * Generates the field-encryption vectors in test/vectors/fields/ (one scenario per file) from
 * fixed seeds: records, index keys, deterministic values and blind indexes, positive and
 * negative. `npm run build && node dist/scripts/gen-field-vectors.js` rewrites the files; the
 * tests decrypt them with FieldEncryptor and regenerate them in memory on each crypto backend,
 * requiring byte-identical results.
 *
 * Records are written from the primitives FieldEncryptor uses (record head, field keys, SIV,
 * binding and list tags), with seeded data keys, message ids and wrap salts in place of fresh
 * randomness; deterministic values and blind indexes are checked against FieldEncryptor itself.
 * @module
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { aessiv } from '@noble/ciphers/aes.js'
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64urlnopad } from '@scure/base'
import { backend } from '#crypto-backend'
import { DataKey } from '../src/crypto/data-key.js'
import { sealHead, sealMessage } from '../src/crypto/message.js'
import { encodePrepared, prepareValue } from '../src/fields/codec.js'
import { BLIND_INDEX_BYTES } from '../src/fields/deterministic.js'
import { bindingTag, listTag } from '../src/fields/field-crypto.js'
import { blindKey, fieldAad, RecordKeys, scopeOf, sivKey } from '../src/fields/keys.js'
import { INDEX_KEY_PURPOSE, MIN_FRAME_SIZE, NONCE_BYTES, TAG_BYTES } from '../src/format/constants.js'
import type { CanonicalContext } from '../src/format/context.js'
import { canonicalContext, compareKeys } from '../src/format/context.js'
import { LocalKeyring, wrapWithFixedSaltForVectors } from '../src/keyrings/local.js'

/**
 * A field value in JSON, with its type: `{ "number": hex of the binary64 }`, `{ "bigint": decimal }`,
 * `{ "string": s }`, `{ "boolean": b }`, `{ "null": true }`, `{ "date": ms }`, `{ "bytes": hex }`,
 * `{ "array": [values] }`, `{ "object": [[key, value], …] }` (in order).
 */
export type TypedValue =
  | { readonly number: string }
  | { readonly bigint: string }
  | { readonly string: string }
  | { readonly boolean: boolean }
  | { readonly null: true }
  | { readonly date: number }
  | { readonly bytes: string }
  | { readonly array: readonly TypedValue[] }
  | { readonly object: ReadonlyArray<readonly [string, TypedValue]> }

/** One search vector: what deterministicValue or blindIndex returns for a value. */
export interface SearchVector {
  readonly path: string
  readonly context: Record<string, string>
  readonly value: TypedValue
  /** CBOR of the value (§13.1), hex. */
  readonly cbor: string
  readonly text: string
}

/** One vector file. */
export interface FieldVector {
  readonly name: string
  readonly comment: string
  readonly expect: 'success' | 'failure'
  readonly code?: string
  readonly keys: ReadonlyArray<{ readonly keyId: string; readonly key: string }>
  readonly schema: Record<string, 'random' | 'deterministic'>
  readonly indexKey?: string
  readonly indexKeyContext?: Record<string, string>
  /** The 32 bytes inside indexKey (success vectors), hex. */
  readonly indexKeyBytes?: string
  /** A stored record to decrypt, and the options. */
  readonly stored?: Record<string, unknown>
  readonly expectContext?: Record<string, string>
  /** Success: the decrypted record's schema fields, typed; and each field's plaintext CBOR, hex. */
  readonly values?: Record<string, TypedValue>
  readonly cbor?: Record<string, string>
  readonly deterministic?: readonly SearchVector[]
  readonly blind?: readonly SearchVector[]
}

function seeded(label: string, length: number): Uint8Array {
  return backend.hkdfSha512(utf8ToBytes('kms-envelope field vectors v1'), new Uint8Array(0), utf8ToBytes(label), length)
}

const f64 = (n: number): TypedValue => {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setFloat64(0, n)
  return { number: bytesToHex(b) }
}

/** The JavaScript value of a typed value. */
export function fromTyped(t: TypedValue): unknown {
  if ('number' in t) return new DataView(hexToBytes(t.number).buffer).getFloat64(0)
  if ('bigint' in t) return BigInt(t.bigint)
  if ('string' in t) return t.string
  if ('boolean' in t) return t.boolean
  if ('null' in t) return null
  if ('date' in t) return new Date(t.date)
  if ('bytes' in t) return hexToBytes(t.bytes)
  if ('array' in t) return t.array.map(fromTyped)
  const out: Record<string, unknown> = {}
  for (const [k, v] of t.object) Object.defineProperty(out, k, { value: fromTyped(v), enumerable: true, writable: true, configurable: true })
  return out
}

const ZERO_NONCE = new Uint8Array(NONCE_BYTES)
const KEY_A = { keyId: 'field-vector-key', key: bytesToHex(seeded('master', 32)) }
const keyring = (): LocalKeyring => new LocalKeyring({ keyId: KEY_A.keyId, key: hexToBytes(KEY_A.key) })
const INDEX_CONTEXT = { purpose: 'users-index' }
const RECORD_CONTEXT = { table: 'users', tenant: 'acme' }

function withPurpose(context: CanonicalContext): CanonicalContext {
  return new Map([...context, INDEX_KEY_PURPOSE as [string, string]].sort((a, b) => compareKeys(a[0], b[0])))
}

function indexKeyMessage(name: string, plaintext: Uint8Array, context: CanonicalContext): string {
  const dataKey = new DataKey(seeded(`${name} data key`, 32))
  const recipients = [wrapWithFixedSaltForVectors(keyring(), dataKey, context, seeded(`${name} salt`, 32), backend)]
  return (
    'kmse1k.' +
    base64urlnopad.encode(sealMessage(backend, { dataKey, recipients, context, frameSize: 4096, messageId: seeded(`${name} message id`, 32) }, plaintext))
  )
}

const INDEX_KEY_BYTES = seeded('index key', 32)
const INDEX_KEY = indexKeyMessage('index key', INDEX_KEY_BYTES, withPurpose(canonicalContext(INDEX_CONTEXT, 'context', true)))

/** Seals a record as FieldEncryptor.encryptRecord does, with seeded randomness. Paths are top-level. */
function sealRecord(
  name: string,
  schema: Record<string, 'random' | 'deterministic'>,
  values: Record<string, unknown>,
  contextObject: Record<string, string>,
  override: Record<string, Uint8Array> = {},
): { stored: Record<string, unknown>; cbor: Record<string, string> } {
  const context = canonicalContext(contextObject, 'context', true)
  const dataKey = new DataKey(seeded(`${name} data key`, 32))
  const recipients = [wrapWithFixedSaltForVectors(keyring(), dataKey, context, seeded(`${name} salt`, 32), backend)]
  const sealed = sealHead(backend, { dataKey, recipients, context, frameSize: MIN_FRAME_SIZE, messageId: seeded(`${name} message id`, 32) })
  const keys = new RecordKeys(sealed.keys.contentKey)
  sealed.keys.wipe()
  const paths = Object.keys(schema).sort(compareKeys) // FieldEncryptor's canonical path order
  const stored: Record<string, unknown> = { id: 1 }
  const cbor: Record<string, string> = {}
  const tags: Uint8Array[] = []
  for (const path of paths) {
    const mode = schema[path]!
    const plaintext = override[path] ?? Uint8Array.prototype.slice.call(encodePrepared(prepareValue(values[path], path, mode === 'deterministic')))
    cbor[path] = bytesToHex(plaintext)
    if (mode === 'random') {
      const key = keys.field(path)
      const box = new Uint8Array(plaintext.length + TAG_BYTES)
      backend.sealInto(key, ZERO_NONCE, plaintext, fieldAad('kmse1r.', path), box, 0)
      stored[path] = `kmse1r.${base64urlnopad.encode(box)}`
    } else {
      const aad = fieldAad('kmse1d.', path)
      const box = aessiv(sivKey(INDEX_KEY_BYTES, scopeOf(path, context)), aad).encrypt(plaintext)
      tags.push(bindingTag(keys, path, aad, box))
      stored[path] = `kmse1d.${base64urlnopad.encode(box)}`
    }
  }
  const tagBytes = concatBytes(...tags)
  stored._kmse = `kmse1h.${base64urlnopad.encode(concatBytes(sealed.head, tagBytes, listTag(keys, tagBytes)))}`
  keys.wipe()
  return { stored, cbor }
}

function search(kind: 'siv' | 'blind', path: string, contextObject: Record<string, string>, value: TypedValue): SearchVector {
  const context = canonicalContext(contextObject, 'context', true)
  const plaintext = Uint8Array.prototype.slice.call(encodePrepared(prepareValue(fromTyped(value), path, true)))
  const scope = scopeOf(path, context)
  const text =
    kind === 'siv'
      ? `kmse1d.${base64urlnopad.encode(aessiv(sivKey(INDEX_KEY_BYTES, scope), fieldAad('kmse1d.', path)).encrypt(plaintext))}`
      : // FORMAT.md §13: HMAC-SHA-256 under the blind key, its first 16 bytes (computed here, as AES-SIV above, from @noble directly)
        `kmse1b.${base64urlnopad.encode(hmac(sha256, blindKey(INDEX_KEY_BYTES, scope), plaintext).slice(0, BLIND_INDEX_BYTES))}`
  return { path, context: contextObject, value, cbor: bytesToHex(plaintext), text }
}

/** Every value row of FORMAT.md §13.1, with its edge cases. */
const SCALARS: Record<string, TypedValue> = {
  a_float: f64(1.5),
  b_integral: f64(5),
  c_neg_zero: f64(-0),
  d_nan: f64(NaN),
  e_inf: f64(-Infinity),
  f_big_small: { bigint: '5' },
  g_big_neg: { bigint: '-1' },
  h_big_u64max: { bigint: '18446744073709551615' },
  i_bignum: { bigint: '18446744073709551616' },
  j_neg_bignum: { bigint: '-18446744073709551617' },
  k_true: { boolean: true },
  l_null: { null: true },
  m_string: { string: 'grüße 😀' },
  n_bytes: { bytes: '00ff' },
  o_date_epoch: { date: 0 },
  p_date_secs: { date: 1_700_000_000_000 },
  q_date_ms: { date: 1_700_000_000_123 },
  r_date_neg: { date: -1000 },
  s_nested: {
    object: [
      ['z', { array: [f64(1), { string: 'two' }] }],
      ['a', { object: [] }],
      ['10', { bigint: '0' }],
    ],
  },
}

const SEARCH_VALUES: TypedValue[] = [
  { string: 'ann@example.com' },
  f64(5),
  { bigint: '5' },
  f64(NaN),
  { date: 1_700_000_000_000 },
  {
    object: [
      ['b', f64(1)],
      ['a', f64(2)],
    ],
  },
]

export function generateFieldVectors(): FieldVector[] {
  const vectors: FieldVector[] = []
  const base = { keys: [KEY_A] }
  const scalarSchema = Object.fromEntries(Object.keys(SCALARS).map((k) => [k, 'random' as const]))
  const scalarValues = Object.fromEntries(Object.entries(SCALARS).map(([k, v]) => [k, fromTyped(v)]))
  {
    const { stored, cbor } = sealRecord('pos-record-values', scalarSchema, scalarValues, RECORD_CONTEXT)
    vectors.push({
      name: 'pos-record-values',
      comment: 'every value row of §13.1 in a random field (8-byte integer heads, dates 1a/fb, float64 always)',
      expect: 'success',
      ...base,
      schema: scalarSchema,
      stored,
      expectContext: RECORD_CONTEXT,
      values: SCALARS,
      cbor,
    })
  }
  const mixedSchema = { email: 'deterministic', ssn: 'random', age: 'deterministic' } as const
  const mixedTyped: Record<string, TypedValue> = { email: { string: 'ann@example.com' }, ssn: { string: '123-45-6789' }, age: { bigint: '42' } }
  const mixedValues = Object.fromEntries(Object.entries(mixedTyped).map(([k, v]) => [k, fromTyped(v)]))
  const mixed = sealRecord('pos-record-deterministic', mixedSchema, mixedValues, RECORD_CONTEXT)
  const withIndex = { indexKey: INDEX_KEY, indexKeyContext: INDEX_CONTEXT }
  vectors.push({
    name: 'pos-record-deterministic',
    comment: 'random and deterministic fields: two binding tags and the list tag in _kmse',
    expect: 'success',
    ...base,
    schema: mixedSchema,
    ...withIndex,
    stored: mixed.stored,
    expectContext: RECORD_CONTEXT,
    values: mixedTyped,
    cbor: mixed.cbor,
  })
  {
    const { stored, cbor } = sealRecord('pos-record-shortest-heads', { n: 'random', d: 'random' }, {}, {}, { n: hexToBytes('05'), d: hexToBytes('c100') })
    vectors.push({
      name: 'pos-record-shortest-heads',
      comment: 'readers take shortest-form integers as bigints and dates over any integer head (§13.1)',
      expect: 'success',
      ...base,
      schema: { n: 'random', d: 'random' },
      stored,
      values: { n: { bigint: '5' }, d: { date: 0 } },
      cbor,
    })
  }
  vectors.push({
    name: 'pos-index-key',
    comment: 'an index key: a §2 message with kmse:purpose = field-index-key and 32 bytes',
    expect: 'success',
    ...base,
    schema: { email: 'deterministic' },
    ...withIndex,
    indexKeyBytes: bytesToHex(INDEX_KEY_BYTES),
  })
  vectors.push({
    name: 'pos-deterministic-values',
    comment: 'deterministicValue for several types and contexts (canonical map order, one NaN)',
    expect: 'success',
    ...base,
    schema: { email: 'deterministic' },
    ...withIndex,
    deterministic: SEARCH_VALUES.flatMap((v) => [search('siv', 'email', RECORD_CONTEXT, v), search('siv', 'email', {}, v)]),
  })
  vectors.push({
    name: 'pos-blind-indexes',
    comment: 'blindIndex for several types, paths and contexts',
    expect: 'success',
    ...base,
    schema: { email: 'deterministic' },
    ...withIndex,
    blind: SEARCH_VALUES.flatMap((v) => [search('blind', 'email', RECORD_CONTEXT, v), search('blind', 'phone', { tenant: 'other' }, v)]),
  })
  const fail = (name: string, comment: string, code: string, extra: Partial<FieldVector>): void => {
    vectors.push({
      name,
      comment,
      expect: 'failure',
      code,
      ...base,
      schema: mixedSchema,
      ...withIndex,
      stored: mixed.stored,
      expectContext: RECORD_CONTEXT,
      ...extra,
    })
  }
  const flip = (text: string, at: number): string => {
    const [prefix, body] = [text.slice(0, 7), base64urlnopad.decode(text.slice(7))]
    body[at]! ^= 1
    return prefix + base64urlnopad.encode(body)
  }
  fail('neg-record-random-byte', 'one byte of a random field flipped', 'ERR_FIELD', { stored: { ...mixed.stored, ssn: flip(mixed.stored.ssn as string, 0) } })
  fail('neg-record-deterministic-byte', 'one byte of a deterministic field flipped', 'ERR_FIELD', {
    stored: { ...mixed.stored, email: flip(mixed.stored.email as string, 20) },
  })
  fail('neg-record-fields-swapped', 'two deterministic values swapped between fields', 'ERR_FIELD', {
    stored: { ...mixed.stored, email: mixed.stored.age, age: mixed.stored.email },
  })
  fail('neg-record-list-tag', 'the list tag at the end of _kmse altered', 'ERR_FIELD', {
    stored: { ...mixed.stored, _kmse: flip(mixed.stored._kmse as string, base64urlnopad.decode((mixed.stored._kmse as string).slice(7)).length - 1) },
  })
  fail('neg-record-wrong-context', 'expectContext names another tenant', 'ERR_CONTEXT_MISMATCH', { expectContext: { tenant: 'other' } })
  {
    const { stored } = sealRecord('neg-record-tag-28', { v: 'random' }, {}, {}, { v: hexToBytes('d81c 82 d81c 80 d81d 01'.replace(/ /g, '')) })
    fail('neg-record-tag-28', 'an authentic value using value-sharing tags (28/29), outside the profile', 'ERR_FIELD', {
      schema: { v: 'random' },
      stored,
      expectContext: {},
    })
  }
  {
    const { stored } = sealRecord('neg-record-float32', { v: 'random' }, {}, {}, { v: hexToBytes('fa3fc00000') })
    fail('neg-record-float32', 'an authentic float32 (numbers are float64 only)', 'ERR_FIELD', { schema: { v: 'random' }, stored, expectContext: {} })
  }
  const forged = indexKeyMessage('neg-index-key-no-purpose', INDEX_KEY_BYTES, canonicalContext(INDEX_CONTEXT, 'context', true))
  fail('neg-index-key-no-purpose', 'an ordinary message holding 32 bytes given as the index key (no kmse:purpose)', 'ERR_FORMAT', { indexKey: forged })
  return vectors
}

const here = fileURLToPath(import.meta.url)
if (process.argv[1] === here) {
  const dir = fileURLToPath(new URL('../../test/vectors/fields/', import.meta.url))
  // Generated before the old files go: a generator that throws leaves the vectors as they were.
  const vectors = generateFieldVectors()
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(join(dir, f))
  for (const v of vectors) writeFileSync(join(dir, `${v.name}.json`), `${JSON.stringify(v, null, 2)}\n`)
  console.log(`wrote ${vectors.length} field vectors to ${dir}`)
}
