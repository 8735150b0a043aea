/**
 * The frame codec of ./stream-codec.ts over a {@link FramePool}: for the Node streams, file
 * helpers and CLI of an Envelope with `parallelism`. Same input, same output bytes, same
 * errors; the difference is that full frames are gathered into batches that workers seal or
 * open while more input is read, and when every worker is busy the calling thread takes the
 * next batch itself, so both cores work and the reader never waits for a thread.
 *
 * Output leaves strictly in frame order: a queue of batches (worker or caller) is emitted from
 * its head only once the head is done, and a decrypted batch only once every frame in it
 * verified. The queue is bounded ({@link ParallelFrameCodec.push} returns a promise while it
 * is full), and so is memory: a few batches of shared memory, reused, zeroed at the end.
 *
 * The stream rules of ./stream-codec.ts hold unchanged: a full step that fails as a non-final
 * frame is ERR_AUTH if any byte follows it and ERR_TRUNCATED if the input ends there; the final
 * frame is whatever is left at `finish`.
 * @module
 */
import { AuthenticationError, LimitError, TruncatedError, WorkerError } from '../errors.js'
import { KEY_BYTES, MAX_FRAMES, TAG_BYTES } from '../format/constants.js'
import type { CryptoBackend } from './backend.js'
import { frameAad, frameNonce } from './frames.js'
import type { MessageKeys } from './keys.js'
import type { FramePool } from './parallel.js'
import { zeroShared } from './parallel.js'
import { copyBytes } from './shared-copy.js'
import type { Emit } from './stream-codec.js'

/**
 * Plaintext bytes per batch: large enough that a worker round trip is noise (4 default frames),
 * small enough to keep memory flat (1 MiB batches measured 10 MiB more peak RSS on a 1 GiB file).
 */
export const BATCH_BYTES = 256 * 1024

interface Slot {
  readonly memory: SharedArrayBuffer
  readonly view: Uint8Array
}

interface Batch {
  readonly first: number
  count: number
  /** Worker batches: the shared memory they use. */
  readonly slot: Slot | undefined
  /** Caller batches: the output, done at once. */
  readonly chunks: Uint8Array[]
  /** Worker batches: settles when the worker answered. */
  job: Promise<boolean> | undefined
  /** Set once settled: true, false (a frame failed) or the worker's error. */
  outcome: { ok: boolean } | { error: unknown } | undefined
  /** Caller batches that failed: the index of the frame that failed. */
  failedAt: number | undefined
}

/** Seals (encoder) or opens (decoder) frames of one message over a pool; see the module docs. */
export class ParallelFrameCodec {
  readonly #backend: CryptoBackend
  readonly #pool: FramePool
  readonly #keys: MessageKeys
  readonly #messageId: Uint8Array
  readonly #frameSize: number
  readonly #seal: boolean
  /** Input bytes per non-final frame. */
  readonly #stride: number
  /** Output bytes per non-final frame. */
  readonly #outStride: number
  readonly #batchFrames: number
  readonly #maxSlots: number
  readonly #maxQueue: number
  readonly #slots: Slot[] = []
  readonly #free: Slot[] = []
  readonly #queue: Batch[] = []
  #filling: Batch | undefined
  #pending: Uint8Array | undefined
  #filled = 0
  #index = 0
  #inFlight = 0
  #closed = false
  /** A full step failed and nothing followed it yet (decoder): ERR_AUTH on more input, ERR_TRUNCATED at the end. */
  #failedStep = false

  /** Takes ownership of `keys` and wipes them when it finishes or fails. */
  constructor(backend: CryptoBackend, pool: FramePool, keys: MessageKeys, messageId: Uint8Array, frameSize: number, op: 'seal' | 'open') {
    this.#backend = backend
    this.#pool = pool
    this.#keys = keys
    // Its own 32 bytes: a view of a parsed head would be cloned whole into every job's message.
    this.#messageId = messageId.slice()
    this.#frameSize = frameSize
    this.#seal = op === 'seal'
    this.#stride = this.#seal ? frameSize : frameSize + TAG_BYTES
    this.#outStride = this.#seal ? frameSize + TAG_BYTES : frameSize
    this.#batchFrames = Math.max(1, Math.floor(BATCH_BYTES / frameSize))
    // Two batches per worker: one running, one waiting, so a worker never idles on the reader.
    this.#maxSlots = 2 * pool.workers
    this.#maxQueue = this.#maxSlots + 2
  }

  /** Processes every frame `chunk` completes; a promise while the queue is full (wait for it before the next push). */
  push(chunk: Uint8Array, emit: Emit): void | Promise<void> {
    if (this.#closed) throw closedError()
    try {
      if (chunk.length === 0) return
      if (this.#failedStep) throw new AuthenticationError()
      const stride = this.#stride
      let at = 0
      if (this.#filled > 0) {
        at = Math.min(stride - this.#filled, chunk.length)
        this.#pending!.set(chunk.subarray(0, at), this.#filled)
        this.#filled += at
        if (this.#filled < stride) return
        this.#filled = 0
        this.#frame(this.#pending!, at < chunk.length)
      }
      while (chunk.length - at >= stride) {
        this.#frame(chunk.subarray(at, at + stride), chunk.length - at > stride)
        at += stride
      }
      if (at < chunk.length) {
        this.#pending ??= new Uint8Array(stride)
        this.#pending.set(chunk.subarray(at), 0)
        this.#filled = chunk.length - at
      }
      // A batch that is full waits for nobody; one half-filled would hold its frames back, so
      // it goes too when every worker is idle.
      if (this.#filling !== undefined && this.#inFlight === 0) this.#dispatch()
      this.#drain(emit)
      if (this.#queue.length > this.#maxQueue) return this.#waitForRoom(emit)
    } catch (error) {
      this.dispose()
      throw error
    }
  }

  /** Emits everything still queued, then the final frame from what is left. */
  async finish(emit: Emit): Promise<void> {
    if (this.#closed) throw closedError()
    try {
      if (this.#filling !== undefined) this.#dispatch()
      while (this.#queue.length > 0) {
        await this.#settle(this.#queue[0]!)
        this.#drain(emit)
      }
      const rest = this.#pending === undefined ? new Uint8Array(0) : this.#pending.subarray(0, this.#filled)
      if (!this.#seal && (this.#failedStep || rest.length < TAG_BYTES)) {
        throw new TruncatedError(
          rest.length === 0 ? 'the message ends without its final frame: it was cut short' : 'the message ends inside its final frame: it was cut short',
        )
      }
      const i = this.#next()
      const out = this.#apply(rest, i, true)
      if (out === undefined) throw new AuthenticationError()
      for (const part of out) if (part.length > 0) emit(part)
    } finally {
      this.dispose()
    }
  }

  /** Wipes the keys, buffered input and shared memory. Safe to call more than once; running jobs finish into memory nobody reads. */
  dispose(): void {
    if (this.#closed) return
    this.#closed = true
    this.#keys.wipe()
    this.#pending?.fill(0)
    this.#pending = undefined
    this.#filled = 0
    const slots = this.#slots.splice(0)
    const running = this.#queue.filter((b) => b.job !== undefined && b.outcome === undefined).map((b) => b.job!)
    this.#queue.length = 0
    this.#free.length = 0
    // A worker may still be writing into a slot: zero them once every job has settled.
    Promise.allSettled(running).then(() => {
      for (const s of slots) zeroShared(s.view, 0, s.view.length)
    })
  }

  #next(): number {
    const i = this.#index
    if (i >= MAX_FRAMES) throw new LimitError(`the message would have more than ${MAX_FRAMES} frames`)
    this.#index = i + 1
    return i
  }

  /** One full frame of input; `followed`: more input bytes are already known to come after it. */
  #frame(input: Uint8Array, followed: boolean): void {
    if (this.#filling === undefined) {
      const slot = this.#inFlight < this.#maxSlots ? this.#takeSlot() : undefined
      if (slot === undefined) {
        this.#callerFrame(input, followed)
        return
      }
      this.#filling = { first: this.#index, count: 0, slot, chunks: [], job: undefined, outcome: undefined, failedAt: undefined }
      this.#queue.push(this.#filling)
    }
    const batch = this.#filling
    this.#next()
    copyBytes(batch.slot!.view, KEY_BYTES + batch.count * this.#stride, input, this.#seal)
    batch.count++
    if (batch.count === this.#batchFrames) this.#dispatch()
  }

  /** Every worker busy: the calling thread seals or opens this frame now. */
  #callerFrame(input: Uint8Array, followed: boolean): void {
    let batch = this.#queue[this.#queue.length - 1]
    // Bounded like a worker batch, so a slow worker holds back at most a queue of batches.
    if (batch === undefined || batch.slot !== undefined || batch.count >= this.#batchFrames) {
      batch = { first: this.#index, count: 0, slot: undefined, chunks: [], job: undefined, outcome: { ok: true }, failedAt: undefined }
      this.#queue.push(batch)
    }
    const i = this.#next()
    batch.count++
    const out = this.#apply(input, i, false)
    if (out === undefined) {
      this.#stepFailed(followed)
      return
    }
    for (const part of out) if (part.length > 0) batch.chunks.push(part)
  }

  #apply(input: Uint8Array, i: number, final: boolean): Uint8Array[] | undefined {
    const nonce = frameNonce(i)
    const aad = frameAad(this.#messageId, i, final)
    if (this.#seal) return this.#backend.seal(this.#keys.contentKey, nonce, input, aad)
    const plaintext = this.#backend.open(this.#keys.contentKey, nonce, input, aad)
    return plaintext === undefined ? undefined : [plaintext]
  }

  /** A full step failed: ERR_AUTH when input follows it, else held until more input or the end. */
  #stepFailed(followed: boolean): void {
    if (followed || this.#filled > 0) throw new AuthenticationError()
    this.#failedStep = true
  }

  #takeSlot(): Slot | undefined {
    const free = this.#free.pop()
    if (free !== undefined) return free
    if (this.#slots.length >= this.#maxSlots) return undefined
    const memory = new SharedArrayBuffer(KEY_BYTES + 2 * this.#batchFrames * (this.#frameSize + TAG_BYTES))
    const slot = { memory, view: new Uint8Array(memory) }
    slot.view.set(this.#keys.contentKey, 0)
    this.#slots.push(slot)
    return slot
  }

  #dispatch(): void {
    const batch = this.#filling!
    this.#filling = undefined
    const slot = batch.slot!
    this.#inFlight++
    const inputLength = batch.count * this.#stride
    batch.job = this.#pool.run({
      op: this.#seal ? 'seal' : 'open',
      memory: slot.memory,
      keyOffset: 0,
      inputOffset: KEY_BYTES,
      inputLength,
      outputOffset: KEY_BYTES + this.#batchFrames * (this.#frameSize + TAG_BYTES),
      messageId: this.#messageId,
      frameSize: this.#frameSize,
      first: batch.first,
      count: batch.count,
      // Never the final frame: that one is the caller's, at finish.
      finalIndex: -1,
    })
    batch.job.then(
      (ok) => {
        batch.outcome = { ok }
      },
      (error: unknown) => {
        batch.outcome = { error }
      },
    )
    batch.job.catch(() => {}).finally(() => this.#inFlight--)
  }

  async #settle(batch: Batch): Promise<void> {
    if (batch.outcome === undefined) await batch.job?.catch(() => {})
    // The outcome handlers ran first (attached before this await).
    await undefined
  }

  async #waitForRoom(emit: Emit): Promise<void> {
    try {
      while (this.#queue.length > this.#maxQueue) {
        if (this.#queue[0] === this.#filling) this.#dispatch()
        await this.#settle(this.#queue[0]!)
        this.#drain(emit)
      }
    } catch (error) {
      this.dispose()
      throw error
    }
  }

  /** Emits every finished batch at the head of the queue, in order. */
  #drain(emit: Emit): void {
    while (this.#queue.length > 0 && this.#queue[0] !== this.#filling) {
      const batch = this.#queue[0]!
      const outcome = batch.outcome
      if (outcome === undefined) return
      this.#queue.shift()
      if ('error' in outcome) {
        throw outcome.error instanceof WorkerError
          ? outcome.error
          : new WorkerError('a worker thread failed while processing frames; nothing more was released', { cause: outcome.error })
      }
      if (batch.slot === undefined) {
        for (const c of batch.chunks) emit(c)
        continue
      }
      const good = outcome.ok ? batch.count : this.#workerBatchFailed(batch)
      const start = KEY_BYTES + this.#batchFrames * (this.#frameSize + TAG_BYTES)
      if (good > 0) {
        // Not view.slice: on shared memory V8 takes a slow path for it (2 GB/s against 12 for a copy).
        const out = new Uint8Array(good * this.#outStride)
        copyBytes(out, 0, batch.slot.view.subarray(start, start + out.length), !this.#seal) // opened frames are plaintext
        emit(out)
      }
      this.#free.push(batch.slot)
    }
  }

  /**
   * A worker batch failed: returns how many of its frames verified, to be released, when only
   * its last frame failed and nothing follows it yet (held like the single-thread decoder: a cut
   * if the input ends there); otherwise ERR_AUTH. The worker says only "failed", so this rare
   * path opens the batch again here to find the frame.
   */
  #workerBatchFailed(batch: Batch): number {
    const last = batch.first + batch.count - 1
    if (last !== this.#index - 1 || this.#filling !== undefined || this.#filled > 0) throw new AuthenticationError()
    const view = batch.slot!.view
    for (let k = 0; k < batch.count - 1; k++) {
      const at = KEY_BYTES + k * this.#stride
      if (this.#apply(view.subarray(at, at + this.#stride), batch.first + k, false) === undefined) throw new AuthenticationError()
    }
    this.#stepFailed(false)
    return batch.count - 1
  }
}

function closedError(): TypeError {
  return Object.assign(new TypeError('this stream already ended or failed; create a new one'), { code: 'ERR_INVALID_ARGUMENT' as const })
}
