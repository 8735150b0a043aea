/**
 * Both cores for big data (issue 20): a 64 MiB buffer encrypted and decrypted with
 * `parallelism: 1` and `'auto'`, beside node:crypto AES-256-GCM fed in 64 KiB updates into an
 * output allocated once and into a fresh output per call (the issue's two references), plus a
 * 1 GiB file both ways in a fresh process each (seconds and peak RSS, VmHWM). Everything is
 * measured side by side in one run; on a shared 2-core machine the figures are noisy: read the
 * ratios, and the medians.
 *
 *   npm run bench:parallel          (KMSE_BENCH_QUICK=1: 8 MiB buffer, 64 MiB file, 1 run)
 */
import { spawnSync } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
// The package as an app loads it (the Node build). The crossover rows call internal sealers
// (./crossover.ts), loaded only in the parent: a file row's child loads this build alone.
import { closeWorkerPools, Envelope, LocalKeyring } from 'kms-envelope'
import { decryptFile, encryptFile } from 'kms-envelope/node'
import { ONE_WORKER_MIN_BYTES } from '../src/crypto/parallel-protocol.js'
import { mbps, measure, measureInterleaved, median, roundsTakingTurns } from './lib.js'

const SELF = fileURLToPath(import.meta.url)
const MIB = 1024 * 1024
const CHUNK = 64 * 1024
const KEY = new Uint8Array(32).fill(3)

/** One row: MB/s both ways. */
export interface ParallelRow {
  readonly name: string
  readonly encryptMBps: number
  readonly decryptMBps: number
}

/** One file operation in a fresh process. */
export interface ParallelFileRow {
  readonly name: string
  readonly MBps: number
  readonly peakRssMiB: number
}

/** Sealing one buffer of `bytes` on one thread and on two, interleaved: where threads start to win. */
export interface CrossoverRow {
  readonly bytes: number
  readonly singleMBps: number
  readonly twoThreadsMBps: number
}

/** What {@link benchParallel} measured. */
export interface ParallelResult {
  readonly cores: number
  readonly bufferBytes: number
  readonly buffers: readonly ParallelRow[]
  /**
   * MB/s of first-touching a fresh buffer of `bufferBytes` (`new Uint8Array(n).fill(1)`): the page
   * faults a new result costs whoever writes it first. With the sealing itself, the floor of one thread.
   */
  readonly firstTouchMBps: number
  /** What two threads of bare node:crypto GCM do against one on this machine (see {@link gcmScaling}). */
  readonly gcmScaling: GcmScaling
  readonly crossover: readonly CrossoverRow[]
  /** The buffer rows again in fresh processes, without and with glibc's huge-page tunable. */
  readonly hugePages: HugePageRows
  /** The buffer rows in a fresh process holding a large JS heap, like a long-running server ({@link largeHeapRows}). */
  readonly largeHeap: { readonly heapMiB: number; readonly buffers: readonly ParallelRow[] }
  readonly fileBytes: number
  readonly files: readonly ParallelFileRow[]
}

/** node:crypto GCM over `data` in 64 KiB updates, written into `out` (allocated once) or a fresh output. */
function rawGcm(decrypt: boolean, key: Uint8Array, data: Uint8Array, out: Uint8Array | undefined, tag?: Buffer): Uint8Array {
  const iv = new Uint8Array(12)
  const c = decrypt ? createDecipheriv('aes-256-gcm', key, iv).setAuthTag(tag!) : createCipheriv('aes-256-gcm', key, iv)
  const target = out ?? new Uint8Array(data.length)
  for (let at = 0; at < data.length; at += CHUNK) target.set(c.update(data.subarray(at, at + CHUNK)), at)
  c.final()
  return target
}

/** Runs this file again in a fresh Node process with `args` and returns what it printed, parsed as JSON. */
function childJson<T>(args: readonly string[], env?: NodeJS.ProcessEnv): T {
  const child = spawnSync(process.execPath, [SELF, ...args], { encoding: 'utf8', env })
  if (child.status !== 0) throw new Error(`bench child failed: ${child.stderr}`)
  return JSON.parse(child.stdout) as T
}

/** How a child process measures its rows (a smoke run in quick mode). */
const childRuns = (quick: boolean): { runs: number; minMs: number } => (quick ? { runs: 1, minMs: 5 } : { runs: 5, minMs: 300 })

/** Bare node:crypto GCM over `bufferBytes`, output allocated once: one worker doing both halves, and two workers one half each. */
export interface GcmScaling {
  readonly oneThreadMBps: number
  readonly twoThreadsMBps: number
}

/**
 * The ceiling of any split over threads here: node:crypto GCM alone (no page faults, no copies
 * between threads, nothing of ours), each half of the buffer sealed by a worker into an output
 * it allocated once, one worker doing both halves against two doing one each, interleaved. On
 * a VM whose two vCPUs share a physical core or a busy host, the second thread adds little.
 */
async function gcmScaling(bufferBytes: number, runs: { runs: number; minMs: number }): Promise<GcmScaling> {
  const half = Math.floor(bufferBytes / 2 / CHUNK) * CHUNK
  const code = `
const { parentPort, workerData } = require('node:worker_threads')
const { createCipheriv, randomBytes } = require('node:crypto')
const data = randomBytes(workerData), out = new Uint8Array(workerData), key = randomBytes(32)
parentPort.on('message', () => {
  const c = createCipheriv('aes-256-gcm', key, new Uint8Array(12))
  for (let at = 0; at < data.length; at += ${CHUNK}) out.set(c.update(data.subarray(at, at + ${CHUNK})), at)
  c.final()
  parentPort.postMessage(0)
})`
  const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: half }))
  try {
    const seal = (w: Worker) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = () => {
          off()
          resolve()
        }
        const onError = (error: Error) => {
          off()
          reject(error)
        }
        const off = () => w.off('message', onMessage).off('error', onError)
        w.on('message', onMessage).on('error', onError)
        w.postMessage(0)
      })
    const [a, b] = workers as [Worker, Worker]
    const [one, two] = await measureInterleaved(
      [
        async () => {
          await seal(a)
          await seal(a)
        },
        () => Promise.all([seal(a), seal(b)]),
      ],
      runs,
    )
    return { oneThreadMBps: mbps(2 * half, one!), twoThreadsMBps: mbps(2 * half, two!) }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/**
 * What two threads could reach here, as a share of the output-allocated-once reference, both
 * ways: one thread into a fresh output (page faults, AES and node:crypto's copy: the work of a
 * buffer), times what a second thread adds to bare GCM ({@link GcmScaling}). An estimate from
 * two rows measured in the same run; undefined without the rows.
 */
export function twoThreadCeiling(r: ParallelResult): { encrypt: number; decrypt: number; scaling: number } | undefined {
  const [once, fresh] = r.buffers
  if (once === undefined || fresh === undefined) return undefined
  const scaling = r.gcmScaling.twoThreadsMBps / r.gcmScaling.oneThreadMBps
  return { encrypt: (fresh.encryptMBps * scaling) / once.encryptMBps, decrypt: (fresh.decryptMBps * scaling) / once.decryptMBps, scaling }
}

/**
 * Runs the buffer rows, then the file rows.
 * @param quick - a smoke run: small sizes, one run each
 */
export async function benchParallel(quick: boolean): Promise<ParallelResult> {
  const bufferBytes = (quick ? 8 : 64) * MIB
  const fileBytes = (quick ? 64 : 1024) * MIB
  const runs = quick ? { runs: 1, minMs: 5 } : { runs: 7, minMs: 300 }
  const { buffers, firstTouchMBps } = await bufferRows(bufferBytes, runs)
  const scaling = await gcmScaling(bufferBytes, runs)
  const crossover = await (await import('./crossover.js')).crossoverRows(quick, runs)
  await closeWorkerPools()
  const hugePages = hugePageRows(bufferBytes, quick)
  const largeHeap = largeHeapRows(bufferBytes, quick)
  return {
    cores: availableParallelism(),
    bufferBytes,
    buffers,
    firstTouchMBps,
    gcmScaling: scaling,
    crossover,
    hugePages,
    largeHeap,
    fileBytes,
    files: await fileRows(fileBytes, quick ? 1 : 3),
  }
}

/** The buffer rows and the first-touch row, every row interleaved with the others. */
async function bufferRows(bufferBytes: number, runs: { runs: number; minMs: number }): Promise<{ buffers: ParallelRow[]; firstTouchMBps: number }> {
  const { names, encrypt, decrypt } = await bufferFns(bufferBytes)
  // Every row interleaved with the others, so load from other processes falls on all alike.
  const enc = await measureInterleaved([...encrypt, () => new Uint8Array(bufferBytes).fill(1)], runs)
  const dec = await measureInterleaved(decrypt, runs)
  const buffers = names.map((name, i) => ({ name, encryptMBps: mbps(bufferBytes, enc[i]!), decryptMBps: mbps(bufferBytes, dec[i]!) }))
  return { buffers, firstTouchMBps: mbps(bufferBytes, enc[4]!) }
}

/** The buffer rows' names and their encrypt and decrypt calls, set up and warmed (the pool started). */
async function bufferFns(bufferBytes: number): Promise<{ names: string[]; encrypt: (() => unknown)[]; decrypt: (() => unknown)[] }> {
  const data = randomBytes(bufferBytes)
  const keyring = new LocalKeyring({ keyId: 'bench', key: KEY })
  const one = new Envelope({ keyring })
  const auto = new Envelope({ keyring, parallelism: 'auto' })
  const message = await one.encrypt(data)
  await auto.decrypt(await auto.encrypt(data)) // the pool starts here, not in the timing
  const key = randomBytes(32)
  const out = new Uint8Array(bufferBytes)
  const sealer = createCipheriv('aes-256-gcm', key, new Uint8Array(12))
  const sealed = Buffer.concat([sealer.update(data), sealer.final()])
  const tag = sealer.getAuthTag()
  return {
    names: [
      'node:crypto GCM, 64 KiB updates, output allocated once',
      'node:crypto GCM, 64 KiB updates, fresh output',
      'Envelope, parallelism 1',
      "Envelope, parallelism 'auto'",
    ],
    encrypt: [() => rawGcm(false, key, data, out), () => rawGcm(false, key, data, undefined), () => one.encrypt(data), () => auto.encrypt(data)],
    decrypt: [
      () => rawGcm(true, key, sealed, out, tag),
      () => rawGcm(true, key, sealed, undefined, tag),
      () => one.decrypt(message),
      () => auto.decrypt(message),
    ],
  }
}

/** What glibc's transparent-huge-page tunable changes, or why it was not measured. */
export type HugePageRows =
  | { readonly skipped: string }
  | { readonly default: readonly ParallelRow[]; readonly hugePages: readonly ParallelRow[]; readonly firstTouchMBps: readonly [number, number] }

const HUGE_PAGES = 'glibc.malloc.hugetlb=1'

/**
 * The buffer rows in fresh processes, alternating without and with GLIBC_TUNABLES=
 * glibc.malloc.hugetlb=1 (glibc 2.35+), which has malloc ask for transparent huge pages on
 * the memory it maps: a fresh 64 MiB result then faults in 2 MiB pages instead of 4 KiB ones.
 * A deployment setting, not something a library can set; these rows show what it is worth.
 */
function hugePageRows(bytes: number, quick: boolean): HugePageRows {
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime
  if (process.platform !== 'linux' || glibc === undefined) return { skipped: 'not Linux with glibc' }
  let thp = ''
  try {
    thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')
  } catch {}
  if (!/\[(always|madvise)\]/.test(thp)) return { skipped: `transparent huge pages off (${thp.trim() || 'unknown'})` }
  const runs: Record<string, { buffers: ParallelRow[]; firstTouchMBps: number }[]> = { default: [], huge: [] }
  for (let round = 0; round < (quick ? 1 : 2); round++) {
    for (const mode of ['default', 'huge'] as const) {
      const env = { ...process.env, GLIBC_TUNABLES: mode === 'huge' ? HUGE_PAGES : '' }
      runs[mode]!.push(childJson<{ buffers: ParallelRow[]; firstTouchMBps: number }>(['--buffers-child', String(bytes), quick ? '1' : '0'], env))
    }
  }
  const merge = (all: { buffers: ParallelRow[] }[]): ParallelRow[] =>
    all[0]!.buffers.map((row, i) => ({
      name: row.name,
      encryptMBps: median(all.map((r) => r.buffers[i]!.encryptMBps)),
      decryptMBps: median(all.map((r) => r.buffers[i]!.decryptMBps)),
    }))
  return {
    default: merge(runs.default!),
    hugePages: merge(runs.huge!),
    firstTouchMBps: [median(runs.default!.map((r) => r.firstTouchMBps)), median(runs.huge!.map((r) => r.firstTouchMBps))],
  }
}

/** Objects kept alive in the large-heap child: about 400 MiB of heap. */
const HEAP_OBJECTS = 3_000_000

/**
 * The buffer rows in a fresh process that first fills its heap with small live objects, as a
 * server's caches and sessions do. A fresh result and node:crypto's buffer per frame then
 * push V8 past its external-memory limit on every call, and each call pays a full
 * mark-compact of the whole heap on the calling thread. `'auto'` pays it too (its calling
 * thread still takes node:crypto's buffer per frame and the transferred result): 232 / 216
 * MB/s against 222 / 227 on one thread with 405 MiB of heap here.
 */
function largeHeapRows(bytes: number, quick: boolean): { heapMiB: number; buffers: ParallelRow[] } {
  // A process per row: interleaved, the collection one row's call starts is paid by the next row.
  const rows = [0, 1, 2, 3].map((row) =>
    childJson<{ heapMiB: number; row: ParallelRow }>([
      '--heap-row-child',
      String(bytes),
      quick ? '1' : '0',
      String(quick ? 100_000 : HEAP_OBJECTS),
      String(row),
    ]),
  )
  return { heapMiB: median(rows.map((r) => r.heapMiB)), buffers: rows.map((r) => r.row) }
}

/** One buffer row, encrypt then decrypt, in a process that first keeps `objects` small objects alive. */
async function heapRowChild(bytes: number, quick: boolean, objects: number, row: number): Promise<void> {
  const kept: unknown[] = []
  for (let i = 0; i < objects; i++) kept.push({ i, s: String(i), a: [i] })
  const { names, encrypt, decrypt } = await bufferFns(bytes)
  const enc = await measure(encrypt[row]!, childRuns(quick))
  const dec = await measure(decrypt[row]!, childRuns(quick))
  await closeWorkerPools()
  const heapMiB = process.memoryUsage().heapUsed / MIB
  process.stdout.write(JSON.stringify({ heapMiB, kept: kept.length, row: { name: names[row], encryptMBps: mbps(bytes, enc), decryptMBps: mbps(bytes, dec) } }))
}

async function fileRows(bytes: number, rounds: number): Promise<ParallelFileRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'kmse-bench-par-'))
  try {
    const src = join(dir, 'input')
    const handle = await open(src, 'w')
    const block = randomBytes(4 * MIB)
    for (let at = 0; at < bytes; at += block.length) await handle.write(block, 0, Math.min(block.length, bytes - at))
    // On disk before the first row: its writeback would otherwise slow whichever row runs first.
    await handle.sync()
    await handle.close()
    // One unit per parallelism, its decryption right after its encryption.
    const units = ['1', 'auto'].map((parallelism) => (['encrypt', 'decrypt'] as const).map((op) => ({ op, parallelism })))
    const ops = units.flat()
    // The rows take turns for `rounds` rounds, medians kept: one run per row once read the same
    // code (two cores: 'auto' is one thread for files) at 196 and 759 MB/s.
    const runs = await roundsTakingTurns(units, rounds, async ({ op, parallelism }) => {
      const [from, to] = op === 'encrypt' ? [src, join(dir, `m${parallelism}`)] : [join(dir, `m${parallelism}`), join(dir, `out${parallelism}`)]
      await rm(to, { force: true }) // encryptFile and decryptFile never replace a file
      return childJson<{ seconds: number; rss: number }>(['--child', op, from, to, parallelism])
    })
    for (const parallelism of ['1', 'auto']) {
      const [a, b] = await Promise.all([readFile(src), readFile(join(dir, `out${parallelism}`))])
      if (!a.equals(b)) throw new Error('decryptFile output differs from the input')
    }
    return ops.map(({ op, parallelism }, i) => ({
      name: `${op}File, parallelism ${parallelism}`,
      MBps: bytes / median(runs[i]!.map((r) => r.seconds)) / 1e6,
      peakRssMiB: median(runs[i]!.map((r) => r.rss)),
    }))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Peak RSS of this process image in MiB (VmHWM; ru_maxrss would include the parent's at fork). */
function peakRssMiB(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const at = status.indexOf('VmHWM:')
    if (at >= 0) return Number.parseInt(status.slice(at + 6), 10) / 1024
  } catch {}
  return process.resourceUsage().maxRSS / 1024
}

async function child(op: string, from: string, to: string, parallelism: string): Promise<void> {
  const envelope = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench', key: KEY }), parallelism: parallelism === 'auto' ? 'auto' : Number(parallelism) })
  const start = performance.now()
  if (op === 'encrypt') await encryptFile(from, to, { envelope })
  else await decryptFile(from, to, { envelope })
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - start) / 1000, rss: peakRssMiB() }))
}

/**
 * Prints what {@link benchParallel} measured, with the ratios the issue asks for.
 * @param r - the result
 */
export function printParallel(r: ParallelResult): void {
  console.log(`\nBoth cores (${r.cores} available; shared machine: noisy), ${r.bufferBytes / MIB} MiB buffer, MB/s, median`)
  console.log('  path                                                  encrypt  decrypt')
  for (const b of r.buffers) console.log(`  ${b.name.padEnd(52)} ${b.encryptMBps.toFixed(0).padStart(7)}  ${b.decryptMBps.toFixed(0).padStart(7)}`)
  const [once, fresh, single, auto] = r.buffers
  if (once && fresh && single && auto) {
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}`
    console.log(
      `  'auto' vs output-allocated-once: encrypt ${ratio(auto.encryptMBps, once.encryptMBps)}, decrypt ${ratio(auto.decryptMBps, once.decryptMBps)} (target >= 0.8);` +
        ` vs fresh output: ${ratio(auto.encryptMBps, fresh.encryptMBps)} / ${ratio(auto.decryptMBps, fresh.decryptMBps)};` +
        ` vs parallelism 1: ${ratio(auto.encryptMBps, single.encryptMBps)} / ${ratio(auto.decryptMBps, single.decryptMBps)}`,
    )
  }
  console.log(
    `  first touch of a fresh ${r.bufferBytes / MIB} MiB buffer (its page faults): ${r.firstTouchMBps.toFixed(0)} MB/s;` +
      ` one thread's floor, faults then sealing: ${(1 / (1 / r.firstTouchMBps + 1 / (once?.encryptMBps ?? Number.NaN))).toFixed(0)} MB/s;` +
      ` two threads sharing both perfectly: ${(2 / (1 / r.firstTouchMBps + 1 / (once?.encryptMBps ?? Number.NaN))).toFixed(0)} MB/s`,
  )
  const g = r.gcmScaling
  console.log(
    `  bare node:crypto GCM in workers, output allocated once: one thread ${g.oneThreadMBps.toFixed(0)} MB/s, two threads ${g.twoThreadsMBps.toFixed(0)} MB/s` +
      ` (${(g.twoThreadsMBps / g.oneThreadMBps).toFixed(2)}x: the most any split over two threads can gain here)`,
  )
  const ceiling = twoThreadCeiling(r)
  if (ceiling !== undefined && once && auto) {
    console.log(
      `  so two threads reach at most about the fresh output times ${ceiling.scaling.toFixed(2)}: ${(ceiling.encrypt * once.encryptMBps).toFixed(0)} / ${(ceiling.decrypt * once.decryptMBps).toFixed(0)} MB/s,` +
        ` ${ceiling.encrypt.toFixed(2)} / ${ceiling.decrypt.toFixed(2)} of output-allocated-once; 'auto' is at ${(auto.encryptMBps / (ceiling.encrypt * once.encryptMBps)).toFixed(2)} / ${(auto.decryptMBps / (ceiling.decrypt * once.decryptMBps)).toFixed(2)} of that`,
    )
  }
  console.log(
    `  one thread against two, sealing a buffer back to back (MB/s, interleaved): where one worker starts to win (an Envelope uses it from ${ONE_WORKER_MIN_BYTES / MIB} MiB)`,
  )
  for (const c of r.crossover) {
    console.log(
      `  ${`${c.bytes / MIB} MiB`.padEnd(8)} ${c.singleMBps.toFixed(0).padStart(6)}  ${c.twoThreadsMBps.toFixed(0).padStart(6)}  ${(c.twoThreadsMBps / c.singleMBps).toFixed(2)}x`,
    )
  }
  const h = r.hugePages
  if ('skipped' in h) console.log(`  GLIBC_TUNABLES=${HUGE_PAGES}: not measured (${h.skipped})`)
  else {
    console.log(`  fresh processes, alternating: without / with GLIBC_TUNABLES=${HUGE_PAGES} (malloc asks for transparent huge pages)`)
    h.default.forEach((d, i) => {
      const g = h.hugePages[i]!
      console.log(
        `  ${d.name.padEnd(52)} ${d.encryptMBps.toFixed(0).padStart(7)} / ${g.encryptMBps.toFixed(0).padEnd(6)} ${d.decryptMBps.toFixed(0).padStart(7)} / ${g.decryptMBps.toFixed(0)}`,
      )
    })
    const once = h.hugePages[0]!
    const auto = h.hugePages[3]!
    console.log(
      `  first touch ${h.firstTouchMBps[0].toFixed(0)} / ${h.firstTouchMBps[1].toFixed(0)} MB/s; with huge pages 'auto' vs output-allocated-once: ${(auto.encryptMBps / once.encryptMBps).toFixed(2)} / ${(auto.decryptMBps / once.decryptMBps).toFixed(2)}`,
    )
  }
  const big = r.largeHeap
  console.log(`  a fresh process holding ${big.heapMiB.toFixed(0)} MiB of live JS heap (a long-running server), the same rows`)
  for (const b of big.buffers) console.log(`  ${b.name.padEnd(52)} ${b.encryptMBps.toFixed(0).padStart(7)}  ${b.decryptMBps.toFixed(0).padStart(7)}`)
  console.log(`  ${r.fileBytes / MIB} MiB file, fresh process each, rows taking turns, medians (target: peak RSS < 64 MiB)`)
  for (const f of r.files) console.log(`  ${f.name.padEnd(52)} ${f.MBps.toFixed(0).padStart(7)} MB/s  peak RSS ${f.peakRssMiB.toFixed(1)} MiB`)
}

if (process.argv[2] === '--buffers-child') {
  const quick = process.argv[4] === '1'
  const rows = await bufferRows(Number(process.argv[3]), childRuns(quick))
  await closeWorkerPools()
  process.stdout.write(JSON.stringify(rows))
} else if (process.argv[2] === '--heap-row-child') {
  const [bytes, quick, objects, row] = process.argv.slice(3).map(Number) as [number, number, number, number]
  await heapRowChild(bytes, quick === 1, objects, row)
} else if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6]!)
} else if (process.argv[1] === SELF) {
  printParallel(await benchParallel(process.env.KMSE_BENCH_QUICK === '1'))
}
