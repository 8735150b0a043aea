/**
 * Random access to an encrypted file: the core's reader over a FileHandle's positional reads,
 * which share no file position, so any number of reads may be in flight at once.
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import type { DecryptOptions } from '../core/options.js'
import type { MessageLayout, RandomAccessReader, RandomAccessSource } from '../core/random-access.js'
import { openRandomAccess } from '../core/random-access.js'
import { requireSettings } from '../core/settings.js'
import type { Envelope } from '../envelope.js'
import { invalidArgument } from '../errors.js'

/** Options of {@link openEncryptedFile}. */
export interface OpenEncryptedFileOptions extends DecryptOptions {
  /** The envelope whose keyrings (and cache) open the file. */
  readonly envelope: Envelope
  /** Decrypted frames kept besides the final one, 0 to 1024 (default 4). */
  readonly cacheFrames?: number | undefined
}

/** An encrypted file opened for random access; `close()` also closes the file. */
export interface EncryptedFile extends RandomAccessReader {
  /** Wipes the content key and closes the file. */
  close(): Promise<void>
}

/** Positional reads until `length` bytes or the end of the file. */
function fileSource(handle: FileHandle, size: number): RandomAccessSource {
  return {
    size,
    read: async (offset, length) => {
      const out = new Uint8Array(length)
      let got = 0
      while (got < length) {
        const { bytesRead } = await handle.read(out, got, length - got, offset + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return got === length ? out : out.subarray(0, got)
    },
  }
}

class OpenedFile implements EncryptedFile {
  readonly #reader: RandomAccessReader
  readonly #handle: FileHandle
  constructor(reader: RandomAccessReader, handle: FileHandle) {
    this.#reader = reader
    this.#handle = handle
  }
  get size(): number {
    return this.#reader.size
  }
  get layout(): MessageLayout {
    return this.#reader.layout
  }
  get context(): Record<string, string> {
    return this.#reader.context
  }
  get keyIds(): string[] {
    return this.#reader.keyIds
  }
  get keyId(): string {
    return this.#reader.keyId
  }
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#reader.read(offset, length, signal)
  }
  stream(start?: number, end?: number): ReadableStream<Uint8Array> {
    return this.#reader.stream(start, end)
  }
  async close(): Promise<void> {
    this.#reader.close()
    await this.#handle.close()
  }
}

/**
 * Opens an encrypted file for random access: `Envelope.openRandomAccess` over the file.
 * Opening authenticates the head and the final frame; reads may run concurrently.
 *
 * @example
 * ```ts
 * const file = await openEncryptedFile('video.kmse', { envelope, expectContext: { tenant: 'acme' } })
 * try {
 *   const chunk = await file.read(10_000_000, 65_536)
 * } finally {
 *   await file.close()
 * }
 * ```
 * @throws the errors of `Envelope.openRandomAccess`, and the file system's (ENOENT…).
 * @param path - the encrypted file
 * @param options - `envelope` (required), `expectContext`, `signal`, `cacheFrames`
 */
export async function openEncryptedFile(path: string, options: OpenEncryptedFileOptions): Promise<EncryptedFile> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path must be a non-empty file path string')
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object with at least { envelope }')
  const settings = requireSettings(options.envelope, 'options.envelope')
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    const { envelope: _, ...rest } = options
    return new OpenedFile(await openRandomAccess(settings, fileSource(handle, size), rest), handle)
  } catch (error) {
    await handle.close()
    throw error
  }
}
