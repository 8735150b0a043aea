/**
 * The small-payload targets of issue 20, each measured beside its node:crypto floor in the same
 * run, interleaved (ours, floor, ours, floor ...) so load from other processes hits both sides
 * alike: 100-byte messages with a cached data key, 1 KiB buffers with the local keyring and no
 * cache, and FieldEncryptor records with 3 random fields (with and without a cache) beside the
 * same number of bare seals and opens (3 per record: the AEAD work a record cannot avoid).
 *
 *   npm run bench:small
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { Envelope, FieldEncryptor, KeyCache, LocalKeyring } from '../src/index.js'
import { table } from './lib.js'

/** ops/s of one side of a pair, median over the rounds. */
export interface PairResult {
  readonly ours: number
  readonly bare: number
  readonly ratio: number
}

export interface SmallResult {
  readonly cachedEncrypt100: PairResult
  readonly cachedDecrypt100: PairResult
  readonly localEncrypt1k: PairResult
  readonly localDecrypt1k: PairResult
  /** Records per second, encrypt then decrypt, against 3 seals then 3 opens per record. */
  readonly records3: PairResult
  readonly records3Cached: PairResult
  /**
   * The format's floor for one 100-byte message with a known data key, in node:crypto calls
   * alone: the key schedule (HKDF-SHA-512: two HMACs), the header tag (a GCM of no plaintext)
   * and the one frame (a GCM seal), beside the bare seal. No implementation of this format on
   * node:crypto can beat this ratio; the cached rows are read against it.
   */
  readonly formatFloor100: PairResult
  readonly rounds: number
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Ops per second of `fn` run for at least `ms` (awaiting only when it returns a promise). */
async function rate(fn: () => unknown, ms: number): Promise<number> {
  const start = performance.now()
  let n = 0
  let elapsed = 0
  do {
    for (let i = 0; i < 16; i++) {
      const r = fn()
      if (r instanceof Promise) await r
    }
    n += 16
    elapsed = performance.now() - start
  } while (elapsed < ms)
  return (n / elapsed) * 1000
}

/** Alternates `ours` and `bare` for `rounds` rounds of `ms` each; medians and their ratio. */
async function pair(ours: () => unknown, bare: () => unknown, ms: number, rounds: number): Promise<PairResult> {
  await rate(ours, ms) // warm up both
  await rate(bare, ms)
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < rounds; r++) {
    a.push(await rate(ours, ms))
    b.push(await rate(bare, ms))
  }
  const o = median(a)
  const x = median(b)
  return { ours: o, bare: x, ratio: o / x }
}

/** The node:crypto calls a cached 100-byte encrypt cannot avoid (see {@link SmallResult.formatFloor100}). */
function formatFloor(size: number): () => unknown {
  const dataKey = randomBytes(32)
  const messageId = randomBytes(32)
  const info = randomBytes(23)
  const header = randomBytes(90)
  const data = randomBytes(size)
  const nonce = Buffer.alloc(12)
  return () => {
    const prk = createHmac('sha512', messageId).update(dataKey).digest()
    const okm = createHmac('sha512', prk).update(info).digest()
    const key = okm.subarray(0, 32)
    const t = createCipheriv('aes-256-gcm', key, nonce.fill(0xff))
    t.setAAD(header)
    t.final()
    t.getAuthTag()
    const c = createCipheriv('aes-256-gcm', key, nonce.fill(0))
    c.setAAD(messageId)
    const body = c.update(data)
    c.final()
    return [body, c.getAuthTag()]
  }
}

function bareGcm(size: number) {
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const data = randomBytes(size)
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
  return { seal, open }
}

/** Runs every small-payload pair; `quick` only checks that it all still works. */
export async function benchSmall(quick: boolean): Promise<SmallResult> {
  const rounds = quick ? 1 : 7
  const ms = quick ? 5 : 200
  const context = { tenant: 'acme' }

  const cache = new KeyCache({ maxEntries: 1000, maxAge: 10 * 60_000 })
  const cachedEnv = new Envelope({ keyring: LocalKeyring.generate(), cache })
  const data100 = randomBytes(100)
  const message100 = await cachedEnv.encrypt(data100, { context })
  const bare100 = bareGcm(100)
  const cachedEncrypt100 = await pair(() => cachedEnv.encrypt(data100, { context }), bare100.seal, ms, rounds)
  const cachedDecrypt100 = await pair(() => cachedEnv.decrypt(message100), bare100.open, ms, rounds)
  const formatFloor100 = await pair(formatFloor(100), bare100.seal, ms, rounds)

  const localEnv = new Envelope({ keyring: LocalKeyring.generate() })
  const data1k = randomBytes(1024)
  const message1k = await localEnv.encrypt(data1k)
  const bare1k = bareGcm(1024)
  const localEncrypt1k = await pair(() => localEnv.encrypt(data1k), bare1k.seal, ms, rounds)
  const localDecrypt1k = await pair(() => localEnv.decrypt(message1k), bare1k.open, ms, rounds)

  const records = async (envelope: Envelope): Promise<PairResult> => {
    const fields = new FieldEncryptor({ envelope, schema: { ssn: 'random', email: 'random', 'profile.address': 'random' } })
    let i = 0
    const record = () => ({ id: i++, ssn: '123-45-6789', email: `user${i}@example.com`, profile: { address: `${i} Main St, Springfield`, name: 'x' } })
    const bare = bareGcm(24)
    try {
      const roundTrip = async () => {
        const stored = await fields.encryptRecord(record(), { context })
        await fields.decryptRecord(stored, { expectContext: context })
      }
      const bareRecord = () => {
        for (let f = 0; f < 3; f++) bare.seal()
        for (let f = 0; f < 3; f++) bare.open()
      }
      return await pair(roundTrip, bareRecord, ms, rounds)
    } finally {
      fields.close()
    }
  }
  const records3 = await records(new Envelope({ keyring: LocalKeyring.generate() }))
  const records3Cached = await records(new Envelope({ keyring: LocalKeyring.generate(), cache: new KeyCache({ maxAge: 10 * 60_000 }) }))
  return { cachedEncrypt100, cachedDecrypt100, localEncrypt1k, localDecrypt1k, records3, records3Cached, formatFloor100, rounds }
}

/** Rows of the small-payload targets: name, ours, floor, ratio, target. */
export function smallRows(r: SmallResult): string[][] {
  const f = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 })
  const row = (name: string, p: PairResult, unit: string, target: string) => [
    name,
    `${f(p.ours)} ${unit}`,
    `${f(p.bare)} ${unit}`,
    `${p.ratio.toFixed(2)}`,
    target,
  ]
  return [
    row('100 B cached encrypt', r.cachedEncrypt100, 'ops/s', '>= 0.5'),
    row('100 B cached decrypt', r.cachedDecrypt100, 'ops/s', '>= 0.5'),
    row('format floor, 100 B (HKDF + header tag + 1 frame)', r.formatFloor100, 'ops/s', 'ceiling'),
    row('1 KiB local keyring encrypt', r.localEncrypt1k, 'ops/s', '>= 0.35'),
    row('1 KiB local keyring decrypt', r.localDecrypt1k, 'ops/s', '>= 0.35'),
    row('record, 3 random fields, round trip', r.records3, 'rec/s', '>= 0.3'),
    row('record, 3 random fields, cached key', r.records3Cached, 'rec/s', '>= 0.3'),
  ]
}

export function printSmall(r: SmallResult): void {
  console.log(`\nSmall payloads beside node:crypto, interleaved, median of ${r.rounds} rounds (records: against 3 seals + 3 opens of 24 B each)`)
  table(['path', 'kms-envelope', 'node:crypto floor', 'ratio', 'target'], smallRows(r))
}

if (import.meta.filename === process.argv[1]) printSmall(await benchSmall(process.env.KMSE_BENCH_QUICK === '1'))
