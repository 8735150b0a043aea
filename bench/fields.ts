/**
 * Field encryption throughput: records/s for encryptRecord + decryptRecord with 3 fields on the
 * local keyring, beside a 100-byte Envelope message as the baseline, in one process (the
 * machine is shared and noisy: compare the ratios, read the medians).
 *
 *   npm run bench:fields             node:crypto backend
 *   node --conditions=kms-envelope-portable dist/bench/fields.js    @noble backend
 */

import { Envelope, FieldEncryptor, LocalKeyring } from 'kms-envelope'
import { backend } from '#crypto-backend'
import { median } from './lib.js'

const ROUNDS = Number(process.env.ROUNDS ?? 7)
const N = Number(process.env.RECORDS ?? 2000)

const envelope = new Envelope({ keyring: LocalKeyring.generate({ keyId: 'bench' }) })
const indexKey = await FieldEncryptor.createIndexKey(envelope)
const context = { table: 'users', tenant: 'acme' }
const records = Array.from({ length: N }, (_, i) => ({
  id: i,
  ssn: `123-45-${String(i % 10000).padStart(4, '0')}`,
  email: `user${i}@example.com`,
  profile: { address: `${i} Main St, Springfield`, name: `User ${i}` },
}))

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

interface Row {
  name: string
  enc: number[]
  dec: number[]
}

async function measure(name: string, encrypt: () => Promise<unknown[]>, decrypt: (stored: unknown[]) => Promise<unknown>): Promise<Row> {
  const row: Row = { name, enc: [], dec: [] }
  await decrypt(await encrypt()) // warm up
  for (let r = 0; r < ROUNDS; r++) {
    let stored: unknown[] = []
    row.enc.push(await time(async () => (stored = await encrypt())))
    row.dec.push(await time(() => decrypt(stored)))
  }
  return row
}

const sequential = (fields: FieldEncryptor) => ({
  encrypt: async () => {
    const out = []
    for (const record of records) out.push(await fields.encryptRecord(record, { context }))
    return out
  },
  decrypt: async (stored: unknown[]) => {
    for (const s of stored) await fields.decryptRecord(s as object, { expectContext: context })
  },
})

const random3 = new FieldEncryptor({ envelope, schema: { ssn: 'random', email: 'random', 'profile.address': 'random' } })
const mixed3 = new FieldEncryptor({ envelope, indexKey, schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' } })
const payload = new TextEncoder().encode('x'.repeat(100))

const rows: Row[] = [
  await measure(
    'Envelope, 100 B message (baseline)',
    async () => {
      const out = []
      for (let i = 0; i < N; i++) out.push(await envelope.encrypt(payload, { context }))
      return out
    },
    async (stored) => {
      for (const m of stored) await envelope.decrypt(m as Uint8Array, { expectContext: context })
    },
  ),
  await measure('record, 3 random fields', sequential(random3).encrypt, sequential(random3).decrypt),
  await measure('record, 2 random + 1 deterministic', sequential(mixed3).encrypt, sequential(mixed3).decrypt),
  await measure(
    'encryptRecords/decryptRecords, 3 random, concurrency 8',
    () => random3.encryptRecords(records, { context }),
    (stored) => random3.decryptRecords(stored as object[], { expectContext: context }),
  ),
]

const blind: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  blind.push(
    await time(async () => {
      for (let i = 0; i < N; i++) await mixed3.blindIndex('email', records[i]!.email, { context })
    }),
  )
}

console.log(`field encryption, ${backend.name} backend, ${N} records x ${ROUNDS} rounds (medians)`)
const base = median(rows[0]!.enc) + median(rows[0]!.dec)
for (const row of rows) {
  const enc = median(row.enc)
  const dec = median(row.dec)
  const perRecord = ((enc + dec) / N) * 1000
  console.log(
    `${row.name.padEnd(56)} encrypt ${((enc / N) * 1000).toFixed(1).padStart(6)} µs  decrypt ${((dec / N) * 1000).toFixed(1).padStart(6)} µs  ` +
      `round trip ${Math.round((N / (enc + dec)) * 1000)
        .toString()
        .padStart(6)} records/s  (${((enc + dec) / base).toFixed(2)}x baseline, ${perRecord.toFixed(0)} µs)`,
  )
}
console.log(`${'blindIndex'.padEnd(56)} ${((median(blind) / N) * 1000).toFixed(1)} µs each, ${Math.round((N / median(blind)) * 1000)}/s`)
random3.close()
mixed3.close()
