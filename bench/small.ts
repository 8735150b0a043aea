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
import { Envelope, FieldEncryptor, KeyCache, LocalKeyring } from 'kms-envelope'
import { median, table } from './lib.js'

/** ops/s of one side of a pair, median over the rounds. */
export interface PairResult {
  readonly ours: number
  readonly bare: number
  readonly ratio: number
}

/** The six small paths, each ours against a reference. */
export interface SmallPaths {
  readonly cachedEncrypt100: PairResult
  readonly cachedDecrypt100: PairResult
  readonly localEncrypt1k: PairResult
  readonly localDecrypt1k: PairResult
  /** Records per second, encrypt then decrypt (against 3 seals then 3 opens per record, or the record's floor). */
  readonly records3: PairResult
  readonly records3Cached: PairResult
}

/** The paths against bare node:crypto, the format floors, and the paths against those floors. */
export interface SmallResult extends SmallPaths {
  /**
   * The format's floor for one 100-byte message with a known data key, in node:crypto calls
   * alone: the key schedule (HKDF-SHA-512: two HMACs), the header tag (a GCM of no plaintext)
   * and the one frame (a GCM seal), beside the bare seal. No implementation of this format on
   * node:crypto can beat this ratio; the cached rows are read against it.
   */
  readonly formatFloor100: PairResult
  /** The same floor for opening that message (two HMACs, the header tag checked, the frame opened), beside the bare open. */
  readonly formatFloorOpen100?: PairResult
  /**
   * The floors of the 1 KiB local-keyring rows: the local wrap (HKDF: two HMACs, and a GCM
   * seal of the 32-byte data key) or unwrap added to the message's own calls, beside the bare
   * seal and open. The local rows are read against these.
   */
  readonly localFloorSeal1k?: PairResult
  readonly localFloorOpen1k?: PairResult
  /**
   * The floor of a record with 3 random fields (FORMAT.md §13), encrypt then decrypt, beside
   * the bare 3 seals + 3 opens: per side the message keys (two HMACs) and header tag, the
   * record extract and tags key (two HMACs), one HMAC and one GCM per field and the list tag;
   * without a cache also the local wrap and unwrap.
   */
  readonly recordsFloor3?: PairResult
  readonly recordsFloor3Cached?: PairResult
  /**
   * Each path against its format floor directly, the two interleaved in one pair (`bare` is the
   * floor here). The rows above take ours and the floor against bare node:crypto in separate
   * pairs, and on this VM the bare rate moved by up to 20% from one pair to the next, so their
   * ratios compare less well than this one.
   */
  readonly ofFloor?: SmallPaths
  readonly rounds: number
}

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

/**
 * Alternates `ours` and `bare` for `rounds` rounds of `ms` each; medians and their ratio. The
 * side that goes first swaps every round: garbage one side leaves is collected during the
 * next window, so a fixed order would bill one side's GC to the other.
 */
async function pair(ours: () => unknown, bare: () => unknown, ms: number, rounds: number): Promise<PairResult> {
  await rate(ours, ms) // warm up both
  await rate(bare, ms)
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      a.push(await rate(ours, ms))
      b.push(await rate(bare, ms))
    } else {
      b.push(await rate(bare, ms))
      a.push(await rate(ours, ms))
    }
  }
  const o = median(a)
  const x = median(b)
  return { ours: o, bare: x, ratio: o / x }
}

/** HKDF-SHA-512 for one block (L <= 64) as its two HMACs: what the format's key schedules cost on node:crypto. */
function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Buffer {
  const prk = createHmac('sha512', salt).update(ikm).digest()
  return createHmac('sha512', prk).update(info).digest()
}

/** A GCM tag over `aad` alone (the header tag, a record's list tag). */
function gcmTag(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): Buffer {
  const t = createCipheriv('aes-256-gcm', key, nonce)
  t.setAAD(aad)
  t.final()
  return t.getAuthTag()
}

function checkTag(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, tag: Uint8Array): void {
  const t = createDecipheriv('aes-256-gcm', key, nonce)
  t.setAAD(aad)
  t.setAuthTag(tag)
  t.final()
}

function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, data: Uint8Array): [Buffer, Buffer] {
  const c = createCipheriv('aes-256-gcm', key, nonce)
  c.setAAD(aad)
  const body = c.update(data)
  c.final()
  return [body, c.getAuthTag()]
}

function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: [Buffer, Buffer]): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, nonce)
  d.setAAD(aad)
  d.setAuthTag(sealed[1])
  const out = d.update(sealed[0])
  d.final()
  return out
}

/** The node:crypto calls of one message with a known data key, sealing and opening (see {@link SmallResult.formatFloor100}). */
export function formatFloors(size: number) {
  const dataKey = randomBytes(32)
  const messageId = randomBytes(32)
  const info = randomBytes(23)
  const header = randomBytes(90)
  const data = randomBytes(size)
  const tagNonce = Buffer.alloc(12, 0xff)
  const nonce = Buffer.alloc(12)
  const aad = randomBytes(41)
  /** The head alone (key schedule, header tag): all a record's key field costs. */
  const sealHead = () => {
    const key = hkdf(dataKey, messageId, info).subarray(0, 32)
    gcmTag(key, tagNonce, header)
    return key
  }
  const seal = () => gcmSeal(sealHead(), nonce, aad, data)
  const key = hkdf(dataKey, messageId, info).subarray(0, 32)
  const headerTag = gcmTag(key, tagNonce, header)
  const sealed = gcmSeal(key, nonce, aad, data)
  const openHead = () => {
    const k = hkdf(dataKey, messageId, info).subarray(0, 32)
    checkTag(k, tagNonce, header, headerTag)
    return k
  }
  const open = () => gcmOpen(openHead(), nonce, aad, sealed)
  return { seal, open, sealHead, openHead }
}

/** The local keyring's wrap and unwrap of a data key (FORMAT.md §7): HKDF under a fresh salt, GCM of 32 bytes. */
export function localFloors() {
  const master = randomBytes(32)
  const salt = randomBytes(32)
  const info = randomBytes(18)
  const aad = randomBytes(40)
  const dataKey = randomBytes(32)
  const nonce = Buffer.alloc(12)
  const wrap = () => gcmSeal(hkdf(master, salt, info).subarray(0, 32), nonce, aad, dataKey)
  const wrapped = wrap()
  const unwrap = () => gcmOpen(hkdf(master, salt, info).subarray(0, 32), nonce, aad, wrapped)
  return { wrap, unwrap }
}

/** A record of `fields` random fields of `size` bytes, sealed then opened (FORMAT.md §13); `local` adds the local wrap and unwrap. */
export function recordFloor(fields: number, size: number, local: boolean): () => unknown {
  const message = formatFloors(0)
  const keyring = localFloors()
  const zero = Buffer.alloc(12)
  const salt = Buffer.alloc(64)
  const infos = Array.from({ length: fields }, () => randomBytes(20))
  const aads = Array.from({ length: fields }, () => randomBytes(14))
  const tagsInfo = randomBytes(20)
  const data = randomBytes(size)
  const contentKey = randomBytes(32)
  const expand = (prk: Buffer, info: Uint8Array) => createHmac('sha512', prk).update(info).digest().subarray(0, 32)
  const sealed: [Buffer, Buffer][] = []
  const side = (open: boolean) => {
    if (local) open ? keyring.unwrap() : keyring.wrap()
    open ? message.openHead() : message.sealHead()
    const prk = createHmac('sha512', salt).update(contentKey).digest()
    for (let f = 0; f < fields; f++) {
      const key = expand(prk, infos[f]!)
      if (open) gcmOpen(key, zero, aads[f]!, sealed[f]!)
      else sealed[f] = gcmSeal(key, zero, aads[f]!, data)
    }
    gcmTag(expand(prk, tagsInfo), zero, new Uint8Array(0))
  }
  return () => {
    side(false)
    side(true)
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
  const floors100 = formatFloors(100)
  const formatFloor100 = await pair(floors100.seal, bare100.seal, ms, rounds)
  const formatFloorOpen100 = await pair(floors100.open, bare100.open, ms, rounds)

  const localEnv = new Envelope({ keyring: LocalKeyring.generate() })
  const data1k = randomBytes(1024)
  const message1k = await localEnv.encrypt(data1k)
  const bare1k = bareGcm(1024)
  const localEncrypt1k = await pair(() => localEnv.encrypt(data1k), bare1k.seal, ms, rounds)
  const localDecrypt1k = await pair(() => localEnv.decrypt(message1k), bare1k.open, ms, rounds)
  const floors1k = formatFloors(1024)
  const local = localFloors()
  /** The 1 KiB local-keyring floors: the wrap (or unwrap), then the message. */
  const localSeal1k = () => {
    local.wrap()
    return floors1k.seal()
  }
  const localOpen1k = () => {
    local.unwrap()
    return floors1k.open()
  }
  const localFloorSeal1k = await pair(localSeal1k, bare1k.seal, ms, rounds)
  const localFloorOpen1k = await pair(localOpen1k, bare1k.open, ms, rounds)

  const bare24 = bareGcm(24)
  const bareRecord = () => {
    for (let f = 0; f < 3; f++) bare24.seal()
    for (let f = 0; f < 3; f++) bare24.open()
  }
  /** Round trips of records with 3 random fields through `envelope`, against `against` (default: 3 bare seals and opens). */
  const records = async (envelope: Envelope, against: () => unknown = bareRecord): Promise<PairResult> => {
    const fields = new FieldEncryptor({ envelope, schema: { ssn: 'random', email: 'random', 'profile.address': 'random' } })
    let i = 0
    const record = () => ({ id: i++, ssn: '123-45-6789', email: `user${i}@example.com`, profile: { address: `${i} Main St, Springfield`, name: 'x' } })
    try {
      const roundTrip = async () => {
        const stored = await fields.encryptRecord(record(), { context })
        await fields.decryptRecord(stored, { expectContext: context })
      }
      return await pair(roundTrip, against, ms, rounds)
    } finally {
      fields.close()
    }
  }
  const uncachedRecords = () => new Envelope({ keyring: LocalKeyring.generate() })
  const cachedRecords = () => new Envelope({ keyring: LocalKeyring.generate(), cache: new KeyCache({ maxAge: 10 * 60_000 }) })
  const records3 = await records(uncachedRecords())
  const records3Cached = await records(cachedRecords())
  const recordsFloor3 = await pair(recordFloor(3, 24, true), bareRecord, ms, rounds)
  const recordsFloor3Cached = await pair(recordFloor(3, 24, false), bareRecord, ms, rounds)

  const ofFloor = {
    cachedEncrypt100: await pair(() => cachedEnv.encrypt(data100, { context }), floors100.seal, ms, rounds),
    cachedDecrypt100: await pair(() => cachedEnv.decrypt(message100), floors100.open, ms, rounds),
    localEncrypt1k: await pair(() => localEnv.encrypt(data1k), localSeal1k, ms, rounds),
    localDecrypt1k: await pair(() => localEnv.decrypt(message1k), localOpen1k, ms, rounds),
    records3: await records(uncachedRecords(), recordFloor(3, 24, true)),
    records3Cached: await records(cachedRecords(), recordFloor(3, 24, false)),
  }
  return {
    cachedEncrypt100,
    cachedDecrypt100,
    localEncrypt1k,
    localDecrypt1k,
    records3,
    records3Cached,
    formatFloor100,
    formatFloorOpen100,
    localFloorSeal1k,
    localFloorOpen1k,
    recordsFloor3,
    recordsFloor3Cached,
    ofFloor,
    rounds,
  }
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
  const floor = (name: string, p: PairResult | undefined, unit: string) => (p === undefined ? [] : [row(name, p, unit, 'ceiling')])
  return [
    row('100 B cached encrypt', r.cachedEncrypt100, 'ops/s', '>= 0.5'),
    row('100 B cached decrypt', r.cachedDecrypt100, 'ops/s', '>= 0.5'),
    row('format floor, 100 B seal (HKDF + header tag + 1 frame)', r.formatFloor100, 'ops/s', 'ceiling'),
    ...floor('format floor, 100 B open (HKDF + header tag + 1 frame)', r.formatFloorOpen100, 'ops/s'),
    row('1 KiB local keyring encrypt', r.localEncrypt1k, 'ops/s', '>= 0.35'),
    row('1 KiB local keyring decrypt', r.localDecrypt1k, 'ops/s', '>= 0.35'),
    ...floor('format floor, 1 KiB local seal (wrap + message)', r.localFloorSeal1k, 'ops/s'),
    ...floor('format floor, 1 KiB local open (unwrap + message)', r.localFloorOpen1k, 'ops/s'),
    row('record, 3 random fields, round trip', r.records3, 'rec/s', '>= 0.3'),
    row('record, 3 random fields, cached key', r.records3Cached, 'rec/s', '>= 0.3'),
    ...floor('format floor, record of 3 fields (local wrap)', r.recordsFloor3, 'rec/s'),
    ...floor('format floor, record of 3 fields (cached key)', r.recordsFloor3Cached, 'rec/s'),
  ]
}

/** Rows of each path against its format floor, interleaved in one pair: name, ours, floor, share. */
export function ofFloorRows(r: SmallResult): string[][] {
  if (r.ofFloor === undefined) return []
  const f = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 })
  const o = r.ofFloor
  return (
    [
      ['100 B cached encrypt', o.cachedEncrypt100, 'ops/s'],
      ['100 B cached decrypt', o.cachedDecrypt100, 'ops/s'],
      ['1 KiB local keyring encrypt', o.localEncrypt1k, 'ops/s'],
      ['1 KiB local keyring decrypt', o.localDecrypt1k, 'ops/s'],
      ['record, 3 random fields, round trip', o.records3, 'rec/s'],
      ['record, 3 random fields, cached key', o.records3Cached, 'rec/s'],
    ] as const
  ).map(([name, p, unit]) => [name, `${f(p.ours)} ${unit}`, `${f(p.bare)} ${unit}`, p.ratio.toFixed(2)])
}

export function printSmall(r: SmallResult): void {
  console.log(`\nSmall payloads beside node:crypto, interleaved, median of ${r.rounds} rounds (records: against 3 seals + 3 opens of 24 B each)`)
  table(['path', 'kms-envelope', 'node:crypto floor', 'ratio', 'target'], smallRows(r))
  const rows = ofFloorRows(r)
  if (rows.length > 0) {
    console.log(`\nThe same paths against their format floor, the two interleaved in one pair, median of ${r.rounds} rounds`)
    table(['path', 'kms-envelope', 'format floor', 'share of the floor'], rows)
  }
}

if (import.meta.filename === process.argv[1]) printSmall(await benchSmall(process.env.KMSE_BENCH_QUICK === '1'))
