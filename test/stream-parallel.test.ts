/**
 * The parallel frame codec (Node streams, files, CLI with `parallelism`) against the
 * single-thread one: the same bytes out of the encoder for any chunking, and for every
 * tampered, cut, extended or reordered body the same error code out of the decoder, having
 * released at most what the single-thread decoder released. Then files and Node streams end
 * to end, and peak RSS of a streamed file in a child process.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { open, readFile, stat, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { after, describe, it } from 'node:test'
import { backend } from '#crypto-backend'
import type { MessageKeys } from '../src/crypto/keys.js'
import { deriveMessageKeys } from '../src/crypto/keys.js'
import { BATCH_BYTES, ParallelFrameCodec } from '../src/crypto/parallel-stream.js'
import { framePool, poolThreadsForTest } from '../src/crypto/pool-node.js'
import { FrameDecoder, FrameEncoder } from '../src/crypto/stream-codec.js'
import { SUITE_AES256GCM_HKDFSHA512_COMMIT } from '../src/format/constants.js'
import { closeWorkerPools, Envelope, EnvelopeError, LocalKeyring } from '../src/index.js'
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from '../src/node/index.js'
import { assertExpectedBackend, pattern, ROOT, rejectsWithCode, tempDir } from './helpers.js'

assertExpectedBackend()
after(() => closeWorkerPools())

const DATA_KEY = pattern(32, 5)
const MESSAGE_ID = pattern(32, 6)
const FRAME = 4096
const STEP = FRAME + 16

function keys(): MessageKeys {
  return deriveMessageKeys(backend, DATA_KEY, MESSAGE_ID, SUITE_AES256GCM_HKDFSHA512_COMMIT)
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size))
  return out
}

interface Run {
  readonly out: Buffer
  readonly code: string | undefined
}

type Codec = { push(c: Uint8Array, emit: (c: Uint8Array) => void): void | Promise<void>; finish(emit: (c: Uint8Array) => void): void | Promise<void> }

async function run(codec: Codec, chunks: readonly Uint8Array[]): Promise<Run> {
  const out: Uint8Array[] = []
  const emit = (c: Uint8Array): void => {
    out.push(c)
  }
  try {
    for (const c of chunks) await codec.push(c, emit)
    await codec.finish(emit)
    return { out: Buffer.concat(out), code: undefined }
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `untyped ${String(error)}`)
    return { out: Buffer.concat(out), code: error.code }
  }
}

async function parallel(op: 'seal' | 'open', threads = 2): Promise<ParallelFrameCodec> {
  const pool = await framePool(threads)
  assert.ok(pool !== undefined)
  return new ParallelFrameCodec(backend, pool, keys(), MESSAGE_ID, FRAME, op)
}

describe('parallel encoder: the bytes of the single-thread encoder', () => {
  for (const size of [0, 1, FRAME - 1, FRAME, 3 * BATCH_BYTES + 5, 1024 * 1024]) {
    it(`${size} bytes, in chunks of 1000, ${FRAME + 3}, 256 KiB and whole`, async () => {
      const plaintext = pattern(size, size + 1)
      const expected = await run(new FrameEncoder(backend, keys(), MESSAGE_ID, FRAME), [plaintext])
      for (const chunk of [1000, FRAME + 3, 256 * 1024, Math.max(1, size)]) {
        for (const threads of [2, 4]) {
          const got = await run(await parallel('seal', threads), chunked(plaintext, chunk))
          assert.equal(got.code, undefined)
          assert.ok(got.out.equals(expected.out), `chunks of ${chunk}, ${threads} threads: other bytes`)
        }
      }
    })
  }
})

describe('parallel decoder: the errors of the single-thread decoder, releasing no more', () => {
  // The single-thread reference is slow on @noble: a lighter walk there (workers use node:crypto either way).
  const portable = backend.name === 'portable'
  const plaintext = pattern((portable ? 1 : 2) * 1024 * 1024 + 100, 9)
  let body: Buffer

  async function compare(label: string, mutated: Uint8Array): Promise<void> {
    for (const chunk of portable ? [5000, Math.max(1, mutated.length)] : [5000, STEP, 64 * 1024, Math.max(1, mutated.length)]) {
      const expected = await run(new FrameDecoder(backend, keys(), MESSAGE_ID, FRAME), chunked(mutated, chunk))
      const got = await run(await parallel('open'), chunked(mutated, chunk))
      assert.equal(got.code, expected.code, `${label}, chunks of ${chunk}`)
      assert.ok(expected.out.subarray(0, got.out.length).equals(got.out), `${label}, chunks of ${chunk}: released other bytes`)
      if (expected.code === undefined) assert.ok(got.out.equals(expected.out), `${label}: incomplete`)
    }
  }

  it('an intact body opens to the plaintext', async () => {
    body = (await run(new FrameEncoder(backend, keys(), MESSAGE_ID, FRAME), [plaintext])).out
    await compare('intact', body)
    assert.ok((await run(await parallel('open'), [body])).out.equals(Buffer.from(plaintext)))
  })

  it('flipped bytes across frames, tags and the final frame: ERR_AUTH', async () => {
    const frames = Math.ceil(body.length / STEP)
    for (const f of portable ? [0, 65, frames - 1] : [0, 1, 63, 64, 65, 130, 257, frames - 2, frames - 1]) {
      for (const d of [0, STEP - 1]) {
        const at = Math.min(body.length - 1, f * STEP + d)
        const m = Buffer.from(body)
        m[at]! ^= 0x80
        await compare(`flip at ${at}`, m)
      }
    }
  })

  it('cuts at, before and after frame boundaries, extensions and swapped frames: ERR_TRUNCATED or ERR_AUTH, as one thread says', async () => {
    const frames = Math.floor(body.length / STEP)
    const cuts = [0, 1, 15, 16, body.length - 1, body.length - 16, body.length - 17]
    for (const f of (portable ? [64, frames] : [1, 64, 200, frames - 1, frames]).filter((n) => n <= frames))
      cuts.push(f * STEP - 1, f * STEP, f * STEP + 1, f * STEP + 16)
    for (const cut of cuts) if (cut >= 0 && cut <= body.length) await compare(`cut at ${cut}`, body.subarray(0, cut))
    await compare('one byte more', Buffer.concat([body, Buffer.of(0)]))
    await compare('a frame more', Buffer.concat([body.subarray(0, STEP * 200), body.subarray(STEP * 199)]))
    const swapped = Buffer.from(body)
    body.subarray(100 * STEP, 101 * STEP).copy(swapped, 200 * STEP)
    body.subarray(200 * STEP, 201 * STEP).copy(swapped, 100 * STEP)
    await compare('swapped frames', swapped)
  })
})

describe('files and Node streams with parallelism', () => {
  const keyring = new LocalKeyring({ keyId: 'files', key: pattern(32, 8) })

  it('encryptFile and decryptFile round trip with any parallelism on either side, and the message opens as a buffer', async (t) => {
    const dir = await tempDir(t)
    const plaintext = pattern(9 * 1024 * 1024 + 3, 4)
    await writeFile(join(dir, 'in'), plaintext)
    for (const [a, b] of [
      [2, 1],
      [1, 'auto'],
      [3, 2],
    ] as const) {
      await encryptFile(join(dir, 'in'), join(dir, `m${a}`), { envelope: new Envelope({ keyring, parallelism: a }), context: { f: 'x' } })
      await decryptFile(join(dir, `m${a}`), join(dir, `out${a}`), { envelope: new Envelope({ keyring, parallelism: b }), expectContext: { f: 'x' } })
      assert.ok((await readFile(join(dir, `out${a}`))).equals(plaintext))
      assert.ok(Buffer.from((await new Envelope({ keyring }).decrypt(await readFile(join(dir, `m${a}`)))).plaintext).equals(plaintext))
    }
  })

  it("'auto' leaves one core to the I/O: a file is sealed and opened on cores - 1 threads, on one thread with two cores", async (t) => {
    const dir = await tempDir(t)
    const plaintext = pattern(5 * 1024 * 1024 + 1, 9)
    await writeFile(join(dir, 'in'), plaintext)
    await closeWorkerPools()
    const env = new Envelope({ keyring, parallelism: 'auto' })
    await encryptFile(join(dir, 'in'), join(dir, 'm'), { envelope: env })
    await decryptFile(join(dir, 'm'), join(dir, 'out'), { envelope: env })
    assert.ok((await readFile(join(dir, 'out'))).equals(plaintext))
    const workers = availableParallelism() - 2
    const expected = workers >= 1 ? [[workers, workers]] : []
    assert.deepEqual([...poolThreadsForTest()], expected)
  })

  it('decryptFile of a file altered in a worker frame or cut: ERR_AUTH / ERR_TRUNCATED, and no destination', async (t) => {
    const dir = await tempDir(t)
    const env = new Envelope({ keyring, parallelism: 2, frameSize: FRAME })
    await writeFile(join(dir, 'in'), pattern(3 * 1024 * 1024, 1))
    await encryptFile(join(dir, 'in'), join(dir, 'm'), { envelope: env })
    const message = await readFile(join(dir, 'm'))
    const altered = Buffer.from(message)
    altered[message.length - 100 * STEP]! ^= 1
    await writeFile(join(dir, 'altered'), altered)
    await rejectsWithCode(decryptFile(join(dir, 'altered'), join(dir, 'out'), { envelope: env }), 'ERR_AUTH')
    await writeFile(join(dir, 'cut'), message.subarray(0, message.length - 20))
    const error = await decryptFile(join(dir, 'cut'), join(dir, 'out'), { envelope: env }).catch((e: unknown) => e as { code?: string })
    assert.ok(['ERR_AUTH', 'ERR_TRUNCATED'].includes((error as { code?: string }).code ?? ''))
    await assert.rejects(stat(join(dir, 'out')), { code: 'ENOENT' })
  })

  it('Node streams: odd chunk sizes through encrypt and decrypt transforms', async () => {
    const env = new Envelope({ keyring, parallelism: 2, frameSize: 16 * 1024 })
    const plaintext = pattern(5 * 1024 * 1024 + 11, 12)
    const out: Buffer[] = []
    await pipeline(
      Readable.from(chunked(plaintext, 77_777)),
      createEncryptStream(env),
      createDecryptStream(env),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out.push(chunk)
          callback()
        },
      }),
    )
    assert.ok(Buffer.concat(out).equals(plaintext))
  })

  it('peak RSS of a 256 MiB file streamed through a worker stays bounded (child process, VmHWM)', async (t) => {
    const dir = await tempDir(t)
    const src = join(dir, 'big')
    const block = Buffer.alloc(1024 * 1024, 7)
    const handle = await open(src, 'w')
    for (let i = 0; i < 256; i++) await handle.write(block)
    await handle.close()
    const script = (mode: string) => `
      import { Envelope, LocalKeyring } from ${JSON.stringify(new URL('dist/src/index.js', `file://${ROOT}`).href)}
      import { encryptFile, decryptFile } from ${JSON.stringify(new URL('dist/src/node/index.js', `file://${ROOT}`).href)}
      const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'r', key: new Uint8Array(32).fill(1) }), parallelism: 2 })
      if (${JSON.stringify(mode)} === 'enc') await encryptFile(${JSON.stringify(src)}, ${JSON.stringify(`${src}.m`)}, { envelope: env })
      else await decryptFile(${JSON.stringify(`${src}.m`)}, ${JSON.stringify(`${src}.out`)}, { envelope: env })
      // VmHWM: the peak of this process image; maxRSS would include the parent's at fork.
      const { readFileSync } = await import('node:fs')
      const status = readFileSync('/proc/self/status', 'utf8')
      console.log(Number.parseInt(status.slice(status.indexOf('VmHWM:') + 6), 10) >> 10)
    `
    for (const mode of ['enc', 'dec']) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script(mode)], { encoding: 'utf8', timeout: 120_000 })
      assert.equal(child.status, 0, child.stderr)
      const mib = Number(child.stdout.trim())
      t.diagnostic(`${mode}: peak RSS ${mib} MiB`)
      // Node alone is about 41 MiB and a worker thread about 10 more: the data adds a bounded few.
      assert.ok(mib < 96, `${mode}: peak RSS ${mib} MiB`)
    }
    assert.equal((await stat(`${src}.out`)).size, 256 * 1024 * 1024)
  })
})
