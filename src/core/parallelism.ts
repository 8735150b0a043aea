/**
 * Whether a buffer is sealed or opened over worker threads: only when its Envelope asked for
 * more than one thread (`parallelism`), the buffer is large enough to win from it, and the
 * runtime has a pool (`#worker-pool`: Node's worker threads; elsewhere none, so the option is
 * ignored there).
 * @module
 */
import { closeWorkerPools as closePools, framePool } from '#worker-pool'
import type { FramePool } from '../crypto/parallel.js'
import { dropScratch, PARALLEL_MIN_BYTES } from '../crypto/parallel.js'
import type { EnvelopeSettings } from './settings.js'

export { autoThreads } from '#worker-pool'

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
  dropScratch()
  await closePools()
}

/** The pool for a stream (files, Node streams, the CLI): any size, since a stream's size is not known up front. */
export async function streamPoolFor(settings: EnvelopeSettings): Promise<FramePool | undefined> {
  return settings.parallelism === 1 ? undefined : framePool(settings.parallelism)
}

/**
 * The pool for a buffer of `bytes` bytes (a promise: created on first use), or undefined at
 * once to stay on the calling thread: small messages pay no extra await.
 */
export function poolFor(settings: EnvelopeSettings, bytes: number): Promise<FramePool | undefined> | undefined {
  if (settings.parallelism === 1 || bytes < PARALLEL_MIN_BYTES) return undefined
  return framePool(settings.parallelism)
}
