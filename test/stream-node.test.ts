import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { backend } from '#crypto-backend'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { createDecryptStream, createEncryptStream } from '../src/node/index.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { chunked, concat, keystream } from './stream-helpers.js'

assertExpectedBackend()

const F = 64
const TAG = 16
const keyring = new LocalKeyring({ keyId: 'node-stream-key', key: pattern(32, 21) })
const env = new Envelope({ keyring, frameSize: F })

/** Pipes `input` (in chunks) through `transform`; returns what came out and the error, if any. */
async function run(
  input: Uint8Array,
  chunkSize: number,
  transform: NodeJS.ReadWriteStream,
): Promise<{ chunks: Buffer[]; error: (Error & { code?: string }) | undefined }> {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
  try {
    await pipeline(Readable.from(chunked(input, chunkSize)), transform, sink)
    return { chunks, error: undefined }
  } catch (error) {
    return { chunks, error: error as Error }
  }
}

describe('Node streams: one format with the buffer API', () => {
  for (const size of [0, 1, F - 1, F, F + 1, 4 * F + 3]) {
    it(`${size} bytes, both directions, chunks of 1, 13 and 500`, async () => {
      const plaintext = pattern(size, size + 9)
      for (const chunkSize of [1, 13, 500]) {
        const encrypted = await run(plaintext, chunkSize, createEncryptStream(env, { context: { via: 'node' } }))
        assert.equal(encrypted.error, undefined)
        const opened = await env.decrypt(concat(encrypted.chunks), { expectContext: { via: 'node' } })
        assert.deepEqual(opened.plaintext, plaintext)

        const decrypt = createDecryptStream(env, { expectContext: { via: 'node' } })
        const decrypted = await run(await env.encrypt(plaintext, { context: { via: 'node' } }), chunkSize, decrypt)
        assert.equal(decrypted.error, undefined)
        assert.deepEqual(concat(decrypted.chunks), plaintext)
        assert.deepEqual((await decrypt.info).context, { via: 'node' })
      }
    })
  }

  it('50 MiB with the default frame size, both directions', { skip: backend.name === 'portable' && 'large sizes run on the node backend only' }, async () => {
    const big = new Envelope({ keyring })
    const plaintext = keystream(50 * 1024 * 1024, 5)
    const encrypted = await run(plaintext, 64 * 1024, createEncryptStream(big))
    assert.equal(encrypted.error, undefined)
    assert.ok(Buffer.from((await big.decrypt(concat(encrypted.chunks))).plaintext).equals(plaintext))
    const decrypted = await run(await big.encrypt(plaintext), 100_000, createDecryptStream(big))
    assert.equal(decrypted.error, undefined)
    assert.ok(Buffer.concat(decrypted.chunks).equals(plaintext))
  })
})

describe('Node streams: failures', () => {
  async function sample(frames: number) {
    const plaintext = pattern(frames * F + 10, 6)
    const message = await env.encrypt(plaintext)
    const body = inspect(message).headerBytes
    return { plaintext, message, frameAt: (i: number) => body + i * (F + TAG) }
  }

  it('tampered, reordered, truncated, extended: the pipeline rejects and nothing after the bad frame comes out', async () => {
    const { plaintext, message, frameAt } = await sample(4)
    const flipped = message.slice()
    flipped[frameAt(2) + 1]! ^= 1
    const swapped = message.slice()
    swapped.set(message.subarray(frameAt(2), frameAt(3)), frameAt(1))
    swapped.set(message.subarray(frameAt(1), frameAt(2)), frameAt(2))
    const cases = [
      { name: 'flipped bit in frame 2', bytes: flipped, code: 'ERR_AUTH', released: 2 * F },
      { name: 'frames 1 and 2 swapped', bytes: swapped, code: 'ERR_AUTH', released: F },
      { name: 'final frame dropped', bytes: message.subarray(0, frameAt(4)), code: 'ERR_TRUNCATED', released: 4 * F },
      { name: 'trailing byte', bytes: concat([message, new Uint8Array(1)]), code: 'ERR_AUTH', released: 4 * F },
    ]
    for (const c of cases) {
      for (const chunkSize of [7, c.bytes.length]) {
        const { chunks, error } = await run(c.bytes, chunkSize, createDecryptStream(env))
        assert.equal(error?.code, c.code, c.name)
        assert.deepEqual(concat(chunks), plaintext.subarray(0, c.released), c.name)
      }
    }
  })

  it('a wrong expectContext rejects info and the pipeline, and releases nothing', async () => {
    const message = await env.encrypt(pattern(300), { context: { tenant: 'acme' } })
    const decrypt = createDecryptStream(env, { expectContext: { tenant: 'other' } })
    const { chunks, error } = await run(message, 50, decrypt)
    assert.equal(error?.code, 'ERR_CONTEXT_MISMATCH')
    assert.equal(chunks.length, 0)
    await assert.rejects(decrypt.info, { code: 'ERR_CONTEXT_MISMATCH' })
  })

  it('an AbortSignal destroys the stream with ERR_ABORTED', async () => {
    const controller = new AbortController()
    const source = new Readable({ read() {} })
    source.push(pattern(100))
    const done = pipeline(source, createEncryptStream(env, { signal: controller.signal }), new Writable({ write: (_c, _e, cb) => cb() }))
    await sleep(20)
    controller.abort()
    await assert.rejects(done, { code: 'ERR_ABORTED' })
  })

  it('bad arguments throw at once', () => {
    assert.throws(() => createEncryptStream({} as never), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => createDecryptStream(env, { expectContext: [] as never }), { code: 'ERR_INVALID_ARGUMENT' })
  })
})

describe('Node streams: backpressure', () => {
  /** A source of `total` bytes that counts how much has been pulled from it. */
  function countingSource(total: number, chunk: Uint8Array) {
    const state = { pulled: 0 }
    const stream = new Readable({
      read() {
        if (state.pulled >= total) return void this.push(null)
        state.pulled += chunk.length
        this.push(chunk)
      },
    })
    return { stream, state }
  }

  it('encrypt and decrypt stop pulling input while nobody reads the output', { skip: backend.name === 'portable' && 'node backend only (size)' }, async () => {
    const big = new Envelope({ keyring })
    const block = keystream(64 * 1024, 8)
    const total = 64 * 1024 * 1024

    const { stream: plain, state: encState } = countingSource(total, block)
    const encrypt = createEncryptStream(big)
    plain.pipe(encrypt)
    await sleep(200)
    assert.ok(encState.pulled < 2 * 1024 * 1024, `encrypt pulled ${encState.pulled} bytes with no reader`)
    let encrypted = 0
    for await (const chunk of encrypt) encrypted += (chunk as Buffer).length
    assert.equal(encState.pulled, total)
    assert.ok(encrypted > total)

    const message = await big.encrypt(keystream(8 * 1024 * 1024, 9))
    const { stream: cipher, state: decState } = countingSource(message.length, message.subarray(0, 0))
    // Feed the real message in 64 KiB pieces, counting pulls.
    let at = 0
    cipher._read = function () {
      if (at >= message.length) return void this.push(null)
      const piece = message.subarray(at, at + 65536)
      at += piece.length
      decState.pulled += piece.length
      this.push(piece)
    }
    const decrypt = createDecryptStream(big)
    cipher.pipe(decrypt)
    await sleep(200)
    assert.ok(decState.pulled < 2 * 1024 * 1024, `decrypt pulled ${decState.pulled} bytes with no reader`)
    let decrypted = 0
    for await (const chunk of decrypt) decrypted += (chunk as Buffer).length
    assert.equal(decrypted, 8 * 1024 * 1024)
  })
})
