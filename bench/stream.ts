/**
 * Streaming benchmark: a 1 GiB file through encryptFile and decryptFile, each in a fresh
 * child process so its peak RSS is its own, next to a plain copy with no crypto (the file
 * system's floor) and raw node:crypto AES-256-GCM streaming (fs streams, one GCM over the
 * whole file, fsync like ours) over the same file in the same run: once on disk, once in
 * /dev/shm where there is one. Then the stream surfaces in memory (no files), next to the
 * buffer API and raw GCM.
 *
 *   npm run bench:stream            (KMSE_BENCH_MIB=256 for a quicker run)
 *
 * Prints MB/s (10^6 bytes per second) and peak RSS in MiB. Target: peak RSS < 64 MiB at 1 GiB.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, readFileSync, statfsSync } from 'node:fs'
import { mkdtemp, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from 'kms-envelope/node'
import { median, roundsTakingTurns } from './lib.js'

const SELF = fileURLToPath(import.meta.url)
const MIB = 1024 * 1024
const KEY = new Uint8Array(32).fill(9)
/** The file helpers' read size (READ_BYTES in src/node/pump.ts): the raw and copy rows read as they do. */
const READ_BYTES = 256 * 1024

/** bench/frames.ts runs the children with KMSE_BENCH_FRAME to measure other frame sizes. */
/**
 * KMSE_BENCH_PARALLELISM (index.ts sets it to `auto` for the parallel rows) is passed as the
 * `parallelism` option; a build without that option ignores it, and the rows say so.
 */
function envelope(): Envelope {
  const frame = process.env.KMSE_BENCH_FRAME
  const parallel = process.env.KMSE_BENCH_PARALLELISM
  const parallelism = parallel === undefined ? {} : { parallelism: parallel === 'auto' ? 'auto' : Number(parallel) }
  return new Envelope({
    keyring: new LocalKeyring({ keyId: 'bench', key: KEY }),
    ...(frame === undefined ? {} : { frameSize: Number(frame) }),
    ...(parallelism as object),
  })
}

/**
 * Peak RSS of this process. On Linux, VmHWM: getrusage's maxRSS survives exec, so a child
 * would report its parent's peak at fork time as its own.
 */
function peakRssMiB(): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (hwm !== null) return Number(hwm[1]) / 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024
}

async function syncFile(path: string): Promise<void> {
  const out = await open(path, 'r+')
  await out.sync()
  await out.close()
}

/**
 * The file system's floor for a file pipeline: the same bytes read, written and fsynced with
 * no crypto, the way the file helpers move them (two reused read buffers, the next read
 * running while a write is in flight).
 */
async function copyFile(src: string, dst: string): Promise<void> {
  const input = await open(src, 'r')
  const output = await open(dst, 'wx')
  try {
    const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)]
    let which = 0
    let writing: Promise<unknown> = Promise.resolve()
    for (;;) {
      const { bytesRead } = await input.read(buffers[which]!, 0, READ_BYTES, null)
      if (bytesRead === 0) break
      await writing
      writing = output.write(buffers[which]!, 0, bytesRead)
      which ^= 1
    }
    await writing
    await output.sync()
  } finally {
    await input.close()
    await output.close()
  }
}

/** One measured operation in this (child) process; prints `seconds peakRssMiB`. */
async function child(mode: string, src: string, dst: string): Promise<void> {
  const env = envelope()
  const rawKey = Buffer.from(KEY)
  const iv = Buffer.alloc(12, 1)
  // Loaded before the clock starts: the SDK's import time is not part of its throughput.
  const sdk = mode.startsWith('esdk') ? await import('./esdk.js') : undefined
  const started = performance.now()
  switch (mode) {
    case 'encryptFile':
      await encryptFile(src, dst, { envelope: env })
      break
    case 'decryptFile':
      await decryptFile(src, dst, { envelope: env })
      break
    case 'copy':
      await copyFile(src, dst)
      break
    case 'raw-encrypt': {
      const cipher = createCipheriv('aes-256-gcm', rawKey, iv)
      await pipeline(createReadStream(src, { highWaterMark: READ_BYTES }), cipher, createWriteStream(dst))
      const out = await open(dst, 'a')
      await out.write(cipher.getAuthTag())
      await out.sync() // flushes the whole file, like writeAtomically's fsync
      await out.close()
      break
    }
    case 'raw-decrypt': {
      // Raw GCM releases plaintext before the tag is checked at the very end: speed reference only.
      const size = (await stat(src)).size
      const input = await open(src, 'r')
      const tag = Buffer.alloc(16)
      await input.read(tag, 0, 16, size - 16)
      await input.close()
      const decipher = createDecipheriv('aes-256-gcm', rawKey, iv).setAuthTag(tag)
      await pipeline(createReadStream(src, { end: size - 17, highWaterMark: READ_BYTES }), decipher, createWriteStream(dst))
      const out = await open(dst, 'r+')
      await out.sync()
      await out.close()
      break
    }
    case 'esdk-encrypt': {
      const { esdk, esdkKeyring, ESDK_SUITE_UNSIGNED } = sdk!
      await pipeline(createReadStream(src), esdk.encryptStream(esdkKeyring(KEY), { suiteId: ESDK_SUITE_UNSIGNED }), createWriteStream(dst))
      await syncFile(dst)
      break
    }
    case 'esdk-decrypt': {
      const { esdk, esdkKeyring } = sdk!
      await pipeline(createReadStream(src), esdk.decryptUnsignedMessageStream(esdkKeyring(KEY)), createWriteStream(dst))
      await syncFile(dst)
      break
    }
    case 'empty':
      break
    default:
      throw new Error(`unknown mode ${mode}`)
  }
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`${seconds} ${peakRssMiB()}\n`)
}

function runChild(mode: string, src: string, dst: string, env: NodeJS.ProcessEnv = process.env): { seconds: number; rss: number } {
  const result = spawnSync(process.execPath, [SELF, '--child', mode, src, dst], { encoding: 'utf8', env })
  if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`)
  const [seconds, rss] = result.stdout.trim().split(' ').map(Number)
  return { seconds: seconds!, rss: rss! }
}

async function writeInput(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256')
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16))
  const zeros = Buffer.alloc(16 * MIB)
  const handle = await open(path, 'w')
  for (let at = 0; at < bytes; at += zeros.length) {
    const block = cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - at)))
    hash.update(block)
    await handle.write(block)
  }
  // On disk before the first row starts: its writeback would otherwise slow whichever row runs first.
  await handle.sync()
  await handle.close()
  return hash.digest('hex')
}

const fileHash = async (path: string): Promise<string> => {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const mbps = (bytes: number, seconds: number): string => (bytes / seconds / 1e6).toFixed(0).padStart(5)

/** One row of the file benchmark: seconds and peak RSS (MiB) of a fresh process. */
export interface FileRow {
  readonly name: string
  readonly seconds: number
  readonly rss: number
}

/** One file operation of the benchmark: its child mode, source and destination (removed before each run). */
interface FileOp {
  readonly name: string
  readonly mode: string
  readonly src: string
  readonly dst: string
  readonly env?: NodeJS.ProcessEnv
  /** A decryption: its output must hash to the input's. */
  readonly checks?: boolean
}

/** Files of `bytes` a run of {@link fileBench} needs room for: the input, four messages or ciphertexts, five outputs and one spare. */
const FILES_AT_ONCE = 11

/**
 * A memory-backed directory for the file rows (Linux's /dev/shm, a tmpfs) with room for a
 * run, or why there is none. fsync is a no-op there and nothing waits for a disk, so those
 * rows measure the file pipelines themselves: on this VM a plain `dd` of 1 GiB with fsync
 * ran at 303 to 1,700 MB/s from one run to the next, which decided the disk rows' ratios.
 */
export function memoryDir(bytes: number): { readonly dir: string } | { readonly reason: string } {
  const dir = '/dev/shm'
  if (!existsSync(dir)) return { reason: `${dir} does not exist (not Linux)` }
  try {
    const fs = statfsSync(dir)
    const room = fs.bavail * fs.bsize
    const need = FILES_AT_ONCE * bytes + 256 * MIB
    if (room < need) return { reason: `${dir} has ${(room / MIB).toFixed(0)} MiB free, the run needs ${(need / MIB).toFixed(0)} MiB` }
  } catch (error) {
    return { reason: `${dir}: ${(error as Error).message}` }
  }
  return { dir }
}

/**
 * The 1 GiB file benchmark in a new directory under `base` (the OS temp directory, normally
 * on disk; {@link memoryDir} for the rows without one); `withEsdk` adds the AWS Encryption
 * SDK's streams on the same file. Every row is the median of `rounds` runs, the rows taking
 * turns round by round: each run writes and fsyncs a whole file, so on a disk the writeback
 * sets much of the pace, and one run per row once measured the same code at 339 and 990 MB/s.
 * The `copy` row (read, write and fsync the same bytes, no crypto) is that disk's floor.
 */
export async function fileBench(bytes: number, withEsdk = false, withParallel = false, rounds = 3, base = tmpdir()): Promise<FileRow[]> {
  const dir = await mkdtemp(join(base, 'kmse-bench-'))
  try {
    const src = join(dir, 'input')
    const hash = await writeInput(src, bytes)
    const at = (name: string) => join(dir, name)
    const auto = { ...process.env, KMSE_BENCH_PARALLELISM: 'auto' }
    // Each decryption runs right after the encryption that wrote its input; these pairs (and the
    // copy) take turns leading the round, so no row always runs at the same point of one. Every
    // row writes a file of its own and removes only its own from the round before: the disk is
    // mounted with online discard here, and while all decryptions and the copy shared one output,
    // each began by deleting 1 GiB written seconds before: decryptFile read 350-434 MB/s on disk
    // in four runs against 733-895 for encryptFile, and 567 in the first run with a file per row.
    const units: FileOp[][] = [
      [
        { name: 'encryptFile', mode: 'encryptFile', src, dst: at('input.kmse') },
        { name: 'decryptFile', mode: 'decryptFile', src: at('input.kmse'), dst: at('output'), checks: true },
      ],
      ...(withParallel
        ? [
            [
              { name: 'encryptFile parallelism auto', mode: 'encryptFile', src, dst: at('input.auto.kmse'), env: auto },
              { name: 'decryptFile parallelism auto', mode: 'decryptFile', src: at('input.auto.kmse'), dst: at('output.auto'), env: auto, checks: true },
            ],
          ]
        : []),
      [{ name: 'copy, no crypto (the floor)', mode: 'copy', src, dst: at('output.copy') }],
      [
        { name: 'raw node:crypto GCM encrypt', mode: 'raw-encrypt', src, dst: at('input.gcm') },
        { name: 'raw node:crypto GCM decrypt', mode: 'raw-decrypt', src: at('input.gcm'), dst: at('output.gcm'), checks: true },
      ],
      ...(withEsdk
        ? [
            [
              { name: 'AWS Encryption SDK encryptStream (0x0478)', mode: 'esdk-encrypt', src, dst: at('input.esdk') },
              { name: 'AWS Encryption SDK decryptUnsignedMessageStream', mode: 'esdk-decrypt', src: at('input.esdk'), dst: at('output.esdk'), checks: true },
            ],
          ]
        : []),
    ]
    const ops = units.flat()
    const runs = await roundsTakingTurns(units, rounds, async (op, round) => {
      // encryptFile and decryptFile never replace a file; the last round's outputs are checked.
      await rm(op.dst, { force: true })
      const run = runChild(op.mode, op.src, op.dst, op.env)
      if (op.checks && round === rounds - 1 && (await fileHash(op.dst)) !== hash) throw new Error(`${op.name}: the output differs from the input`)
      return run
    })
    const rows: Array<[string, { seconds: number; rss: number }]> = ops.map((op, i) => [
      op.name,
      { seconds: median(runs[i]!.map((r) => r.seconds)), rss: median(runs[i]!.map((r) => r.rss)) },
    ])

    console.log(`\nFile streaming, ${bytes / MIB} MiB in ${base}, fresh process each, fsync included, median of ${rounds} (target: peak RSS < 64 MiB)`)
    console.log('  operation                        MB/s   peak RSS')
    for (const [name, r] of rows) console.log(`  ${name.padEnd(30)} ${mbps(bytes, r.seconds)}   ${r.rss.toFixed(1).padStart(6)} MiB`)
    const row = (name: string) => rows.find(([n]) => n === name)![1]
    const [enc, dec, copy, rawEnc, rawDec] = [
      'encryptFile',
      'decryptFile',
      'copy, no crypto (the floor)',
      'raw node:crypto GCM encrypt',
      'raw node:crypto GCM decrypt',
    ].map(row)
    console.log(
      `  speed against raw node:crypto: encrypt ${(rawEnc!.seconds / enc!.seconds).toFixed(2)}x, decrypt ${(rawDec!.seconds / dec!.seconds).toFixed(2)}x; ` +
        `against the copy: encrypt ${(copy!.seconds / enc!.seconds).toFixed(2)}, decrypt ${(copy!.seconds / dec!.seconds).toFixed(2)}`,
    )
    const bare = spawnSync(
      process.execPath,
      ['-e', "process.stdout.write(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))?.[1] ?? '')"],
      { encoding: 'utf8' },
    )
    const bareMiB = bare.stdout === '' ? 'n/a' : `${(Number(bare.stdout) / 1024).toFixed(1)} MiB`
    console.log(
      `  baselines: \`node -e 0\` peaks at ${bareMiB}; this script's child with kms-envelope loaded, doing nothing, at ${runChild('empty', src, src).rss.toFixed(1)} MiB`,
    )
    return rows.map(([name, r]) => ({ name, seconds: r.seconds, rss: r.rss }))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Pushes `data` in 64 KiB chunks through a Node duplex into a sink that drops it. */
async function throughNode(data: Uint8Array, duplex: Duplex): Promise<number> {
  let out = 0
  const chunks = function* () {
    for (let at = 0; at < data.length; at += 64 * 1024) yield data.subarray(at, at + 64 * 1024)
  }
  await pipeline(
    Readable.from(chunks()),
    duplex,
    new Writable({
      write: (c: Buffer, _e, cb) => {
        out += c.length
        cb()
      },
    }),
  )
  return out
}

async function throughWeb(data: Uint8Array, transform: TransformStream<Uint8Array, Uint8Array>): Promise<number> {
  let at = 0
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= data.length) return c.close()
      c.enqueue(data.subarray(at, at + 64 * 1024))
      at += 64 * 1024
    },
  })
  let out = 0
  await source.pipeThrough(transform).pipeTo(
    new WritableStream({
      write: (c) => {
        out += c.length
      },
    }),
  )
  return out
}

async function memoryBench(bytes: number): Promise<void> {
  const env = envelope()
  const data = new Uint8Array(createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16)).update(Buffer.alloc(bytes)))
  const message = await env.encrypt(data)
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      await fn()
      runs.push((performance.now() - t) / 1000)
    }
    return median(runs)
  }
  const rawKey = randomBytes(32)
  const iv = Buffer.alloc(12)
  // One GCM over the whole input, fed 64 KiB at a time: no framing, no per-frame cipher setup.
  const rawGcm = (cipher: { update(b: Uint8Array): Buffer; final(): Buffer }, input: Uint8Array): void => {
    for (let at = 0; at < input.length; at += 64 * 1024) cipher.update(input.subarray(at, at + 64 * 1024))
    cipher.final()
  }
  const sealer = createCipheriv('aes-256-gcm', rawKey, iv)
  const rawSealed = Buffer.concat([sealer.update(data), sealer.final()])
  const rawTag = sealer.getAuthTag()
  const rows: Array<[string, number, number]> = [
    [
      'raw node:crypto GCM, update per chunk',
      await time(async () => rawGcm(createCipheriv('aes-256-gcm', rawKey, iv), data)),
      await time(async () => rawGcm(createDecipheriv('aes-256-gcm', rawKey, iv).setAuthTag(rawTag), rawSealed)),
    ],
    ['buffer API encrypt / decrypt', await time(() => env.encrypt(data)), await time(() => env.decrypt(message))],
    [
      'Node Transform (createEncryptStream)',
      await time(() => throughNode(data, createEncryptStream(env))),
      await time(() => throughNode(message, createDecryptStream(env))),
    ],
    ['Web TransformStream', await time(() => throughWeb(data, env.encryptStream())), await time(() => throughWeb(message, env.decryptStream()))],
    [
      'Web stream wrapped by Duplex.fromWeb',
      await time(() => throughNode(data, Duplex.fromWeb(env.encryptStream() as never))),
      await time(() => throughNode(message, Duplex.fromWeb(env.decryptStream() as never))),
    ],
  ]
  console.log(`\nIn memory, ${bytes / MIB} MiB in 64 KiB chunks, default frame size, median of 3`)
  console.log('  surface                                 encrypt MB/s  decrypt MB/s')
  for (const [name, enc, dec] of rows) console.log(`  ${name.padEnd(38)}  ${mbps(bytes, enc)}         ${mbps(bytes, dec)}`)
  const [raw, , node] = rows
  console.log(`  Node Transform vs raw GCM streaming: encrypt ${(raw![1] / node![1]).toFixed(2)}x, decrypt ${(raw![2] / node![2]).toFixed(2)}x of raw speed`)
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!)
} else if (process.argv[1] === SELF) {
  const mib = Number(process.env.KMSE_BENCH_MIB ?? 1024)
  await fileBench(mib * MIB)
  const memory = memoryDir(mib * MIB)
  if ('dir' in memory) await fileBench(mib * MIB, false, false, 3, memory.dir)
  else console.log(`\nNo file rows in memory: ${memory.reason}`)
  await memoryBench(256 * MIB)
}
