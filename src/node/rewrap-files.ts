/**
 * Rewrapping stored messages in place, many files at a time. Each file goes through the
 * streaming rewrap (src/core/rewrap-stream.ts: header and frames byte-identical, only the
 * recipients section changes; KMS to KMS the body is copied, never decrypted) into a temp file
 * beside it that replaces it atomically (./atomic.ts). So every file is either its old or its
 * new self at every moment, even under SIGKILL, and a rerun skips the files already done:
 * resumable without a journal.
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { isRewrapped, memoizeReEncrypt } from '../core/rewrap-bulk.js'
import { RewrapSession } from '../core/rewrap-stream.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings, toKeyrings } from '../core/settings.js'
import type { Envelope } from '../envelope.js'
import { invalidArgument } from '../errors.js'
import { streamHeadCutShort } from '../format/body.js'
import { INDEX_KEY_PURPOSE } from '../format/constants.js'
import { HeadReader } from '../format/head-reader.js'
import type { MessageHead } from '../format/message.js'
import type { Keyring } from '../keyrings/keyring.js'
import { prepareKeyrings } from '../keyrings/unwrap.js'
import { checkSignal, integerOption } from '../validate.js'
import { armoredOutput, detectArmor } from './armor-stream.js'
import type { FileResult } from './file-batch.js'
import { directoriesOf, openRegularFile, replaceFile, runFileBatch } from './file-batch.js'
import { fileSink, pump, readChunks } from './pump.js'

/** What happened to one file. */
export type RewrapFileOutcome = 'rewrapped' | 'skipped' | 'failed'

/** Told after each file of {@link rewrapFiles}. */
export interface RewrapFileProgress {
  /** The file just finished. */
  readonly path: string
  readonly outcome: RewrapFileOutcome
  /** Its size in bytes (0 when it could not be read). */
  readonly bytes: number
  /** Files finished so far, this one included. */
  readonly done: number
  /** Files in the run. */
  readonly total: number
}

/** A file {@link rewrapFiles} could not rewrap; it was left as it was. */
export interface RewrapFileFailure {
  readonly path: string
  /** The error's `code`: `ERR_NO_MATCHING_KEY`, `ERR_FORMAT`, `ENOENT`, ... (`ERR_UNKNOWN` when it had none). */
  readonly code: string
  readonly message: string
}

/** The result of {@link rewrapFiles}. */
export interface RewrapFilesSummary {
  /** Files rewrapped (with `dryRun`: files that would be). */
  readonly rewrapped: number
  /** Files already wrapped for `to` and for none of the source's other keys: left untouched. */
  readonly skipped: number
  /** Files left as they were because of an error, in input order. */
  readonly failed: readonly RewrapFileFailure[]
  /** Total size of the rewrapped files (with `dryRun`: of those that would be). */
  readonly bytes: number
}

/** Options of {@link rewrapFiles}. */
export interface RewrapFilesOptions {
  /** The source: its keyrings unwrap (or ReEncrypt) the wrapped keys being replaced. */
  readonly envelope: Envelope
  /** The keyring(s) that receive the data keys. */
  readonly to: Keyring | readonly Keyring[]
  /** Files rewrapped at the same time (1 to 64, default 4). */
  readonly concurrency?: number
  /** Stops starting files and cancels those in flight; the call then rejects with `ERR_ABORTED`. */
  readonly signal?: AbortSignal
  /**
   * Called after each file.
   * @param progress - the file, its outcome and size, and the run's counts
   */
  readonly onProgress?: (progress: RewrapFileProgress) => void
  /** Read every head and count what would be rewrapped or skipped, writing nothing. */
  readonly dryRun?: boolean
  /** Take the data-key path (message authenticated) even where KMS ReEncrypt could be used. */
  readonly verify?: boolean
}

/** Most heads are a few hundred bytes; a larger one is read in further steps. Small, since the copy reads the file again from the start. */
const HEAD_READ_BYTES = 4096

/** The file's bytes from offset 0, read without moving the file position (the copy then reads from the start). */
async function* chunksFromStart(handle: FileHandle): AsyncGenerator<Uint8Array, void, undefined> {
  const buffer = new Uint8Array(HEAD_READ_BYTES)
  for (let position = 0; ; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
    if (bytesRead === 0) return
    position += bytesRead
    yield buffer.subarray(0, bytesRead)
  }
}

/** The head of the message in `handle`, and whether the file holds it as ASCII armor (FORMAT.md §14). */
async function readHead(handle: FileHandle, settings: EnvelopeSettings): Promise<{ head: MessageHead; armored: boolean }> {
  const reader = new HeadReader({ ...settings, reservedContext: INDEX_KEY_PURPOSE })
  const { chunks, armored } = await detectArmor(chunksFromStart(handle))
  for await (const chunk of chunks) {
    const read = reader.push(chunk)
    if (read !== undefined) return { head: read.head, armored }
  }
  throw streamHeadCutShort(reader.buffered, reader.need)
}

interface Job {
  readonly settings: EnvelopeSettings
  readonly to: readonly Keyring[]
  readonly dryRun: boolean
  readonly verify: boolean
  readonly signal: AbortSignal | undefined
}

/** Rewraps one file in place; `changed` false when it was already done. */
async function rewrapOne(path: string, job: Job): Promise<FileResult> {
  const { handle: input, size, owner } = await openRegularFile(path)
  try {
    const { head, armored } = await readHead(input, job.settings)
    const options = { signal: job.signal }
    await prepareKeyrings(job.settings.keyrings, head.recipients, options)
    await prepareKeyrings(job.to, head.recipients, options)
    if (isRewrapped(head, job.settings.keyrings, job.to)) return { changed: false, bytes: size }
    if (job.dryRun) return { changed: true, bytes: size }
    const session = new RewrapSession(job.settings, { to: job.to, keep: false, verify: job.verify, signal: job.signal })
    // An armored file is rewritten armored (with LF line ends), a binary one binary.
    await replaceFile(path, owner, async (output) => {
      const source = armored ? (await detectArmor(readChunks(input))).chunks : readChunks(input)
      await pump(source, armored ? armoredOutput(session) : session, fileSink(output))
    })
    return { changed: true, bytes: size }
  } finally {
    await input.close()
  }
}

/**
 * Rewraps every message file in `paths` in place, from the keys of `envelope` to `to`, at most
 * `concurrency` at a time. Each file keeps its header and frames byte for byte (only the
 * recipients section changes), is written to a temp file beside it, fsynced, given the
 * original's owner, group and mode, and renamed over it: an interruption at any moment (even
 * SIGKILL) leaves it either old or new, and a rerun skips the files already done. An armored
 * file (FORMAT.md §14) is rewritten armored. Files that fail are left as they were and listed
 * with their error code (`EPERM` when this process may not give the new file the original's
 * owner or group); the call itself rejects only for bad options or an abort.
 *
 * A file is skipped when it lists no key that the source holds and `to` does not, and every
 * keyring of `to` holds one of its keys. KMS calls are bounded across the run: KMS to KMS, one
 * ReEncrypt per distinct wrapped key (files written through a data-key cache share one);
 * otherwise one unwrap per file, or per distinct data key when `envelope` has a `KeyCache`. Temp files of killed earlier runs are removed from
 * every directory touched, including those where every file was already done.
 *
 * @example
 * ```ts
 * import { rewrapFiles } from 'kms-envelope/node'
 * const summary = await rewrapFiles(['a.kmse', 'b.kmse'], { envelope: oldEnv, to: newKeyring })
 * if (summary.failed.length > 0) console.error(summary.failed)
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options; `ERR_ABORTED` when `signal` aborts.
 * @param paths - the message files (each replaced in place)
 * @param options - `envelope` and `to` (required), `concurrency`, `signal`, `onProgress`, `dryRun`, `verify`
 */
export async function rewrapFiles(paths: readonly string[], options: RewrapFilesOptions): Promise<RewrapFilesSummary> {
  if (options === null || typeof options !== 'object') throw invalidArgument('rewrapFiles needs options: { envelope, to }')
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p.length > 0)) {
    throw invalidArgument('paths must be an array of non-empty file path strings')
  }
  const settings = requireSettings(options.envelope, 'options.envelope')
  const to = toKeyrings(options.to, 'options.to')
  const concurrency = integerOption(options.concurrency, 'options.concurrency', 1, 64, 4)
  const signal = checkSignal(options.signal)
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('options.onProgress must be a function')
  // One ReEncrypt per distinct wrapped key for the whole run, however many files share it.
  const runSettings = options.verify === true ? settings : { ...settings, keyrings: memoizeReEncrypt(settings.keyrings) }
  const job: Job = { settings: runSettings, to, dryRun: options.dryRun === true, verify: options.verify === true, signal }
  const summary = await runFileBatch(
    paths,
    {
      concurrency,
      signal,
      cleanDirs: job.dryRun ? [] : directoriesOf(paths),
      onFile: (path, outcome, bytes, done) =>
        options.onProgress?.({ path, outcome: outcome === 'changed' ? 'rewrapped' : outcome, bytes, done, total: paths.length }),
    },
    (path) => rewrapOne(path, job),
  )
  return { rewrapped: summary.changed, skipped: summary.skipped, failed: summary.failed, bytes: summary.bytes }
}
