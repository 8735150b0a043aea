/**
 * Random access (Envelope.openRandomAccess / openEncryptedFile) on a 1 GiB encrypted file,
 * 64 KiB frames, page cache warm:
 *   - time to first byte of a 1 KiB read at a random offset: on an opened file (frame cache
 *     cold: a random frame every time) and open + read (head, unwrap, final frame, one frame),
 *     with the ciphertext bytes each reads;
 *   - random-read throughput: 1 KiB and 64 KiB reads at random offsets;
 *   - peak RSS while 64 readers (each its own openEncryptedFile) read the same file at once,
 *     measured in a fresh process so earlier benchmarks do not count.
 * Run alone: `node dist/bench/random-access.js` (KMSE_BENCH_QUICK=1 for small sizes).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RandomAccessSource } from 'kms-envelope'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { openEncryptedFile } from 'kms-envelope/node'
import { seededInts } from '../test/pattern.js'
import { median } from './lib.js'

const MiB = 1024 * 1024

/** What {@link benchRandomAccess} measured. */
export interface RandomAccessBench {
  readonly fileBytes: number
  readonly frameSize: number
  /** 1 KiB read at a random offset of an opened file: median and p99 ms, ciphertext bytes read per read. */
  readonly readMs: { readonly median: number; readonly p99: number }
  readonly readCiphertextBytes: number
  /** Open (local key) + first 1 KiB read at a random offset: median ms and ciphertext bytes. */
  readonly openReadMs: number
  readonly openReadCiphertextBytes: number
  readonly reads1kPerSecond: number
  readonly reads64kMBps: number
  /** 64 concurrent readers: RSS before, peak during (MiB), and reads done. */
  readonly concurrent: { readonly readers: number; readonly baseRss: number; readonly peakRss: number; readonly reads: number }
}

/** A file source that counts the bytes it reads. */
function countedFile(handle: FileHandle, size: number): RandomAccessSource & { bytes: number } {
  const s = {
    size,
    bytes: 0,
    read: async (offset: number, length: number) => {
      s.bytes += length
      const out = new Uint8Array(length)
      const { bytesRead } = await handle.read(out, 0, length, offset)
      return out.subarray(0, bytesRead)
    },
  }
  return s
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!

async function writeEncrypted(env: Envelope, path: string, size: number): Promise<void> {
  const block = new Uint8Array(4 * MiB)
  crypto.getRandomValues(block.subarray(0, 65536))
  for (let i = 65536; i < block.length; i += 65536) block.copyWithin(i, 0, 65536)
  let at = 0
  const input = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (at >= size) return c.close()
      const n = Math.min(block.length, size - at)
      c.enqueue(block.slice(0, n))
      at += n
    },
  })
  const handle = await open(path, 'w')
  try {
    const reader = input.pipeThrough(env.encryptStream()).getReader()
    for (let next = await reader.read(); !next.done; next = await reader.read()) await handle.write(next.value)
  } finally {
    await handle.close()
  }
}

/** The 64-reader phase, in this (fresh) process: prints its figures as JSON. */
async function concurrentPhase(path: string, keyHex: string, readers: number, seconds: number): Promise<void> {
  const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench-ra', key: Uint8Array.from(Buffer.from(keyHex, 'hex')) }) })
  const files = await Promise.all(Array.from({ length: readers }, () => openEncryptedFile(path, { envelope: env })))
  globalThis.gc?.()
  const baseRss = process.memoryUsage().rss
  let peakRss = baseRss
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 5)
  let reads = 0
  const stop = Date.now() + seconds * 1000
  await Promise.all(
    files.map(async (file, i) => {
      const r = seededInts(1000 + i)
      while (Date.now() < stop) {
        await file.read(r(file.size), 65536)
        reads++
      }
    }),
  )
  clearInterval(timer)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  await Promise.all(files.map((f) => f.close()))
  console.log(JSON.stringify({ readers, baseRss: baseRss / MiB, peakRss: peakRss / MiB, reads }))
}

/** Runs the whole random-access benchmark on a temporary file of `fileBytes`. */
export async function benchRandomAccess(fileBytes: number, quick = false): Promise<RandomAccessBench> {
  const dir = mkdtempSync(join(tmpdir(), 'kmse-bench-ra-'))
  try {
    const keyBytes = crypto.getRandomValues(new Uint8Array(32))
    const keyHex = Buffer.from(keyBytes).toString('hex')
    const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench-ra', key: keyBytes }) })
    const path = join(dir, 'big.kmse')
    await writeEncrypted(env, path, fileBytes)
    const handle = await open(path, 'r')
    const { size } = await handle.stat()
    const r = seededInts(42)
    try {
      // Warm the page cache, so the figures are the library's, not the disk's.
      const warm = new Uint8Array(4 * MiB)
      for (let at = 0; at < size; at += warm.length) await handle.read(warm, 0, warm.length, at)

      const openReads: number[] = []
      let openBytes = 0
      for (let i = 0; i < (quick ? 5 : 50); i++) {
        const source = countedFile(handle, size)
        const started = performance.now()
        const reader = await env.openRandomAccess(source)
        await reader.read(r(reader.size - 1024), 1024)
        openReads.push(performance.now() - started)
        openBytes = source.bytes
        reader.close()
      }

      const source = countedFile(handle, size)
      const reader = await env.openRandomAccess(source)
      const frameSize = reader.layout.frameSize
      const times: number[] = []
      const before = source.bytes
      const n = quick ? 50 : 2000
      for (let i = 0; i < n; i++) {
        const started = performance.now()
        await reader.read(r(reader.size - 1024), 1024)
        times.push(performance.now() - started)
      }
      const perRead = (source.bytes - before) / n

      const rate = async (length: number, ms: number): Promise<number> => {
        let count = 0
        const stop = performance.now() + ms
        const started = performance.now()
        while (performance.now() < stop) {
          await reader.read(r(reader.size - length), length)
          count++
        }
        return count / ((performance.now() - started) / 1000)
      }
      const reads1k = await rate(1024, quick ? 100 : 2000)
      const reads64k = await rate(65536, quick ? 100 : 2000)
      reader.close()

      const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--concurrent', path, keyHex, '64', quick ? '0.2' : '3'], {
        encoding: 'utf8',
      })
      if (child.status !== 0) throw new Error(`the concurrent-readers phase failed: ${child.stderr}`)
      const concurrent = JSON.parse(child.stdout.trim().split('\n').pop()!) as RandomAccessBench['concurrent']
      return {
        fileBytes: size,
        frameSize,
        readMs: { median: median(times), p99: p99(times) },
        readCiphertextBytes: perRead,
        openReadMs: median(openReads),
        openReadCiphertextBytes: openBytes,
        reads1kPerSecond: reads1k,
        reads64kMBps: (reads64k * 65536) / 1e6,
        concurrent,
      }
    } finally {
      await handle.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Prints the figures as the rest of `npm run bench` does. */
export function printRandomAccess(b: RandomAccessBench): void {
  const kib = (x: number): string => `${(x / 1024).toFixed(1)} KiB`
  console.log(`\nRandom access, ${(b.fileBytes / 2 ** 30).toFixed(2)} GiB file, ${b.frameSize / 1024} KiB frames, page cache warm`)
  console.log(
    `  1 KiB read at a random offset (opened file): median ${b.readMs.median.toFixed(3)} ms, p99 ${b.readMs.p99.toFixed(3)} ms, ${kib(b.readCiphertextBytes)} of ciphertext read`,
  )
  console.log(`  open + first 1 KiB read (local key): median ${b.openReadMs.toFixed(3)} ms, ${kib(b.openReadCiphertextBytes)} of ciphertext read`)
  console.log(`  random reads: ${b.reads1kPerSecond.toFixed(0)} x 1 KiB/s, ${b.reads64kMBps.toFixed(0)} MB/s in 64 KiB reads`)
  console.log(
    `  ${b.concurrent.readers} concurrent readers on one file: RSS ${b.concurrent.baseRss.toFixed(0)} MiB before, peak ${b.concurrent.peakRss.toFixed(0)} MiB (${b.concurrent.reads} reads of 64 KiB)`,
  )
}

if (process.argv[2] === '--concurrent') {
  await concurrentPhase(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]))
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.env.KMSE_BENCH_QUICK === '1'
  printRandomAccess(await benchRandomAccess(quick ? 8 * MiB : 1024 * MiB, quick))
}
