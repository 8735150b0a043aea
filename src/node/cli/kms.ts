/**
 * KMS key specs for the CLI (`kms:ARN`, `kms:alias/NAME`, `kms:KEY-ID`). Kept in its own
 * module, imported only when a kms: spec is used, so other runs never load the AWS SDK.
 * @module
 */

import type { Keyring } from '../../keyrings/keyring.js'
import { KmsKeyring, newKmsClient } from '../../keyrings/kms.js'
import { KmsRsaKeyring } from '../../keyrings/kms-rsa.js'
import type { KeySpecOptions } from './usage.js'
import { UsageError } from './usage.js'

type KmsClient = Awaited<ReturnType<typeof newKmsClient>>
const clients = new Map<string, KmsClient>()

/** One client per --region/--endpoint pair, shared by --key and --to (rewrap). */
async function clientFor(options: KeySpecOptions): Promise<KmsClient | undefined> {
  const { region, endpoint } = options
  if (region === undefined && endpoint === undefined) return undefined // per-Region clients from the AWS environment
  if (endpoint !== undefined && !URL.canParse(endpoint))
    throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not a URL (e.g. http://127.0.0.1:4566)`)
  const id = JSON.stringify([region ?? null, endpoint ?? null])
  let client = clients.get(id)
  if (client === undefined) {
    client = await newKmsClient({ region, endpoint })
    clients.set(id, client)
  }
  return client
}

export async function createCliKmsKeyring(keyIds: string[], options: KeySpecOptions): Promise<Keyring> {
  // The SDK warns on every run under Node 20 that its 2027 releases need Node 22
  // (aws-sdk-js-v3#7983). A CLI user cannot act on that mid-pipeline; the documented switch
  // silences it unless the user set it either way.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const client = await clientFor(options)
  try {
    return new KmsKeyring({ keyIds, ...(client === undefined ? {} : { client }) })
  } catch (error) {
    throw new UsageError(`kms: key spec: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** `--key aws-kms-rsa:KEY`: a KMS RSA key, encrypted to offline after one GetPublicKey (FORMAT.md §18). */
export async function createCliKmsRsaKeyring(keyId: string, options: KeySpecOptions): Promise<Keyring> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const client = await clientFor(options)
  try {
    return new KmsRsaKeyring({ keyId, ...(client === undefined ? {} : { client }) })
  } catch (error) {
    throw new UsageError(`aws-kms-rsa: key spec: ${error instanceof Error ? error.message : String(error)}`)
  }
}
