/**
 * Local key files on disk (format: docs/FORMAT.md §8). Created with mode 0600 and never
 * overwritten; loading refuses files other users can read or own, symlinks and non-regular
 * files, like ssh does.
 * @module
 */
import { constants } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { KeyFileError } from '../errors.js'
import { LocalKeyring } from '../keyrings/local.js'

const MAX_KEY_FILE_BYTES = 64 * 1024

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'is a directory'
  return error instanceof Error ? error.message : String(error)
}

/**
 * Loads a local key file written by {@link writeKeyFile} or `kms-envelope keygen`.
 *
 * @example
 * ```ts
 * import { loadLocalKeyring } from 'kms-envelope/node'
 * const env = new Envelope({ keyring: await loadLocalKeyring('./secrets/app.key') })
 * ```
 * @throws {@link KeyFileError} `ERR_KEY_FILE` naming the path and what is wrong (missing,
 *   unreadable, readable by group or others, malformed).
 * @param path - the key file (FORMAT.md §8)
 * @param options - `allowInsecurePermissions` to accept a file others may read
 */
export async function loadLocalKeyring(path: string, options: { allowInsecurePermissions?: boolean } = {}): Promise<LocalKeyring> {
  // One open, then every check on that handle: a path checked by stat and then read could be
  // swapped (for a FIFO, a huge file, another user's file) between the two. O_NOFOLLOW refuses
  // a symlink as the last component; O_NONBLOCK keeps a FIFO from hanging the open.
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new KeyFileError(path, 'is a symbolic link; give the path of the key file itself', { cause: error })
    throw new KeyFileError(path, `cannot read the key file: ${describe(error)}`, { cause: error })
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new KeyFileError(path, 'is not a regular file')
    if (info.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(path, `is ${info.size} bytes; a key file is well under ${MAX_KEY_FILE_BYTES}`)
    if (process.platform !== 'win32') {
      const uid = process.getuid?.()
      if (uid !== undefined && info.uid !== uid && info.uid !== 0 && options.allowInsecurePermissions !== true) {
        throw new KeyFileError(
          path,
          `belongs to user ${info.uid}, not to you (${uid}) or root: another user could have written the key; run: chown ${uid} ${path}`,
        )
      }
      if ((info.mode & 0o077) !== 0 && options.allowInsecurePermissions !== true) {
        throw new KeyFileError(path, `is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
      }
    }
    let text: string
    try {
      text = await readBounded(handle)
    } catch (error) {
      if (error instanceof KeyFileError) throw error
      throw new KeyFileError(path, `cannot read the key file: ${describe(error)}`, { cause: error })
    }
    try {
      return LocalKeyring.fromKeyFile(text)
    } catch (error) {
      throw new KeyFileError(path, error instanceof Error ? error.message : String(error), { cause: error })
    }
  } finally {
    await handle.close()
  }

  /** Reads at most MAX_KEY_FILE_BYTES + 1 bytes: a file that grew after fstat is still refused. */
  async function readBounded(h: FileHandle): Promise<string> {
    const buffer = new Uint8Array(MAX_KEY_FILE_BYTES + 1)
    let filled = 0
    for (;;) {
      const { bytesRead } = await h.read(buffer, filled, buffer.length - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
      if (filled > MAX_KEY_FILE_BYTES) throw new KeyFileError(path, `is over ${MAX_KEY_FILE_BYTES} bytes; a key file is well under that`)
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, filled))
    } finally {
      buffer.fill(0) // the key's hex digits
    }
  }
}

/**
 * Writes `keyring`'s key file at `path` with mode 0600. Never replaces an existing file:
 * a lost master key makes every message it wrapped unreadable.
 *
 * @throws {@link KeyFileError} `ERR_KEY_FILE` when `path` exists or cannot be written.
 * @param path - where to create the key file (mode 0600; an existing file is never replaced)
 * @param keyring - the local keyring whose key to write
 */
export async function writeKeyFile(path: string, keyring: LocalKeyring): Promise<void> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(path, 'already exists; a key file is never overwritten (move it away first if you really mean to replace it)', { cause: error })
    }
    throw new KeyFileError(path, `cannot create the key file: ${describe(error)}`, { cause: error })
  }
  try {
    await handle.writeFile(keyring.toKeyFile(), 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}
