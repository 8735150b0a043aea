/**
 * The FieldEncryptor surface of the fuzzer: hostile field values that are authentic (sealed by
 * a writer holding the key, test/fields-writer.ts, so they reach the value decoder), hostile
 * key-field (`_kmse`) text, and hostile JavaScript values for encryptRecord, deterministicValue
 * and blindIndex. Judged by one rule set:
 *
 * - a failure is an EnvelopeError (or, for caller values, the ERR_INVALID_ARGUMENT TypeError or
 *   RangeError) with a code the call may raise, never anything else;
 * - a decrypted value holds only the types of FORMAT.md §13.1, nested at most 64 deep;
 * - a key field that was changed never decrypts; a value that encrypts comes back with the same
 *   encoding;
 * - no input keeps the surface busy longer than `slowMs`.
 * @module
 */

import { bytesToHex } from '@noble/ciphers/utils.js'
import fc from 'fast-check'
import { encodePrepared, MAX_VALUE_DEPTH, prepareValue } from '../../src/fields/codec.js'
import { Envelope, EnvelopeError, FieldEncryptor, LocalKeyring } from '../../src/index.js'
import { cborHead, recordContentKey, sealRandomField, sharedDag } from '../fields-writer.js'
import { pattern } from '../helpers.js'
import type { CampaignOptions, CampaignStats } from './campaign.js'
import { emptyStats } from './campaign.js'
import { Violation } from './oracle.js'
import { READ_CODES } from './surfaces.js'

// biome-ignore lint/suspicious/noSparseArray: a hole is one of the hostile caller values
const SPARSE = [1, , 3]

const DECRYPT_CODES: ReadonlySet<string> = new Set([...READ_CODES, 'ERR_FIELD', 'ERR_CONTEXT_MISMATCH'])
const WRITE_CODES = new Set(['ERR_INVALID_ARGUMENT'])

export type FieldInput =
  | { readonly kind: 'field value'; readonly cbor: Uint8Array }
  | { readonly kind: 'key field'; readonly text: string }
  | { readonly kind: 'caller value'; readonly value: unknown }

/** One CBOR data item, hostile: any tag, float width, simple value, indefinite or lying length. */
const item: fc.Arbitrary<Uint8Array> = fc.letrec<{ item: Uint8Array }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 31 })).map(([m, i]) => Uint8Array.of((m << 5) | i)),
    fc.tuple(fc.integer({ min: 0, max: 1 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean()).map(([m, n, long]) => {
      if (!long && n < 24n) return Uint8Array.of((m << 5) | Number(n))
      const b = new Uint8Array(9)
      b[0] = (m << 5) | 27
      new DataView(b.buffer).setBigUint64(1, n)
      return b
    }),
    fc
      .oneof(fc.constant(0xf9), fc.constant(0xfa), fc.constant(0xfb))
      .chain((h) =>
        fc.uint8Array({ minLength: h === 0xf9 ? 2 : h === 0xfa ? 4 : 8, maxLength: h === 0xf9 ? 2 : h === 0xfa ? 4 : 8 }).map((b) => Uint8Array.of(h, ...b)),
      ),
    fc.tuple(fc.integer({ min: 2, max: 3 }), fc.uint8Array({ maxLength: 40 })).map(([m, b]) => Uint8Array.of(...cborHead(m, b.length), ...b)),
    fc.tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })).map(([m, n]) => Uint8Array.of(...cborHead(m, n))), // a length that lies
    fc
      .tuple(fc.oneof(fc.constantFrom(0, 1, 2, 3, 28, 29, 51, 64, 105, 258, 55799), fc.integer({ min: 0, max: 2 ** 32 - 1 })), tie('item'))
      .map(([t, inner]) => Uint8Array.of(...cborHead(6, t), ...inner)),
    fc.array(tie('item'), { maxLength: 6 }).map((items) => Uint8Array.of(...cborHead(4, items.length), ...items.flatMap((i) => [...i]))),
    fc
      .array(fc.tuple(tie('item'), tie('item')), { maxLength: 4 })
      .map((pairs) => Uint8Array.of(...cborHead(5, pairs.length), ...pairs.flatMap(([k, v]) => [...k, ...v]))),
    fc
      .tuple(fc.constantFrom(0x9f, 0xbf, 0x5f, 0x7f), fc.array(tie('item'), { maxLength: 4 }), fc.boolean())
      .map(([h, items, close]) => Uint8Array.of(h, ...items.flatMap((i) => [...i]), ...(close ? [0xff] : []))),
  ),
})).item

const fieldValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  item,
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 1, max: 80 }).map((d) => new Uint8Array(sharedDag(d))),
  fc.tuple(fc.integer({ min: 1, max: 200 }), fc.constantFrom(0x81, 0xa1, 0xc1, 0xd8)).map(([d, h]) => new Uint8Array(d).fill(h)), // deep nesting of one head
  fc.tuple(item, item).map(([a, b]) => Uint8Array.of(...a, ...b)), // trailing bytes
  fc.tuple(item, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([a, at, x]) => {
    const copy = a.slice()
    copy[at % copy.length]! ^= x
    return copy
  }),
)

const callerValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 4,
    withBigInt: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withMap: true,
    withSet: true,
    withBoxedValues: true,
  }),
  fc.constantFrom(
    NaN,
    -0,
    Infinity,
    undefined,
    Symbol('s'),
    () => 1,
    new Date(NaN),
    new Date(8.64e15),
    2n ** 300n,
    -(2n ** 64n),
    '\ud800',
    { a: undefined },
    SPARSE,
  ),
  fc.integer({ min: 60, max: 70 }).map((d) => {
    let v: unknown = null
    for (let i = 0; i < d; i++) v = [v]
    return v
  }),
)

/** A decrypted value holds only §13.1 types, at most 64 containers deep. */
function checkDecoded(value: unknown, depth: number): string | undefined {
  if (value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value)) return undefined
  if (typeof value !== 'object') return `a ${typeof value}`
  if (depth >= MAX_VALUE_DEPTH) return 'nesting past the limit'
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : undefined
  if (Object.getPrototypeOf(value) === Uint8Array.prototype) return undefined
  if (Array.isArray(value)) {
    for (const v of value) {
      const bad = checkDecoded(v, depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return `an object with prototype ${String(Object.getPrototypeOf(value)?.constructor?.name)}`
  for (const v of Object.values(value)) {
    const bad = checkDecoded(v, depth + 1)
    if (bad !== undefined) return bad
  }
  return undefined
}

const hex = (b: Uint8Array): string => bytesToHex(b)

/** Runs `fn`; returns "ok" or the error's code, or throws a Violation for an untyped failure. */
async function outcome(label: string, codes: ReadonlySet<string>, input: Uint8Array, fn: () => Promise<void>): Promise<string> {
  try {
    await fn()
    return 'ok'
  } catch (error) {
    if (error instanceof Violation) throw error
    const code = (error as { code?: unknown }).code
    const typed = error instanceof EnvelopeError || ((error instanceof TypeError || error instanceof RangeError) && code === 'ERR_INVALID_ARGUMENT')
    if (!typed || typeof code !== 'string' || !codes.has(code)) throw new Violation(label, `untyped or unexpected failure: ${String(error)}`, input, error)
    return code
  }
}

export async function runFieldsCampaign(options: CampaignOptions): Promise<CampaignStats> {
  const keyring = new LocalKeyring({ keyId: 'fuzz-fields', key: pattern(32, 97) })
  const envelope = new Envelope({ keyring })
  const indexKey = await FieldEncryptor.createIndexKey(envelope)
  const fields = new FieldEncryptor({ envelope, indexKey, schema: { v: 'random', d: 'deterministic' } })
  const stored = await fields.encryptRecord({ v: null, d: 'x', id: 1 })
  const contentKey = await recordContentKey(keyring, stored)
  const keyText = stored._kmse as string

  const keyFieldText: fc.Arbitrary<string> = fc.oneof(
    fc.tuple(fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ')).map(([at, c]) => {
      const i = at % keyText.length
      return keyText.slice(0, i) + c + keyText.slice(i + 1)
    }),
    fc.nat().map((n) => keyText.slice(0, n % keyText.length)),
    fc.string({ maxLength: 64 }).map((s) => keyText + s),
    fc.uint8Array({ maxLength: 600 }).map((b) => `kmse1h.${Buffer.from(b).toString('base64url')}`),
    fc.string({ maxLength: 40 }),
    fc.constant(`kmse1h.${'A'.repeat(200_000)}`),
  )
  const input: fc.Arbitrary<FieldInput> = fc.oneof(
    { weight: 3, arbitrary: fieldValue.map((cbor) => ({ kind: 'field value' as const, cbor })) },
    { weight: 1, arbitrary: keyFieldText.map((text) => ({ kind: 'key field' as const, text })) },
    { weight: 1, arbitrary: callerValue.map((value) => ({ kind: 'caller value' as const, value })) },
  )

  const stats: CampaignStats = emptyStats()
  const bump = (key: string): void => {
    stats.outcomes[key] = (stats.outcomes[key] ?? 0) + 1
  }
  const started = performance.now()
  const every = options.progressEvery ?? 1000
  const sample = (): void => {
    const m = process.memoryUsage()
    stats.peakHeapUsed = Math.max(stats.peakHeapUsed, m.heapUsed)
    stats.peakArrayBuffers = Math.max(stats.peakArrayBuffers, m.arrayBuffers)
    stats.peakRss = Math.max(stats.peakRss, process.resourceUsage().maxRSS * 1024)
    stats.elapsedMs = performance.now() - started
  }

  const run = async (x: FieldInput): Promise<void> => {
    if (x.kind === 'field value') {
      const record = { ...stored, v: sealRandomField(contentKey, 'v', x.cbor) }
      const check = async (value: unknown): Promise<void> => {
        const bad = checkDecoded(value, 0)
        if (bad !== undefined) throw new Violation('fields decryptRecord', `decoded ${bad}`, x.cbor)
      }
      bump(`fields decryptRecord: ${await outcome('fields decryptRecord', DECRYPT_CODES, x.cbor, async () => check((await fields.decryptRecord(record)).v))}`)
      bump(
        `fields decryptRecords: ${await outcome('fields decryptRecords', DECRYPT_CODES, x.cbor, async () => {
          for (const r of await fields.decryptRecords([stored, record])) await check(r.v)
        })}`,
      )
    } else if (x.kind === 'key field') {
      const bytes = new TextEncoder().encode(x.text.slice(0, 4096))
      bump(
        `fields _kmse: ${await outcome('fields _kmse', DECRYPT_CODES, bytes, async () => {
          await fields.decryptRecord({ ...stored, _kmse: x.text })
          if (x.text !== keyText) throw new Violation('fields _kmse', 'an altered key field decrypted', bytes)
        })}`,
      )
    } else {
      const label = new TextEncoder().encode(fc.stringify(x.value).slice(0, 2000))
      bump(
        `fields encryptRecord: ${await outcome('fields encryptRecord', WRITE_CODES, label, async () => {
          const back = await fields.decryptRecord(await fields.encryptRecord({ v: x.value, d: x.value }))
          for (const [path, canonical] of [
            ['v', false],
            ['d', true],
          ] as const) {
            const want = hex(encodePrepared(prepareValue(x.value, path, canonical)))
            if (hex(encodePrepared(prepareValue(back[path], path, canonical))) !== want)
              throw new Violation('fields encryptRecord', `${path} came back with another encoding`, label)
          }
        })}`,
      )
      bump(
        `fields deterministicValue: ${await outcome('fields deterministicValue', WRITE_CODES, label, async () => void (await fields.deterministicValue('d', x.value)))}`,
      )
      bump(`fields blindIndex: ${await outcome('fields blindIndex', WRITE_CODES, label, async () => void (await fields.blindIndex('d', x.value)))}`)
    }
  }

  const property = fc.asyncProperty(options.shrink ? input : fc.noShrink(input), async (x) => {
    const t0 = performance.now()
    await run(x)
    const ms = performance.now() - t0
    if (ms > options.slowMs)
      throw new Violation(
        'fields',
        `one ${x.kind} input took ${ms.toFixed(0)} ms (limit ${options.slowMs} ms)`,
        x.kind === 'field value' ? x.cbor : new Uint8Array(0),
      )
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms
      stats.slowestKind = x.kind
    }
    stats.kinds[x.kind] = (stats.kinds[x.kind] ?? 0) + 1
    if (++stats.inputs % every === 0) {
      await new Promise((resolve) => setImmediate(resolve))
      sample()
      options.onProgress?.(stats)
    }
  })
  try {
    await fc.assert(property, {
      seed: options.seed,
      numRuns: options.runs,
      endOnFailure: !options.shrink,
      ...(options.path === undefined ? {} : { path: options.path }),
    })
  } finally {
    fields.close()
  }
  sample()
  return stats
}
