/**
 * Local key files on disk (format: docs/FORMAT.md §8). Created with mode 0600 and never
 * overwritten; loading refuses files other users can read or own and non-regular files, like
 * ssh does. Symlinks are followed (Kubernetes projects secrets as a symlink chain) and every
 * check runs on the file actually opened.
 * @module
 */
import { constants } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { KeyFileError } from '../errors.js'
import { LocalKeyring } from '../keyrings/local.js'

/** A key file is about 200 bytes; anything over this is refused before it is parsed. */
export const MAX_KEY_FILE_BYTES = 64 * 1024

/** Options of {@link loadLocalKeyring}. */
export interface LoadKeyFileOptions {
  /**
   * Accept the file whatever its mode and owner: no permission or ownership check at all.
   * For files whose protection is elsewhere (an encrypted volume, a container's own file
   * system). Prefer `allowGroupReadable` where it is enough.
   */
  readonly allowInsecurePermissions?: boolean | undefined
  /**
   * Also accept a file its group may read (mode 0640 or 0440), as Kubernetes secret volumes
   * with `defaultMode: 0440` and an `fsGroup` give. Group write, and any access by others,
   * are still refused. CLI: `--allow-group-readable`.
   */
  readonly allowGroupReadable?: boolean | undefined
}

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
 *
 * The file must be a regular file of at most 64 KiB, owned by you or root, with no access
 * for group or others (mode 0600 or 0400) unless `allowGroupReadable` (group read allowed)
 * or `allowInsecurePermissions` (no check). A symlink is followed, as ssh does, and the file
 * it leads to is what is checked: so a Kubernetes secret volume
 * (`app.key -> ..data/app.key -> ..2026_12_02_…/app.key`, root-owned) works when its mode
 * allows.
 *
 * @example
 * ```ts
 * // A Kubernetes secret volume mounted with defaultMode: 0440 and the pod's fsGroup:
 * const keyring = await loadLocalKeyring('/etc/secret/app.key', { allowGroupReadable: true })
 * ```
 * @throws `KeyFileError` (from `kms-envelope`) `ERR_KEY_FILE` naming the path and what is wrong (missing,
 *   unreadable, not a regular file, owned by another user, readable by group or others,
 *   malformed); the message says what to run or set.
 * @param path - the key file (FORMAT.md §8)
 * @param options - `allowGroupReadable` to accept a group-readable file,
 *   `allowInsecurePermissions` to skip the permission and owner checks
 */
export async function loadLocalKeyring(path: string, options: LoadKeyFileOptions = {}): Promise<LocalKeyring> {
  const bytes = await readKeyFileBytes(path, options)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (error) {
    throw new KeyFileError(path, `cannot read the key file: ${describe(error)}`, { cause: error })
  } finally {
    bytes.fill(0) // the key's hex digits
  }
  return keyringFromText(text, path)
}

/**
 * @internal The bytes of a file holding a secret key, after the checks of
 * {@link loadLocalKeyring} (regular file, size, owner, mode): for other key formats too (the
 * AWS Encryption SDK migration's raw AES and RSA keys). The caller wipes the bytes.
 * @param path - the key file
 * @param options - as for {@link loadLocalKeyring}
 */
export async function readKeyFileBytes(path: string, options: LoadKeyFileOptions = {}): Promise<Uint8Array> {
  // One open, then every check on that handle: a path checked by stat and then read could be
  // swapped (for a FIFO, a huge file, another user's file) between the two. Following symlinks
  // keeps that property: fstat describes the file opened, wherever the links led. O_NONBLOCK
  // keeps a FIFO from hanging the open.
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
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
      if (options.allowInsecurePermissions !== true) checkMode(path, info.mode & 0o777, options.allowGroupReadable === true)
    }
    try {
      return await readBounded(handle)
    } catch (error) {
      if (error instanceof KeyFileError) throw error
      throw new KeyFileError(path, `cannot read the key file: ${describe(error)}`, { cause: error })
    }
  } finally {
    await handle.close()
  }

  /** Reads at most MAX_KEY_FILE_BYTES + 1 bytes: a file that grew after fstat is still refused. */
  async function readBounded(h: FileHandle): Promise<Uint8Array> {
    const buffer = new Uint8Array(MAX_KEY_FILE_BYTES + 1)
    let filled = 0
    try {
      for (;;) {
        const { bytesRead } = await h.read(buffer, filled, buffer.length - filled, null)
        if (bytesRead === 0) break
        filled += bytesRead
        if (filled > MAX_KEY_FILE_BYTES) throw new KeyFileError(path, `is over ${MAX_KEY_FILE_BYTES} bytes; a key file is well under that`)
      }
      return buffer.slice(0, filled)
    } finally {
      buffer.fill(0) // the copy returned is the caller's to wipe
    }
  }
}

const GROUP_FLAG = '--allow-group-readable (API: allowGroupReadable: true)'

/** Refuses a mode that lets others in; the message says which chmod (or flag) fixes it. */
function checkMode(path: string, mode: number, groupReadable: boolean): void {
  const shown = mode.toString(8).padStart(3, '0')
  if ((mode & 0o007) !== 0) {
    throw new KeyFileError(
      path,
      `is accessible to other users (mode ${shown}); run: chmod 600 ${path}; in a Kubernetes secret volume, set defaultMode: 0440 (with the pod's fsGroup) and pass ${GROUP_FLAG}`,
    )
  }
  if (groupReadable) {
    if ((mode & 0o030) !== 0) throw new KeyFileError(path, `is writable or executable by its group (mode ${shown}); run: chmod 640 ${path} (or 600)`)
    return
  }
  if ((mode & 0o070) !== 0) {
    throw new KeyFileError(
      path,
      `is accessible to its group (mode ${shown}); run: chmod 600 ${path}, or if the group is meant to read it (a Kubernetes secret volume with defaultMode: 0440 and fsGroup), pass ${GROUP_FLAG}`,
    )
  }
}

/**
 * A key file's text, from somewhere other than a file (an environment variable, stdin):
 * the same size bound and JSON checks as a key file. `source` names it in errors, which never
 * quote the text (it holds the key).
 * @internal
 */
export function keyringFromText(text: string, source: string): LocalKeyring {
  if (text.length > MAX_KEY_FILE_BYTES) throw new KeyFileError(source, `is over ${MAX_KEY_FILE_BYTES} bytes; a key file is well under that`)
  try {
    return LocalKeyring.fromKeyFile(text)
  } catch (error) {
    throw new KeyFileError(source, error instanceof Error ? error.message : String(error), { cause: error })
  }
}

/**
 * Writes `keyring`'s key file at `path` with mode 0600. Never replaces an existing file:
 * a lost master key makes every message it wrapped unreadable.
 *
 * @throws `KeyFileError` (from `kms-envelope`) `ERR_KEY_FILE` when `path` exists or cannot be written.
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
