/**
 * Encrypting and decrypting files of any size in constant memory, all or nothing: the output
 * is written to a temp file beside the destination, fsynced, then moved into place
 * (src/node/atomic.ts). On any failure, including a message that fails authentication in
 * its last frame, the temp file is removed and an existing destination is left as it was.
 * The source is opened read-only and never modified.
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { open, stat } from 'node:fs/promises'
import type { DecryptInfo, DecryptStreamOptions, EncryptStreamOptions } from '../core/options.js'
import { DecryptSession } from '../core/reader.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import { EncryptSession } from '../core/writer.js'
import type { Envelope } from '../envelope.js'
import { invalidArgument, OutputExistsError } from '../errors.js'
import { writeAtomically } from './atomic.js'
import type { PumpSession } from './pump.js'
import { fileSink, pump, readChunks } from './pump.js'

/** Options shared by {@link encryptFile} and {@link decryptFile}. */
export interface FileOptions {
  /** The envelope whose keyrings and frame size are used. */
  readonly envelope: Envelope
  /** Replace an existing destination (atomically). Default false: fail with `ERR_OUTPUT_EXISTS` and leave it alone. */
  readonly overwrite?: boolean
  /** File mode of a new destination (default 0o600). */
  readonly mode?: number
  /**
   * Called after each read with the bytes read so far and the source's size.
   * @param bytesRead - bytes of the source read so far
   * @param totalBytes - the source's size when it was opened
   */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void
  /**
   * Called with the paths of temp files that killed earlier writers left beside `dst`, after
   * they were removed (every write removes them; see the README, "Files").
   * @param removed - the paths removed
   */
  readonly onStaleTempFiles?: (removed: readonly string[]) => void
}

/** Options of {@link encryptFile}. */
export interface EncryptFileOptions extends FileOptions, EncryptStreamOptions {}

/** Options of {@link decryptFile}. */
export interface DecryptFileOptions extends FileOptions, DecryptStreamOptions {}

function checkOptions(options: FileOptions): EnvelopeSettings {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object with at least { envelope }')
  const settings = requireSettings(options.envelope, 'options.envelope')
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('options.onProgress must be a function')
  return settings
}

function checkPath(path: unknown, name: string): string {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`${name} must be a non-empty file path string`)
  return path
}

/**
 * Opens the source, refuses a destination that is the source itself (under any name) or
 * that exists when overwriting was not asked for, then writes the destination atomically.
 */
async function transformFile(src: string, dst: string, options: FileOptions, session: PumpSession & { dispose(): void }): Promise<void> {
  checkPath(src, 'src')
  checkPath(dst, 'dst')
  let input: FileHandle | undefined
  try {
    input = await open(src, 'r')
    const source = await input.stat()
    const existing = await stat(dst).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    if (existing !== undefined && existing.dev === source.dev && existing.ino === source.ino) {
      throw invalidArgument(`src and dst are the same file (${src}); write to another path`)
    }
    if (existing !== undefined && options.overwrite !== true) throw new OutputExistsError(dst)
    let read = 0
    const onProgress = options.onProgress
    const onRead =
      onProgress === undefined
        ? undefined
        : (bytes: number) => {
            read += bytes
            onProgress(read, source.size)
          }
    const reader = input
    await writeAtomically(dst, (output) => pump(readChunks(reader), session, fileSink(output), onRead), {
      overwrite: options.overwrite === true,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.onStaleTempFiles === undefined ? {} : { onStaleTempFiles: options.onStaleTempFiles }),
    })
  } finally {
    session.dispose()
    await input?.close()
  }
}

/**
 * Encrypts the file `src` into a new message at `dst`, streaming (memory stays at a few
 * frames whatever the size) and atomically (readers of `dst` never see a partial file).
 *
 * @example
 * ```ts
 * import { encryptFile } from 'kms-envelope/node'
 * await encryptFile('backup.tar', 'backup.tar.kmse', { envelope: env, context: { job: 'nightly' } })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options or when `src` and `dst` are the same file;
 * `ERR_OUTPUT_EXISTS` when `dst` exists and `overwrite` is not set; keyring errors; `ERR_ABORTED`;
 * Node's file-system errors (`ENOENT`, `EACCES`, ...). On any error `dst` is as it was.
 * @param src - the plaintext file (never modified)
 * @param dst - where the message goes: written to a temp file beside it and renamed into place on success
 * @param options - `envelope` (required), `context`, `overwrite`, `signal`, `onProgress`
 */
export async function encryptFile(src: string, dst: string, options: EncryptFileOptions): Promise<void> {
  const settings = checkOptions(options)
  await transformFile(src, dst, options, new EncryptSession(settings, options, undefined, true))
}

/**
 * Decrypts the message in `src` to `dst`, all or nothing: `dst` appears (or is replaced)
 * only after every frame was authenticated; on any failure it is left as it was.
 * Returns the message's authenticated context and key ids.
 *
 * @example
 * ```ts
 * import { decryptFile } from 'kms-envelope/node'
 * const { context } = await decryptFile('backup.tar.kmse', 'backup.tar', { envelope: env, expectContext: { job: 'nightly' } })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options or when `src` and `dst` are the same file;
 * `ERR_OUTPUT_EXISTS`; the codes of {@link Envelope.decrypt} (`ERR_AUTH`, `ERR_TRUNCATED`, ...);
 * Node's file-system errors. On any error `dst` is as it was.
 * @param src - the message file (never modified)
 * @param dst - where the plaintext goes: written to a temp file beside it and renamed into place only once every frame is authentic
 * @param options - `envelope` (required), `expectContext`, `overwrite`, `signal`, `onProgress`
 */
export async function decryptFile(src: string, dst: string, options: DecryptFileOptions): Promise<DecryptInfo> {
  const settings = checkOptions(options)
  const session = new DecryptSession(settings, options, true)
  await transformFile(src, dst, options, {
    push: (chunk, emit) => session.push(chunk, emit),
    finish: (emit) => session.finish(emit),
    dispose: () => session.dispose(),
  })
  return session.info
}
