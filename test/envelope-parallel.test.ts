/**
 * The `parallelism` option on buffers: identical bytes to the single-thread path, decryption
 * that releases nothing until every frame on every thread verified, a tamper walk through
 * the worker ranges, worker failures as ERR_WORKER with a pool that recovers, pool sharing
 * and bounds, and a process that exits without closeWorkerPools. Runs on both backends: the
 * calling thread uses the run's backend, the workers always node:crypto.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { after, describe, it } from 'node:test'
import { backend } from '#crypto-backend'
import { DataKey } from '../src/crypto/data-key.js'
import { sealMessage, verifyDataKey } from '../src/crypto/message.js'
import type { FramePool } from '../src/crypto/parallel.js'
import { ONE_WORKER_MIN_BYTES, openBodyParallel, PARALLEL_MIN_BYTES, ROUND_BYTES, sealMessageParallel, zeroShared } from '../src/crypto/parallel.js'
import { framePool, MAX_THREADS, poolThreadsForTest } from '../src/crypto/pool-node.js'
import { bounceForTest, copyBytes } from '../src/crypto/shared-copy.js'
import { canonicalContext } from '../src/format/context.js'
import { parseHead } from '../src/format/message.js'
import { closeWorkerPools, Envelope, LocalKeyring, WorkerError } from '../src/index.js'
import { assertExpectedBackend, pattern, ROOT, rejectsWithCode } from './helpers.js'

assertExpectedBackend()
after(() => closeWorkerPools())

const keyring = new LocalKeyring({ keyId: 'par', key: pattern(32, 7) })
const SIZE = PARALLEL_MIN_BYTES + 12_345
/** An Envelope with one worker (`parallelism: 2`, or `'auto'` on two cores) uses it only from ONE_WORKER_MIN_BYTES. */
const ONE_WORKER_SIZE = ONE_WORKER_MIN_BYTES + 12_345
/** The smallest buffer an Envelope with `parallelism` seals on its pool. */
const poolSize = (parallelism: number | 'auto'): number =>
  parallelism === 2 || (parallelism === 'auto' && availableParallelism() === 2) ? ONE_WORKER_SIZE : SIZE

async function pool(threads: number): Promise<FramePool> {
  const p = await framePool(threads)
  assert.ok(p !== undefined)
  return p
}

describe('parallel buffers: the same bytes as one thread', () => {
  for (const frameSize of [4096, 65536, 1024 * 1024]) {
    for (const extra of [0, 1, frameSize - 1]) {
      it(`frame size ${frameSize}, plaintext ${PARALLEL_MIN_BYTES} + ${extra}: byte-identical message for the same data key and message id`, async () => {
        const plaintext = pattern(PARALLEL_MIN_BYTES + extra, frameSize + extra)
        const { dataKey, recipients } = await keyring.generateDataKey(canonicalContext({ a: 'b' }, 'context', true), {})
        const messageId = pattern(32, 99)
        const params = { dataKey, recipients, context: canonicalContext({ a: 'b' }, 'context', true), frameSize, messageId }
        const single = sealMessage(backend, params, plaintext)
        for (const threads of [2, 3]) {
          const parallel = await sealMessageParallel(backend, await pool(threads), params, plaintext)
          assert.ok(Buffer.from(parallel).equals(Buffer.from(single)), `${threads} threads wrote other bytes`)
        }
        dataKey.wipe()
      })
    }
  }

  it('every head length mod 8 and an odd frame size (the assembler copies through an ordinary buffer): the bytes of one thread, both ways', async () => {
    const plaintext = pattern(PARALLEL_MIN_BYTES + 77, 13)
    const seen = new Set<number>()
    for (const frameSize of [4096, 4099]) {
      for (let pad = 0; pad < 8; pad++) {
        const context = canonicalContext({ pad: 'p'.repeat(pad) }, 'context', true)
        const { dataKey, recipients } = await keyring.generateDataKey(context, {})
        const params = { dataKey, recipients, context, frameSize, messageId: pattern(32, pad) }
        const single = sealMessage(backend, params, plaintext)
        const parsed = parseHead(single)
        assert.ok('head' in parsed)
        const { head } = parsed
        seen.add(head.bodyOffset % 8)
        for (const threads of [2, 3]) {
          const p = await pool(threads)
          const parallel = await sealMessageParallel(backend, p, params, plaintext)
          assert.ok(Buffer.from(parallel).equals(Buffer.from(single)), `${threads} threads, frame size ${frameSize}, head ${head.bodyOffset} B`)
          const keys = verifyDataKey(backend, head, dataKey)
          const opened = await openBodyParallel(backend, p, head, keys, single.subarray(head.bodyOffset))
          keys.wipe()
          assert.ok(Buffer.from(opened).equals(Buffer.from(plaintext)), `${threads} threads, frame size ${frameSize}, head ${head.bodyOffset} B`)
        }
        dataKey.wipe()
      }
    }
    assert.equal(seen.size, 8, 'the heads did not cover every offset mod 8')
  })

  it('encrypt and decrypt cross over: parallel writes what one thread opens, and the other way round', async () => {
    const one = new Envelope({ keyring })
    for (const parallelism of [2, 'auto'] as const) {
      const plaintext = pattern(poolSize(parallelism) + 5, 11)
      const par = new Envelope({ keyring, parallelism, frameSize: 32 * 1024 })
      const a = await par.encrypt(plaintext, { context: { p: String(parallelism) } })
      assert.ok(Buffer.from((await one.decrypt(a, { expectContext: { p: String(parallelism) } })).plaintext).equals(Buffer.from(plaintext)))
      const b = await one.encrypt(plaintext)
      assert.ok(Buffer.from((await par.decrypt(b)).plaintext).equals(Buffer.from(plaintext)))
      assert.equal(await par.decryptString(await par.encrypt('x'.repeat(plaintext.length))), 'x'.repeat(plaintext.length))
    }
  })

  it('more than one round (bounded shared memory): 1 MiB frames, 7 rounds on 2 threads and 3 on 3', async () => {
    for (const parallelism of [2, 3]) {
      const plaintext = pattern(poolSize(parallelism) + 2 * ROUND_BYTES + 3, 5)
      const par = new Envelope({ keyring, parallelism, frameSize: 1024 * 1024 })
      const message = await par.encrypt(plaintext)
      assert.ok(Buffer.from((await new Envelope({ keyring }).decrypt(message)).plaintext).equals(Buffer.from(plaintext)))
      assert.ok(Buffer.from((await par.decrypt(message)).plaintext).equals(Buffer.from(plaintext)))
    }
  })
})

describe('workers alone write the message one thread writes', () => {
  it('every chunk of every round sealed and opened by the workers (the caller claims none): the bytes of sealMessage', async () => {
    const frameSize = 4096
    const size = ROUND_BYTES + PARALLEL_MIN_BYTES + 123 // three rounds, the last short
    const plaintext = pattern(size, 17)
    const context = canonicalContext(undefined, 'context', true)
    const { dataKey, recipients } = await keyring.generateDataKey(context, {})
    const params = { dataKey, recipients, context, frameSize, messageId: pattern(32, 18) }
    const single = sealMessage(backend, params, plaintext)
    for (const threads of [2, 3]) {
      const p = await pool(threads)
      const parallel = await sealMessageParallel(backend, p, params, plaintext, { callerClaims: false })
      assert.ok(Buffer.from(parallel).equals(Buffer.from(single)), `${threads} threads`)
      const parsed = parseHead(single)
      assert.ok('head' in parsed)
      const { head } = parsed
      const keys = verifyDataKey(backend, head, dataKey)
      const opened = await openBodyParallel(backend, p, head, keys, single.subarray(head.bodyOffset), { callerClaims: false })
      assert.ok(Buffer.from(opened).equals(Buffer.from(plaintext)), `${threads} threads`)
      // A frame of the second round altered: the workers find it, and nothing is returned.
      const body = single.slice(head.bodyOffset)
      body[(ROUND_BYTES / frameSize + 3) * (frameSize + 16) + 9]! ^= 1
      await rejectsWithCode(openBodyParallel(backend, p, head, keys, body, { callerClaims: false }), 'ERR_AUTH')
      keys.wipe()
    }
    dataKey.wipe()
  })
})

describe('parallel decryption releases nothing unauthentic', () => {
  for (const parallelism of [2, 3]) {
    it(`parallelism ${parallelism}: a tamper walk over every frame boundary, the caller range and every worker range gives ERR_AUTH or ERR_TRUNCATED`, async () => {
      // About a thousand frames either way: one worker needs 8 times the bytes, so 8 times the frame size.
      const size = poolSize(parallelism)
      const frameSize = size > 2 * SIZE ? 32 * 1024 : 4096
      const par = new Envelope({ keyring, parallelism, frameSize })
      const message = await par.encrypt(pattern(size, 21))
      const head = message.length - (size + Math.ceil((size + 1) / frameSize) * 16)
      const step = frameSize + 16
      const frames = Math.ceil((size + 1) / frameSize)
      const positions = new Set<number>()
      // Around every 128th frame boundary (both sides), the first and last frame, and the very last byte.
      for (let f = 0; f < frames; f += 128) for (const d of [-1, 0, 100]) positions.add(head + f * step + d)
      for (const d of [0, 1, step - 1, message.length - head - 1]) positions.add(head + d)
      positions.add(message.length - 1)
      let checked = 0
      for (const at of positions) {
        if (at < head || at >= message.length) continue
        const m = message.slice()
        m[at]! ^= 0x01
        await rejectsWithCode(par.decrypt(m), 'ERR_AUTH')
        checked++
      }
      assert.ok(checked > 25, `only ${checked} positions`)
      // Cuts and extensions: inside a worker's frame, at a frame boundary, one byte more.
      for (const cut of [message.length - 1, message.length - 17, head + 700 * step, head + 700 * step + 5]) {
        const error = await par.decrypt(message.subarray(0, cut)).catch((e: unknown) => e as { code?: string })
        assert.ok(['ERR_AUTH', 'ERR_TRUNCATED'].includes((error as { code?: string }).code ?? ''), `cut at ${cut}: ${String(error)}`)
      }
      const longer = new Uint8Array(message.length + 1)
      longer.set(message)
      const error = await par.decrypt(longer).catch((e: unknown) => e as { code?: string })
      assert.ok(['ERR_AUTH', 'ERR_TRUNCATED', 'ERR_FORMAT'].includes((error as { code?: string }).code ?? ''))
      // Two worker-range frames swapped.
      const swapped = message.slice()
      const a = head + 600 * step
      const b = head + 900 * step
      swapped.set(message.subarray(b, b + step), a)
      swapped.set(message.subarray(a, a + step), b)
      await rejectsWithCode(par.decrypt(swapped), 'ERR_AUTH')
    })
  }
})

describe('the pool: shared, bounded, recovers from a crashed worker, never keeps a process alive', () => {
  it('Envelopes asking for the same count share one pool; threads start lazily and stay within the bound', async () => {
    await closeWorkerPools()
    const before = poolThreadsForTest()
    assert.equal(before.size, 0)
    const a = new Envelope({ keyring, parallelism: 5 })
    const b = new Envelope({ keyring, parallelism: 5 })
    assert.equal(poolThreadsForTest().size, 0, 'a constructor started threads')
    await a.encrypt(new Uint8Array(1000))
    assert.equal(poolThreadsForTest().size, 0, 'a small buffer started threads')
    await Promise.all([a.encrypt(new Uint8Array(SIZE)), b.encrypt(new Uint8Array(SIZE)), a.encrypt(new Uint8Array(SIZE))])
    assert.equal(await framePool(5), await framePool(5))
    const threads = poolThreadsForTest().get(4)
    assert.ok(threads !== undefined && threads >= 1 && threads <= 4, `threads ${threads}`)
    assert.equal(await framePool(1), undefined)
    assert.equal(await framePool(1000), await framePool(64))
    assert.throws(() => new Envelope({ keyring, parallelism: 0 }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new Envelope({ keyring, parallelism: 65 }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new Envelope({ keyring, parallelism: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new Envelope({ keyring, parallelism: 'all' as 'auto' }), { code: 'ERR_INVALID_ARGUMENT' })
  })

  it('one worker starts only from ONE_WORKER_MIN_BYTES (below, its split loses to one thread); more workers from PARALLEL_MIN_BYTES', async () => {
    await closeWorkerPools()
    const two = new Envelope({ keyring, parallelism: 2 })
    const below = pattern(ONE_WORKER_MIN_BYTES - 64 * 1024, 3) // its sealed body stays below the bound too
    const sealed = await two.encrypt(below)
    assert.ok(Buffer.from((await two.decrypt(sealed)).plaintext).equals(Buffer.from(below)))
    assert.equal(poolThreadsForTest().size, 0, 'parallelism 2 started a worker below ONE_WORKER_MIN_BYTES')
    const auto = new Envelope({ keyring, parallelism: 'auto' })
    await auto.decrypt(await auto.encrypt(below))
    // 'auto' on two cores is one worker too; on more cores it shares the AES from PARALLEL_MIN_BYTES.
    assert.deepEqual([...poolThreadsForTest().keys()], availableParallelism() === 2 ? [] : [Math.min(MAX_THREADS, availableParallelism()) - 1])
    await closeWorkerPools()
    await new Envelope({ keyring, parallelism: 3 }).encrypt(new Uint8Array(SIZE))
    assert.deepEqual([...poolThreadsForTest()], [[2, 2]])
    await two.decrypt(await two.encrypt(new Uint8Array(ONE_WORKER_MIN_BYTES)))
    assert.deepEqual([...poolThreadsForTest()].sort(), [
      [1, 1],
      [2, 2],
    ])
  })

  it('a crashed worker fails its job with ERR_WORKER (no hang), and the next call succeeds', async () => {
    const p = await pool(2)
    const crash = p.run({ op: 'crash' } as never)
    const error = await rejectsWithCode(crash, 'ERR_WORKER', WorkerError)
    assert.match(error.message, /exited/)
    const env = new Envelope({ keyring, parallelism: 2 })
    const plaintext = pattern(ONE_WORKER_SIZE, 2)
    assert.ok(Buffer.from((await env.decrypt(await env.encrypt(plaintext))).plaintext).equals(Buffer.from(plaintext)))
  })

  it('a job the worker cannot run (memory too small) is ERR_WORKER and the worker keeps serving', async () => {
    const p = await pool(2)
    const job = {
      op: 'seal',
      memory: new SharedArrayBuffer(64),
      keyOffset: 0,
      inputOffset: 32,
      inputLength: 4096,
      outputOffset: 40,
      messageId: new Uint8Array(32),
      frameSize: 4096,
      first: 0,
      count: 1,
      finalIndex: 1,
    } as const
    await rejectsWithCode(p.run(job), 'ERR_WORKER')
    const env = new Envelope({ keyring, parallelism: 2 })
    await env.decrypt(await env.encrypt(new Uint8Array(ONE_WORKER_SIZE)))
  })

  it('closeWorkerPools fails nothing that already finished, and a later call starts a new pool', async () => {
    const env = new Envelope({ keyring, parallelism: 2 })
    await env.encrypt(new Uint8Array(ONE_WORKER_SIZE))
    assert.equal(poolThreadsForTest().get(1), 1)
    await closeWorkerPools()
    assert.equal(poolThreadsForTest().size, 0)
    const message = await env.encrypt(new Uint8Array(ONE_WORKER_SIZE))
    assert.deepEqual([...poolThreadsForTest()], [[1, 1]])
    assert.equal((await env.decrypt(message)).plaintext.length, ONE_WORKER_SIZE)
  })

  it('a process with a started pool exits promptly without closeWorkerPools', () => {
    const script = `
      import { Envelope, LocalKeyring } from ${JSON.stringify(new URL('dist/src/index.js', `file://${ROOT}`).href)}
      const env = new Envelope({ keyring: LocalKeyring.generate(), parallelism: 2 })
      const m = await env.encrypt(new Uint8Array(${ONE_WORKER_SIZE}))
      const { plaintext } = await env.decrypt(m)
      console.log('done', plaintext.length)
    `
    const started = Date.now()
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(child.status, 0, child.stderr)
    assert.equal(child.stdout.trim(), `done ${ONE_WORKER_SIZE}`)
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`)
  })
})

describe('copyBytes', () => {
  it('copies exactly, between shared and ordinary memory both ways, at every pair of offsets mod 8 and across bounce pieces', () => {
    const length = 64 * 1024 * 2 + 13 // three pieces of the bounce buffer
    const source = pattern(length + 16, 3)
    for (const [from, to] of [
      ['ordinary', 'shared'],
      ['shared', 'ordinary'],
      ['ordinary', 'ordinary'],
    ] as const) {
      for (let s = 0; s < 8; s++) {
        for (let t = 0; t < 8; t++) {
          const src = from === 'shared' ? new Uint8Array(new SharedArrayBuffer(length + 16)) : new Uint8Array(length + 16)
          src.set(source)
          const dst = to === 'shared' ? new Uint8Array(new SharedArrayBuffer(length + 16)) : new Uint8Array(length + 16)
          dst.fill(0xee)
          copyBytes(dst.subarray(1), t, src.subarray(s, s + length), s % 2 === 0)
          const at = 1 + t
          assert.ok(Buffer.from(dst.subarray(at, at + length)).equals(Buffer.from(source.subarray(s, s + length))), `${from} +${s} to ${to} +${t}`)
          assert.ok(
            dst.subarray(0, at).every((b) => b === 0xee) && dst.subarray(at + length).every((b) => b === 0xee),
            `${from} +${s} to ${to} +${t}: bytes outside`,
          )
          // A copy through the bounce buffer leaves it zeroed exactly when it was a secret copy.
          if (from !== to && (1 + t - s) % 8 !== 0) {
            assert.equal(
              bounceForTest()?.some((b) => b !== 0),
              s % 2 !== 0,
              `${from} +${s} to ${to} +${t}: bounce buffer`,
            )
          }
        }
      }
    }
  })
})

describe('zeroShared', () => {
  it('zeroes exactly [from, to) of a shared view at any alignment, and nothing around it', () => {
    const memory = new SharedArrayBuffer(256)
    for (const offset of [0, 1, 3, 8, 13]) {
      for (const [from, to] of [
        [0, 0],
        [0, 1],
        [1, 7],
        [2, 9],
        [5, 64],
        [7, 200],
        [0, 243 - offset],
      ] as const) {
        const view = new Uint8Array(memory, offset, 243 - offset)
        view.fill(0xaa)
        zeroShared(view, from, to)
        for (let i = 0; i < view.length; i++) assert.equal(view[i], i >= from && i < to ? 0 : 0xaa, `offset ${offset} [${from}, ${to}) at ${i}`)
      }
    }
  })
})

describe('keys', () => {
  it('a DataKey given to the parallel path is left to its owner (sealMessageParallel wipes only the message keys)', async () => {
    const dataKey = new DataKey(pattern(32, 3))
    const { recipients } = await keyring.generateDataKey(canonicalContext(undefined, 'context', true), {})
    const params = { dataKey, recipients, context: canonicalContext(undefined, 'context', true), frameSize: 65536, messageId: pattern(32, 4) }
    await sealMessageParallel(backend, await pool(2), params, new Uint8Array(SIZE))
    assert.equal(dataKey.wiped, false)
  })
})
