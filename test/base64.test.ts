/**
 * The two `#base64` codecs (format/base64-node.ts, format/base64-portable.ts) give the same
 * answer for every input: the same text for any bytes, and for any text either the same bytes
 * or the same refusal. The node codec's strictness is a re-encoding check, so the refusals are
 * what this file pins down most.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base64Codec as native } from '../src/format/base64-node.js'
import { base64Codec as portable } from '../src/format/base64-portable.js'
import { pattern } from './helpers.js'

/** A small seeded generator (xorshift32): the same cases on every run. */
function rng(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

const plain = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : [...bytes])

function agree(text: string): Uint8Array | undefined {
  const url = native.decodeUrl(text, true)
  assert.deepEqual(plain(url), plain(portable.decodeUrl(text, true)), `base64url ${JSON.stringify(text)}`)
  assert.deepEqual(plain(native.decode(text, true)), plain(portable.decode(text, true)), `base64 ${JSON.stringify(text)}`)
  return url
}

describe('#base64: the native and portable codecs agree', () => {
  it('encode the same text and decode it back, for 0-300 bytes and 1 MiB', () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = pattern(n, n)
      const url = native.encodeUrl(bytes)
      const std = native.encode(bytes)
      assert.equal(url, portable.encodeUrl(bytes))
      assert.equal(std, portable.encode(bytes))
      assert.deepEqual(native.decodeUrl(url, true), bytes)
      assert.deepEqual(native.decode(std, true), bytes)
      assert.equal(agree(url)?.length, n)
    }
    const big = pattern(2 ** 20, 9)
    assert.equal(native.encode(big), portable.encode(big))
    assert.deepEqual(native.decodeUrl(native.encodeUrl(big.subarray(5)), true), big.subarray(5))
  })

  it('refuse the same non-canonical texts', () => {
    for (const [text, url, std] of [
      ['', true, true],
      ['AAE', true, false], // unpadded: url only
      ['AAE=', false, true], // padded: standard only
      ['AAF', false, false], // trailing bits set
      ['AAF=', false, false],
      ['AA==', false, true],
      ['AA', true, false],
      ['A', false, false], // no bytes have this length
      ['A===', false, false],
      ['AAE==', false, false],
      ['+/+/', false, true], // the standard alphabet
      ['-_-_', true, false], // the url alphabet
      [' AAE', false, false],
      ['AAE\n', false, false],
      ['AA\u00e9E', false, false],
      ['AA=E', false, false],
    ] as const) {
      const got = agree(text)
      assert.equal(got !== undefined, url, `base64url ${JSON.stringify(text)}`)
      assert.equal(native.decode(text, true) !== undefined, std, `base64 ${JSON.stringify(text)}`)
    }
  })

  it('agree on 20,000 seeded random texts over both alphabets, padding and a few strays', () => {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n.\u00e9'
    const next = rng(20)
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(next() * 12)
      let text = ''
      // Mostly alphabet characters, so that many texts are valid and the trailing-bit and padding cases come up often.
      for (let j = 0; j < length; j++) text += chars[Math.floor(next() * (next() < 0.9 ? 62 : chars.length))]
      if (agree(text) !== undefined) accepted++
    }
    assert.ok(accepted > 2_000, `only ${accepted} valid texts: the walk is too thin`)
  })

  it('owned results share memory with nothing; internal ones are plain views', () => {
    const text = native.encodeUrl(pattern(40, 1))
    const owned = native.decodeUrl(text, true)!
    assert.equal(owned.constructor, Uint8Array)
    assert.equal(owned.byteOffset, 0)
    assert.equal(owned.buffer.byteLength, 40)
    const shared = native.decodeUrl(text, false)!
    assert.equal(shared.constructor, Uint8Array)
    assert.deepEqual(shared, owned)
  })
})
