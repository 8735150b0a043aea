/**
 * Hostile input: a short seeded fuzzing campaign over every surface (the long one is
 * `npm run fuzz`), and hand-built hostile heads, each of which must be refused with a typed
 * error before any keyring call and without a large allocation.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeCbor } from '../src/format/cbor.js'
import { MAGIC } from '../src/format/constants.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { runCampaign } from './fuzz/campaign.js'
import { ARRAY, array, BYTES, bstr, float, head, indefinite, MAP, map, nested, TEXT, tagged, tstr, UINT } from './fuzz/cbor-raw.js'
import { concatBytes, layoutOf, readerFor } from './fuzz/corpus.js'
import { makeWorld } from './fuzz/hostile.js'
import { judge } from './fuzz/oracle.js'
import { runJob } from './fuzz/supervisor.js'
import { decryptSurface, inspectSurface } from './fuzz/surfaces.js'
import { pattern, rejectsWithCode } from './helpers.js'

describe('a short seeded fuzzing campaign (npm run fuzz runs 1,000,000)', () => {
  it('3,000 hostile inputs to every surface: only typed errors, each stage reached', { timeout: 120_000 }, async () => {
    const stats = await runCampaign(makeWorld(), { seed: 20260101, runs: 3000, slowMs: 5000, shrink: true })
    assert.equal(stats.inputs, 3000)
    for (const kind of ['random', 'preamble', 'mutated', 'mutated header', 'mutated recipients', 'header', 'recipients']) {
      assert.ok((stats.kinds[kind] ?? 0) > 50, `too few ${kind} inputs: ${JSON.stringify(stats.kinds)}`)
    }
    for (const code of ['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY', 'ok']) {
      assert.ok((stats.outcomes[`decrypt: ${code}`] ?? 0) > 0, `decrypt never gave ${code}: ${JSON.stringify(stats.outcomes)}`)
    }
  })

  it('the fuzz watchdog kills a worker that stops answering and reports a hang', { timeout: 60_000 }, async () => {
    const result = await runJob('stall', ['stall'], { stallMs: 2000 })
    assert.match(result.failure ?? '', /^HANG: no heartbeat for 2 s/)
  })
})

// ---- hand-built hostile heads -----------------------------------------------------------

const KEY = { keyId: 'hostile-test', key: pattern(32, 77) }
const writer = new Envelope({ keyring: new LocalKeyring(KEY), frameSize: 64 })
const authentic = await writer.encrypt(pattern(200, 1), { context: { tenant: 'acme' } })
const layout = layoutOf(authentic)
const realHeader = authentic.subarray(9, layout.tagEnd - 16)
const realTag = authentic.subarray(layout.tagEnd - 16, layout.tagEnd)
const realRecipients = authentic.subarray(layout.tagEnd + 4, layout.bodyOffset)
const realBody = authentic.subarray(layout.bodyOffset)

const u32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

/** A message around the given parts; the length fields are right unless given. */
function message(parts: { header?: Uint8Array; recipients?: Uint8Array; body?: Uint8Array; h?: number; r?: number }): Uint8Array {
  const header = parts.header ?? realHeader
  const recipients = parts.recipients ?? realRecipients
  return concatBytes([
    MAGIC,
    Uint8Array.of(1),
    u32(parts.h ?? header.length),
    header,
    realTag,
    u32(parts.r ?? recipients.length),
    recipients,
    parts.body ?? realBody,
  ])
}

/** A header with the real fields except those given (written canonically unless raw bytes are given). */
function header(fields: { suite?: Uint8Array; id?: Uint8Array; frameSize?: Uint8Array; context?: Uint8Array; commitment?: Uint8Array }): Uint8Array {
  const id = authentic.subarray(9 + 4, 9 + 4 + 32)
  const commitment = authentic.subarray(layout.tagEnd - 16 - 32, layout.tagEnd - 16)
  return array([
    fields.suite ?? head(UINT, 1),
    fields.id ?? bstr(id),
    fields.frameSize ?? head(UINT, 64),
    fields.context ?? map([[tstr('tenant'), tstr('acme')]]),
    fields.commitment ?? bstr(commitment),
  ])
}

const entry = (wrapped: Uint8Array, keyId = KEY.keyId): Uint8Array => encodeCbor(['local', keyId, wrapped])
const entries = (n: number, declared: number | bigint = n, width?: 0 | 1 | 2 | 4 | 8): Uint8Array =>
  array(
    Array.from({ length: n }, (_, i) => entry(pattern(80, i + 1))),
    declared,
    width,
  )
const contextOf = (n: number, valueBytes = 1): Uint8Array =>
  map(Array.from({ length: n }, (_, i) => [tstr(`k${String(i).padStart(5, '0')}`), tstr('v'.repeat(valueBytes))] as const))

/** Packed-value tables (tag 51) nested `levels` deep around a 30,000-item table: cbor-x copies the table at every level. */
function packedNest(levels: number): Uint8Array {
  const parts: Uint8Array[] = []
  for (let i = 0; i < levels; i++) {
    parts.push(
      Uint8Array.of(0xd8, 0x33, 0x84),
      i === 0 ? concatBytes([head(ARRAY, 30000), new Uint8Array(30000).fill(1)]) : Uint8Array.of(0x81, 0x01),
      Uint8Array.of(0xf6, 0xf6),
    )
  }
  return concatBytes([...parts, Uint8Array.of(0x01)])
}

const FOUR_GIB = 0xffffffff
const cases: Array<{ name: string; message: Uint8Array; code: string }> = [
  { name: 'header length field claims 4 GiB (nothing follows)', message: concatBytes([MAGIC, Uint8Array.of(1), u32(FOUR_GIB)]), code: 'ERR_LIMIT' },
  {
    name: 'header length field claims 4 GiB (64 KiB follow)',
    message: concatBytes([MAGIC, Uint8Array.of(1), u32(FOUR_GIB), new Uint8Array(65536)]),
    code: 'ERR_LIMIT',
  },
  { name: 'header of 64 KiB + 1 byte', message: message({ header: concatBytes([head(TEXT, 65534), new Uint8Array(65534).fill(0x61)]) }), code: 'ERR_LIMIT' },
  { name: 'recipients length field claims 4 GiB', message: message({ r: FOUR_GIB }), code: 'ERR_LIMIT' },
  {
    name: 'message id declares 2^32-1 bytes',
    message: message({ header: header({ id: concatBytes([head(BYTES, FOUR_GIB, 4), new Uint8Array(32)]) }) }),
    code: 'ERR_FORMAT',
  },
  {
    name: 'message id declares 2^64-1 bytes',
    message: message({ header: header({ id: concatBytes([head(BYTES, 2n ** 64n - 1n, 8), new Uint8Array(32)]) }) }),
    code: 'ERR_FORMAT',
  },
  {
    name: 'context text declares 2^32-1 bytes',
    message: message({ header: header({ context: concatBytes([head(MAP, 1), head(TEXT, FOUR_GIB, 4), tstr('x')]) }) }),
    code: 'ERR_FORMAT',
  },
  { name: 'header array declares 2^32-1 items', message: message({ header: concatBytes([head(ARRAY, FOUR_GIB, 4), head(UINT, 1)]) }), code: 'ERR_LIMIT' },
  { name: 'context map declares 2^64-1 entries', message: message({ header: header({ context: head(MAP, 2n ** 64n - 1n, 8) }) }), code: 'ERR_LIMIT' },
  { name: 'context of 257 entries', message: message({ header: header({ context: contextOf(257) }) }), code: 'ERR_LIMIT' },
  { name: 'context of 5,000 entries', message: message({ header: header({ context: contextOf(5000) }) }), code: 'ERR_LIMIT' },
  {
    name: 'context of 256 entries of 250 bytes (header over 64 KiB)',
    message: message({ header: header({ context: contextOf(256, 250) }) }),
    code: 'ERR_LIMIT',
  },
  { name: 'header 60,000 arrays deep', message: message({ header: nested('array', 60000) }), code: 'ERR_LIMIT' },
  { name: 'header 30,000 maps deep', message: message({ header: nested('map', 30000) }), code: 'ERR_LIMIT' },
  { name: 'header under 60,000 tags', message: message({ header: nested('tag', 60000) }), code: 'ERR_FORMAT' },
  { name: 'header of 60,000 empty maps', message: message({ header: concatBytes([head(ARRAY, 60000), new Uint8Array(60000).fill(0xa0)]) }), code: 'ERR_LIMIT' },
  { name: 'nested packed-value tables (tag 51)', message: message({ header: packedNest(3000) }), code: 'ERR_FORMAT' },
  { name: 'a self-referencing array (tags 28/29)', message: message({ header: Uint8Array.of(0xd8, 0x1c, 0x81, 0xd8, 0x1d, 0x00) }), code: 'ERR_FORMAT' },
  {
    name: 'a record definition (tag 57343)',
    message: message({ header: Uint8Array.of(0xd9, 0xdf, 0xff, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61, 0x01) }),
    code: 'ERR_FORMAT',
  },
  {
    name: 'a generic object (tag 27: ["Error", …])',
    message: message({ header: Uint8Array.of(0xd8, 0x1b, 0x82, 0x65, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x61, 0x78) }),
    code: 'ERR_FORMAT',
  },
  {
    name: 'indefinite-length header array',
    message: message({ header: indefinite(ARRAY, [head(UINT, 1), bstr(new Uint8Array(32)), head(UINT, 64), head(MAP, 0), bstr(new Uint8Array(32))]) }),
    code: 'ERR_FORMAT',
  },
  { name: 'frame size as a half float (64.0)', message: message({ header: header({ frameSize: float(64, 2) }) }), code: 'ERR_FORMAT' },
  { name: 'frame size 2^32', message: message({ header: header({ frameSize: head(UINT, 2 ** 32) }) }), code: 'ERR_LIMIT' },
  { name: 'frame size 2^64-1', message: message({ header: header({ frameSize: head(UINT, 2n ** 64n - 1n) }) }), code: 'ERR_LIMIT' },
  { name: 'suite 2^40', message: message({ header: header({ suite: head(UINT, 2 ** 40) }) }), code: 'ERR_UNSUPPORTED' },
  { name: 'message id under a typed-array tag (64)', message: message({ header: header({ id: tagged(64, bstr(new Uint8Array(32))) }) }), code: 'ERR_FORMAT' },
  {
    name: 'duplicate context keys',
    message: message({
      header: header({
        context: map([
          [tstr('a'), tstr('1')],
          [tstr('a'), tstr('2')],
        ]),
      }),
    }),
    code: 'ERR_FORMAT',
  },
  { name: 'suite written in 8 bytes', message: message({ header: header({ suite: head(UINT, 1, 8) }) }), code: 'ERR_FORMAT' },
  { name: '17 wrapped keys (limit 16)', message: message({ recipients: entries(17) }), code: 'ERR_LIMIT' },
  { name: '2,500 wrapped keys (a 255 KB recipients section)', message: message({ recipients: entries(2500) }), code: 'ERR_LIMIT' },
  { name: '5,000 wrapped keys (a 510 KB recipients section)', message: message({ recipients: entries(5000) }), code: 'ERR_LIMIT' },
  {
    name: 'recipients head claims 2^64-1 wrapped keys',
    message: message({ recipients: concatBytes([head(ARRAY, 2n ** 64n - 1n, 8), entry(pattern(80, 1))]) }),
    code: 'ERR_LIMIT',
  },
  { name: 'recipients head claims 2 keys, 2,500 follow', message: message({ recipients: entries(2500, 2) }), code: 'ERR_FORMAT' },
  { name: 'recipients nested 60,000 arrays deep', message: message({ recipients: nested('array', 60000) }), code: 'ERR_LIMIT' },
  { name: 'indefinite-length recipients', message: message({ recipients: indefinite(ARRAY, [entry(pattern(80, 1))]) }), code: 'ERR_FORMAT' },
  { name: 'a wrapped key of 8,193 bytes', message: message({ recipients: array([entry(pattern(8193, 1))]) }), code: 'ERR_FORMAT' },
  { name: 'a key id of 2,049 bytes', message: message({ recipients: array([entry(pattern(80, 1), 'k'.repeat(2049))]) }), code: 'ERR_FORMAT' },
]

describe('hostile heads: refused before any keyring call and before any large allocation', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.code}`, async () => {
      const reader = readerFor([KEY])
      const before = process.memoryUsage()
      const started = performance.now()
      for (let i = 0; i < 20; i++) {
        assert.equal(await judge(decryptSurface, reader, c.message), c.code)
        assert.equal(await judge(inspectSurface, reader, c.message), c.code)
      }
      const ms = (performance.now() - started) / 40
      const after = process.memoryUsage()
      assert.equal(reader.counters[0]!.calls.unwrap, 0, 'the keyring was called')
      // 40 readings of inputs up to ~300 KiB: a declared 4 GiB (or even 64 MiB) allocation would show.
      assert.ok(after.arrayBuffers - before.arrayBuffers < 32 * 2 ** 20, `array buffers grew by ${after.arrayBuffers - before.arrayBuffers} bytes`)
      assert.ok(after.heapUsed - before.heapUsed < 64 * 2 ** 20, `heap grew by ${after.heapUsed - before.heapUsed} bytes`)
      assert.ok(ms < 250, `one reading took ${ms.toFixed(1)} ms`)
    })
  }

  it('the keyring is called once per distinct key however often a message lists it, and never past the limit', async () => {
    for (const [n, limit, calls] of [
      [16, 16, 1],
      [64, 64, 1],
      [65, 64, 0],
    ] as const) {
      const reader = readerFor([KEY], { maxWrappedKeys: limit })
      const outcome = await judge(decryptSurface, reader, message({ recipients: entries(n) }))
      assert.equal(outcome, n > limit ? 'ERR_LIMIT' : 'ERR_UNWRAP')
      assert.equal(reader.counters[0]!.calls.unwrap, calls)
    }
  })
})

describe('regressions found by fuzzing', () => {
  it('nested packed-value tables are refused in one linear pass (cbor-x spent ~6 s of CPU on one 64 KiB header)', async () => {
    const hostile = message({ header: packedNest(4900) })
    assert.ok(hostile.length < 65536 + 200)
    const started = performance.now()
    const error = await rejectsWithCode(writer.decrypt(hostile), 'ERR_FORMAT')
    assert.ok(performance.now() - started < 500, `took ${(performance.now() - started).toFixed(0)} ms`)
    assert.match(error.message, /a tag \(not allowed\) at byte 0/)
  })

  it('a recipient entry of 80,000 empty maps is refused by count, not decoded (cbor-x took ~0.25 s per 256 KiB)', async () => {
    const hostile = message({
      recipients: array([concatBytes([head(ARRAY, 3), tstr('local'), tstr(KEY.keyId), head(ARRAY, 80000), new Uint8Array(80000).fill(0xa0)])]),
    })
    const error = await rejectsWithCode(writer.decrypt(hostile), 'ERR_LIMIT')
    assert.match(error.message, /more than 1024 CBOR data items/)
  })

  it('8-byte integers in the header are read by value: frame size 2^32 is ERR_LIMIT and suite 2^40 ERR_UNSUPPORTED (both were ERR_FORMAT), 64 in 8 bytes still ERR_FORMAT', async () => {
    await rejectsWithCode(writer.decrypt(message({ header: header({ frameSize: head(UINT, 2 ** 32) }) })), 'ERR_LIMIT')
    await rejectsWithCode(writer.decrypt(message({ header: header({ suite: head(UINT, 2 ** 40) }) })), 'ERR_UNSUPPORTED')
    await rejectsWithCode(writer.decrypt(message({ header: header({ frameSize: head(UINT, 64, 8) }) })), 'ERR_FORMAT')
    await rejectsWithCode(writer.decrypt(message({ header: header({ suite: head(UINT, 1, 8) }) })), 'ERR_FORMAT')
  })

  it('inspect checks its limits: no caller can lift the 64-key ceiling', async () => {
    const many = message({ recipients: entries(65) })
    assert.throws(() => inspect(many, { maxWrappedKeys: 65 }), { name: 'RangeError', code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => inspect(authentic, { maxFrameSize: 0 }), { name: 'RangeError', code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => inspect(authentic, null as never), { name: 'TypeError', code: 'ERR_INVALID_ARGUMENT' })
    assert.equal(inspect(authentic, { maxWrappedKeys: 64 }).recipients.length, 1)
  })
})
