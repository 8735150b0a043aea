/**
 * 100-byte messages with a cached data key (KeyCache hit on both sides): ops/s beside a bare
 * node:crypto AES-256-GCM seal/open of the same payload in the same run. The gap is the
 * per-message work of the format: message id, HKDF key schedule, header encoding and tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { Envelope, KeyCache, LocalKeyring } from 'kms-envelope'
import { measure, opsPerSecond, table } from './lib.js'

export interface CachedResult {
  readonly encryptOps: number
  readonly decryptOps: number
  readonly rawSealOps: number
  readonly rawOpenOps: number
}

export async function benchCached(size = 100): Promise<CachedResult> {
  const cache = new KeyCache({ maxEntries: 1000, maxAge: 10 * 60_000 })
  const env = new Envelope({ keyring: LocalKeyring.generate(), cache })
  const data = randomBytes(size)
  const context = { tenant: 'acme' }
  const message = await env.encrypt(data, { context })
  await env.decrypt(message)
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const seal = () => {
    const c = createCipheriv('aes-256-gcm', key, iv)
    const body = c.update(data)
    c.final()
    return [body, c.getAuthTag()] as const
  }
  const [body, tag] = seal()
  const open = () => {
    const d = createDecipheriv('aes-256-gcm', key, iv)
    d.setAuthTag(tag)
    const out = d.update(body)
    d.final()
    return out
  }
  const enc = await measure(() => env.encrypt(data, { context }), { minMs: 300 })
  const rawSeal = await measure(seal, { minMs: 300 })
  const dec = await measure(() => env.decrypt(message), { minMs: 300 })
  const rawOpen = await measure(open, { minMs: 300 })
  return { encryptOps: opsPerSecond(enc), decryptOps: opsPerSecond(dec), rawSealOps: opsPerSecond(rawSeal), rawOpenOps: opsPerSecond(rawOpen) }
}

export function printCached(r: CachedResult): void {
  console.log('\n100-byte messages, cached data key (KeyCache hit), ops/s, one core, median of 7 runs')
  table(
    ['operation', 'kms-envelope', 'bare node:crypto GCM', 'ratio'],
    [
      ['encrypt', r.encryptOps, r.rawSealOps, `${(r.encryptOps / r.rawSealOps).toFixed(2)}x`],
      ['decrypt', r.decryptOps, r.rawOpenOps, `${(r.decryptOps / r.rawOpenOps).toFixed(2)}x`],
    ],
  )
}
