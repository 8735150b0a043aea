/**
 * ASCII armor (FORMAT.md §14) over chunk streams: recognising and dearmoring an input, and
 * armoring a session's output, in constant memory. Shared by the CLI and by the in-place
 * rewrap of files ({@link rewrapFiles}), so an armored file stays armored wherever it is
 * rewritten.
 * @module
 */
import type { Emit } from '../crypto/stream-codec.js'
import { ArmorDecoder, ArmorEncoder, looksArmored } from '../format/armor.js'
import type { PumpSession } from './pump.js'

/**
 * `source`'s chunks, dearmored when it is armor (its first byte is `-` or whitespace; a binary
 * message starts with "KMSE"). Reads the first chunk to decide. `onRead` sees the size of
 * every chunk of `source` as read (for progress: armor is a third larger than what it decodes to).
 */
export async function detectArmor(
  source: AsyncIterable<Uint8Array>,
  onRead?: (bytes: number) => void,
): Promise<{ readonly chunks: AsyncIterable<Uint8Array>; readonly armored: boolean }> {
  const iterator = source[Symbol.asyncIterator]()
  let first: IteratorResult<Uint8Array>
  do first = await iterator.next()
  while (first.done !== true && first.value.length === 0)
  const armored = first.done !== true && looksArmored(first.value[0]!)
  async function* read(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      const decoder = armored ? new ArmorDecoder() : undefined
      const out: Uint8Array[] = []
      const emit = (chunk: Uint8Array): void => {
        out.push(chunk)
      }
      for (let next = first; next.done !== true; next = await iterator.next()) {
        onRead?.(next.value.length)
        if (decoder === undefined) {
          yield next.value
          continue
        }
        decoder.push(next.value, emit)
        yield* out.splice(0)
      }
      if (decoder !== undefined) {
        decoder.finish(emit)
        yield* out.splice(0)
      }
    } finally {
      await iterator.return?.()
    }
  }
  return { chunks: read(), armored }
}

/** `session` with its output armored, streaming: at most 47 bytes are held back. */
export function armoredOutput<S extends PumpSession>(session: S): PumpSession {
  const encoder = new ArmorEncoder()
  const through =
    (emit: Emit): Emit =>
    (chunk) =>
      encoder.push(chunk, emit)
  return {
    start: async (emit) => {
      await session.start?.(through(emit))
    },
    push: (chunk, emit) => session.push(chunk, through(emit)),
    finish: async (emit) => {
      await session.finish(through(emit))
      encoder.finish(emit)
    },
  }
}
