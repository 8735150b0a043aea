/**
 * format/head-memo.ts: a head parsed through the memo is the head a full parse gives, for
 * every single-byte change and truncation of a head that differs from the remembered one only
 * where the memo skips (message id, commitment, header tag), and under changed reader limits.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EnvelopeError } from '../src/errors.js'
import { fromText, PREFIX_INDEX_KEY } from '../src/fields/text.js'
import { INDEX_KEY_PURPOSE } from '../src/format/constants.js'
import { HeadMemo } from '../src/format/head-memo.js'
import type { HeadResult } from '../src/format/message.js'
import { parseHead } from '../src/format/message.js'
import { Envelope, FieldEncryptor, KeyCache, LocalKeyring } from '../src/index.js'
import { pattern } from './helpers.js'
import { edits } from './mutations.js'

/** What a parse gave, comparable with deepEqual: the head's fields as plain values, or the error code. */
function shape(run: () => HeadResult): unknown {
  try {
    const r = run()
    if ('need' in r) return { need: r.need }
    const { header, recipients, authenticated, headerTag, bodyOffset } = r.head
    return {
      header: { ...header, context: [...header.context], messageId: [...header.messageId], commitment: [...header.commitment] },
      recipients: recipients.map((x) => ({ ...x, wrapped: [...x.wrapped] })),
      authenticated: [...authenticated],
      headerTag: [...headerTag],
      bodyOffset,
    }
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `untyped ${String(error)}`)
    return { code: error.code }
  }
}

describe('HeadMemo', () => {
  const keyring = new LocalKeyring({ keyId: 'memo', key: pattern(32, 4) })
  const env = new Envelope({ keyring, frameSize: 128, cache: new KeyCache({ maxAge: 60_000 }) })

  it('every change and truncation of a second message under the same data key parses as it does without the memo', async () => {
    const first = await env.encrypt(pattern(10, 1), { context: { tenant: 'acme', b: 'x' } })
    const second = await env.encrypt(pattern(10, 2), { context: { tenant: 'acme', b: 'x' } })
    let hits = 0
    for (const { label, message } of edits(second)) {
      const memo = new HeadMemo()
      const seeded = parseHead(first, { headMemo: memo })
      assert.ok('head' in seeded)
      let withMemo: HeadResult | undefined
      try {
        withMemo = parseHead(message, { headMemo: memo })
      } catch {}
      // A hit hands out the remembered context object (a full parse builds a new one).
      if (withMemo !== undefined && 'head' in withMemo && withMemo.head.header.context === seeded.head.header.context) hits++
      assert.deepEqual(
        shape(() => parseHead(message, { headMemo: memo })),
        shape(() => parseHead(message, {})),
        label,
      )
    }
    // Hits: every change inside the id, the commitment and the tag (3 masks each), every change
    // and cut past the head (the body is not the memo's), and the 3 extensions.
    const head = parseHead(second, {})
    assert.ok('head' in head)
    const body = second.length - head.head.bodyOffset
    assert.equal(hits, 3 * (32 + 32 + 16) + 3 * body + body + 3)
  })

  it('a head over 4 KiB is not remembered (and forgets the one before it)', async () => {
    const small = await env.encrypt(pattern(10, 1))
    const large = await env.encrypt(pattern(10, 1), { context: { big: 'x'.repeat(5000) } })
    const memo = new HeadMemo()
    const parse = (bytes: Uint8Array) => {
      const r = parseHead(bytes, { headMemo: memo })
      assert.ok('head' in r)
      return r.head.header.context
    }
    const first = parse(small)
    assert.equal(parse(small), first, 'a small head is remembered')
    assert.notEqual(parse(large), parse(large))
    assert.notEqual(parse(small), first)
  })

  it('the remembered head is used only under the limits it was checked with', async () => {
    const message = await env.encrypt(pattern(10, 1), { context: { a: 'b' } })
    const indexKey = fromText(PREFIX_INDEX_KEY, await FieldEncryptor.createIndexKey(env))!
    for (const [bytes, loose, strict] of [
      [message, {}, { maxFrameSize: 64 }],
      [indexKey, { reservedContext: INDEX_KEY_PURPOSE }, {}],
    ] as const) {
      const memo = new HeadMemo()
      assert.ok('head' in parseHead(bytes, { ...loose, headMemo: memo }))
      const expected = shape(() => parseHead(bytes, strict))
      assert.ok(typeof expected === 'object' && expected !== null && 'code' in expected)
      assert.deepEqual(
        shape(() => parseHead(bytes, { ...strict, headMemo: memo })),
        expected,
      )
    }
  })
})
