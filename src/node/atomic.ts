/**
 * Writing a file so that readers see either the old content or the complete new content,
 * never a partial file: write a temp file beside the destination, fsync it, then link
 * (no-clobber) or rename (replace) it into place, then fsync the directory.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { constants, unlinkSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { OutputExistsError } from '../errors.js'

/** Options for {@link writeAtomically}. */
export interface AtomicWriteOptions {
  /** Replace an existing destination (atomically). Default false: fail with ERR_OUTPUT_EXISTS. */
  readonly overwrite?: boolean
  /** File mode of a new destination (default 0o600: encrypted or decrypted data is nobody else's business). */
  readonly mode?: number
}

const live = new Set<string>()

/**
 * @internal Deletes temp files still being written. The CLI calls it from its signal
 * handlers; a library must not take over the host application's signals itself.
 */
export function removeTempFilesSync(): void {
  for (const path of live) {
    try {
      unlinkSync(path)
    } catch {
      /* already gone */
    }
  }
  live.clear()
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, constants.O_RDONLY)
    await handle.sync()
  } catch {
    // Some platforms cannot open or fsync directories; the rename itself is still atomic.
  } finally {
    await handle?.close()
  }
}

/**
 * Runs `write` on a temp file beside `destination`, then moves it into place. If `write` or
 * anything after it fails, the temp file is removed and `destination` is left as it was.
 */
export async function writeAtomically<T>(destination: string, write: (handle: FileHandle) => Promise<T>, options: AtomicWriteOptions = {}): Promise<T> {
  const dir = dirname(destination)
  const temp = join(dir, `.${basename(destination)}.${randomBytes(6).toString('hex')}.kmse-tmp`)
  let handle: FileHandle
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o600)
  } catch (error) {
    // The temp name is ours, not the caller's: report the directory that is missing.
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw Object.assign(new Error(`cannot create ${destination}: the directory ${dir} does not exist`), { code: e.code, path: dir, syscall: 'open', cause: error })
    }
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw Object.assign(new Error(`cannot create ${destination}: no permission to create files in ${dir}`), { code: e.code, path: dir, syscall: 'open', cause: error })
    }
    throw error
  }
  live.add(temp)
  let committed = false
  try {
    const result = await write(handle)
    await handle.sync()
    await handle.close()
    if (options.overwrite === true) {
      await rename(temp, destination)
    } else {
      try {
        await link(temp, destination) // fails with EEXIST instead of replacing: no check-then-write race
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputExistsError(destination)
        throw error
      }
      await unlink(temp)
    }
    committed = true
    await fsyncDir(dir)
    return result
  } finally {
    live.delete(temp)
    if (!committed) {
      await handle.close().catch(() => {})
      await unlink(temp).catch(() => {})
    }
  }
}
