/** Helpers for the stream tests: feeding chunks in, collecting chunks (and the error) out. */

import { createCipheriv } from 'node:crypto'
import { concatBytes } from '@noble/ciphers/utils.js'

// The tests' one counting keyring is test/counting-keyring.ts; its shorthand is re-exported for the stream tests.
export { countingKeyring } from './counting-keyring.js'

/** Splits `bytes` into chunks of `size` (the last may be shorter); no chunks for empty input. */
export function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size))
  return out
}

/** A ReadableStream of `chunks`, pulled one at a time. */
export function readableOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!)
      else controller.close()
    },
  })
}

/** One byte string of `chunks` in order. */
export const concat = (chunks: readonly Uint8Array[]): Uint8Array => concatBytes(...chunks)

/** Every chunk a stream produced before it ended, and the error it ended with (if any). */
export interface Collected {
  readonly chunks: Uint8Array[]
  readonly error: (Error & { code?: string }) | undefined
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Collected> {
  const chunks: Uint8Array[] = []
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { chunks, error: undefined }
      chunks.push(value)
    }
  } catch (error) {
    return { chunks, error: error as Error }
  }
}

/** Runs `input` (in chunks of `chunkSize`) through `transform` and collects the output. */
export function through(input: Uint8Array, chunkSize: number, transform: TransformStream<Uint8Array, Uint8Array>): Promise<Collected> {
  return collect(readableOf(chunked(input, chunkSize)).pipeThrough(transform))
}

/** Fast deterministic bytes (AES-256-CTR keystream): for inputs too large for `pattern`. */
export function keystream(length: number, seed = 1): Uint8Array {
  const key = Buffer.alloc(32, seed)
  return new Uint8Array(createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length)))
}
