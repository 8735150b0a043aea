/**
 * `#worker-pool` on Node: worker threads (./frame-worker.ts) that seal and open ranges of
 * frames for the `parallelism` option. Nothing starts until a large buffer asks for it.
 *
 * One pool per size, shared by every Envelope that asks for that many threads, so ten
 * Envelopes with `parallelism: 'auto'` start one set of workers. A pool of n threads has n - 1
 * workers: the calling thread seals a range too. Workers are unref'd while idle, so a process
 * exits without {@link closeWorkerPools}; each is ref'd while it holds a job, so an awaited
 * job cannot be abandoned by the event loop. A worker that crashes fails its job with
 * `ERR_WORKER` and is replaced by the next job.
 * @module
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { WorkerError } from '../errors.js'
import type { FrameJob, FramePool, MessageAnswer, MessageJob } from './parallel.js'

/** Most threads a pool runs, whatever the caller asks: more than the cores only adds switching. */
export const MAX_THREADS = 64

const WORKER_URL = new URL('./frame-worker.js', import.meta.url)

type WorkerClass = typeof Worker

interface Pending {
  resolve(answer: MessageAnswer): void
  reject(error: unknown): void
}

interface Slot {
  readonly worker: Worker
  pending: Pending | undefined
  error: unknown
}

class NodeFramePool implements FramePool {
  readonly workers: number
  readonly #Worker: WorkerClass
  readonly #slots = new Set<Slot>()
  readonly #idle: Slot[] = []
  readonly #queue: { job: FrameJob | MessageJob; pending: Pending }[] = []
  #closed = false

  constructor(workers: number, WorkerCtor: WorkerClass) {
    this.workers = workers
    this.#Worker = WorkerCtor
  }

  async run(job: FrameJob): Promise<boolean> {
    return (await this.#submit(job)).ok
  }

  runMessage(job: MessageJob): Promise<MessageAnswer> {
    return this.#submit(job)
  }

  #submit(job: FrameJob | MessageJob): Promise<MessageAnswer> {
    if (this.#closed) return Promise.reject(new WorkerError('the worker pool was closed (closeWorkerPools); retry the call to start a new one'))
    return new Promise<MessageAnswer>((resolve, reject) => {
      this.#queue.push({ job, pending: { resolve, reject } })
      this.#dispatch()
    })
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idle.pop() ?? (this.#slots.size < this.workers ? this.#spawn() : undefined)
      if (slot === undefined) return
      const { job, pending } = this.#queue.shift()!
      slot.pending = pending
      slot.worker.ref()
      slot.worker.postMessage(job)
    }
  }

  #spawn(): Slot {
    // execArgv: [] so the parent's flags (--test, --inspect, --conditions) do not reach a
    // worker that needs none of them. A small young generation: the worker allocates little
    // but cipher objects, and collecting them early keeps a streamed file's peak RSS down
    // (bench/parallel.ts measures it); data lives in shared memory, outside these limits.
    const worker = new this.#Worker(WORKER_URL, {
      execArgv: [],
      name: 'kms-envelope frames',
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 },
    })
    const slot: Slot = { worker, pending: undefined, error: undefined }
    this.#slots.add(slot)
    worker.on('message', (answer: { ok?: boolean; error?: string; output?: ArrayBuffer }) => {
      const pending = slot.pending
      slot.pending = undefined
      worker.unref()
      if (!this.#closed) this.#idle.push(slot)
      if (answer.error !== undefined) pending?.reject(new WorkerError(`a worker thread failed while processing frames: ${answer.error}`))
      else pending?.resolve({ ok: answer.ok === true, output: answer.output })
      this.#dispatch()
    })
    worker.on('error', (error) => {
      slot.error = error
    })
    worker.on('exit', (exitCode) => {
      this.#slots.delete(slot)
      const at = this.#idle.indexOf(slot)
      if (at >= 0) this.#idle.splice(at, 1)
      const pending = slot.pending
      slot.pending = undefined
      pending?.reject(
        new WorkerError(`a worker thread exited (code ${exitCode}) before it answered; nothing was released, retry the call`, {
          cause: slot.error,
        }),
      )
      this.#dispatch()
    })
    worker.unref()
    return slot
  }

  /** Threads started and alive (tests check the bound). */
  get started(): number {
    return this.#slots.size
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const { pending } of this.#queue.splice(0)) pending.reject(new WorkerError('the worker pool was closed (closeWorkerPools) before this job ran'))
    this.#idle.length = 0
    await Promise.all([...this.#slots].map((s) => s.worker.terminate()))
  }
}

const pools = new Map<number, NodeFramePool>()
let workerClass: Promise<WorkerClass> | undefined

/** The threads `'auto'` stands for: the cores this process may use. */
export function autoThreads(): number {
  return availableParallelism()
}

/**
 * The shared pool for `threads` threads (the caller plus `threads - 1` workers), created on
 * first use; undefined for one thread.
 */
export async function framePool(threads: number | 'auto'): Promise<FramePool | undefined> {
  const n = Math.min(MAX_THREADS, threads === 'auto' ? autoThreads() : threads)
  if (n <= 1) return undefined
  const workers = n - 1
  let pool = pools.get(workers)
  if (pool === undefined) {
    // Loaded on first use: a process that never asks for threads never loads worker_threads.
    workerClass ??= import('node:worker_threads').then((m) => m.Worker)
    const WorkerCtor = await workerClass
    pool = pools.get(workers)
    if (pool === undefined) {
      pool = new NodeFramePool(workers, WorkerCtor)
      pools.set(workers, pool)
    }
  }
  return pool
}

/** Terminates every worker of every pool; a later large call starts a new pool. */
export async function closeWorkerPools(): Promise<void> {
  const all = [...pools.values()]
  pools.clear()
  await Promise.all(all.map((p) => p.close()))
}

/** @internal Live worker threads per pool size, for the tests of sharing and bounds. */
export function poolThreadsForTest(): Map<number, number> {
  return new Map([...pools].map(([workers, pool]) => [workers, pool.started]))
}
