/**
 * Freeing written output buffers at once instead of at the next garbage collection.
 *
 * node:crypto returns every frame in a fresh buffer. V8 frees such buffers only when a
 * young-generation GC runs, and with little JS allocation that happens after about 32 MiB
 * of them pile up: half the memory budget of a streamed file. Once the pump has written a
 * buffer it is the only owner, so it detaches the buffer, which frees the memory right
 * away: with `ArrayBuffer.prototype.transfer` where the runtime has it (Node 21+), else by
 * transferring it into a message to a closed port, which the HTML structured-clone rules
 * (and Node) define as detaching the buffer and dropping the message.
 * @module
 */
import type { MessagePort } from 'node:worker_threads'
import { MessageChannel } from 'node:worker_threads'

/** Smaller buffers are not worth a call (and may be slices of Node's shared pool). */
const MIN_RELEASE_BYTES = 4096

const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer, length: number) => ArrayBuffer }).transfer
let closedPort: MessagePort | undefined

function detach(buffer: ArrayBuffer): void {
  if (transfer !== undefined) {
    transfer.call(buffer, 0)
    return
  }
  if (closedPort === undefined) {
    const { port1, port2 } = new MessageChannel()
    port2.close()
    port1.unref()
    closedPort = port1
  }
  closedPort.postMessage(null, [buffer])
}

/**
 * Frees the memory of `chunks`, which the caller owns exclusively and will not touch again.
 * Only a chunk that spans its whole ArrayBuffer is freed, so a view into a buffer that
 * something else uses (Node's pool, a caller's array) is never detached; the rest is left
 * to the garbage collector.
 */
export function releaseBuffers(chunks: readonly Uint8Array[]): void {
  for (const chunk of chunks) {
    const buffer = chunk.buffer
    if (chunk.byteLength < MIN_RELEASE_BYTES || chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength || !(buffer instanceof ArrayBuffer)) continue
    try {
      detach(buffer)
    } catch {
      // Not detachable (marked untransferable, or already detached): the GC will free it.
    }
  }
}
