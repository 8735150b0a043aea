/**
 * Buffer encrypt/decrypt throughput of kms-envelope beside raw node:crypto AES-256-GCM on the
 * same data in the same run (one cipher call over the whole buffer: the floor any framed
 * format pays on top of).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { formatSize, mbps, measure, table } from './lib.js'

export interface BufferResult {
  readonly size: number
  readonly encryptMBps: number
  readonly decryptMBps: number
  readonly rawEncryptMBps: number
  readonly rawDecryptMBps: number
}

function rawSeal(key: Buffer, iv: Buffer, data: Uint8Array): Buffer[] {
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = c.update(data)
  c.final()
  return [body, c.getAuthTag()]
}

function rawOpen(key: Buffer, iv: Buffer, body: Buffer, tag: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv)
  d.setAuthTag(tag)
  const out = d.update(body)
  d.final()
  return out
}

export async function benchBuffers(sizes = [1024, 64 * 1024, 16 * 1024 * 1024]): Promise<BufferResult[]> {
  const env = new Envelope({ keyring: LocalKeyring.generate() })
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const results: BufferResult[] = []
  for (const size of sizes) {
    const data = randomBytes(size)
    const message = await env.encrypt(data)
    const [body, tag] = rawSeal(key, iv, data)
    const opts = { minMs: size > 1 << 20 ? 400 : 150 }
    const enc = await measure(() => env.encrypt(data), opts)
    const rawEnc = await measure(() => rawSeal(key, iv, data), opts)
    const dec = await measure(() => env.decrypt(message), opts)
    const rawDec = await measure(() => rawOpen(key, iv, body!, tag!), opts)
    results.push({ size, encryptMBps: mbps(size, enc), decryptMBps: mbps(size, dec), rawEncryptMBps: mbps(size, rawEnc), rawDecryptMBps: mbps(size, rawDec) })
  }
  return results
}

export function printBuffers(results: BufferResult[]): void {
  console.log('\nBuffer encrypt/decrypt, local keyring (includes the keyring wrap/unwrap per message), MB/s, median of 7 runs')
  table(
    ['size', 'encrypt', 'node:crypto seal', 'ratio', 'decrypt', 'node:crypto open', 'ratio'],
    results.map((r) => [
      formatSize(r.size),
      r.encryptMBps,
      r.rawEncryptMBps,
      `${(r.encryptMBps / r.rawEncryptMBps).toFixed(2)}x`,
      r.decryptMBps,
      r.rawDecryptMBps,
      `${(r.decryptMBps / r.rawDecryptMBps).toFixed(2)}x`,
    ]),
  )
}
