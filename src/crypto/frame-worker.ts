/**
 * The worker thread of the Node frame pool (./pool-node.ts): seals or opens one range of
 * frames per message, in shared memory, with node:crypto (whatever backend the calling thread
 * uses: both give identical bytes). It copies the content key out of shared
 * memory for the job and zeroes that copy when the job ends, answered or failed.
 * @module
 */
import { createCipheriv } from 'node:crypto'
import { MessageChannel, parentPort } from 'node:worker_threads'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import { frameAad, frameNonce } from './frames.js'
import { decipher } from './node.js'
import type { FrameJob } from './parallel.js'

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

/** Frames [from, to) of the job (indices relative to `job.first`); false at the first that fails. */
function runFrames(job: FrameJob, memory: Uint8Array, key: Uint8Array, from: number, to: number): boolean {
  const { frameSize, messageId, first, finalIndex, inputOffset, inputLength, outputOffset } = job
  const step = frameSize + TAG_BYTES
  const inputEnd = inputOffset + inputLength
  for (let k = from; k < to; k++) {
    const i = first + k
    const final = i === finalIndex
    if (job.op === 'seal') {
      const start = inputOffset + k * frameSize
      const chunk = memory.subarray(start, final ? inputEnd : start + frameSize)
      sealInto(key, frameNonce(i), chunk, frameAad(messageId, i, final), memory, outputOffset + k * step)
    } else {
      const start = inputOffset + k * step
      const sealed = memory.subarray(start, final ? inputEnd : start + step)
      if (!openInto(key, frameNonce(i), sealed, frameAad(messageId, i, final), memory, outputOffset + k * frameSize)) return false
    }
  }
  return true
}

function runJob(job: FrameJob): boolean {
  const memory = new Uint8Array(job.memory)
  const key = memory.slice(job.keyOffset, job.keyOffset + KEY_BYTES)
  try {
    const claim = job.claim
    if (claim === undefined) return runFrames(job, memory, key, 0, job.count)
    const counter = new Int32Array(job.memory, claim.counterOffset, 1)
    for (let c = Atomics.add(counter, 0, 1); c < claim.chunks; c = Atomics.add(counter, 0, 1)) {
      const from = c * claim.chunkFrames
      if (!runFrames(job, memory, key, from, Math.min(job.count, from + claim.chunkFrames))) {
        Atomics.store(counter, 0, claim.chunks) // the others stop: the result is a failure anyway
        return false
      }
      Atomics.store(memory, claim.ownerOffset + c, 1)
    }
    return true
  } finally {
    key.fill(0)
  }
}

const port = parentPort
if (port === null) throw new Error('frame-worker.js runs only as a worker thread of kms-envelope')
port.on('message', (job: FrameJob) => {
  // Not a job this pool sends: crash, so the pool reports it and replaces this worker.
  if (job === null || typeof job !== 'object' || (job.op !== 'seal' && job.op !== 'open')) throw new TypeError('frame worker: unknown job')
  let ok: boolean
  try {
    ok = runJob(job)
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? error.message : String(error) })
    return
  }
  port.postMessage({ ok })
})
