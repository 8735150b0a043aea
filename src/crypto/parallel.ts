/**
 * Sealing and opening the frames of one large buffer on several threads (the Envelope's
 * `parallelism` option), runtime-neutral: the threads themselves come from a
 * {@link FramePool} (`#worker-pool`: worker threads on Node, none elsewhere).
 *
 * Frames are independent (docs/FORMAT.md §6.2: nonce and AAD depend only on the frame index
 * and whether it is the last), so a message splits into chunks of frames that the calling
 * thread and the workers claim from a shared counter. What costs is not the AES but memory:
 * a fresh 64 MiB result costs a page fault per 4 KiB on first touch (measured: as long as
 * sealing it), and only the thread that owns an ordinary ArrayBuffer can write it. So one
 * worker, the assembler, allocates the result, seals its chunks straight into it, copies in
 * the chunks the others left in shared memory, and hands the result over at the end
 * (transferred: no copy); the calling thread never touches the result's pages at all. With
 * one worker, the caller does all the AES straight from its input into shared memory and the
 * assembler only fills the result: on two cores the faults cost about what the AES does, so
 * the two halves balance, and nothing is copied in. With more workers, the caller also copies
 * the input into shared memory (a round at a time, two rounds in flight so nobody waits for
 * the copy) for them to seal from, and seals chunks there like any worker.
 *
 * The bytes are those of the single-thread path, frame for frame. Shared memory that held
 * plaintext or the key is zeroed before returning, and a decryption releases nothing until
 * every chunk has verified: the assembler answers without the result (zeroed) when any frame
 * failed.
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
import { CHUNK_SHARED, CTL, CTL_WORDS, claimChunk, roundFramesOf, roundWord } from './parallel-protocol.js'
import { copyBytes } from './shared-copy.js'

export { ONE_WORKER_MIN_BYTES, PARALLEL_MIN_BYTES } from './parallel-protocol.js'

/**
 * Input bytes of one round. Two rounds are in shared memory at once (one being worked, the
 * next being copied in), each with room for its output, so the shared memory is about four
 * rounds whatever the message size: a 1 GiB buffer costs a bounded extra, not another GiB.
 */
export const ROUND_BYTES = 8 * 1024 * 1024

/**
 * Plaintext bytes per claimed chunk: threads take chunks one at a time from a shared counter,
 * so a thread the OS runs less (a busy machine) takes fewer, and nobody waits long at the end.
 */
export const CHUNK_BYTES = 512 * 1024

/** One range of frames for a worker, everything in one shared buffer (the streams' batches). */
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
}

/**
 * A worker's part in one whole buffer ({@link MessageLayout} in shared memory): it claims
 * chunks round after round until the caller stops it. The assembler (exactly one per message)
 * also owns the result.
 */
export interface MessageJob {
  readonly op: 'seal-message' | 'open-message'
  readonly memory: SharedArrayBuffer
  readonly messageId: Uint8Array
  readonly frameSize: number
  /** Frames in the message; the last is the final frame. */
  readonly frames: number
  /** Bytes of the whole input (plaintext or sealed body): the final frame is what is left. */
  readonly inputLength: number
  readonly roundFrames: number
  readonly chunkFrames: number
  /**
   * Whether this worker seals or opens chunks too. False only for an assembler working alone
   * with the caller: the caller then does all the AES straight from its own input, and the
   * input is never copied into shared memory (nor the key).
   */
  readonly claims: boolean
  /** The shared-memory layout (offsets in bytes). */
  readonly layout: MessageLayout
  /** Present for the assembler only: the result's length and what precedes frame 0 in it (the head). */
  readonly assemble?: { readonly outputLength: number; readonly prefix: Uint8Array }
}

/** Where things are in a message's shared memory; see {@link MessageJob}. */
export interface MessageLayout {
  readonly keyOffset: number
  /** Per slot (two): Int32 chunk states at `states`, input at `input`, output at `output`. */
  readonly slots: readonly { readonly states: number; readonly input: number; readonly output: number }[]
}

/** What a message job answers: false when a frame failed; the assembler's result otherwise. */
export interface MessageAnswer {
  readonly ok: boolean
  readonly output?: ArrayBuffer | undefined
}

/** Threads that seal and open ranges of frames. */
export interface FramePool {
  /** Worker threads in the pool (the calling thread works too, so a pool of n serves n + 1 threads). */
  readonly workers: number
  /** Runs one job; false when a frame failed authentication; rejects with {@link WorkerError} when the worker failed. */
  run(job: FrameJob): Promise<boolean>
  /** Runs a worker's part of a whole buffer; rejects with {@link WorkerError} when the worker failed. */
  runMessage(job: MessageJob): Promise<MessageAnswer>
}

interface Direction {
  readonly op: 'seal' | 'open'
  /** The whole input: plaintext (seal) or sealed body (open). */
  readonly input: Uint8Array
  /** What precedes frame 0 in the result (the head, for seal). */
  readonly prefix: Uint8Array
  /** Length of the whole result. */
  readonly outputLength: number
}

/** Options for the tests: a caller that claims nothing shows a worker writes what one thread writes. */
export interface RunOptions {
  readonly callerClaims?: boolean
}

/**
 * Runs every frame of a message through the caller and the pool; see the module docs. Returns
 * the result, or undefined when a frame failed authentication. Shared memory is wiped before
 * returning.
 */
async function runMessage(
  backend: CryptoBackend,
  pool: FramePool,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  frames: number,
  d: Direction,
  options: RunOptions = {},
): Promise<Uint8Array | undefined> {
  const seal = d.op === 'seal'
  const step = frameSize + TAG_BYTES
  const inStride = seal ? frameSize : step
  const roundFrames = Math.max(1, Math.floor(ROUND_BYTES / frameSize))
  const chunkFrames = Math.max(1, Math.floor(CHUNK_BYTES / frameSize))
  const largestRound = Math.min(frames, roundFrames)
  const maxChunks = Math.ceil(largestRound / chunkFrames)
  const rounds = Math.ceil(frames / roundFrames)
  const helpers = Math.max(1, Math.min(pool.workers, maxChunks - 1))
  // With one worker, the two threads split the work by kind, not by chunk: the caller seals
  // every chunk straight from the input, the assembler faults and fills the result. Sharing
  // the AES instead costs a copy of the whole input into shared memory, and on two cores that
  // copy made the pair slower than one thread (bench/parallel.ts: 0.89-0.93 of parallelism 1).
  const shareInput = helpers > 1 || options.callerClaims === false
  // The assembler copies each chunk from shared memory to the result, where a sealed body
  // starts after the head: at any offset mod 8. A copy between the two at different offsets
  // mod 8 goes through a bounce buffer (./shared-copy.ts), twice the bytes, on the thread
  // that already faults in the whole result. When the caller alone writes the chunks, their
  // shared copies start at the result's offset mod 8 instead, so the assembler's copy is one
  // straight copy and the bounce (if any) moves to the caller: timed inside a 64 MiB seal, the
  // assembler took 41-53 ms with the bounce and 34-51 without, the caller's loop 36-66 with it.
  const outSkew = shareInput ? 0 : d.prefix.length % 8
  // [control][key][slot 0: states, input, output][slot 1: the same]
  const keyOffset = CTL_WORDS * 4
  // Regions start at multiples of 8, so frames land in shared memory at the offsets mod 8 of
  // the buffers they come from (./shared-copy.ts).
  const statesBytes = align8(maxChunks * 4)
  const inputBytes = shareInput ? align8(largestRound * step) : 0
  const outputBytes = align8(largestRound * step + outSkew)
  const slotBytes = statesBytes + inputBytes + outputBytes
  const slotsAt = keyOffset + KEY_BYTES
  const slots = (rounds > 1 ? [0, 1] : [0]).map((s) => {
    const states = slotsAt + s * slotBytes
    const input = states + statesBytes
    return { states, input, output: input + inputBytes + outSkew }
  })
  const used = slotsAt + slots.length * slotBytes
  const memory = takeScratch(used)
  const view = new Uint8Array(memory)
  const ctl = new Int32Array(memory, 0, CTL_WORDS)
  ctl.fill(0) // kept memory holds the last call's counters
  if (shareInput) view.set(contentKey, keyOffset)
  const finalIndex = frames - 1
  const base: Omit<MessageJob, 'assemble'> = {
    op: seal ? 'seal-message' : 'open-message',
    memory,
    messageId: messageId.slice(), // a view of a parsed head would be cloned whole into the job's message
    frameSize,
    frames,
    inputLength: d.input.length,
    roundFrames,
    chunkFrames,
    claims: shareInput,
    layout: { keyOffset, slots },
  }
  const jobs: Promise<MessageAnswer>[] = [pool.runMessage({ ...base, assemble: { outputLength: d.outputLength, prefix: d.prefix } })]
  for (let w = 1; w < helpers; w++) jobs.push(pool.runMessage(base))
  // Settles once the assembler answered or any worker failed: a waiting caller stops waiting
  // for a thread that will never write again.
  let gone = false
  const stopWaiting = Promise.race([jobs[0]!.then(noop, noop), ...jobs.map((j) => j.then(() => NEVER, noop))]).then(() => {
    gone = true
  })
  const waitFor = async (index: number, atLeast: number): Promise<void> => {
    for (;;) {
      const seen = Atomics.load(ctl, index)
      if (seen >= atLeast || Atomics.load(ctl, CTL.failed) !== 0 || gone) return
      await Promise.race([waitChange(ctl, index, seen), stopWaiting])
    }
  }
  let callerError: { error: unknown } | undefined
  let failed = false
  try {
    try {
      for (let r = 0; r < rounds; r++) {
        // Slot r % 2 held round r - 2: it must be fully in the result before it is overwritten.
        if (r >= 2) await waitFor(CTL.assembled, r - 1)
        if (Atomics.load(ctl, CTL.failed) !== 0 || gone) break
        const slot = slots[r % 2]!
        const word = CTL.slot + (r % 2)
        const { first, count, chunks } = roundFramesOf(r, roundFrames, chunkFrames, frames)
        const inStart = first * inStride
        const inEnd = Math.min((first + count) * inStride, d.input.length)
        new Int32Array(memory, slot.states, chunks).fill(0)
        if (shareInput) copyBytes(view, slot.input, d.input.subarray(inStart, inEnd), seal)
        Atomics.store(ctl, word, roundWord(r))
        Atomics.store(ctl, CTL.staged, r + 1)
        Atomics.notify(ctl, CTL.staged)
        const states = new Int32Array(memory, slot.states, chunks)
        for (let c = options.callerClaims === false ? -1 : claimChunk(ctl, word, r, chunks); c >= 0; c = claimChunk(ctl, word, r, chunks)) {
          const a = first + c * chunkFrames
          const b = Math.min(first + count, a + chunkFrames)
          if (!callerChunk(backend, contentKey, messageId, frameSize, finalIndex, a, b, first, d, view, slot.output)) {
            failed = true
            break
          }
          Atomics.store(states, c, CHUNK_SHARED)
          Atomics.notify(states, c)
        }
        if (failed) break
      }
    } catch (error) {
      callerError = { error }
    }
    if (failed || callerError !== undefined) {
      Atomics.store(ctl, CTL.failed, 1)
    } else {
      await waitFor(CTL.assembled, rounds)
    }
  } finally {
    // Whatever happened, every worker stops (a failure flag ends their waits) and every job
    // settles before the shared memory is wiped and reused.
    if (Atomics.load(ctl, CTL.assembled) < rounds) Atomics.store(ctl, CTL.failed, 1)
    Atomics.notify(ctl, CTL.staged)
    for (const s of slots) {
      const states = new Int32Array(memory, s.states, maxChunks)
      for (let i = 0; i < maxChunks; i++) Atomics.notify(states, i)
    }
  }
  const settled = await Promise.allSettled(jobs)
  // Only what held secrets is zeroed: the key, and the plaintext (inputs to seal, outputs of open).
  zeroShared(view, keyOffset, keyOffset + KEY_BYTES)
  // (Sealing with the assembler alone, no input is shared: inputBytes is 0.)
  for (const s of slots) zeroShared(view, seal ? s.input : s.output, seal ? s.input + inputBytes : s.output + outputBytes)
  giveScratch(memory)
  if (callerError !== undefined) throw callerError.error
  let output: ArrayBuffer | undefined
  let ok = !failed
  for (const s of settled) {
    if (s.status === 'rejected') {
      throw s.reason instanceof WorkerError
        ? s.reason
        : new WorkerError('a worker thread failed while processing frames; nothing was released, retry the call', { cause: s.reason })
    }
    if (!s.value.ok) ok = false
    output ??= s.value.output
  }
  if (!ok) {
    // The assembler zeroes and drops the result of a failed message; this is for a caller
    // failure it answered before noticing.
    if (output !== undefined) new Uint8Array(output).fill(0)
    return undefined
  }
  if (output === undefined || output.byteLength !== d.outputLength) {
    throw new WorkerError('a worker thread answered without the result; nothing was released, retry the call')
  }
  return new Uint8Array(output)
}

function noop(): void {}

const align8 = (n: number): number => Math.ceil(n / 8) * 8

/** Never settles: a fulfilled helper job must not end the caller's wait, only a failed one. */
const NEVER = new Promise<void>(noop)

/** Resolves when `ctl[index]` may have changed from `seen` (or after a short timeout, so nothing is missed). */
function waitChange(ctl: Int32Array, index: number, seen: number): Promise<unknown> {
  const waitAsync = (Atomics as { waitAsync?: typeof Atomics.waitAsync }).waitAsync
  if (waitAsync !== undefined) {
    const w = waitAsync(ctl, index, seen, 50)
    return w.async ? w.value : Promise.resolve()
  }
  return new Promise((resolve) => setTimeout(resolve, 1))
}

/** Frames [a, b) on the calling thread, from the input into the slot's shared output. */
function callerChunk(
  backend: CryptoBackend,
  contentKey: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  finalIndex: number,
  a: number,
  b: number,
  first: number,
  d: Direction,
  view: Uint8Array,
  output: number,
): boolean {
  const step = frameSize + TAG_BYTES
  for (let i = a; i < b; i++) {
    const final = i === finalIndex
    if (d.op === 'seal') {
      const chunk = d.input.subarray(i * frameSize, final ? d.input.length : (i + 1) * frameSize)
      const at = output + (i - first) * step
      if ((view.byteOffset + at) % 8 === 0) {
        backend.sealInto(contentKey, frameNonce(i), chunk, frameAad(messageId, i, final), view, at)
        continue
      }
      // Off the 8-byte grid (see outSkew): a plain set into shared memory would copy byte by byte.
      let to = at
      for (const part of backend.seal(contentKey, frameNonce(i), chunk, frameAad(messageId, i, final))) {
        copyBytes(view, to, part, false)
        to += part.length
      }
    } else {
      const sealed = d.input.subarray(i * step, final ? d.input.length : (i + 1) * step)
      if (!backend.openInto(contentKey, frameNonce(i), sealed, frameAad(messageId, i, final), view, output + (i - first) * frameSize)) return false
    }
  }
  return true
}

/**
 * Zeroes `view[from, to)`. A byte-wise fill of shared memory measured about 4x slower than of
 * ordinary memory (3.5 GB/s: 10 ms of a 64 MiB call went to it), so the aligned middle is
 * filled as 8-byte words.
 */
export function zeroShared(view: Uint8Array, from: number, to: number): void {
  const start = view.byteOffset + from
  const alignedStart = Math.min(view.byteOffset + to, Math.ceil(start / 8) * 8)
  const alignedEnd = Math.max(alignedStart, Math.floor((view.byteOffset + to) / 8) * 8)
  view.fill(0, from, alignedStart - view.byteOffset)
  if (alignedEnd > alignedStart) new Float64Array(view.buffer, alignedStart, (alignedEnd - alignedStart) / 8).fill(0)
  view.fill(0, alignedEnd - view.byteOffset, to)
}

/**
 * Memory that outlives one call, for {@link takeScratch}: fresh shared memory costs a page
 * fault per 4 KiB on first touch, which measured as much as the copies themselves. No
 * secret is kept: the key and plaintext regions are zeroed before the memory comes back.
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

/** What `#worker-pool` provides: a pool per thread count, or none where threads are unavailable. */
export type PoolProvider = (threads: number | 'auto') => Promise<FramePool | undefined>

/** `sealMessage` (./message.ts) with the frames sealed over the pool: the same bytes. */
export async function sealMessageParallel(
  backend: CryptoBackend,
  pool: FramePool,
  p: SealParams,
  plaintext: Uint8Array,
  options?: RunOptions,
): Promise<Uint8Array> {
  const { head, keys } = sealHead(backend, p)
  try {
    const { frames, bodyLength } = bodyLayout(plaintext.length, p.frameSize)
    if (frames > MAX_FRAMES) throw new LimitError(`the plaintext needs ${frames} frames; a message holds at most ${MAX_FRAMES}`)
    const out = await runMessage(
      backend,
      pool,
      keys.contentKey,
      p.messageId,
      p.frameSize,
      frames,
      {
        op: 'seal',
        input: plaintext,
        prefix: head,
        outputLength: head.length + bodyLength,
      },
      options,
    )
    // Sealing has no authentication to fail: no result means a thread gave up.
    if (out === undefined) throw new WorkerError('a worker thread stopped before the message was sealed; retry the call')
    return out
  } finally {
    keys.wipe()
  }
}

/** `openBody` (./message.ts) with the frames opened over the pool; nothing is returned unless every frame verified. */
export async function openBodyParallel(
  backend: CryptoBackend,
  pool: FramePool,
  head: MessageHead,
  keys: MessageKeys,
  body: Uint8Array,
  options?: RunOptions,
): Promise<Uint8Array> {
  const { frameSize, messageId } = head.header
  const layout = bodyFrames(body.length, frameSize)
  if (layout === undefined) throw bodyCutShort()
  if (layout.frames > MAX_FRAMES) throw new LimitError(`the message has ${layout.frames} frames; at most ${MAX_FRAMES} are allowed`)
  const out = await runMessage(
    backend,
    pool,
    keys.contentKey,
    messageId,
    frameSize,
    layout.frames,
    { op: 'open', input: body, prefix: new Uint8Array(0), outputLength: layout.plaintextLength },
    options,
  )
  if (out === undefined) throw new AuthenticationError()
  return out
}
