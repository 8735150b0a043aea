import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backend } from '#crypto-backend'
import type { MessageKeys } from '../src/crypto/keys.js'
import { FrameDecoder, FrameEncoder } from '../src/crypto/stream-codec.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { concat } from './stream-helpers.js'

assertExpectedBackend()

const F = 64
const messageId = pattern(32, 4)

function keys(): MessageKeys & { wiped: boolean } {
  const contentKey = pattern(32, 9)
  const k = {
    contentKey,
    commitment: new Uint8Array(32),
    wiped: false,
    wipe() {
      contentKey.fill(0)
      k.wiped = true
    },
  }
  return k
}

function seal(plaintext: Uint8Array, chunkSize: number): Uint8Array {
  const out: Uint8Array[] = []
  const encoder = new FrameEncoder(backend, keys(), messageId, F)
  for (let at = 0; at < plaintext.length; at += chunkSize) encoder.push(plaintext.subarray(at, at + chunkSize), (c) => out.push(c))
  encoder.finish((c) => out.push(c))
  return concat(out)
}

describe('frame codec', () => {
  it("gives the same body whatever the input chunking, and never keeps the caller's chunk", () => {
    const plaintext = pattern(5 * F + 7)
    const reference = seal(plaintext, plaintext.length)
    for (const size of [1, 3, F - 1, F, F + 1, 200]) assert.deepEqual(seal(plaintext, size), reference)
    // Reusing one input buffer for every push must not change the output.
    const out: Uint8Array[] = []
    const encoder = new FrameEncoder(backend, keys(), messageId, F)
    const scratch = new Uint8Array(10)
    for (let at = 0; at < plaintext.length; at += 10) {
      const piece = plaintext.subarray(at, at + 10)
      scratch.set(piece)
      encoder.push(scratch.subarray(0, piece.length), (c) => out.push(c))
      scratch.fill(0xee)
    }
    encoder.finish((c) => out.push(c))
    assert.deepEqual(concat(out), reference)
  })

  it('wipes its keys when it finishes, fails or is disposed, and refuses use afterwards', () => {
    const k1 = keys()
    const encoder = new FrameEncoder(backend, k1, messageId, F)
    encoder.push(pattern(100), () => {})
    encoder.finish(() => {})
    assert.ok(k1.wiped)
    assert.throws(() => encoder.push(pattern(1), () => {}), { code: 'ERR_INVALID_ARGUMENT' })

    const body = seal(pattern(3 * F), 50)
    body[5]! ^= 1
    const k2 = keys()
    const decoder = new FrameDecoder(backend, k2, messageId, F)
    assert.throws(() => decoder.push(body, () => {}), { code: 'ERR_AUTH' })
    assert.ok(k2.wiped)
    assert.throws(() => decoder.finish(() => {}), { code: 'ERR_INVALID_ARGUMENT' })

    const k3 = keys()
    new FrameDecoder(backend, k3, messageId, F).dispose()
    assert.ok(k3.wiped)
  })

  it('opens a full-size frame as soon as it is complete and treats the rest as the final frame', () => {
    const plaintext = pattern(2 * F + 5)
    const body = seal(plaintext, 1000)
    const released: Uint8Array[] = []
    const decoder = new FrameDecoder(backend, keys(), messageId, F)
    decoder.push(body.subarray(0, F + 16), (c) => released.push(c))
    assert.equal(released.length, 1)
    decoder.push(body.subarray(F + 16), (c) => released.push(c))
    assert.equal(released.length, 2, 'the final frame waits for the end of input')
    decoder.finish((c) => released.push(c))
    assert.deepEqual(concat(released), plaintext)
  })
})

describe('frame codec: a full step that fails is named by what follows it', () => {
  const S = F + 16
  /** Two full frames and a 5-byte final frame, then `extra` appended so the body ends on 3 full steps. */
  const body = seal(pattern(2 * F + 5), 1000)
  const extended = concat([body, pattern(3 * S - body.length, 7)])

  for (const chunk of [1, 5, S, S + 1, 3 * S]) {
    it(`body ending on a full step that fails (chunks of ${chunk}): ERR_TRUNCATED at the end, the two authentic frames released, nothing more`, () => {
      const released: Uint8Array[] = []
      const decoder = new FrameDecoder(backend, keys(), messageId, F)
      for (let at = 0; at < extended.length; at += chunk) decoder.push(extended.subarray(at, at + chunk), (c) => released.push(c))
      assert.throws(() => decoder.finish((c) => released.push(c)), { code: 'ERR_TRUNCATED' })
      assert.deepEqual(concat(released), pattern(2 * F + 5).subarray(0, 2 * F))
    })

    it(`a failing full step followed by more input (chunks of ${chunk}): ERR_AUTH as soon as the next byte arrives`, () => {
      const more = concat([extended, Uint8Array.of(0)])
      const released: Uint8Array[] = []
      const decoder = new FrameDecoder(backend, keys(), messageId, F)
      let failedAt = -1
      for (let at = 0; at < more.length && failedAt < 0; at += chunk) {
        try {
          decoder.push(more.subarray(at, at + chunk), (c) => released.push(c))
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'ERR_AUTH')
          failedAt = at
        }
      }
      assert.ok(failedAt >= 0, 'the decoder must fail')
      assert.ok(failedAt + chunk > 3 * S, 'not before the byte after the failed step')
      assert.equal(concat(released).length, 2 * F)
    })
  }
})
