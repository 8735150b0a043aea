/**
 * `#worker-pool` where no worker threads are used (browsers, edge runtimes, and every
 * runtime that does not resolve the `node` condition): the `parallelism` option is accepted
 * and ignored, and every frame is sealed on the calling thread.
 * @module
 */
import type { FramePool } from './parallel.js'

/** Never a pool: the caller seals on its own thread. */
export async function framePool(_threads: number | 'auto'): Promise<FramePool | undefined> {
  return undefined
}

/** Nothing to close. */
export async function closeWorkerPools(): Promise<void> {}

/** Worker threads this runtime would use for `'auto'`: none. */
export function autoThreads(): number {
  return 1
}
