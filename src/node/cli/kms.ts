/**
 * KMS key specs for the CLI. Kept in its own module so it is loaded only on demand.
 * @module
 */
import type { Keyring } from '../../keyrings/keyring.js'
import { UsageError } from './usage.js'
import type { KeySpecOptions } from './keys.js'

export async function createCliKmsKeyring(_keyIds: string[], _options: KeySpecOptions): Promise<Keyring> {
  throw new UsageError('kms: key specs need the KMS keyring, which is not part of this build yet')
}
