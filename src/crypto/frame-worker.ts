/**
 * The worker thread of the Node frame pool (./pool-node.ts), with node:crypto (whatever
 * backend the calling thread uses: both give identical bytes). Two kinds of job: a range of
 * frames in shared memory (the streams' batches), and a worker's part in a whole buffer
 * (./parallel.ts: claim chunks round after round; the assembler also writes the result and
 * hands it back). It copies the content key out of shared memory for the job and zeroes that
 * copy when the job ends, answered or failed.
 * @module
 */
import { createCipheriv } from 'node:crypto'
import { MessageChannel, parentPort } from 'node:worker_threads'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import { frameAad, frameNonce } from './frames.js'
import { decipher } from './node.js'
import type { FrameJob, MessageJob } from './parallel.js'
import { CHUNK_ASSEMBLED, CHUNK_SHARED, CTL, claimChunk, roundFramesOf } from './parallel-protocol.js'
import { copyBytes } from './shared-copy.js'

/**
 * node:crypto returns every frame in a fresh buffer, which V8 frees only at a young-generation
 * GC, after tens of MiB pile up: in a worker that allocates nothing else, that was the whole
 * memory budget of a streamed file. Each buffer is copied into shared memory and then
 * detached by transferring it into a message to a closed port, which frees it at once.
 */
const { port1: sink, port2 } = new MessageChannel()
port2.close()
sink.unref()

function free(buffer: Uint8Array): void {
  if (buffer.byteLength < 4096 || buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return
  try {
    sink.postMessage(null, [buffer.buffer as ArrayBuffer])
  } catch {
    // Not detachable: the GC frees it.
  }
}

/** Seals into `out` at `at` (ciphertext || tag). */
function sealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, at: number): void {
  const c = createCipheriv('aes-256-gcm', key, nonce)
  c.setAAD(aad)
  const body = c.update(plaintext)
  out.set(body, at)
  free(body)
  c.final()
  out.set(c.getAuthTag(), at + plaintext.length)
}

/** Verifies and decrypts into `out` at `at`; false (and the unverified bytes zeroed) when the tag is wrong. */
function openInto(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, at: number): boolean {
  // decipher releases the bytes only after final() verified them, so nothing unverified reaches shared memory.
  const body = decipher(key, nonce, sealed, aad)
  if (body === undefined) return false
  out.set(body, at)
  body.fill(0)
  free(body)
  return true
}

/**
 * Frames [first, first + count) of a message: input at `input` in `from` (frame `first` there),
 * output at `at` in `to` (frame `first` there). False at the first frame that fails.
 */
function frames(
  seal: boolean,
  key: Uint8Array,
  messageId: Uint8Array,
  frameSize: number,
  finalIndex: number,
  first: number,
  count: number,
  from: Uint8Array,
  input: number,
  inputEnd: number,
  to: Uint8Array,
  at: number,
): boolean {
  const step = frameSize + TAG_BYTES
  for (let k = 0; k < count; k++) {
    const i = first + k
    const final = i === finalIndex
    if (seal) {
      const start = input + k * frameSize
      const chunk = from.subarray(start, final ? inputEnd : start + frameSize)
      sealInto(key, frameNonce(i), chunk, frameAad(messageId, i, final), to, at + k * step)
    } else {
      const start = input + k * step
      const sealed = from.subarray(start, final ? inputEnd : start + step)
      if (!openInto(key, frameNonce(i), sealed, frameAad(messageId, i, final), to, at + k * frameSize)) return false
    }
  }
  return true
}

function runJob(job: FrameJob): boolean {
  const memory = new Uint8Array(job.memory)
  const key = memory.slice(job.keyOffset, job.keyOffset + KEY_BYTES)
  try {
    const { inputOffset, inputLength } = job
    return frames(
      job.op === 'seal',
      key,
      job.messageId,
      job.frameSize,
      job.finalIndex,
      job.first,
      job.count,
      memory,
      inputOffset,
      inputOffset + inputLength,
      memory,
      job.outputOffset,
    )
  } finally {
    key.fill(0)
  }
}

/** How long one Atomics.wait sleeps before looking at the failure flag again, ms. */
const WAIT_MS = 50

/** Blocks until `words[index]` differs from `seen` (or a short timeout passes). */
function waitChange(words: Int32Array, index: number, seen: number): void {
  Atomics.wait(words, index, seen, WAIT_MS)
}

/**
 * A worker's part in a whole buffer (see ./parallel.ts): claim chunks of each round as it is
 * staged; the assembler writes its chunks straight into the result, copies in the chunks the
 * others left in shared memory as they finish, and marks each round assembled. Returns the
 * result (assembler) or nothing; ok false when a frame failed or the caller gave up, with the
 * result zeroed and dropped.
 */
function runMessageJob(job: MessageJob): { ok: boolean; output?: ArrayBuffer } {
  const shared = new Uint8Array(job.memory)
  const ctl = new Int32Array(job.memory, 0, CTL.slot + 2)
  const { keyOffset, slots } = job.layout
  const key = shared.slice(keyOffset, keyOffset + KEY_BYTES)
  const seal = job.op === 'seal-message'
  const { frameSize, messageId, roundFrames, chunkFrames, inputLength } = job
  const step = frameSize + TAG_BYTES
  const inStride = seal ? frameSize : step
  const outStride = seal ? step : frameSize
  const finalIndex = job.frames - 1
  const finalOut = inputLength - finalIndex * inStride + (seal ? TAG_BYTES : -TAG_BYTES)
  const outLength = (a: number, b: number): number => (b - 1 === finalIndex ? (b - a - 1) * outStride + finalOut : (b - a) * outStride)
  const rounds = Math.ceil(job.frames / roundFrames)
  const assemble = job.assemble
  // The result is allocated here, so its first-touch page faults land on this thread.
  const out = assemble === undefined ? undefined : new Uint8Array(assemble.outputLength)
  const outBase = assemble?.prefix.length ?? 0
  if (out !== undefined) out.set(assemble!.prefix, 0)
  const failed = (): boolean => Atomics.load(ctl, CTL.failed) !== 0
  let ok = true
  try {
    for (let r = 0; r < rounds && ok; r++) {
      for (let seen = Atomics.load(ctl, CTL.staged); seen <= r; seen = Atomics.load(ctl, CTL.staged)) {
        if (failed()) {
          ok = false // the finally zeroes what this thread already wrote into the result
          return { ok }
        }
        waitChange(ctl, CTL.staged, seen)
      }
      const slot = slots[r % 2]!
      const word = CTL.slot + (r % 2)
      const { first, count, chunks } = roundFramesOf(r, roundFrames, chunkFrames, job.frames)
      const inEnd = Math.min((first + count) * inStride, inputLength) - first * inStride
      const states = new Int32Array(job.memory, slot.states, chunks)
      const copied = new Uint8Array(chunks)
      const copyIn = (c: number): void => {
        const a = first + c * chunkFrames
        const from = slot.output + (a - first) * outStride
        copyBytes(out!, outBase + a * outStride, shared.subarray(from, from + outLength(a, Math.min(first + count, a + chunkFrames))), !seal)
        copied[c] = 1
      }
      for (let c = job.claims ? claimChunk(ctl, word, r, chunks) : -1; c >= 0; c = claimChunk(ctl, word, r, chunks)) {
        const a = first + c * chunkFrames
        const n = Math.min(first + count, a + chunkFrames) - a
        const input = slot.input + (a - first) * inStride
        const to = out ?? shared
        const at = out !== undefined ? outBase + a * outStride : slot.output + (a - first) * outStride
        if (!frames(seal, key, messageId, frameSize, finalIndex, a, n, shared, input, slot.input + inEnd, to, at)) {
          ok = false
          Atomics.store(ctl, CTL.failed, 1)
          break
        }
        if (out === undefined) {
          Atomics.store(states, c, CHUNK_SHARED)
          Atomics.notify(states, c)
          continue
        }
        Atomics.store(states, c, CHUNK_ASSEMBLED)
        copied[c] = 1
        // Between its own chunks, the assembler takes in the others' finished ones, so little is left for the end of the round.
        for (let j = 0; j < chunks; j++) if (copied[j] === 0 && Atomics.load(states, j) === CHUNK_SHARED) copyIn(j)
      }
      if (out === undefined || !ok) continue
      for (let j = 0; j < chunks && ok; j++) {
        while (copied[j] === 0) {
          const state = Atomics.load(states, j)
          if (state === CHUNK_SHARED) copyIn(j)
          else if (failed()) ok = false
          else waitChange(states, j, state)
          if (!ok) break
        }
      }
      if (!ok) break
      Atomics.store(ctl, CTL.assembled, r + 1)
      Atomics.notify(ctl, CTL.assembled)
    }
    if (!ok || out === undefined) return { ok }
    return { ok: true, output: out.buffer as ArrayBuffer }
  } finally {
    key.fill(0)
    if (!ok) out?.fill(0)
  }
}

const port = parentPort
if (port === null) throw new Error('frame-worker.js runs only as a worker thread of kms-envelope')
port.on('message', (job: FrameJob | MessageJob) => {
  // Not a job this pool sends: crash, so the pool reports it and replaces this worker.
  const op = job !== null && typeof job === 'object' ? job.op : undefined
  if (op !== 'seal' && op !== 'open' && op !== 'seal-message' && op !== 'open-message') throw new TypeError('frame worker: unknown job')
  let answer: { ok: boolean; output?: ArrayBuffer }
  try {
    answer = op === 'seal' || op === 'open' ? { ok: runJob(job as FrameJob) } : runMessageJob(job as MessageJob)
  } catch (error) {
    // A message job that throws must still stop the others waiting on it.
    if (op === 'seal-message' || op === 'open-message') Atomics.store(new Int32Array((job as MessageJob).memory, 0, 4), CTL.failed, 1)
    port.postMessage({ error: error instanceof Error ? error.message : String(error) })
    return
  }
  // The result moves to the caller without a copy.
  port.postMessage(answer, answer.output === undefined ? [] : [answer.output])
})
