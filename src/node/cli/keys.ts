/**
 * Key specs on the command line: `file:PATH` for a local key file, `file:-` for a key file's
 * JSON on stdin (and, with the KMS keyring, `kms:ARN`, `kms:alias/NAME`, `kms:KEY-ID`).
 * With no --key at all, the key file JSON in KMS_ENVELOPE_KEY (as sops reads SOPS_AGE_KEY).
 * Resolved into keyrings.
 * @module
 */
import { KeyFileError } from '../../errors.js'
import type { Keyring } from '../../keyrings/keyring.js'
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
  if (specs.length === 0) throw new UsageError('no key given: pass --key file:PATH (or kms:KEY)')
  const keyrings: Keyring[] = []
  const kmsKeys: string[] = []
  let kmsAt = -1 // all kms: specs share one keyring, placed where the first one was given
  for (const spec of specs) {
    const colon = spec.indexOf(':')
    const scheme = colon < 0 ? '' : spec.slice(0, colon)
    const rest = spec.slice(colon + 1)
    if (spec === STDIN_SPEC) keyrings.push(keyringFromText(await readStdinKey(), 'the key file on stdin (--key file:-)'))
    else if (scheme === 'file' && rest.length > 0) keyrings.push(await loadLocalKeyring(rest, { allowGroupReadable: options.allowGroupReadable === true }))
    else if (scheme === 'kms' && rest.length > 0) {
      if (kmsAt < 0) kmsAt = keyrings.length
      kmsKeys.push(rest)
    } else throw new UsageError(`key spec ${JSON.stringify(spec)} is not understood: use file:PATH, file:-, kms:ARN, kms:alias/NAME or kms:KEY-ID`)
  }
  // Order matters: the first key given generates the data key.
  if (kmsKeys.length > 0) keyrings.splice(kmsAt, 0, await kmsKeyring(kmsKeys, options))
  return keyrings
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

async function kmsKeyring(keyIds: string[], options: KeySpecOptions): Promise<Keyring> {
  // Loaded only when a kms: spec is used, so file-only runs never load the AWS SDK.
  const { createCliKmsKeyring } = await import('./kms.js')
  return createCliKmsKeyring(keyIds, options)
}
