/**
 * The worker thread of the Node frame pool (./pool-node.ts): seals or opens one range of
 * frames per message, in shared memory, with the node:crypto backend (whatever backend the
 * calling thread uses: both give identical bytes). It copies the content key out of shared
 * memory for the job and zeroes that copy when the job ends, answered or failed.
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { KEY_BYTES, TAG_BYTES } from '../format/constants.js'
import { frameAad, frameNonce } from './frames.js'
import { backend } from './node.js'
import type { FrameJob } from './parallel.js'

function runJob(job: FrameJob): boolean {
  const memory = new Uint8Array(job.memory)
  const key = memory.slice(job.keyOffset, job.keyOffset + KEY_BYTES)
  const { frameSize, messageId, first, count, finalIndex, inputOffset, inputLength, outputOffset } = job
  const step = frameSize + TAG_BYTES
  const inputEnd = inputOffset + inputLength
  try {
    for (let k = 0; k < count; k++) {
      const i = first + k
      const final = i === finalIndex
      if (job.op === 'seal') {
        const start = inputOffset + k * frameSize
        const chunk = memory.subarray(start, final ? inputEnd : start + frameSize)
        backend.sealInto(key, frameNonce(i), chunk, frameAad(messageId, i, final), memory, outputOffset + k * step)
      } else {
        const start = inputOffset + k * step
        const sealed = memory.subarray(start, final ? inputEnd : start + step)
        if (!backend.openInto(key, frameNonce(i), sealed, frameAad(messageId, i, final), memory, outputOffset + k * frameSize)) return false
      }
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
