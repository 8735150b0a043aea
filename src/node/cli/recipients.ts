/**
 * Public keys on the command line: `keygen --type x25519|pq` (an age-style identity file),
 * `encrypt -r RECIPIENT` / `-R FILE` and `decrypt -i IDENTITY_FILE`. Recipients need no secret;
 * identity files are secrets, checked like key files (a regular file, small, yours, mode 0600).
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { constants, open } from 'node:fs/promises'
import { KeyFileError } from '../../errors.js'
import type { Keyring } from '../../keyrings/keyring.js'
import { PostQuantumIdentity } from '../../keyrings/mlkem768x25519.js'
import type { Identity, PublicKeyRecipient } from '../../keyrings/public-key.js'
import { identityFileText, parseIdentityFile, parsePublicKeyRecipient, parseRecipientsFile } from '../../keyrings/public-key.js'
import { X25519Identity } from '../../keyrings/x25519.js'
import type { CommandKeys } from './keys.js'
import { resolveCommandKeys } from './keys.js'
import type { KeySpecOptions } from './usage.js'
import { UsageError } from './usage.js'

/** Largest identity or recipients file read (a post-quantum recipient line is about 2 KB). */
export const MAX_PUBLIC_KEY_FILE_BYTES = 256 * 1024

/** The `--type` values of keygen that make an identity file (`local`, the default, makes a key file). */
export const IDENTITY_TYPES = ['x25519', 'pq'] as const

/**
 * keygen --type x25519|pq: a new identity written to `path` (mode 0600, never over an existing
 * file), its recipient printed on stderr (age-keygen's habit: stdout stays for the secret).
 */
export async function keygenIdentity(type: string, path: string, quiet: boolean): Promise<void> {
  if (type !== 'x25519' && type !== 'pq') throw new UsageError(`--type must be local, x25519 or pq, got ${JSON.stringify(type)}`)
  const identity: Identity = type === 'pq' ? PostQuantumIdentity.generate() : X25519Identity.generate()
  const text = identityFileText(identity)
  if (path === '-') process.stdout.write(text)
  else await writeSecretFile(path, text)
  process.stderr.write(`Public key: ${identity.recipient.toString()}\n`)
  if (!quiet && path !== '-') process.stderr.write(`wrote the ${type} identity to ${path} (mode 0600); keep it secret and backed up\n`)
}

async function writeSecretFile(path: string, text: string): Promise<void> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(path, 'already exists; an identity file is never overwritten (move it away first if you really mean to replace it)', {
        cause: error,
      })
    }
    throw new KeyFileError(path, `cannot create the identity file: ${(error as Error).message}`, { cause: error })
  }
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * A file read whole, bounded; `secret` adds the checks of key files (a regular file, yours,
 * mode 0600). A recipients file may be a pipe (`-R <(…)`): it holds nothing secret.
 */
async function readKeyText(path: string, what: string, secret: boolean, allowGroupReadable: boolean): Promise<string> {
  let handle: FileHandle
  try {
    // O_NONBLOCK keeps a FIFO named as an identity file from hanging the open (it is then refused).
    handle = await open(path, secret ? constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) : constants.O_RDONLY)
  } catch (error) {
    throw new KeyFileError(path, `cannot read the ${what}: ${(error as Error).message}`, { cause: error })
  }
  try {
    const info = await handle.stat()
    if (secret ? !info.isFile() : info.isDirectory()) throw new KeyFileError(path, `is not a regular file (the ${what} must be one)`)
    if (info.size > MAX_PUBLIC_KEY_FILE_BYTES) throw new KeyFileError(path, `is ${info.size} bytes; an ${what} is well under ${MAX_PUBLIC_KEY_FILE_BYTES}`)
    if (secret && process.platform !== 'win32') {
      const uid = process.getuid?.()
      if (uid !== undefined && info.uid !== uid && info.uid !== 0)
        throw new KeyFileError(path, `belongs to user ${info.uid}, not to you (${uid}) or root; run: chown ${uid} ${path}`)
      const mode = info.mode & 0o777
      const forbidden = allowGroupReadable ? 0o037 : 0o077
      if ((mode & forbidden) !== 0) {
        throw new KeyFileError(path, `holds secret keys but is accessible to others (mode ${mode.toString(8).padStart(3, '0')}); run: chmod 600 ${path}`)
      }
    }
    const buffer = new Uint8Array(MAX_PUBLIC_KEY_FILE_BYTES + 1)
    let filled = 0
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null)
        if (bytesRead === 0) break
        filled += bytesRead
        if (filled > MAX_PUBLIC_KEY_FILE_BYTES) throw new KeyFileError(path, `is over ${MAX_PUBLIC_KEY_FILE_BYTES} bytes`)
      }
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, filled))
    } catch (error) {
      if (error instanceof KeyFileError) throw error
      throw new KeyFileError(path, `cannot read the ${what}: ${(error as Error).message}`, { cause: error })
    } finally {
      buffer.fill(0)
    }
  } finally {
    await handle.close()
  }
}

/**
 * -r RECIPIENT (each one string) and -R FILE (one a line): parse errors are usage errors,
 * unreadable files key errors. `flag` names the option the strings came from in errors.
 */
export async function loadRecipients(strings: readonly string[], files: readonly string[], flag = '-r'): Promise<PublicKeyRecipient[]> {
  const out: PublicKeyRecipient[] = []
  for (const text of strings) {
    try {
      out.push(parsePublicKeyRecipient(text))
    } catch (error) {
      throw new UsageError(`${flag} ${(error as Error).message}`)
    }
  }
  for (const path of files) {
    const text = await readKeyText(path, 'recipients file', false, false)
    try {
      out.push(...parseRecipientsFile(text))
    } catch (error) {
      throw new KeyFileError(path, (error as Error).message, { cause: error })
    }
  }
  return out
}

/** -i IDENTITY_FILE: each file holds one or more identities (age's format). Errors never quote a secret. */
export async function loadIdentities(files: readonly string[], allowGroupReadable: boolean): Promise<Identity[]> {
  const out: Identity[] = []
  for (const path of files) {
    const text = await readKeyText(path, 'identity file', true, allowGroupReadable)
    try {
      out.push(...parseIdentityFile(text))
    } catch (error) {
      throw new KeyFileError(path, (error as Error).message, { cause: error })
    }
  }
  return out
}

/**
 * A command's keys with public keys added: when the command names public keys and no
 * `--key`/`--decrypt-key`, they are its only keys (KMS_ENVELOPE_KEY is not consulted, as it
 * would be for a command with no key at all); otherwise they come after the --key keys.
 */
export async function withPublicKeys(extra: readonly Keyring[], specsGiven: boolean, resolve: () => Promise<CommandKeys>): Promise<CommandKeys> {
  if (extra.length === 0) return resolve()
  if (!specsGiven) return { keyring: [...extra], decryptOnly: [] }
  const keys = await resolve()
  return { keyring: [...keys.keyring, ...extra], decryptOnly: keys.decryptOnly }
}

/** Whether a --to SPEC is an age public key (age1… X25519, age1pq1… post-quantum) rather than a key SPEC. */
export const isRecipientSpec = (spec: string): boolean => spec.toLowerCase().startsWith('age1')

/**
 * rewrap's destinations: the --to SPECs (key files, dir:, kms:, and age public keys given as
 * they are) and the -R recipients files. At least one is required.
 */
export async function destinationKeys(
  to: readonly string[],
  recipientFiles: readonly string[],
  resolve: (specs: readonly string[]) => Promise<Keyring[]>,
): Promise<Keyring[]> {
  if (to.length === 0 && recipientFiles.length === 0) {
    throw new UsageError('rewrap needs --to SPEC (or -R FILE): the key(s) to give the message to')
  }
  const specs = to.filter((s) => !isRecipientSpec(s))
  const publicKeys = await loadRecipients(
    to.filter((s) => isRecipientSpec(s)),
    recipientFiles,
    '--to',
  )
  return [...(specs.length > 0 ? await resolve(specs) : []), ...publicKeys]
}

/**
 * The keys that hold a message now, for rewrap and inspect: --key, --decrypt-key and -i
 * identity files (identities alone need no --key, and KMS_ENVELOPE_KEY is then not read).
 */
export async function rewrapSource(
  values: { key?: string[] | undefined; 'decrypt-key'?: string[] | undefined; identity?: string[] | undefined },
  options: KeySpecOptions,
): Promise<CommandKeys> {
  const identities = await loadIdentities(values.identity ?? [], options.allowGroupReadable === true)
  const specsGiven = values.key !== undefined || values['decrypt-key'] !== undefined
  return withPublicKeys(identities, specsGiven, () => resolveCommandKeys(values.key ?? [], values['decrypt-key'] ?? [], options))
}
