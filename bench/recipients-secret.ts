/**
 * Passphrase and KMS RSA recipients: encrypt and decrypt ops/s of one 100-byte message, beside
 * the local keyring, in one process (a shared, loaded machine: compare the ratios, read the
 * medians). scrypt runs at the default work factor (2^18): about one op per second by design.
 * aws-kms-rsa encrypts offline (after one GetPublicKey); its decrypt is one KMS Decrypt against
 * the moto test server on this machine (scripts/kms-server.js), so it measures the local
 * round trip and moto's RSA, not AWS latency.
 *
 *   npm run bench:recipients-secret
 *   node --conditions=kms-envelope-portable dist/bench/recipients-secret.js    @noble backend
 */
import { fileURLToPath } from 'node:url'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import type { Keyring } from 'kms-envelope'
import { Envelope, LocalKeyring, PassphraseKeyring } from 'kms-envelope'
import { KmsRsaKeyring } from 'kms-envelope/kms'
import { backend } from '#crypto-backend'
import { median } from './lib.js'

/** One recipient type's figures. */
export interface SecretRecipientRow {
  readonly name: string
  readonly encryptOps: number
  readonly decryptOps: number
  readonly note: string
}

/** The result of {@link benchSecretRecipients}. */
export interface SecretRecipientsResult {
  readonly backend: string
  readonly rows: readonly SecretRecipientRow[]
}

async function opsPerSecond(ops: number, rounds: number, fn: () => Promise<unknown>): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r < rounds; r++) {
    const start = performance.now()
    for (let i = 0; i < ops; i++) await fn()
    rates.push((ops * 1000) / (performance.now() - start))
  }
  return median(rates)
}

async function row(name: string, keyring: Keyring, ops: number, rounds: number, note: string): Promise<SecretRecipientRow> {
  const env = new Envelope({ keyring })
  const plaintext = new Uint8Array(100).fill(7)
  const message = await env.encrypt(plaintext) // warm-up, and the GetPublicKey of aws-kms-rsa
  const encryptOps = await opsPerSecond(ops, rounds, () => env.encrypt(plaintext))
  const decryptOps = await opsPerSecond(ops, rounds, () => env.decrypt(message))
  return { name, encryptOps, decryptOps, note }
}

/**
 * Measures the rows; starts the moto test server for aws-kms-rsa (it is stopped at the end).
 * @param quick - Fewer operations and rounds (a smoke run).
 */
export async function benchSecretRecipients(quick: boolean): Promise<SecretRecipientsResult> {
  const rounds = quick ? 1 : 5
  const rows: SecretRecipientRow[] = []
  rows.push(await row('local', LocalKeyring.generate({ keyId: 'bench' }), quick ? 200 : 2000, rounds, 'baseline'))
  rows.push(await row('scrypt (2^18)', new PassphraseKeyring({ passphrase: 'bench passphrase' }), quick ? 1 : 3, quick ? 1 : 3, 'one scrypt per operation'))
  const script = new URL('../../scripts/kms-server.js', import.meta.url).href
  const { startKmsServer } = (await import(script)) as { startKmsServer(): Promise<{ endpoint: string; stop(): Promise<void> }> }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const server = await startKmsServer()
  const client = new KMSClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
  try {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' }))
    const keyring = new KmsRsaKeyring({ keyId: KeyMetadata!.Arn!, client })
    rows.push(await row('aws-kms-rsa (RSA-3072)', keyring, quick ? 20 : 300, rounds, 'encrypt offline; decrypt = 1 Decrypt on local moto'))
  } finally {
    client.destroy()
    await server.stop()
  }
  return { backend: backend.name, rows }
}

/**
 * Prints a result as a table.
 * @param result - What {@link benchSecretRecipients} measured.
 */
export function printSecretRecipients(result: SecretRecipientsResult): void {
  console.log(`\nSecret recipients, one 100-byte message (${result.backend} backend; medians, loaded machine)`)
  const base = result.rows[0]!
  for (const r of result.rows) {
    console.log(
      `  ${r.name.padEnd(24)} encrypt ${r.encryptOps.toFixed(1).padStart(9)} ops/s (${(r.encryptOps / base.encryptOps).toPrecision(2)}x local)  decrypt ${r.decryptOps.toFixed(1).padStart(9)} ops/s (${(r.decryptOps / base.decryptOps).toPrecision(2)}x local)  ${r.note}`,
    )
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printSecretRecipients(await benchSecretRecipients(process.argv.includes('--quick')))
}
