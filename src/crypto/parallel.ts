/**
 * Sealing and opening the frames of one large buffer on several threads (the Envelope's
 * `parallelism` option), runtime-neutral: the threads themselves come from a
 * {@link FramePool} (`#worker-pool`: worker threads on Node, none elsewhere).
 *
 * Frames are independent (docs/FORMAT.md §6.2: nonce and AAD depend only on the frame index
 * and whether it is the last), so a message splits into ranges of frames. The calling
 * thread seals its own range straight from the caller's buffer into the result; each worker
 * gets its range copied into shared memory, with the content key beside it, and writes its
 * sealed (or opened) frames back there. The bytes are those of the single-thread path, frame
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

/**
 * How much of a round the calling thread keeps, relative to one worker's share. It also copies
 * every worker's range in and out, so it seals less than a worker; measured on two cores.
 */
export const CALLER_WEIGHT = 0.6

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
  /** Index of the message's final frame (its AAD differs). */
  readonly finalIndex: number
}

/** Threads that seal and open ranges of frames. */
export interface FramePool {
  /** Worker threads in the pool (the calling thread works too, so a pool of n serves n + 1 threads). */
  readonly workers: number
  /** Runs one job; false when a frame failed authentication; rejects with {@link WorkerError} when the worker failed. */
  run(job: FrameJob): Promise<boolean>
}

/** A contiguous range of frames: `[first, first + count)`. */
export interface FrameRange {
  readonly first: number
  readonly count: number
}

/**
 * Splits `count` frames starting at `first` between the caller (weight {@link CALLER_WEIGHT})
 * and `workers` workers (weight 1 each). The caller's range comes first and may be empty; every
 * worker range is non-empty unless there are fewer frames than workers.
 */
export function planRanges(first: number, count: number, workers: number, callerWeight = CALLER_WEIGHT): { caller: FrameRange; workers: FrameRange[] } {
  const total = callerWeight + workers
  const callerCount = Math.min(count, Math.floor((count * callerWeight) / total))
  const ranges: FrameRange[] = []
  let at = first + callerCount
  const left = count - callerCount
  for (let w = 0; w < workers; w++) {
    const n = Math.floor((left * (w + 1)) / workers) - Math.floor((left * w) / workers)
    if (n > 0) ranges.push({ first: at, count: n })
    at += n
  }
  return { caller: { first, count: callerCount }, workers: ranges }
}

/** Where a range's bytes sit, given the frame size and whether the bytes are sealed (frame + tag). */
function span(range: FrameRange, frameSize: number, sealed: boolean, totalLength: number, base: number): { start: number; end: number } {
  const step = sealed ? frameSize + TAG_BYTES : frameSize
  const start = base + range.first * step
  return { start, end: Math.min(base + (range.first + range.count) * step, totalLength) }
}

interface Direction {
  readonly op: 'seal' | 'open'
  /** The whole input: plaintext (seal) or sealed body (open). */
  readonly input: Uint8Array
  /** Where frame 0 of the output starts in `out`. */
  readonly outBase: number
  readonly out: Uint8Array
}

/**
 * Runs every frame of a message through the caller and the pool, round by round. Returns
 * false when a frame failed authentication (open). Shared memory is wiped before returning.
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
  const roundFrames = Math.max(1, Math.floor(ROUND_BYTES / frameSize))
  const step = frameSize + TAG_BYTES
  // Sized for the largest worker share of a round: input and output of every worker range,
  // each at most a sealed frame per frame.
  const maxShare = planRanges(0, Math.min(frames, roundFrames), pool.workers).workers.reduce((n, r) => n + r.count, 0)
  const memory = takeScratch(KEY_BYTES + 2 * maxShare * step)
  const view = new Uint8Array(memory)
  view.set(contentKey, 0)
  const finalIndex = frames - 1
  let ok = true
  try {
    for (let first = 0; first < frames && ok; first += roundFrames) {
      const count = Math.min(roundFrames, frames - first)
      const plan = planRanges(first, count, pool.workers)
      const jobs: Promise<boolean>[] = []
      const copies: { from: number; to: number; length: number }[] = []
      let inAt = KEY_BYTES
      let outAt = KEY_BYTES + maxShare * step
      for (const range of plan.workers) {
        const input = span(range, frameSize, !seal, d.input.length, 0)
        view.set(d.input.subarray(input.start, input.end), inAt)
        const output = span(range, frameSize, seal, d.out.length, d.outBase)
        jobs.push(
          pool.run({
            op: d.op,
            memory,
            keyOffset: 0,
            inputOffset: inAt,
            inputLength: input.end - input.start,
            outputOffset: outAt,
            messageId,
            frameSize,
            first: range.first,
            count: range.count,
            finalIndex,
          }),
        )
        copies.push({ from: outAt, to: output.start, length: output.end - output.start })
        inAt += input.end - input.start
        outAt += output.end - output.start
      }
      // The caller's range, while the workers run: straight from the input into the result.
      let callerError: { error: unknown } | undefined
      try {
        ok = callerRange(backend, contentKey, messageId, frameSize, finalIndex, plan.caller, d)
      } catch (error) {
        callerError = { error }
      }
      // Every job must settle before the shared memory is reused or wiped, even after a failure.
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
      if (ok) for (const c of copies) d.out.set(view.subarray(c.from, c.from + c.length), c.to)
    }
    return ok
  } finally {
    view.fill(0)
    giveScratch(memory)
  }
}

/**
 * One wiped shared buffer kept between calls: fresh shared memory costs a page fault per 4 KiB
 * on first touch, which measured as much as the copies themselves. Only zeros are kept.
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

function callerRange(
  backend: CryptoBackend,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  finalIndex: number,
  range: FrameRange,
  d: Direction,
): boolean {
  const step = frameSize + TAG_BYTES
  for (let i = range.first; i < range.first + range.count; i++) {
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
