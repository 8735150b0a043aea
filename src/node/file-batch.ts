/**
 * Rewriting many files, each atomically: the parts the in-place commands share (rewrap of
 * kms-envelope messages, migration of AWS Encryption SDK messages). A bounded pool of
 * workers, failures collected per file with their codes (the run itself fails only on an
 * abort), temp files of killed runs cleared first, and the in-place replacement that keeps
 * every file either its old or its new self at every moment, even under SIGKILL. Each
 * command decides per file whether it is already done, so a rerun finishes the job:
 * resumable without a journal.
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { lstat, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AbortError, EnvelopeError, invalidArgument } from '../errors.js'
import { printable } from '../printable.js'
import { throwIfAborted } from '../validate.js'
import { removeStaleTempFiles, writeAtomically } from './atomic.js'

/** A file of a batch that failed; it was left as it was. */
export interface FileFailure {
  readonly path: string
  /** The error's `code`: `ERR_NO_MATCHING_KEY`, `ERR_FORMAT`, `ENOENT`, ... (`ERR_UNKNOWN` when it had none). */
  readonly code: string
  readonly message: string
}

/** What one file's job reports: whether it rewrote the file (or, dry run, would), and its size. */
export interface FileResult {
  readonly changed: boolean
  readonly bytes: number
}

/** Counts of a finished batch. */
export interface BatchSummary {
  readonly changed: number
  readonly skipped: number
  readonly failed: readonly FileFailure[]
  /** Total size of the changed files. */
  readonly bytes: number
}

/** How a batch runs. */
export interface BatchOptions {
  readonly concurrency: number
  readonly signal: AbortSignal | undefined
  /** Clear temp files of killed runs from these directories first (none for a dry run). */
  readonly cleanDirs: readonly string[]
  /** After each file, done or failed. */
  readonly onFile?: ((path: string, outcome: 'changed' | 'skipped' | 'failed', bytes: number, done: number) => void) | undefined
}

/** One file's failure as reported in a summary: the error's code and message. */
export function failureOf(path: string, error: unknown): FileFailure {
  const code = (error as { code?: unknown } | null)?.code
  return {
    path,
    code: error instanceof EnvelopeError || typeof code === 'string' ? String(code) : 'ERR_UNKNOWN',
    message: error instanceof Error ? error.message : String(error),
  }
}

/**
 * Runs `job` on every path, at most `concurrency` at a time. A file whose job throws is listed
 * as failed and the batch goes on; an abort stops starting files and rejects with ERR_ABORTED.
 */
export async function runFileBatch(paths: readonly string[], options: BatchOptions, job: (path: string) => Promise<FileResult>): Promise<BatchSummary> {
  const { signal } = options
  throwIfAborted(signal)
  // A rerun where every file is done writes nothing, so the cleanup writeAtomically does would never run.
  for (const dir of new Set(options.cleanDirs)) await removeStaleTempFiles(dir)
  const failures: (FileFailure | undefined)[] = new Array(paths.length)
  let changed = 0
  let skipped = 0
  let bytes = 0
  let done = 0
  let next = 0
  let aborted: unknown
  const worker = async (): Promise<void> => {
    while (next < paths.length && aborted === undefined) {
      const i = next++
      const path = paths[i]!
      let outcome: 'changed' | 'skipped' | 'failed'
      let size = 0
      try {
        throwIfAborted(signal)
        const result = await job(path)
        size = result.bytes
        if (result.changed) {
          outcome = 'changed'
          changed++
          bytes += size
        } else {
          outcome = 'skipped'
          skipped++
        }
      } catch (error) {
        if (error instanceof AbortError || signal?.aborted === true) {
          aborted ??= error instanceof AbortError ? error : new AbortError({ cause: error })
          return
        }
        failures[i] = failureOf(path, error)
        outcome = 'failed'
      }
      options.onFile?.(path, outcome, size, ++done)
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, paths.length) }, worker))
  if (aborted !== undefined) throw aborted
  return { changed, skipped, failed: failures.filter((f) => f !== undefined), bytes }
}

/** The directories a batch writes into, for {@link BatchOptions.cleanDirs}. */
export function directoriesOf(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => dirname(p)))]
}

/** Who owns a file and its permission bits: what an in-place rewrite must give the new file. */
export interface FileOwnership {
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/**
 * Opens `path` for reading, refusing anything but a regular file: renaming over a link would
 * replace the link, not the message it points to. The caller closes the handle.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number; owner: FileOwnership }> {
  const link = await lstat(path)
  if (!link.isFile()) throw invalidArgument(`${path} is not a regular file (a symbolic link, directory or device): give the file itself`)
  const handle = await open(path, 'r')
  try {
    const info = await handle.stat()
    return { handle, size: info.size, owner: { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid } }
  } catch (error) {
    await handle.close()
    throw error
  }
}

/**
 * Gives the temp file that replaces `path` the original's owner, group and mode. The temp file
 * was created by this process (its owner, its group, under its umask): a rotation job run as
 * root would otherwise leave every file root's, unreadable to the application that owns it.
 * When this process may not give the file away, the file is not replaced: losing its owner
 * silently is worse than a listed failure.
 */
async function takeOwnership(output: FileHandle, path: string, owner: FileOwnership): Promise<void> {
  const now = await output.stat()
  if (now.uid !== owner.uid || now.gid !== owner.gid) {
    try {
      await output.chown(owner.uid, owner.gid)
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      if (e.code !== 'EPERM') throw error
      throw Object.assign(
        new Error(
          `cannot keep the owner of ${printable(path)} (uid ${owner.uid}, gid ${owner.gid}): this process may not give a file away, so the file was left as it was; run as the file's owner (and a member of its group) or as root`,
        ),
        { code: 'EPERM', path, syscall: 'fchown', cause: error },
      )
    }
  }
  await output.chmod(owner.mode) // after chown, which clears the set-user and set-group bits
}

/**
 * Replaces `path` by what `write` writes, atomically (temp file beside it, fsync, rename), with
 * the original's owner, group and mode (see {@link takeOwnership}).
 */
export async function replaceFile(path: string, owner: FileOwnership, write: (output: FileHandle) => Promise<void>): Promise<void> {
  await writeAtomically(
    path,
    async (output) => {
      await takeOwnership(output, path, owner)
      await write(output)
    },
    { overwrite: true, mode: owner.mode },
  )
}
