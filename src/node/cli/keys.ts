/**
 * Key specs on the command line: `file:PATH` for a local key file, `file:-` for a key file's
 * JSON on stdin, `dir:PATH` for every key file in a directory (and, with the KMS keyring,
 * `kms:ARN`, `kms:alias/NAME`, `kms:KEY-ID`, and `aws-kms-rsa:ARN` for a KMS RSA key). With no --key at all, the key file JSON in
 * KMS_ENVELOPE_KEY (as sops reads SOPS_AGE_KEY). Resolved into keyrings, and sorted into the
 * keys that write and the keys that only read (`--decrypt-key`, and key files whose `status`
 * is decrypt-only).
 * @module
 */
import { KeyFileError } from '../../errors.js'
import type { Keyring } from '../../keyrings/keyring.js'
import { LocalKeyring } from '../../keyrings/local.js'
import { loadKeyFiles } from '../key-directory.js'
import { keyringFromText, loadLocalKeyring, MAX_KEY_FILE_BYTES } from '../keyfile.js'
import type { KeySpecOptions } from './usage.js'
import { UsageError } from './usage.js'

/** The environment variable holding a key file's JSON, used when no --key is given. */
export const KEY_ENV = 'KMS_ENVELOPE_KEY'
const STDIN_SPEC = 'file:-'

/** What a command reads from stdin: the input, or (with `file:-`) a key. Checked before anything is read. */
export function checkStdinUse(specs: readonly string[], inputPath: string | undefined): void {
  const fromStdin = specs.filter((s) => s === STDIN_SPEC).length
  if (fromStdin > 1) throw new UsageError(`${STDIN_SPEC} is given ${fromStdin} times; only one key can come from stdin`)
  if (fromStdin === 1 && (inputPath === undefined || inputPath === '-')) {
    throw new UsageError(`${STDIN_SPEC} reads the key from stdin, so the input must be a file: give IN as a path`)
  }
}

/** --key's keyrings; with no --key, the key in KMS_ENVELOPE_KEY (--key always wins). */
export async function resolveKeys(specs: readonly string[], options: KeySpecOptions): Promise<Keyring[]> {
  if (specs.length > 0) return resolveKeySpecs(specs, options)
  const text = process.env[KEY_ENV]
  if (text === undefined || text === '') {
    throw new UsageError(`no key given: pass --key file:PATH (or kms:KEY), or set ${KEY_ENV} to the JSON text of a key file`)
  }
  return [keyringFromText(text, `$${KEY_ENV}`)]
}

export async function resolveKeySpecs(specs: readonly string[], options: KeySpecOptions): Promise<Keyring[]> {
  return (await resolveSpecs(specs, options)).map((k) => k.keyring)
}

/** A resolved key, and the directory it came from (`dir:PATH`), if any. */
interface ResolvedKey {
  readonly keyring: Keyring
  readonly dir?: string
}

async function resolveSpecs(specs: readonly string[], options: KeySpecOptions): Promise<ResolvedKey[]> {
  if (specs.length === 0) throw new UsageError('no key given: pass --key file:PATH (or kms:KEY)')
  const keys: ResolvedKey[] = []
  const kmsKeys: string[] = []
  let kmsAt = -1 // all kms: specs share one keyring, placed where the first one was given
  const fileOptions = { allowGroupReadable: options.allowGroupReadable === true }
  for (const spec of specs) {
    const colon = spec.indexOf(':')
    const scheme = colon < 0 ? '' : spec.slice(0, colon)
    const rest = spec.slice(colon + 1)
    if (spec === STDIN_SPEC) keys.push({ keyring: keyringFromText(await readStdinKey(), 'the key file on stdin (--key file:-)') })
    else if (scheme === 'file' && rest.length > 0) keys.push({ keyring: await loadLocalKeyring(rest, fileOptions) })
    else if (scheme === 'dir' && rest.length > 0) {
      for (const keyring of await loadKeyFiles(rest, fileOptions)) keys.push({ keyring, dir: rest })
    } else if (scheme === 'kms' && rest.length > 0) {
      if (kmsAt < 0) kmsAt = keys.length
      kmsKeys.push(rest)
    } else if (scheme === 'aws-kms-rsa' && rest.length > 0) keys.push({ keyring: await kmsRsaKeyring(rest, options) })
    else
      throw new UsageError(
        `key spec ${JSON.stringify(spec)} is not understood: use file:PATH, file:-, dir:PATH, kms:ARN, kms:alias/NAME, kms:KEY-ID or aws-kms-rsa:ARN`,
      )
  }
  // Order matters: the first key given generates the data key.
  if (kmsKeys.length > 0) keys.splice(kmsAt, 0, { keyring: await kmsKeyring(kmsKeys, options) })
  return keys
}

const isDecryptOnly = (keyring: Keyring): boolean => keyring instanceof LocalKeyring && keyring.status === 'decrypt-only'

/** A command's keys: the ones that write (and read), and the ones that only read. */
export interface CommandKeys {
  readonly keyring: Keyring[]
  readonly decryptOnly: Keyring[]
}

/**
 * --key and --decrypt-key of a command. --key keys write, except key files whose status is
 * decrypt-only; --decrypt-key keys only read. With no --key, KMS_ENVELOPE_KEY stands for it
 * (required unless --decrypt-key gives keys to read with). `forEncrypt`: at least one key
 * must write, and the error names the directories whose keys were all decrypt-only.
 */
export async function resolveCommandKeys(
  keySpecs: readonly string[],
  decryptSpecs: readonly string[],
  options: KeySpecOptions,
  forEncrypt = false,
): Promise<CommandKeys> {
  let given: ResolvedKey[]
  if (keySpecs.length > 0) given = await resolveSpecs(keySpecs, options)
  else if (decryptSpecs.length > 0 && !process.env[KEY_ENV]) given = []
  else given = (await resolveKeys([], options)).map((keyring) => ({ keyring }))
  const keyring = given.filter((k) => !isDecryptOnly(k.keyring)).map((k) => k.keyring)
  if (forEncrypt && keyring.length === 0) {
    const dirs = [...new Set(given.flatMap((k) => (k.dir === undefined ? [] : [k.dir])))]
    throw new UsageError(
      dirs.length > 0
        ? `no active key to encrypt with: every key file in ${dirs.join(', ')} is decrypt-only ("status" in the key file); add an active key (kms-envelope keygen) to it`
        : 'no active key to encrypt with: every --key given is a decrypt-only key file ("status" in the key file); give an active key',
    )
  }
  const readers = [...given.filter((k) => isDecryptOnly(k.keyring)).map((k) => k.keyring)]
  if (decryptSpecs.length > 0) readers.push(...(await resolveKeySpecs(decryptSpecs, options)))
  // One key named twice (a directory and one of its files) is tried once, as the writer it is.
  const decryptOnly: Keyring[] = []
  for (const r of readers) {
    if (![...keyring, ...decryptOnly].some((k) => k.cacheId === r.cacheId)) decryptOnly.push(r)
  }
  return { keyring, decryptOnly }
}

/**
 * --to of rewrap: the keys that receive the message. A directory gives its active keys; a
 * decrypt-only key file named on its own is an error (a retired key must not receive messages).
 */
export async function resolveDestinationKeys(specs: readonly string[], options: KeySpecOptions): Promise<Keyring[]> {
  const keys = await resolveSpecs(specs, options)
  const named = keys.find((k) => k.dir === undefined && isDecryptOnly(k.keyring))
  if (named !== undefined) throw new UsageError(`--to ${named.keyring.description} is a decrypt-only key file: a retired key cannot receive messages`)
  const active = keys.filter((k) => !isDecryptOnly(k.keyring)).map((k) => k.keyring)
  if (active.length === 0)
    throw new UsageError(`--to names no active key: every key file in ${[...new Set(keys.map((k) => k.dir))].join(', ')} is decrypt-only`)
  return active
}

/** All of stdin, bounded like a key file; the buffers are zeroed once decoded. */
async function readStdinKey(): Promise<string> {
  const source = 'the key file on stdin (--key file:-)'
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
      chunks.push(chunk)
      total += chunk.length
      if (total > MAX_KEY_FILE_BYTES) throw new KeyFileError(source, `is over ${MAX_KEY_FILE_BYTES} bytes; a key file is well under that`)
    }
    const all = new Uint8Array(total)
    let at = 0
    for (const chunk of chunks) {
      all.set(chunk, at)
      at += chunk.length
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(all)
    } catch (error) {
      throw new KeyFileError(source, 'is not UTF-8 text', { cause: error })
    } finally {
      all.fill(0)
    }
  } finally {
    for (const chunk of chunks) chunk.fill(0)
  }
}

async function kmsRsaKeyring(keyId: string, options: KeySpecOptions): Promise<Keyring> {
  const { createCliKmsRsaKeyring } = await import('./kms.js')
  return createCliKmsRsaKeyring(keyId, options)
}

async function kmsKeyring(keyIds: string[], options: KeySpecOptions): Promise<Keyring> {
  // Loaded only when a kms: spec is used, so file-only runs never load the AWS SDK.
  const { createCliKmsKeyring } = await import('./kms.js')
  return createCliKmsKeyring(keyIds, options)
}
