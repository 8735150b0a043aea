/**
 * Whether a buffer or stream is sealed or opened over worker threads: only when its Envelope
 * asked for more than one thread (`parallelism`), a buffer is large enough to win from it, and
 * the runtime has a pool (`#worker-pool`: Node's worker threads; elsewhere none, so the option
 * is ignored there).
 *
 * The thread machinery (the pool, the shared-memory sealers, the stream codec) is loaded on
 * the first call that uses it: an Envelope that never asks for threads never loads it, and a
 * cold import of the core stays four modules and `node:os` lighter.
 * @module
 */
import type { FramePool, openBodyParallel, sealMessageParallel } from '../crypto/parallel.js'
import { PARALLEL_MIN_BYTES, parallelMinBytes } from '../crypto/parallel-protocol.js'
import type { ParallelFrameCodec } from '../crypto/parallel-stream.js'
import type { EnvelopeSettings } from './settings.js'

/** A pool and what runs frames over it, for one call. */
export interface Threads {
  readonly pool: FramePool
  readonly sealMessage: typeof sealMessageParallel
  readonly openBody: typeof openBodyParallel
  readonly Codec: typeof ParallelFrameCodec
}

interface Machinery {
  readonly pools: typeof import('#worker-pool')
  readonly parallel: typeof import('../crypto/parallel.js')
  readonly Codec: typeof ParallelFrameCodec
}

let machinery: Promise<Machinery> | undefined

function load(): Promise<Machinery> {
  machinery ??= Promise.all([import('#worker-pool'), import('../crypto/parallel.js'), import('../crypto/parallel-stream.js')]).then(
    ([pools, parallel, stream]) => ({ pools, parallel, Codec: stream.ParallelFrameCodec }),
  )
  return machinery
}

async function threads(count: number | 'auto'): Promise<Threads | undefined> {
  const m = await load()
  const pool = await m.pools.framePool(count)
  return pool === undefined ? undefined : { pool, sealMessage: m.parallel.sealMessageParallel, openBody: m.parallel.openBodyParallel, Codec: m.Codec }
}

/**
 * Stops the worker threads that Envelopes with `parallelism` started (on Node; elsewhere
 * there are none). Optional: idle workers never keep a process alive. Calls running at that
 * moment fail with `ERR_WORKER`; the next large call starts a new pool.
 *
 * @example
 * ```ts
 * const env = new Envelope({ keyring, parallelism: 'auto' })
 * const message = await env.encrypt(bigBuffer)
 * await closeWorkerPools()
 * ```
 */
export async function closeWorkerPools(): Promise<void> {
  const m = await load()
  m.parallel.dropScratch()
  await m.pools.closeWorkerPools()
}

/**
 * The threads for a stream (files, Node streams, the CLI): any size, since a stream's size is
 * not known up front. `'auto'` leaves one core to the I/O: a stream's reads and writes are
 * kernel copies on libuv's threads (or the caller's, for sockets), most of a file's cost, and a
 * worker on every core takes CPU from them. On the 2-core bench machine a 256 MiB file took
 * 538-637 ms to encrypt with a worker against 390-499 ms on one thread, so there `'auto'` is
 * one thread; an explicit count is taken as given.
 */
export async function streamThreadsFor(settings: EnvelopeSettings): Promise<Threads | undefined> {
  if (settings.parallelism === 1) return undefined
  // framePool gives no pool for one thread (or none), so two cores need no case of their own.
  return threads(settings.parallelism === 'auto' ? (await load()).pools.autoThreads() - 1 : settings.parallelism)
}

/**
 * The threads for a buffer of `bytes` bytes (a promise: created on first use), or undefined
 * at once to stay on the calling thread: small messages pay no extra await. One worker only
 * pays from 32 MiB; more workers share the AES, from 4 MiB ({@link parallelMinBytes}).
 */
export function threadsFor(settings: EnvelopeSettings, bytes: number): Promise<Threads | undefined> | undefined {
  const { parallelism } = settings
  if (parallelism === 1 || bytes < PARALLEL_MIN_BYTES) return undefined
  if (parallelism !== 'auto') return bytes < parallelMinBytes(parallelism) ? undefined : threads(parallelism)
  // 'auto' is counted before a pool (and its threads) starts: on two cores it is one worker too.
  return load().then((m) => {
    const count = m.pools.autoThreads()
    return bytes < parallelMinBytes(count) ? undefined : threads(count)
  })
}
