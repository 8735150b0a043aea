/**
 * KMS calls made by each library against a real KMS API server (moto), counted at the SDK:
 * 10,000 encryptions in one cache window, and 100 concurrent cold decryptions of messages
 * that share one wrapped data key. Both libraries with their caches.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildClient, CommitmentPolicy, getLocalCryptographicMaterialsCache, KmsKeyringNode, NodeCachingMaterialsManager } from '@aws-crypto/client-node'
import { CreateKeyCommand, KMS, KMSClient } from '@aws-sdk/client-kms'
import { Envelope, KeyCache } from 'kms-envelope'
import { KmsKeyring } from 'kms-envelope/kms'
import { ESDK_SUITE_UNSIGNED } from './esdk.js'

export interface KmsCallCounts {
  readonly encrypts: number
  readonly concurrentDecrypts: number
  readonly ours: { readonly generateDataKey: number; readonly decrypt: number }
  readonly esdk: { readonly generateDataKey: number; readonly decrypt: number }
}

type Counter = Record<string, number>

function counted<T extends { middlewareStack: KMSClient['middlewareStack'] }>(client: T, counts: Counter): T {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '')
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    { step: 'initialize', name: 'kmseBenchCounter' },
  )
  return client
}

export async function benchKmsCalls(encrypts = 10_000, decrypts = 100): Promise<KmsCallCounts> {
  const root = join(import.meta.dirname, '..', '..')
  const { startKmsServer, KMS_TEST_ENV } = (await import(pathToFileURL(join(root, 'scripts', 'kms-server.js')).href)) as {
    startKmsServer(): Promise<{ endpoint: string; stop(): Promise<void> }>
    KMS_TEST_ENV: Record<string, string>
  }
  Object.assign(process.env, KMS_TEST_ENV)
  // Inside the test runner's KMS stage a server is already up: use it.
  const running = process.env.KMSE_TEST_KMS_ENDPOINT
  const server = running ? { endpoint: running, stop: async () => {} } : await startKmsServer()
  try {
    const config = { region: 'us-east-1', endpoint: server.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }
    const admin = new KMSClient(config)
    const arn = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
    const data = new Uint8Array(100)
    const context = { tenant: 'acme' }

    // kms-envelope: KmsKeyring + KeyCache.
    const ours: Counter = {}
    const writer = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client: counted(new KMSClient(config), ours) }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000 }),
    })
    const messages: Uint8Array[] = []
    for (let i = 0; i < encrypts; i++) messages.push(await writer.encrypt(data, { context }))
    const oursGenerate = ours.GenerateDataKey ?? 0
    const reader = new Envelope({
      keyring: new KmsKeyring({ keyIds: [arn], client: counted(new KMSClient(config), ours) }),
      cache: new KeyCache({ maxEntries: 100, maxAge: 600_000 }),
    })
    await Promise.all(messages.slice(0, decrypts).map((m) => reader.decrypt(m)))

    // AWS Encryption SDK: KmsKeyringNode + caching materials manager.
    const theirs: Counter = {}
    const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    const cmm = (): NodeCachingMaterialsManager =>
      new NodeCachingMaterialsManager({
        backingMaterials: new KmsKeyringNode({ generatorKeyId: arn, clientProvider: (() => counted(new KMS(config), theirs)) as never }),
        cache: getLocalCryptographicMaterialsCache(100),
        maxAge: 600_000,
        maxMessagesEncrypted: 2 ** 32,
      })
    const esdkWriter = cmm()
    const esdkMessages: Uint8Array[] = []
    for (let i = 0; i < encrypts; i++)
      esdkMessages.push((await esdk.encrypt(esdkWriter, data, { suiteId: ESDK_SUITE_UNSIGNED, encryptionContext: context })).result)
    const theirGenerate = theirs.GenerateDataKey ?? 0
    const esdkReader = cmm()
    await Promise.all(esdkMessages.slice(0, decrypts).map((m) => esdk.decrypt(esdkReader, m)))

    return {
      encrypts,
      concurrentDecrypts: decrypts,
      ours: { generateDataKey: oursGenerate, decrypt: ours.Decrypt ?? 0 },
      esdk: { generateDataKey: theirGenerate, decrypt: theirs.Decrypt ?? 0 },
    }
  } finally {
    await server.stop()
  }
}
