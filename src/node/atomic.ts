/**
 * Writing a file so that readers see either the old content or the complete new content,
 * never a partial file: write a temp file beside the destination, fsync it, then link
 * (no-clobber) or rename (replace) it into place, then fsync the directory.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { constants, unlinkSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { link, lstat, open, readdir, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { OutputExistsError } from '../errors.js'

/** Options for {@link writeAtomically}. */
export interface AtomicWriteOptions {
  /** Replace an existing destination (atomically). Default false: fail with ERR_OUTPUT_EXISTS. */
  readonly overwrite?: boolean
  /** File mode of a new destination (default 0o600: encrypted or decrypted data is nobody else's business). */
  readonly mode?: number
  /**
   * Told the paths of leftover temp files of killed writers that were removed from the directory.
   * @param removed - the paths removed
   */
  readonly onStaleTempFiles?: (removed: readonly string[]) => void
}

/**
 * Temp files are named `.<name>.<host>.<pid>.<random>.kmse-tmp`: a writer killed with SIGKILL
 * (or a power cut) cannot remove its own, and it may hold verified plaintext, so the next
 * write into the same directory recognises them by this pattern and removes those whose
 * writer is gone: same host and the pid is dead, or (another host, or the older
 * `.<name>.<random>.kmse-tmp` form) not modified for {@link STALE_TEMP_MS}.
 */
const TEMP_PATTERN = /^\..*\.([0-9a-f]{8})\.([0-9]{1,10})\.[0-9a-f]{12}\.kmse-tmp$/
const LEGACY_TEMP_PATTERN = /^\..*\.[0-9a-f]{12}\.kmse-tmp$/

/** Age after which a temp file whose writer cannot be checked is taken as abandoned. */
export const STALE_TEMP_MS = 60 * 60 * 1000

/** A short tag of this host's name: a pid is only meaningful on the host that wrote it. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by someone else
  }
}

function isAbandoned(name: string, mtimeMs: number, now: number): boolean {
  const m = TEMP_PATTERN.exec(name)
  if (m !== null && m[1] === HOST_TAG) {
    const pid = Number(m[2])
    // Our own pid, but not in `live`: an earlier process with the same pid wrote it.
    return pid === process.pid || !pidAlive(pid)
  }
  if (m === null && !LEGACY_TEMP_PATTERN.test(name)) return false
  return now - mtimeMs > STALE_TEMP_MS
}

/**
 * Removes the temp files that killed writers left in `dir` (see the naming above) and returns
 * their paths. Only regular files with our name pattern are touched; it never follows links
 * and never fails the write that runs it.
 */
export async function removeStaleTempFiles(dir: string, now = Date.now()): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    if (!name.endsWith('.kmse-tmp')) continue
    const path = join(dir, name)
    if (live.has(path)) continue
    try {
      const st = await lstat(path)
      if (!st.isFile() || !isAbandoned(name, st.mtimeMs, now)) continue
      await unlink(path)
      removed.push(path)
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed
}

/** The temp file name for `destination`, bounded so a long name still fits NAME_MAX (255). */
function tempName(destination: string): string {
  let base = ''
  for (const char of basename(destination)) {
    if (Buffer.byteLength(base + char) > 160) break
    base += char
  }
  return join(dirname(destination), `.${base}.${HOST_TAG}.${process.pid}.${randomBytes(6).toString('hex')}.kmse-tmp`)
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
 * @param destination - the file to create or replace
 * @param write - writes the whole content to the temp file handle it is given
 * @param options - `overwrite`, `onStaleTempFiles`
 */
export async function writeAtomically<T>(destination: string, write: (handle: FileHandle) => Promise<T>, options: AtomicWriteOptions = {}): Promise<T> {
  const dir = dirname(destination)
  const stale = await removeStaleTempFiles(dir)
  if (stale.length > 0) options.onStaleTempFiles?.(stale)
  const temp = tempName(destination)
  let handle: FileHandle
  live.add(temp) // before it exists, so a concurrent cleanup in this process never takes it
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o600)
  } catch (error) {
    live.delete(temp)
    // The temp name is ours, not the caller's: report the directory that is missing.
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw Object.assign(new Error(`cannot create ${destination}: the directory ${dir} does not exist`), {
        code: e.code,
        path: dir,
        syscall: 'open',
        cause: error,
      })
    }
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw Object.assign(new Error(`cannot create ${destination}: no permission to create files in ${dir}`), {
        code: e.code,
        path: dir,
        syscall: 'open',
        cause: error,
      })
    }
    throw error
  }
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
