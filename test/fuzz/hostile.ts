/**
 * fast-check arbitraries for hostile input to every reading surface:
 *
 * - random bytes, and random bytes behind a plausible preamble;
 * - authentic messages mutated at the byte level (flips, sets, inserts, deletes, truncation,
 *   appends, duplicated or swapped ranges, lying length fields, splices of two messages);
 * - messages assembled from a hostile header and/or recipients section: fields of the wrong
 *   type written by cbor-x, non-canonical spellings, tags, floats, indefinite lengths,
 *   duplicate map keys, declared lengths up to 2^64, deep nesting, giant contexts, thousands
 *   of wrapped keys, packed-reference tag nests.
 *
 * Large blobs come from a seeded generator, not from fast-check's byte arrays, so a 64 KiB
 * input costs microseconds to build.
 */

import { bytesToHex } from '@noble/ciphers/utils.js'
import fc from 'fast-check'
import { MAGIC } from '../../src/format/constants.js'
import { canonicalContext } from '../../src/format/context.js'
import { parseHead } from '../../src/format/message.js'
import { pattern } from '../helpers.js'
import { ARRAY, array, BYTES, bstr, cborx, chunked, float, head, indefinite, MAP, map, nested, Tag, TEXT, tagged, tstr, UINT } from './cbor-raw.js'
import type { KeySpec, Layout, Sample } from './corpus.js'
import { concatBytes, layoutOf, reseal, tamperSamples } from './corpus.js'
import type { Expectation } from './oracle.js'

/** One generated input: which campaign made it, the bytes, and what may come of them. */
export interface HostileInput {
  readonly kind: string
  readonly message: Uint8Array
  readonly expect: Expectation
}

/** The authentic messages inputs are derived from, and the keys the reader holds. */
export interface World {
  readonly samples: readonly Sample[]
  readonly layouts: readonly Layout[]
  /** Every key any sample's reader holds (the fuzzing reader holds them all). */
  readonly holder: readonly KeySpec[]
  /** Index of the sample whose message id sits where a canonical header keeps it (bytes 13..45), if any. */
  readonly owner: (message: Uint8Array) => number | undefined
}

export function makeWorld(): World {
  const base = tamperSamples([64, 100, 4096])
  // Longer messages too: many frames, so frame-level edits (swaps, drops, splices) have room.
  const long = [reseal({ ...base[0]!, plaintext: pattern(1500, 9) }, 64, 7001), reseal({ ...base[0]!, plaintext: pattern(5000, 10) }, 1000, 7002)]
  const samples = [...base, ...long]
  const holder = new Map<string, KeySpec>()
  for (const s of samples) for (const k of s.holder) holder.set(k.keyId, k)
  const ids = new Map(samples.map((s, i) => [bytesToHex(s.message.subarray(13, 45)), i]))
  return {
    samples,
    layouts: samples.map((s) => layoutOf(s.message)),
    holder: [...holder.values()],
    owner: (message) => (message.length >= 45 ? ids.get(bytesToHex(message.subarray(13, 45))) : undefined),
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * The edits FORMAT.md §9 lets through: the result keeps the preamble, header, header tag and
 * body of `sample` byte for byte and differs only in its recipients section.
 */
export function onlyRecipientsDiffer(sample: Sample, layout: Layout): (message: Uint8Array) => boolean {
  const pinned = sample.message.subarray(0, layout.tagEnd)
  const body = sample.message.subarray(layout.bodyOffset)
  return (m) => {
    if (m.length < layout.tagEnd + 4 + body.length) return false
    if (!equalBytes(m.subarray(0, layout.tagEnd), pinned) || !equalBytes(m.subarray(m.length - body.length), body)) return false
    try {
      const parsed = parseHead(m, { maxWrappedKeys: 64 })
      return 'head' in parsed && parsed.head.bodyOffset === m.length - body.length
    } catch {
      return false
    }
  }
}

/** Bytes of a given length from a seed: cheap at any size. */
const blob = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.tuple(fc.integer({ min, max }), fc.integer()).map(([n, seed]) => pattern(n, seed))

const u32 = (value: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value >>> 0)
  return out
}

/** u32 values that probe length checks. */
const INTERESTING_U32 = [0, 1, 2, 15, 16, 17, 23, 24, 255, 256, 65535, 65536, 65537, 262143, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
const INTERESTING_BYTES = [
  0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xd8, 0xf4, 0xf6, 0xf7, 0xf9, 0xfb, 0xff,
]
/** Tags cbor-x gives meaning to, and a few it does not. */
const TAGS = [0, 1, 2, 3, 4, 5, 6, 14, 15, 21, 24, 25, 27, 28, 29, 32, 51, 64, 68, 72, 81, 256, 258, 259, 269, 55799, 57343, 57344]
const LENGTH_LIES = [2n ** 16n, 2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]

// ---- random bytes -----------------------------------------------------------------------

const randomBytes: fc.Arbitrary<HostileInput> = fc
  .oneof(fc.uint8Array({ maxLength: 64 }), blob(0, 2048))
  .map((message) => ({ kind: 'random', message, expect: {} }))

const preamble: fc.Arbitrary<HostileInput> = fc
  .record({
    version: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    h: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.integer({ min: 0, max: 0xffffffff })),
    tail: fc.oneof(fc.uint8Array({ maxLength: 80 }), blob(0, 70000)),
  })
  .map(({ version, h, tail }) => ({ kind: 'preamble', message: concatBytes([MAGIC, Uint8Array.of(version), u32(h), tail]), expect: {} }))

// ---- mutations of authentic messages ----------------------------------------------------

type Op =
  | { op: 'xor'; pos: number; head: boolean; mask: number }
  | { op: 'set'; pos: number; head: boolean; value: number }
  | { op: 'insert'; pos: number; head: boolean; bytes: Uint8Array }
  | { op: 'delete'; pos: number; head: boolean; length: number }
  | { op: 'truncate'; pos: number; head: boolean }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'duplicate'; pos: number; length: number; to: number }
  | { op: 'swap'; a: number; b: number; length: number }
  | { op: 'length'; field: 'header' | 'recipients'; value: number }
  | { op: 'splice'; other: number; cut: number; cutOther: number }
  | { op: 'frames'; how: 'swap' | 'drop' | 'repeat'; i: number; j: number }

const position = { pos: fc.nat(), head: fc.boolean() }
const opArb = (samples: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('xor' as const), ...position, mask: fc.integer({ min: 1, max: 255 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('set' as const),
        ...position,
        value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), ...position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), ...position, length: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), ...position }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), pos: fc.nat(), length: fc.integer({ min: 1, max: 200 }), to: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), length: fc.integer({ min: 1, max: 120 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('length' as const),
        field: fc.constantFrom('header' as const, 'recipients' as const),
        value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.integer({ min: 0, max: 0xffffffff })),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), other: fc.nat({ max: samples - 1 }), cut: fc.nat(), cutOther: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('frames' as const),
        how: fc.constantFrom('swap' as const, 'drop' as const, 'repeat' as const),
        i: fc.nat(),
        j: fc.nat(),
      }),
    },
  )

/** Applies one edit. `frameSize` is the source message's, for whole-frame edits (which assume the body starts at `layout.bodyOffset`). */
function applyOp(m: Uint8Array, op: Op, layout: Layout, world: World, frameSize: number): Uint8Array {
  const at = (pos: number, inHead: boolean, extra = 0): number => pos % (Math.max(1, inHead ? Math.min(layout.bodyOffset, m.length) : m.length) + extra)
  switch (op.op) {
    case 'xor':
    case 'set': {
      if (m.length === 0) return m
      const out = m.slice()
      const i = at(op.pos, op.head)
      out[i] = op.op === 'xor' ? out[i]! ^ op.mask : op.value
      return out
    }
    case 'insert': {
      const i = at(op.pos, op.head, 1)
      return concatBytes([m.subarray(0, i), op.bytes, m.subarray(i)])
    }
    case 'delete': {
      const i = at(op.pos, op.head)
      return concatBytes([m.subarray(0, i), m.subarray(i + op.length)])
    }
    case 'truncate':
      return m.slice(0, at(op.pos, op.head))
    case 'append':
      return concatBytes([m, op.bytes])
    case 'duplicate': {
      const i = at(op.pos, false)
      return concatBytes([m.subarray(0, at(op.to, false, 1)), m.subarray(i, i + op.length), m.subarray(at(op.to, false, 1))])
    }
    case 'swap': {
      const n = Math.min(op.length, Math.floor(m.length / 2))
      if (n === 0) return m
      const a = op.a % (m.length - 2 * n + 1)
      const b = a + n + (op.b % (m.length - a - 2 * n + 1))
      return concatBytes([m.subarray(0, a), m.subarray(b, b + n), m.subarray(a + n, b), m.subarray(a, a + n), m.subarray(b + n)])
    }
    case 'length': {
      const field = op.field === 'header' ? 5 : layout.tagEnd
      if (m.length < field + 4) return m
      const out = m.slice()
      out.set(u32(op.value), field)
      return out
    }
    case 'splice': {
      const other = world.samples[op.other % world.samples.length]!.message
      return concatBytes([m.subarray(0, op.cut % (m.length + 1)), other.subarray(op.cutOther % (other.length + 1))])
    }
    case 'frames': {
      // Whole frames swapped, dropped or repeated: only the index in nonce and AAD tells them apart.
      const step = frameSize + 16
      const frames: Uint8Array[] = []
      for (let at = layout.bodyOffset; at < m.length; at += step) frames.push(m.subarray(at, at + step))
      if (frames.length === 0) return m
      const i = op.i % frames.length
      const j = op.j % frames.length
      if (op.how === 'swap') [frames[i], frames[j]] = [frames[j]!, frames[i]!]
      else if (op.how === 'drop') frames.splice(i, 1)
      else frames.splice(j, 0, frames[i]!)
      return concatBytes([m.subarray(0, layout.bodyOffset), ...frames])
    }
  }
}

/**
 * An authentic message with 1-4 byte-level edits, to the whole message or inside its header or
 * recipients section with the length fields kept right (so the edit reaches the CBOR decoder
 * instead of tripping a length check).
 */
const mutated = (world: World): fc.Arbitrary<HostileInput> =>
  fc
    .record({
      index: fc.nat({ max: world.samples.length - 1 }),
      ops: fc.array(opArb(world.samples.length), { minLength: 1, maxLength: 4 }),
      scope: fc.constantFrom('message' as const, 'message' as const, 'header' as const, 'recipients' as const),
    })
    .map(({ index, ops, scope }) => {
      const sample = world.samples[index]!
      const layout = world.layouts[index]!
      const m = sample.message
      let message: Uint8Array
      if (scope === 'message') {
        message = m
        for (const op of ops) message = applyOp(message, op, layout, world, sample.frameSize)
      } else {
        const [start, end] = scope === 'header' ? [9, layout.tagEnd - 16] : [layout.tagEnd + 4, layout.bodyOffset]
        let section = m.subarray(start, end)
        const local = { tagEnd: 0, entries: [], bodyOffset: section.length }
        for (const op of ops) section = applyOp(section, op, local, world, sample.frameSize)
        // The length field sits just before each section.
        message = concatBytes([m.subarray(0, start - 4), u32(section.length), section, m.subarray(end)])
      }
      // A splice can rebuild another authentic message whole (two messages share their first bytes):
      // judge the result against the message whose id it carries.
      const owner = world.owner(message) ?? index
      const expect = { plaintext: world.samples[owner]!.plaintext, mayOpen: onlyRecipientsDiffer(world.samples[owner]!, world.layouts[owner]!) }
      return { kind: scope === 'message' ? 'mutated' : `mutated ${scope}`, message, expect }
    })

// ---- hostile CBOR values ----------------------------------------------------------------

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.constantFrom(
    0,
    1,
    23,
    24,
    63,
    64,
    65,
    255,
    256,
    4096,
    65535,
    65536,
    4 * 1024 * 1024,
    4 * 1024 * 1024 + 1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    -1,
    -(2 ** 31),
  ),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.double(),
  fc.string({ maxLength: 12 }),
  // Any code point, lone surrogates included (fast-check's 'binary' unit is slow to set up).
  fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 8 }).map((points) => String.fromCodePoint(...points)),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(null, undefined, true, false),
  fc.date({ noInvalidDate: false }),
)

/** Any value cbor-x can write: scalars, arrays, Maps, Sets and Tags, a few levels deep. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TAGS), tie('value')).map(([tag, value]) => new Tag(value, tag)) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)) },
  ),
})).value

const encodedValue: fc.Arbitrary<Uint8Array> = fc.tuple(anyValue, fc.boolean()).map(([value, loose]) => cborx(value, loose) ?? Uint8Array.of(0xf7))

// ---- headers ----------------------------------------------------------------------------

const contextKey = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith('kmse:') && k.isWellFormed())
const contextObject = fc.dictionary(
  contextKey,
  fc.string({ maxLength: 16 }).filter((v) => v.isWellFormed()),
  { maxKeys: 5 },
)

/** The fields of a header. */
interface Fields {
  readonly messageId: Uint8Array
  readonly frameSize: number
  readonly context: ReadonlyMap<string, string>
  readonly commitment: Uint8Array
}

/**
 * Well-formed header fields, each either the source message's own or a new value: with the
 * source's recipients and context the data key unwraps, so a header that keeps its message id
 * and commitment but changes anything else reaches the header-tag check.
 */
function fieldsLike(header: Fields): fc.Arbitrary<Fields> {
  const either = <T>(own: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof(fc.constant(own), other)
  return fc.record({
    messageId: either(header.messageId, blob(32, 32)),
    frameSize: either(header.frameSize, fc.constantFrom(64, 100, 4096, 65536, 4 * 1024 * 1024)),
    context: either(
      header.context,
      contextObject.map((o) => canonicalContext(o, 'context', true)),
    ),
    commitment: either(header.commitment, blob(32, 32)),
  })
}

type Width = 0 | 1 | 2 | 4 | 8
/** One way to misspell a header (or none): a widened head, an indefinite length, a tag, a float, a duplicate key, a lying length. */
type Spelling =
  | { readonly kind: 'canonical' }
  | { readonly kind: 'widen'; readonly item: number; readonly width: Width }
  | { readonly kind: 'indefinite'; readonly where: 'top' | 'context' | 'id' }
  | { readonly kind: 'tag'; readonly item: number; readonly tag: number }
  | { readonly kind: 'float'; readonly bytes: 2 | 4 | 8 }
  | { readonly kind: 'duplicate-key' }
  | { readonly kind: 'lie'; readonly item: number; readonly length: bigint }

const spelling: fc.Arbitrary<Spelling> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'canonical' as const }) },
  fc.record({ kind: fc.constant('widen' as const), item: fc.nat({ max: 5 }), width: fc.constantFrom<Width>(1, 2, 4, 8) }),
  fc.record({ kind: fc.constant('indefinite' as const), where: fc.constantFrom('top' as const, 'context' as const, 'id' as const) }),
  fc.record({ kind: fc.constant('tag' as const), item: fc.nat({ max: 5 }), tag: fc.constantFrom(...TAGS) }),
  fc.record({ kind: fc.constant('float' as const), bytes: fc.constantFrom<2 | 4 | 8>(2, 4, 8) }),
  fc.constant({ kind: 'duplicate-key' as const }),
  fc.record({ kind: fc.constant('lie' as const), item: fc.nat({ max: 4 }), length: fc.constantFrom(...LENGTH_LIES) }),
)

/** A header written by hand: items 0 (the array) to 5 (commitment), one of them misspelled. */
function spellHeader(f: Fields, s: Spelling): Uint8Array {
  const w = (i: number): Width | undefined => (s.kind === 'widen' && s.item === i ? s.width : undefined)
  const lie = (i: number): bigint | undefined => (s.kind === 'lie' && s.item === i ? s.length : undefined)
  const entries: Array<[Uint8Array, Uint8Array]> = [...f.context].map(([k, v]) => [tstr(k), tstr(v)])
  if (s.kind === 'duplicate-key') entries.push(entries[0] ?? [tstr('k'), tstr('v')], entries[0] ?? [tstr('k'), tstr('v')])
  const lying = (value: Uint8Array, i: number): Uint8Array => concatBytes([head(BYTES, lie(i)!, 8), value])
  const items = [
    head(UINT, 1, w(1)),
    s.kind === 'indefinite' && s.where === 'id'
      ? chunked(BYTES, [f.messageId.subarray(0, 16), f.messageId.subarray(16)])
      : lie(1) !== undefined
        ? lying(f.messageId, 1)
        : bstr(f.messageId, w(2)),
    s.kind === 'float' ? float(f.frameSize, s.bytes) : head(UINT, f.frameSize, w(3)),
    s.kind === 'indefinite' && s.where === 'context'
      ? indefinite(MAP, entries.flat())
      : map(entries, lie(3) ?? entries.length, lie(3) === undefined ? w(4) : 8),
    lie(4) !== undefined ? lying(f.commitment, 4) : bstr(f.commitment, w(5)),
  ]
  if (s.kind === 'tag' && s.item < items.length) items[s.item] = tagged(s.tag, items[s.item]!)
  const top = s.kind === 'indefinite' && s.where === 'top' ? indefinite(ARRAY, items) : array(items, lie(0) ?? items.length, lie(0) === undefined ? w(0) : 8)
  return s.kind === 'tag' && s.item === 5 ? tagged(s.tag, top) : top
}

/** Header bytes for a message built around `sample`: wrong types via cbor-x, misspellings by hand, or giant shapes. */
function headerBytes(world: World, index: number): fc.Arbitrary<Uint8Array> {
  const parsed = parseHead(world.samples[index]!.message)
  if (!('head' in parsed)) throw new Error('incomplete sample')
  const own = parsed.head.header
  return fc.oneof(
    // Each field well-formed or replaced by any value, written by the strict or the loose cbor-x.
    {
      weight: 4,
      arbitrary: fc
        .record({
          fields: fieldsLike(own),
          replace: fc.array(fc.tuple(fc.nat({ max: 4 }), anyValue), { maxLength: 2 }),
          arity: fc.constantFrom(5, 5, 5, 4, 6),
          loose: fc.boolean(),
        })
        .map(({ fields, replace, arity, loose }) => {
          const items: unknown[] = [1, fields.messageId, fields.frameSize, fields.context, fields.commitment]
          for (const [i, v] of replace) items[i] = v
          while (items.length > arity) items.pop()
          while (items.length < arity) items.push(0)
          return cborx(items, loose) ?? Uint8Array.of(0x80)
        }),
    },
    { weight: 5, arbitrary: fc.tuple(fieldsLike(own), spelling).map(([f, s]) => spellHeader(f, s)) },
    { weight: 1, arbitrary: encodedValue },
    { weight: 1, arbitrary: giantShape(world) },
  )
}

/** Oversized and deep structures (each up to ~70 KiB). */
function giantShape(world: World): fc.Arbitrary<Uint8Array> {
  const keyId = world.holder[0]!.keyId
  return fc.oneof(
    fc.tuple(fc.constantFrom('array' as const, 'map' as const, 'tag' as const), fc.integer({ min: 5, max: 35000 })).map(([kind, depth]) => nested(kind, depth)),
    // A context of 257..3000 entries, or of 256 entries large enough to pass 64 KiB.
    fc.tuple(fc.integer({ min: 200, max: 3000 }), fc.integer({ min: 0, max: 300 })).map(([n, valueBytes]) => {
      const entries: Array<[Uint8Array, Uint8Array]> = []
      for (let i = 0; i < n; i++) entries.push([tstr(`k${String(i).padStart(4, '0')}`), tstr('v'.repeat(valueBytes))])
      return array([head(UINT, 1), bstr(new Uint8Array(32)), head(UINT, 64), map(entries), bstr(new Uint8Array(32))])
    }),
    // One context value of up to 64 KiB: valid, so reading goes on to the keyring.
    fc
      .integer({ min: 1000, max: 65400 })
      .map((n) => array([head(UINT, 1), bstr(new Uint8Array(32)), head(UINT, 64), map([[tstr('k'), tstr('x'.repeat(n))]]), bstr(new Uint8Array(32))])),
    // Thousands of items of any kind.
    fc
      .tuple(fc.integer({ min: 1000, max: 30000 }), fc.constantFrom(0x00, 0x80, 0xa0, 0x40, 0x60))
      .map(([n, item]) => concatBytes([head(ARRAY, n), new Uint8Array(n).fill(item)])),
    // Lengths declared far beyond the bytes present.
    fc.tuple(fc.constantFrom(BYTES, TEXT, ARRAY, MAP), fc.constantFrom(...LENGTH_LIES)).map(([major, n]) => concatBytes([head(major, n, 8), tstr(keyId)])),
    // Nested packed-value tables (tag 51): ~6 s of CPU in cbor-x before the subset check.
    fc.integer({ min: 10, max: 5000 }).map((levels) => {
      const parts: Uint8Array[] = []
      for (let i = 0; i < levels; i++)
        parts.push(
          Uint8Array.of(0xd8, 0x33, 0x84),
          i === 0 ? concatBytes([head(ARRAY, 1000), new Uint8Array(1000).fill(1)]) : Uint8Array.of(0x81, 0x01),
          Uint8Array.of(0xf6, 0xf6),
        )
      parts.push(Uint8Array.of(0x01))
      return concatBytes(parts)
    }),
  )
}

// ---- recipients -------------------------------------------------------------------------

const recipientsBytes = (world: World): fc.Arbitrary<Uint8Array> => {
  const ids = world.holder.map((k) => k.keyId)
  const entry = fc
    .record({
      type: fc.oneof({ weight: 5, arbitrary: fc.constant('local') }, { weight: 1, arbitrary: fc.constantFrom('aws-kms', 'x', 'Local', '', 'a'.repeat(33)) }),
      keyId: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...ids) },
        { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
        { weight: 1, arbitrary: fc.constant('k'.repeat(2049)) },
      ),
      wrapped: fc.oneof({ weight: 5, arbitrary: blob(80, 80) }, { weight: 1, arbitrary: blob(0, 120) }, { weight: 1, arbitrary: blob(8193, 8193) }),
    })
    .map((r) => [r.type, r.keyId, r.wrapped] as unknown[])
  return fc.oneof(
    // Plausible entries for keys the reader holds (with junk wrapped keys): reading reaches the keyring.
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.array(entry, { minLength: 1, maxLength: 20 }), fc.boolean())
        .map(([entries, loose]) => cborx(entries, loose) ?? Uint8Array.of(0x80)),
    },
    // A real recipients section.
    {
      weight: 2,
      arbitrary: fc
        .nat({ max: world.samples.length - 1 })
        .map((i) => world.samples[i]!.message.subarray(world.layouts[i]!.tagEnd + 4, world.layouts[i]!.bodyOffset)),
    },
    // Thousands of wrapped keys, with the count in the head true or a lie.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min: 17, max: 5000 }), fc.option(fc.constantFrom(0n, 1n, 16n, 17n, 2n ** 32n - 1n, 2n ** 64n - 1n), { freq: 3 }))
        .map(([n, declared]) => {
          const one = cborx(['local', ids[0]!, new Uint8Array(8)])!
          const body = new Uint8Array(one.length * n)
          for (let i = 0; i < n; i++) body.set(one, i * one.length)
          return concatBytes([declared === null ? head(ARRAY, n) : head(ARRAY, declared, 8), body])
        }),
    },
    // Anything else: wrong types, tags, floats, nesting.
    { weight: 1, arbitrary: encodedValue },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('array' as const, 'map' as const, 'tag' as const), fc.integer({ min: 2, max: 35000 }))
        .map(([kind, depth]) => nested(kind, depth, tstr('x'))),
    },
    // Non-canonical and indefinite spellings of plausible entries.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.array(entry, { minLength: 1, maxLength: 3 }), fc.constantFrom<Width>(1, 2, 4, 8), fc.boolean()).map(([entries, width, indef]) => {
        const items = entries.map((e) => array([tstr(e[0] as string), tstr(e[1] as string, width), bstr(e[2] as Uint8Array)]))
        return indef ? indefinite(ARRAY, items) : array(items, items.length, width)
      }),
    },
  )
}

// ---- assembled messages -----------------------------------------------------------------

const lengthField = (actual: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(actual) },
    { weight: 1, arbitrary: fc.constantFrom(...INTERESTING_U32) },
    { weight: 1, arbitrary: fc.constantFrom(actual - 1, actual + 1).filter((n) => n >= 0) },
  )

/** A message assembled around an authentic one, with a hostile header, recipients section, tag or body. */
const assembled = (world: World): fc.Arbitrary<HostileInput> => {
  const headers = world.samples.map((_, i) => headerBytes(world, i))
  const recipients = recipientsBytes(world)
  return fc.nat({ max: world.samples.length - 1 }).chain((source) =>
    fc
      .record({
        header: fc.option(headers[source]!, { freq: 8 }),
        recipients: fc.option(recipients, { freq: 3 }),
        tag: fc.option(blob(16, 16), { freq: 2 }),
        body: fc.oneof(fc.constant('real' as const), fc.constant('none' as const), blob(0, 300)),
      })
      .chain((p) => {
        const sample = world.samples[source]!
        const layout = world.layouts[source]!
        const m = sample.message
        const header = p.header ?? m.subarray(9, layout.tagEnd - 16)
        const section = p.recipients ?? m.subarray(layout.tagEnd + 4, layout.bodyOffset)
        return fc.record({ h: lengthField(header.length), r: lengthField(section.length) }).map(({ h, r }) => {
          const tag = p.tag ?? m.subarray(layout.tagEnd - 16, layout.tagEnd)
          const body = p.body === 'real' ? m.subarray(layout.bodyOffset) : p.body === 'none' ? new Uint8Array(0) : p.body
          const message = concatBytes([MAGIC, Uint8Array.of(1), u32(h), header, tag, u32(r), section, body])
          // Parts may come out equal to the source's own (a header of its own fields, spelled canonically):
          // the structural check decides, as for any edit.
          const expect: Expectation = { plaintext: sample.plaintext, mayOpen: onlyRecipientsDiffer(sample, layout) }
          return { kind: p.header === null ? 'recipients' : 'header', message, expect }
        })
      }),
  )
}

/** Every campaign, weighted towards inputs that get past the first checks. */
export function hostileInput(world: World): fc.Arbitrary<HostileInput> {
  return fc.oneof(
    { weight: 1, arbitrary: randomBytes },
    { weight: 1, arbitrary: preamble },
    { weight: 8, arbitrary: mutated(world) },
    { weight: 8, arbitrary: assembled(world) },
  )
}
