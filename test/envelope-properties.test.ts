/**
 * Property tests (fast-check, fixed seeds): round trips over random plaintexts (sizes around
 * frame boundaries, strings), contexts (any Unicode, awkward keys), frame sizes, recipient
 * counts and cache use; every recipient decrypts alone; inspect agrees; wrong expectations and
 * foreign keyrings fail with their codes. Runs on both crypto backends.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { overheadBytes } from '../src/core/inspect.js'
import { Envelope, inspect, KeyCache, LocalKeyring, MAX_WRAPPED_KEYS } from '../src/index.js'
import { readerFor } from './fuzz/corpus.js'
import { judge } from './fuzz/oracle.js'
import { DECRYPT_SURFACES, decryptSurface } from './fuzz/surfaces.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const contextKey = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '9', '10', 'é', 'e\u0301', '\u{1f511}', ' ', 'kmse') },
)
const context = fc.dictionary(
  contextKey.filter((k) => !k.startsWith('kmse:')),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  { maxKeys: 8 },
)

/** Plaintext sizes: anything up to a few frames, and exact multiples of the frame size and their neighbours. */
const sized = (frameSize: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0, max: 3 * frameSize + 1 }),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(-1, 0, 1)).map(([k, d]) => Math.max(0, k * frameSize + d)),
  )

const scenario = fc
  .record({
    frameSize: fc.oneof(fc.constantFrom(64, 65, 100, 127, 128, 4096), fc.integer({ min: 64, max: 2048 })),
    recipients: fc.integer({ min: 1, max: 5 }),
    context,
    cache: fc.boolean(),
    text: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .chain((s) => sized(s.frameSize).map((size) => ({ ...s, size })))

describe('property: round trips', () => {
  it('every recipient decrypts the exact plaintext and context; inspect and the size agree', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const keys = Array.from({ length: s.recipients }, (_, i) => ({ keyId: `prop-${i}`, key: pattern(32, s.seed + i) }))
        const keyrings = keys.map((k) => new LocalKeyring(k))
        const cache = s.cache ? new KeyCache({ maxEntries: 8, maxAge: 60_000 }) : undefined
        const env = new Envelope({ keyring: keyrings, frameSize: s.frameSize, ...(cache === undefined ? {} : { cache }) })
        const bytes = pattern(s.size, s.seed)
        const plaintext = s.text ? new TextDecoder().decode(bytes.map((b) => 0x20 + (b % 0x5f))) : bytes
        const expected = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : plaintext
        const message = await env.encrypt(plaintext, { context: s.context })

        const info = inspect(message)
        assert.equal(info.frameSize, s.frameSize)
        assert.equal(info.plaintextBytes, expected.length)
        assert.equal(info.frames, Math.floor(expected.length / s.frameSize) + 1)
        assert.deepEqual(info.context, { ...s.context })
        assert.deepEqual(
          info.recipients.map((r) => r.keyId),
          keys.map((k) => k.keyId),
        )
        assert.equal(message.length, overheadBytes(info.headerBytes, expected.length, s.frameSize) + expected.length)

        for (const k of keys) {
          // Each recipient alone, through the oracle and every decrypting surface: exact plaintext, one spelling, one unwrap.
          for (const surface of DECRYPT_SURFACES) {
            const reader = readerFor([k])
            assert.equal(await judge(surface, reader, message, { plaintext: expected, mayOpen: () => true }), 'ok')
            assert.equal(reader.counters[0]!.calls.unwrap, 1)
          }
          const reader = readerFor([k])
          const result = await reader.env.decrypt(message, { expectContext: s.context })
          assert.deepEqual(result.context, { ...s.context })
          assert.deepEqual(
            result.keyIds,
            keys.map((x) => x.keyId),
          )
          assert.equal(result.keyId, k.keyId)
        }
        // The writer itself (with its cache, if any) reads it too.
        assert.deepEqual((await env.decrypt(message)).plaintext, expected)

        const [first] = Object.keys(s.context)
        if (first !== undefined) {
          await rejectsWithCode(env.decrypt(message, { expectContext: { ...s.context, [first]: `${s.context[first]}!` } }), 'ERR_CONTEXT_MISMATCH')
        }
        await rejectsWithCode(new Envelope({ keyring: new LocalKeyring({ keyId: 'stranger', key: pattern(32, 3) }) }).decrypt(message), 'ERR_NO_MATCHING_KEY')
      }),
      { seed: 8675309, numRuns: 300 },
    )
  })

  it('a reader accepts up to its wrapped-key limit and refuses one more, before any keyring call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: MAX_WRAPPED_KEYS }), fc.integer({ min: 1, max: MAX_WRAPPED_KEYS }), async (count, limit) => {
        const keyrings = Array.from({ length: count }, (_, i) => new LocalKeyring({ keyId: `many-${i}`, key: pattern(32, 500 + i) }))
        const message = await new Envelope({ keyring: keyrings, maxWrappedKeys: MAX_WRAPPED_KEYS }).encrypt('x')
        const reader = readerFor([{ keyId: `many-${count - 1}`, key: pattern(32, 500 + count - 1) }], { maxWrappedKeys: limit })
        const outcome = await judge(decryptSurface, reader, message, { plaintext: new TextEncoder().encode('x'), mayOpen: () => true })
        assert.equal(outcome, count <= limit ? 'ok' : 'ERR_LIMIT')
        assert.equal(reader.counters[0]!.calls.unwrap, count <= limit ? 1 : 0)
      }),
      { seed: 4242, numRuns: 40 },
    )
  })
})

describe('property: inspect limits', () => {
  it('in-range limits are honoured; anything else is ERR_INVALID_ARGUMENT', async () => {
    const message = await new Envelope({ keyring: LocalKeyring.generate(), frameSize: 100 }).encrypt('hello')
    const limit = fc.option(fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constantFrom(0.5, Number.NaN, 2 ** 22, 2 ** 22 + 1, Infinity)), { nil: undefined })
    fc.assert(
      fc.property(limit, limit, (maxWrappedKeys, maxFrameSize) => {
        const okKeys = maxWrappedKeys === undefined || (Number.isInteger(maxWrappedKeys) && maxWrappedKeys >= 1 && maxWrappedKeys <= MAX_WRAPPED_KEYS)
        const okFrame = maxFrameSize === undefined || (Number.isInteger(maxFrameSize) && maxFrameSize >= 1 && maxFrameSize <= 2 ** 22)
        const limits = { ...(maxWrappedKeys === undefined ? {} : { maxWrappedKeys }), ...(maxFrameSize === undefined ? {} : { maxFrameSize }) }
        if (okKeys && okFrame) {
          if (maxFrameSize !== undefined && maxFrameSize < 100) assert.throws(() => inspect(message, limits), { code: 'ERR_LIMIT' })
          else assert.equal(inspect(message, limits).plaintextBytes, 5)
        } else {
          assert.throws(() => inspect(message, limits), { name: 'RangeError', code: 'ERR_INVALID_ARGUMENT' })
        }
      }),
      { seed: 99, numRuns: 300 },
    )
  })
})
