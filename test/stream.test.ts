import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backend } from '#crypto-backend'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { chunked, collect, concat, countingKeyring, keystream, readableOf, through } from './stream-helpers.js'

assertExpectedBackend()

const F = 64
const TAG = 16
const keyring = new LocalKeyring({ keyId: 'stream-key', key: pattern(32, 11) })
const env = new Envelope({ keyring, frameSize: F })
const SIZES = [0, 1, F - 1, F, F + 1, 2 * F, 3 * F + 5]
const CHUNKINGS = [1, 7, F + TAG, 1000]

async function streamEncrypt(e: Envelope, plaintext: Uint8Array, chunkSize: number, context?: Record<string, string>): Promise<Uint8Array> {
  const { chunks, error } = await through(plaintext, chunkSize, e.encryptStream(context === undefined ? {} : { context }))
  if (error !== undefined) throw error
  return concat(chunks)
}

/** A message of `frames` full frames plus a final frame of `rest` bytes, and its layout. */
async function sample(frames: number, rest = 10) {
  const plaintext = pattern(frames * F + rest, 5)
  const message = await env.encrypt(plaintext)
  const body = inspect(message).headerBytes
  const frameAt = (i: number) => body + i * (F + TAG)
  return { plaintext, message, body, frameAt }
}

describe('Web streams: one format with the buffer API', () => {
  for (const size of SIZES) {
    it(`${size} bytes: stream → decrypt() and encrypt() → stream, in chunks of ${CHUNKINGS.join(', ')}`, async () => {
      const plaintext = pattern(size, size + 3)
      for (const chunkSize of CHUNKINGS) {
        const message = await streamEncrypt(env, plaintext, chunkSize, { purpose: 'test' })
        assert.equal(inspect(message).plaintextBytes, size)
        const opened = await env.decrypt(message, { expectContext: { purpose: 'test' } })
        assert.deepEqual(opened.plaintext, plaintext)

        const buffered = await env.encrypt(plaintext, { context: { purpose: 'test' } })
        const decrypt = env.decryptStream({ expectContext: { purpose: 'test' } })
        const { chunks, error } = await through(buffered, chunkSize, decrypt)
        assert.equal(error, undefined)
        assert.deepEqual(concat(chunks), plaintext)
        assert.deepEqual(await decrypt.info, { context: { purpose: 'test' }, keyIds: ['stream-key'], keyId: 'stream-key' })
      }
    })
  }

  it('a stream message has the same length and layout as a buffer message', async () => {
    const plaintext = pattern(5 * F + 3)
    const a = inspect(await streamEncrypt(env, plaintext, 100))
    const b = inspect(await env.encrypt(plaintext))
    assert.equal(a.totalBytes, b.totalBytes)
    assert.equal(a.frames, b.frames)
    assert.notEqual(a.messageId, b.messageId)
  })

  it('releases plaintext frame by frame, not at the end', async () => {
    const { message, body } = await sample(4)
    const decrypt = env.decryptStream()
    const writer = decrypt.writable.getWriter()
    const reader = decrypt.readable.getReader()
    void writer.write(message.subarray(0, body + 2 * (F + TAG)))
    const first = await reader.read()
    assert.equal(first.value?.length, F)
    const second = await reader.read()
    assert.equal(second.value?.length, F)
    void writer.write(message.subarray(body + 2 * (F + TAG)))
    void writer.close()
    let rest = 0
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value.length
    assert.equal(rest, 2 * F + 10)
  })

  it('50 MiB with the default frame size, both directions', {
    skip: backend.name === 'portable' && 'large sizes run on the node backend only (same stream code, 10x slower AES)',
  }, async () => {
    const big = new Envelope({ keyring })
    const plaintext = keystream(50 * 1024 * 1024, 3)
    const message = await streamEncrypt(big, plaintext, 1 << 20)
    assert.ok(Buffer.from((await big.decrypt(message)).plaintext).equals(plaintext))
    const buffered = await big.encrypt(plaintext)
    const { chunks, error } = await through(buffered, 300_000, big.decryptStream())
    assert.equal(error, undefined)
    assert.ok(Buffer.concat(chunks).equals(plaintext))
  })
})

describe('Web streams: bad input errors, and no plaintext comes out after the bad frame', () => {
  async function decryptAll(message: Uint8Array, chunkSize = 1000, e = env) {
    return through(message, chunkSize, e.decryptStream())
  }

  it('a flipped bit in frame 2 of 5: ERR_AUTH, only frames 0 and 1 released', async () => {
    const { plaintext, message, frameAt } = await sample(4)
    for (const at of [frameAt(2), frameAt(2) + F + 3 /* the tag */]) {
      const bad = message.slice()
      bad[at]! ^= 1
      for (const chunkSize of [1, 50, bad.length]) {
        const { chunks, error } = await decryptAll(bad, chunkSize)
        assert.equal(error?.code, 'ERR_AUTH')
        assert.deepEqual(concat(chunks), plaintext.subarray(0, 2 * F))
      }
    }
  })

  it('a flipped bit in the final frame: ERR_AUTH after the full frames', async () => {
    const { plaintext, message } = await sample(3)
    const bad = message.slice()
    bad[bad.length - 1]! ^= 0x80
    const { chunks, error } = await decryptAll(bad)
    assert.equal(error?.code, 'ERR_AUTH')
    assert.deepEqual(concat(chunks), plaintext.subarray(0, 3 * F))
  })

  it('swapped frames 1 and 2: ERR_AUTH at frame 1, only frame 0 released', async () => {
    const { plaintext, message, frameAt } = await sample(4)
    const bad = message.slice()
    bad.set(message.subarray(frameAt(2), frameAt(3)), frameAt(1))
    bad.set(message.subarray(frameAt(1), frameAt(2)), frameAt(2))
    const { chunks, error } = await decryptAll(bad)
    assert.equal(error?.code, 'ERR_AUTH')
    assert.deepEqual(concat(chunks), plaintext.subarray(0, F))
  })

  it('a frame of another message with the same key: ERR_AUTH (the message id is in every AAD)', async () => {
    const a = await sample(3)
    const b = await sample(3)
    const bad = a.message.slice()
    bad.set(b.message.subarray(b.frameAt(1), b.frameAt(2)), a.frameAt(1))
    const { chunks, error } = await decryptAll(bad)
    assert.equal(error?.code, 'ERR_AUTH')
    assert.deepEqual(concat(chunks), a.plaintext.subarray(0, F))
  })

  it('cut at a frame boundary (final frame dropped): ERR_TRUNCATED after the authentic frames', async () => {
    const { plaintext, message, frameAt } = await sample(3)
    const { chunks, error } = await decryptAll(message.subarray(0, frameAt(3)))
    assert.equal(error?.code, 'ERR_TRUNCATED')
    assert.deepEqual(concat(chunks), plaintext.subarray(0, 3 * F))
  })

  it('a multiple of the frame size with its empty final frame dropped: ERR_TRUNCATED', async () => {
    const plaintext = pattern(2 * F)
    const message = await env.encrypt(plaintext)
    const { chunks, error } = await decryptAll(message.subarray(0, message.length - TAG))
    assert.equal(error?.code, 'ERR_TRUNCATED')
    assert.deepEqual(concat(chunks), plaintext)
  })

  it('cut inside a frame: ERR_AUTH (15 bytes or fewer left: ERR_TRUNCATED); nothing from the cut frame', async () => {
    const { plaintext, message, frameAt } = await sample(3)
    for (const [cut, code] of [
      [frameAt(1) + 40, 'ERR_AUTH'],
      [frameAt(1) + 15, 'ERR_TRUNCATED'],
      [message.length - 1, 'ERR_AUTH'],
    ] as const) {
      const { chunks, error } = await decryptAll(message.subarray(0, cut))
      assert.equal(error?.code, code, `cut at ${cut}`)
      const released = concat(chunks)
      assert.ok(released.length % F === 0 && released.length <= 3 * F)
      assert.deepEqual(released, plaintext.subarray(0, released.length))
    }
  })

  it('trailing bytes (1 byte, a tag, a frame, a whole second message): ERR_AUTH, the final frame never released', async () => {
    const { plaintext, message, frameAt } = await sample(2)
    for (const extra of [new Uint8Array(1), new Uint8Array(TAG), message.subarray(frameAt(0), frameAt(1)), message]) {
      const { chunks, error } = await decryptAll(concat([message, extra]))
      assert.equal(error?.code, 'ERR_AUTH')
      const released = concat(chunks)
      assert.ok(released.length <= 2 * F, 'the final frame must not be released')
      assert.deepEqual(released, plaintext.subarray(0, released.length))
    }
  })

  it('cut inside the head, or empty: ERR_TRUNCATED, nothing released, no key service called', async () => {
    const { keyring: counting, calls } = countingKeyring()
    const e = new Envelope({ keyring: counting, frameSize: F })
    const message = await e.encrypt(pattern(10))
    for (const cut of [0, 3, 9, 40, inspect(message).headerBytes - 1]) {
      const decrypt = e.decryptStream()
      const { chunks, error } = await through(message.subarray(0, cut), 7, decrypt)
      assert.equal(error?.code, 'ERR_TRUNCATED', `cut at ${cut}`)
      assert.equal(chunks.length, 0)
      await assert.rejects(decrypt.info, { code: 'ERR_TRUNCATED' })
    }
    assert.equal(calls.unwrap, 0)
  })

  it('a header length of 1 GB fails from the first 9 bytes, without waiting for more', async () => {
    const decrypt = env.decryptStream()
    const writer = decrypt.writable.getWriter()
    const head = Uint8Array.of(0x4b, 0x4d, 0x53, 0x45, 1, 0x3b, 0x9a, 0xca, 0x00)
    const reading = collect(decrypt.readable)
    await writer.write(head).catch(() => {})
    const { error } = await reading // the writer is still open: the error came from the 9 bytes alone
    assert.equal(error?.code, 'ERR_LIMIT')
  })

  it('a frame size above maxFrameSize: ERR_LIMIT before any key service call', async () => {
    const { keyring: counting, calls } = countingKeyring()
    const message = await new Envelope({ keyring: counting, frameSize: 8192 }).encrypt(pattern(100))
    const strict = new Envelope({ keyring: counting, maxFrameSize: 4096 })
    const { chunks, error } = await through(message, 1000, strict.decryptStream())
    assert.equal(error?.code, 'ERR_LIMIT')
    assert.equal(chunks.length, 0)
    assert.equal(calls.unwrap, 0)
  })

  it('not a message: ERR_FORMAT from the first bytes', async () => {
    const { error } = await decryptAll(new TextEncoder().encode('hello, this is not a message at all'))
    assert.equal(error?.code, 'ERR_FORMAT')
  })

  it('a wrong expectContext: ERR_CONTEXT_MISMATCH before any key service call, nothing released', async () => {
    const { keyring: counting, calls } = countingKeyring()
    const e = new Envelope({ keyring: counting, frameSize: F })
    const message = await e.encrypt(pattern(500), { context: { tenant: 'acme' } })
    const decrypt = e.decryptStream({ expectContext: { tenant: 'other' } })
    const { chunks, error } = await through(message, 100, decrypt)
    assert.equal(error?.code, 'ERR_CONTEXT_MISMATCH')
    assert.equal(chunks.length, 0)
    assert.equal(calls.unwrap, 0)
    await assert.rejects(decrypt.info, { code: 'ERR_CONTEXT_MISMATCH' })
  })

  it('the wrong key: ERR_UNWRAP, nothing released', async () => {
    const { message } = await sample(2)
    const impostor = new Envelope({ keyring: new LocalKeyring({ keyId: 'stream-key', key: pattern(32, 12) }) })
    const { chunks, error } = await through(message, 100, impostor.decryptStream())
    assert.equal(error?.code, 'ERR_UNWRAP')
    assert.equal(chunks.length, 0)
  })
})

describe('Web streams: misuse, abort, cancel', () => {
  it('bad options fail when the stream is created', () => {
    assert.throws(() => env.encryptStream({ context: { 'kmse:x': 'y' } }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => env.decryptStream({ expectContext: 'tenant=acme' as never }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => env.encryptStream({ signal: {} as never }), { code: 'ERR_INVALID_ARGUMENT' })
  })

  it('a chunk that is not a Uint8Array errors the stream with ERR_INVALID_ARGUMENT', async () => {
    const input = new ReadableStream<unknown>({
      start(c) {
        c.enqueue('text')
        c.close()
      },
    })
    const { error } = await collect((input as ReadableStream<Uint8Array>).pipeThrough(env.encryptStream()))
    assert.equal(error?.code, 'ERR_INVALID_ARGUMENT')
  })

  it('an AbortSignal fails a running stream with ERR_ABORTED', async () => {
    const controller = new AbortController()
    const encrypt = env.encryptStream({ signal: controller.signal })
    const writer = encrypt.writable.getWriter()
    const reader = encrypt.readable.getReader()
    await reader.read() // the head
    void writer.write(pattern(200)).catch(() => {})
    await reader.read()
    controller.abort()
    await assert.rejects(reader.read(), { code: 'ERR_ABORTED' })
    await assert.rejects(new Envelope({ keyring }).encrypt('x', { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' })
    const { error } = await through(pattern(10), 5, env.encryptStream({ signal: AbortSignal.abort() }))
    assert.equal(error?.code, 'ERR_ABORTED')
  })

  it('cancelling the readable side ends the stream; a pending info rejects with ERR_ABORTED', async () => {
    const decrypt = env.decryptStream()
    await decrypt.readable.cancel('not needed')
    await assert.rejects(decrypt.info, { code: 'ERR_ABORTED' })
  })

  it('stream output in many small reads equals one buffer', async () => {
    const plaintext = pattern(10 * F + 1)
    const message = await env.encrypt(plaintext)
    const pieces = chunked(message, 3)
    const { chunks } = await collect(readableOf(pieces).pipeThrough(env.decryptStream()))
    assert.ok(chunks.every((c) => c.length === F || c === chunks[chunks.length - 1]))
    assert.deepEqual(concat(chunks), plaintext)
  })
})
