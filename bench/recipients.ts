/**
 * Cost of one recipient type: encrypt and decrypt ops/s of one 100-byte message wrapped for a
 * single recipient, no cache (every message pays its key wrap and unwrap), measured side by
 * side. `recipientRow` is exported so other keyrings (scrypt, aws-kms-rsa) add their rows.
 * Standalone: `npm run bench:recipients`.
 */
import { fileURLToPath } from 'node:url'
import type { Keyring } from 'kms-envelope'
import { Envelope, LocalKeyring, PostQuantumIdentity, X25519Identity } from 'kms-envelope'
import { backend } from '#crypto-backend'
import { measure, opsPerSecond, table } from './lib.js'

/** One row: a recipient type's encrypt and decrypt rates. */
export interface RecipientRow {
  readonly type: string
  readonly encryptOps: number
  readonly decryptOps: number
  /** Bytes of the wrapped-key entry in the message. */
  readonly wrappedBytes: number
}

/** Results of {@link benchRecipients}. */
export interface RecipientsResult {
  readonly backend: string
  readonly rows: RecipientRow[]
}

const PLAINTEXT = new Uint8Array(100).fill(0x61)

/**
 * Measures one recipient type: `writer` encrypts (for a public key, the recipient alone),
 * `reader` decrypts (its identity, or the same keyring).
 */
export async function recipientRow(type: string, writer: Keyring, reader: Keyring, quick: boolean): Promise<RecipientRow> {
  const enc = new Envelope({ keyring: writer })
  const dec = new Envelope({ keyring: reader })
  const message = await enc.encrypt(PLAINTEXT)
  const options = quick ? { runs: 1, minMs: 5 } : { runs: 7, minMs: 200 }
  const encrypt = await measure(() => enc.encrypt(PLAINTEXT), options)
  const decrypt = await measure(() => dec.decrypt(message), options)
  return { type, encryptOps: opsPerSecond(encrypt), decryptOps: opsPerSecond(decrypt), wrappedBytes: message.length - PLAINTEXT.length - 16 }
}

/** Encrypt and decrypt ops/s for local, x25519 and mlkem768x25519, one 100-byte message each. */
export async function benchRecipients(quick: boolean): Promise<RecipientsResult> {
  const local = LocalKeyring.generate()
  const x = X25519Identity.generate()
  const pq = PostQuantumIdentity.generate()
  return {
    backend: backend.name,
    rows: [
      await recipientRow('local', local, local, quick),
      await recipientRow('x25519', x.recipient, x, quick),
      await recipientRow('mlkem768x25519', pq.recipient, pq, quick),
    ],
  }
}

/** Prints {@link benchRecipients}'s table (message bytes: header and recipients of a 100-byte message). */
export function printRecipients(result: RecipientsResult): void {
  console.log(`\nrecipient types: one 100-byte message, no cache, ${result.backend} backend (medians)`)
  const base = result.rows[0]!
  table(
    ['type', 'encrypt ops/s', 'decrypt ops/s', 'vs local (enc/dec)', 'overhead bytes'],
    result.rows.map((r) => [
      r.type,
      Math.round(r.encryptOps),
      Math.round(r.decryptOps),
      `${(base.encryptOps / r.encryptOps).toFixed(1)}x / ${(base.decryptOps / r.decryptOps).toFixed(1)}x slower`,
      r.wrappedBytes,
    ]),
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printRecipients(await benchRecipients(process.argv.includes('--quick')))
}
