/**
 * Moving a message between files, pipes and a session without Node stream machinery: reads
 * go into two reused buffers (the next read runs while the current chunk is processed),
 * output is written with one `writev` per input chunk, and one write runs while the next
 * chunk is processed. Used by the file helpers and the CLI. It allocates nothing per chunk
 * but what the cipher returns, and frees that as soon as it is written (./release.ts), so
 * memory stays flat at any size (bench/stream.ts).
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import type { Emit } from '../crypto/stream-codec.js'
import { releaseBuffers } from './release.js'

/** Read size: several default frames per call, so thread-pool round trips stay rare. */
export const READ_BYTES = 256 * 1024

/** The session interface both directions share (see src/stream-session.ts). */
export interface PumpSession {
  /** Emits what comes before the first chunk (the head, when encrypting). */
  start?(emit: Emit): Promise<void>
  push(chunk: Uint8Array, emit: Emit): void | Promise<void>
  finish(emit: Emit): void | Promise<void>
}

/** Writes one batch of chunks, in order, completely. */
export type Sink = (chunks: Uint8Array[]) => Promise<void>

/**
 * Yields the file's bytes from its current position. A yielded chunk is valid until the
 * consumer asks for the next but one (two buffers alternate).
 */
export async function* readChunks(handle: FileHandle, size = READ_BYTES): AsyncGenerator<Uint8Array, void, undefined> {
  const buffers = [new Uint8Array(size), new Uint8Array(size)] as const
  let which = 0
  let next: Promise<{ bytesRead: number }> | undefined = handle.read(buffers[0], 0, size, null)
  try {
    for (;;) {
      const { bytesRead } = await next
      next = undefined
      if (bytesRead === 0) return
      const current = buffers[which]!
      which ^= 1
      next = handle.read(buffers[which]!, 0, size, null)
      yield current.subarray(0, bytesRead)
    }
  } finally {
    // Stopped early: let the read in flight finish before the caller closes the handle.
    await next?.catch(() => {})
  }
}

/** A sink that appends to an open file. */
export function fileSink(handle: FileHandle): Sink {
  return async (chunks) => {
    let expected = 0
    for (const chunk of chunks) expected += chunk.length
    const { bytesWritten } = await handle.writev(chunks)
    // libuv retries short writes itself; anything else is an I/O failure, never a silent cut.
    if (bytesWritten !== expected) throw new Error(`short write: ${bytesWritten} of ${expected} bytes`)
  }
}

/**
 * A sink that writes to a Node stream (stdout). Each batch resolves when its last chunk is
 * handed to the OS, so at most one batch is buffered; errors (EPIPE) reject the batch.
 */
export function streamSink(stream: Writable): Sink {
  // Errors arrive through the write callbacks; without a listener they would also crash the process.
  stream.on('error', () => {})
  return (chunks) =>
    new Promise<void>((resolve, reject) => {
      const last = chunks.length - 1
      for (let i = 0; i < last; i++) stream.write(chunks[i]!)
      stream.write(chunks[last]!, (error) => (error ? reject(error) : resolve()))
    })
}

/**
 * Feeds `source` through `session` into `sink`. `onRead` sees the size of every chunk read
 * (for progress). Emits nothing more once anything fails.
 */
export async function pump(source: AsyncIterable<Uint8Array>, session: PumpSession, sink: Sink, onRead?: (bytes: number) => void): Promise<void> {
  let batch: Uint8Array[] = []
  const emit: Emit = (chunk) => {
    batch.push(chunk)
  }
  let writing: Promise<void> = Promise.resolve()
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const chunks = batch
    batch = []
    await writing
    writing = sink(chunks).then(() => releaseBuffers(chunks))
    // Awaited at the next flush; until then a failure must not count as unhandled.
    writing.catch(() => {})
  }
  if (session.start !== undefined) await session.start(emit)
  for await (const chunk of source) {
    onRead?.(chunk.length)
    const pending = session.push(chunk, emit)
    if (pending !== undefined) await pending
    await flush()
  }
  await session.finish(emit)
  await flush()
  await writing
}
