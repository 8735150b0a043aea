/**
 * Sealing and opening the frames of one large buffer on several threads (the Envelope's
 * `parallelism` option), runtime-neutral: the threads themselves come from a
 * {@link FramePool} (`#worker-pool`: worker threads on Node, none elsewhere).
 *
 * Frames are independent (docs/FORMAT.md §6.2: nonce and AAD depend only on the frame index
 * and whether it is the last), so a message splits into chunks of frames that the calling
 * thread and the workers claim from a shared counter. The calling thread seals its chunks
 * straight from the caller's buffer into the result; the workers read the input from shared
 * memory, with the content key beside it, and write their sealed (or opened) frames back
 * there, to be copied into the result. The bytes are those of the single-thread path, frame
 * for frame. Shared memory that held plaintext or the key is zeroed before returning, and a
 * decryption releases nothing until every range has verified.
 * @module
 */
import { AuthenticationError, LimitError, WorkerError } from '../errors.js'
import { bodyCutShort, bodyFrames, bodyLayout } from '../format/body.js'
import { KEY_BYTES, MAX_FRAMES, TAG_BYTES } from '../format/constants.js'
import type { MessageHead } from '../format/message.js'
import type { CryptoBackend } from './backend.js'
import { frameAad, frameNonce } from './frames.js'
import type { MessageKeys } from './keys.js'
import type { SealParams } from './message.js'
import { sealHead } from './message.js'

/**
 * Buffers smaller than this are sealed on the calling thread: below it, copying a range into
 * shared memory and the round trip to a worker cost more than the second core gives back
 * (bench/parallel.ts measures the crossover).
 */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024

/**
 * Plaintext bytes one round hands out to all threads together. Shared memory is sized for one
 * round and reused for the next, so a 1 GiB buffer costs a bounded extra, not another GiB.
 */
export const ROUND_BYTES = 16 * 1024 * 1024

/** One range of frames for a worker, everything in one shared buffer. */
export interface FrameJob {
  readonly op: 'seal' | 'open'
  /** Holds the content key at `keyOffset`, the input range and the output range. */
  readonly memory: SharedArrayBuffer
  readonly keyOffset: number
  readonly inputOffset: number
  readonly inputLength: number
  readonly outputOffset: number
  readonly messageId: Uint8Array
  readonly frameSize: number
  /** Index of the job's first frame in the message. */
  readonly first: number
  readonly count: number
  /** Index of the message's final frame (its AAD differs); -1 when the job does not hold it. */
  readonly finalIndex: number
  /**
   * Absent: the worker runs all `count` frames. Present: the frames are `chunks` chunks of
   * `chunkFrames`, claimed one at a time from the Int32 at `counterOffset` (shared with the
   * caller and other workers); the worker sets byte `ownerOffset + c` to 1 for each chunk c it
   * completed.
   */
  readonly claim?: { readonly counterOffset: number; readonly ownerOffset: number; readonly chunkFrames: number; readonly chunks: number }
}

/** Threads that seal and open ranges of frames. */
export interface FramePool {
  /** Worker threads in the pool (the calling thread works too, so a pool of n serves n + 1 threads). */
  readonly workers: number
  /** Runs one job; false when a frame failed authentication; rejects with {@link WorkerError} when the worker failed. */
  run(job: FrameJob): Promise<boolean>
}

/**
 * Plaintext bytes per claimed chunk: threads take chunks one at a time from a shared counter,
 * so a thread the OS runs less (a busy machine) takes fewer, and nobody waits long at the end.
 */
export const CHUNK_BYTES = 512 * 1024

interface Direction {
  readonly op: 'seal' | 'open'
  /** The whole input: plaintext (seal) or sealed body (open). */
  readonly input: Uint8Array
  /** Where frame 0 of the output starts in `out`. */
  readonly outBase: number
  readonly out: Uint8Array
}

/**
 * Runs every frame of a message through the caller and the pool, round by round. In a round
 * the input is copied into shared memory, every worker gets the same job, and the caller and
 * the workers claim chunks of frames from one atomic counter: the caller seals its chunks
 * straight from the input into the result, the workers' chunks are copied out at the end of
 * the round. Returns false when a frame failed authentication (open). Shared memory is wiped
 * before returning.
 */
async function runFrames(
  backend: CryptoBackend,
  pool: FramePool,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  frames: number,
  d: Direction,
): Promise<boolean> {
  const seal = d.op === 'seal'
  const step = frameSize + TAG_BYTES
  const inStride = seal ? frameSize : step
  const outStride = seal ? step : frameSize
  const roundFrames = Math.max(1, Math.floor(ROUND_BYTES / frameSize))
  const chunkFrames = Math.max(1, Math.floor(CHUNK_BYTES / frameSize))
  const largestRound = Math.min(frames, roundFrames)
  const maxChunks = Math.ceil(largestRound / chunkFrames)
  // [key][counter: Int32][one "done by a worker" byte per chunk][input][output]
  const counterOffset = KEY_BYTES
  const ownerOffset = counterOffset + 8
  const inputOffset = ownerOffset + Math.ceil(maxChunks / 8) * 8
  const outputOffset = inputOffset + largestRound * step
  const memory = takeScratch(outputOffset + largestRound * step)
  const view = new Uint8Array(memory)
  const counter = new Int32Array(memory, counterOffset, 1)
  view.set(contentKey, 0)
  const finalIndex = frames - 1
  // Output bytes of frames [a, b) of the message: the final frame is shorter.
  const finalOut = d.input.length - finalIndex * inStride + (seal ? TAG_BYTES : -TAG_BYTES)
  const outLength = (a: number, b: number): number => (b - 1 === finalIndex ? (b - a - 1) * outStride + finalOut : (b - a) * outStride)
  let ok = true
  try {
    for (let first = 0; first < frames && ok; first += roundFrames) {
      const count = Math.min(roundFrames, frames - first)
      const chunks = Math.ceil(count / chunkFrames)
      const inStart = first * inStride
      const inEnd = Math.min((first + count) * inStride, d.input.length)
      Atomics.store(counter, 0, 0)
      view.fill(0, ownerOffset, ownerOffset + chunks)
      view.set(d.input.subarray(inStart, inEnd), inputOffset)
      const job: FrameJob = {
        op: d.op,
        memory,
        keyOffset: 0,
        inputOffset,
        inputLength: inEnd - inStart,
        outputOffset,
        messageId,
        frameSize,
        first,
        count,
        finalIndex,
        claim: { counterOffset, ownerOffset, chunkFrames, chunks },
      }
      const jobs: Promise<boolean>[] = []
      for (let w = 0; w < Math.min(pool.workers, chunks - 1); w++) jobs.push(pool.run(job))
      let callerError: { error: unknown } | undefined
      try {
        for (let c = Atomics.add(counter, 0, 1); c < chunks; c = Atomics.add(counter, 0, 1)) {
          const a = first + c * chunkFrames
          if (!callerFrames(backend, contentKey, messageId, frameSize, finalIndex, a, Math.min(first + count, a + chunkFrames), d)) {
            ok = false
            break
          }
        }
      } catch (error) {
        callerError = { error }
      }
      // Stop the workers early after a failure; then every job must settle before the shared
      // memory is reused or wiped.
      if (!ok || callerError !== undefined) Atomics.store(counter, 0, chunks)
      const settled = await Promise.allSettled(jobs)
      if (callerError !== undefined) throw callerError.error
      for (const s of settled) {
        if (s.status === 'rejected') {
          throw s.reason instanceof WorkerError
            ? s.reason
            : new WorkerError('a worker thread failed while processing frames; nothing was released, retry the call', { cause: s.reason })
        }
        if (!s.value) ok = false
      }
      if (!ok) break
      for (let c = 0; c < chunks; c++) {
        if (view[ownerOffset + c] !== 1) continue
        const a = first + c * chunkFrames
        const b = Math.min(first + count, a + chunkFrames)
        const from = outputOffset + (a - first) * outStride
        d.out.set(view.subarray(from, from + outLength(a, b)), d.outBase + a * outStride)
      }
    }
    return ok
  } finally {
    view.fill(0)
    giveScratch(memory)
  }
}

/** Frames [a, b) on the calling thread, from the input straight into the output. */
function callerFrames(
  backend: CryptoBackend,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  finalIndex: number,
  a: number,
  b: number,
  d: Direction,
): boolean {
  const step = frameSize + TAG_BYTES
  for (let i = a; i < b; i++) {
    const final = i === finalIndex
    if (d.op === 'seal') {
      const chunk = d.input.subarray(i * frameSize, final ? d.input.length : (i + 1) * frameSize)
      backend.sealInto(contentKey, frameNonce(i), chunk, frameAad(messageId, i, final), d.out, d.outBase + i * step)
    } else {
      const sealed = d.input.subarray(i * step, final ? d.input.length : (i + 1) * step)
      if (!backend.openInto(contentKey, frameNonce(i), sealed, frameAad(messageId, i, final), d.out, d.outBase + i * frameSize)) return false
    }
  }
  return true
}

/**
 * Memory that outlives one call, for {@link takeScratch}: fresh shared memory costs a page
 * fault per 4 KiB on first touch, which measured as much as the copies themselves. Only
 * zeros are kept.
 */
let spare: SharedArrayBuffer | undefined

function takeScratch(bytes: number): SharedArrayBuffer {
  const s = spare
  if (s !== undefined && s.byteLength >= bytes) {
    spare = undefined
    return s
  }
  return new SharedArrayBuffer(bytes)
}

function giveScratch(memory: SharedArrayBuffer): void {
  if (spare === undefined || spare.byteLength < memory.byteLength) spare = memory
}

/** Drops the kept shared buffer (with the pools: closeWorkerPools). */
export function dropScratch(): void {
  spare = undefined
}

/** Seals `frames` frames of `plaintext` into `out` from `at` (the body of a message whose head is already there). */
export async function sealFramesParallel(
  backend: CryptoBackend,
  pool: FramePool,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  frames: number,
  plaintext: Uint8Array,
  out: Uint8Array,
  at: number,
): Promise<void> {
  await runFrames(backend, pool, contentKey, messageId, frameSize, frames, { op: 'seal', input: plaintext, out, outBase: at })
}

/**
 * Opens `frames` frames of `body` into `out` (as long as the plaintext). Throws
 * {@link AuthenticationError} after zeroing `out` when any frame fails: nothing is released
 * until every frame of every range verified.
 */
export async function openFramesParallel(
  backend: CryptoBackend,
  pool: FramePool,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  frames: number,
  body: Uint8Array,
  out: Uint8Array,
): Promise<void> {
  let ok = false
  try {
    ok = await runFrames(backend, pool, contentKey, messageId, frameSize, frames, { op: 'open', input: body, out, outBase: 0 })
  } finally {
    if (!ok) out.fill(0)
  }
  if (!ok) throw new AuthenticationError()
}

/** What `#worker-pool` provides: a pool per thread count, or none where threads are unavailable. */
export type PoolProvider = (threads: number | 'auto') => Promise<FramePool | undefined>

/** `sealMessage` (./message.ts) with the frames sealed over the pool: the same bytes. */
export async function sealMessageParallel(backend: CryptoBackend, pool: FramePool, p: SealParams, plaintext: Uint8Array): Promise<Uint8Array> {
  const { head, keys } = sealHead(backend, p)
  try {
    const { frames, bodyLength } = bodyLayout(plaintext.length, p.frameSize)
    if (frames > MAX_FRAMES) throw new LimitError(`the plaintext needs ${frames} frames; a message holds at most ${MAX_FRAMES}`)
    const out = new Uint8Array(head.length + bodyLength)
    out.set(head, 0)
    await sealFramesParallel(backend, pool, keys.contentKey, p.messageId, p.frameSize, frames, plaintext, out, head.length)
    return out
  } finally {
    keys.wipe()
  }
}

/** `openBody` (./message.ts) with the frames opened over the pool; nothing is returned unless every frame verified. */
export async function openBodyParallel(backend: CryptoBackend, pool: FramePool, head: MessageHead, keys: MessageKeys, body: Uint8Array): Promise<Uint8Array> {
  const { frameSize, messageId } = head.header
  const layout = bodyFrames(body.length, frameSize)
  if (layout === undefined) throw bodyCutShort()
  if (layout.frames > MAX_FRAMES) throw new LimitError(`the message has ${layout.frames} frames; at most ${MAX_FRAMES} are allowed`)
  const out = new Uint8Array(layout.plaintextLength)
  await openFramesParallel(backend, pool, keys.contentKey, messageId, frameSize, layout.frames, body, out)
  return out
}
