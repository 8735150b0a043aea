/**
 * Key specs on the command line: `file:PATH` for a local key file (and, with the KMS
 * keyring, `kms:ARN`, `kms:alias/NAME`, `kms:KEY-ID`). Resolved into keyrings.
 * @module
 */
import type { Keyring } from '../../keyrings/keyring.js'
import { loadLocalKeyring } from '../keyfile.js'
import type { KeySpecOptions } from './usage.js'
import { UsageError } from './usage.js'

export async function resolveKeySpecs(specs: readonly string[], options: KeySpecOptions): Promise<Keyring[]> {
  if (specs.length === 0) throw new UsageError('no key given: pass --key file:PATH (or kms:KEY)')
  const keyrings: Keyring[] = []
  const kmsKeys: string[] = []
  let kmsAt = -1 // all kms: specs share one keyring, placed where the first one was given
  for (const spec of specs) {
    const colon = spec.indexOf(':')
    const scheme = colon < 0 ? '' : spec.slice(0, colon)
    const rest = spec.slice(colon + 1)
    if (scheme === 'file' && rest.length > 0) keyrings.push(await loadLocalKeyring(rest))
    else if (scheme === 'kms' && rest.length > 0) {
      if (kmsAt < 0) kmsAt = keyrings.length
      kmsKeys.push(rest)
    } else throw new UsageError(`key spec ${JSON.stringify(spec)} is not understood: use file:PATH, kms:ARN, kms:alias/NAME or kms:KEY-ID`)
  }
  // Order matters: the first key given generates the data key.
  if (kmsKeys.length > 0) keyrings.splice(kmsAt, 0, await kmsKeyring(kmsKeys, options))
  return keyrings
}

async function kmsKeyring(keyIds: string[], options: KeySpecOptions): Promise<Keyring> {
  // Loaded only when a kms: spec is used, so file-only runs never load the AWS SDK.
  const { createCliKmsKeyring } = await import('./kms.js')
  return createCliKmsKeyring(keyIds, options)
}
