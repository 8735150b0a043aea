/**
 * A directory of local key files as one keyset: the shape key rotation takes on disk (a new
 * active key file added beside the old one, whose file then says `"status": "decrypt-only"`).
 * The CLI's `--key dir:PATH` and {@link loadKeyDirectory} read it the same way.
 * @module
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyFileError } from '../errors.js'
import type { LocalKeyring } from '../keyrings/local.js'
import type { LoadKeyFileOptions } from './keyfile.js'
import { loadLocalKeyring } from './keyfile.js'

/** Most key files a directory may hold: a message lists at most 64 wrapped keys anyway (FORMAT.md §10). */
export const MAX_DIRECTORY_KEYS = 64
/** The key files of a directory: names ending in this (and not starting with a dot). */
export const KEY_FILE_SUFFIX = '.key'

/**
 * @internal Every key file of a directory, by name (so the first active one, which generates
 * data keys, is the same on every run), active and decrypt-only alike.
 */
export async function loadKeyFiles(path: string, options: LoadKeyFileOptions = {}): Promise<LocalKeyring[]> {
  let names: string[]
  try {
    names = await readdir(path)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'is not a directory' : `cannot be read: ${String((error as Error).message)}`
    throw new KeyFileError(path, `${reason} (a key directory holds key files named *${KEY_FILE_SUFFIX})`, { cause: error })
  }
  const files = names.filter((n) => n.endsWith(KEY_FILE_SUFFIX) && !n.startsWith('.')).sort()
  if (files.length === 0) throw new KeyFileError(path, `holds no key files (a key directory holds files named *${KEY_FILE_SUFFIX})`)
  if (files.length > MAX_DIRECTORY_KEYS) {
    throw new KeyFileError(
      path,
      `holds ${files.length} key files; a key directory holds at most ${MAX_DIRECTORY_KEYS}: move retired keys that no message needs any more elsewhere`,
    )
  }
  const keyrings: LocalKeyring[] = []
  for (const name of files) keyrings.push(await loadLocalKeyring(join(path, name), options))
  return keyrings
}

/** The keys of a key directory, split the way `Envelope` (from `kms-envelope`) takes them. */
export interface KeyDirectory {
  /** The active keys, by file name: the first generates data keys, every one wraps them. */
  readonly keyring: LocalKeyring[]
  /** The keys whose file says `"status": "decrypt-only"`: they open old messages, never wrap new ones. */
  readonly decryptOnly: LocalKeyring[]
}

/**
 * Loads every key file in `path` (names ending in `.key`, not starting with a dot; not
 * recursive) with the checks of {@link loadLocalKeyring} (symlinks followed, owner, mode,
 * size), split by each file's `status`, ready for `new Envelope(...)`. Files are taken in
 * name order, so the key that generates data keys is the same on every run: name them by date.
 *
 * @example
 * ```ts
 * import { Envelope } from 'kms-envelope'
 * import { loadKeyDirectory } from 'kms-envelope/node'
 * const env = new Envelope(await loadKeyDirectory('/etc/kmse/keys')) // app-2025.key retired, app-2026.key active
 * ```
 * @param path - The directory.
 * @param options - `allowGroupReadable`, `allowInsecurePermissions`, as for {@link loadLocalKeyring}.
 * @returns the active keys and the decrypt-only ones
 * @throws `KeyFileError` (from `kms-envelope`) `ERR_KEY_FILE` when the directory cannot be read, holds no key
 *   file or more than 64, when any file fails its checks, or when every key is decrypt-only
 *   (an Envelope needs a key to write with; load the files yourself for a read-only one).
 */
export async function loadKeyDirectory(path: string, options: LoadKeyFileOptions = {}): Promise<KeyDirectory> {
  const keys = await loadKeyFiles(path, options)
  const keyring = keys.filter((k) => k.status !== 'decrypt-only')
  if (keyring.length === 0) {
    throw new KeyFileError(path, `holds only decrypt-only keys ("status" in each key file): add an active key (kms-envelope keygen) to encrypt with`)
  }
  return { keyring, decryptOnly: keys.filter((k) => k.status === 'decrypt-only') }
}
