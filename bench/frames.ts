/**
 * Frame size: throughput against memory, to choose DEFAULT_FRAME_SIZE (docs/FORMAT.md
 * "Frame size"). For 16 KiB, 64 KiB, 256 KiB and 1 MiB frames, on the node:crypto backend:
 *   - buffer API encrypt/decrypt of 64 MiB, in memory;
 *   - Node Transform encrypt/decrypt of 64 MiB fed in 256 KiB chunks, in memory;
 *   - encryptFile/decryptFile of a 256 MiB file in a fresh process: peak RSS;
 *   - size overhead (16-byte tag per frame) and the plaintext a stream holds before release.
 *
 *   npm run bench:frames
 * @module
 */
import { spawnSync } from 'node:child_process'
import { createCipheriv, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { createDecryptStream, createEncryptStream } from 'kms-envelope/node'
import { median } from './lib.js'

const MIB = 1024 * 1024
const SIZES = [16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024]
const DATA = 64 * MIB
const FILE = 256 * MIB
const RUNS = 7
const STREAM_CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'stream.js')

const mbps = (bytes: number, seconds: number): string => (bytes / seconds / 1e6).toFixed(0)
const kib = (n: number): string => (n >= MIB ? `${n / MIB} MiB` : `${n / 1024} KiB`)

async function throughNode(data: Uint8Array, duplex: Duplex): Promise<void> {
  const chunks = function* () {
    for (let at = 0; at < data.length; at += 256 * 1024) yield data.subarray(at, at + 256 * 1024)
  }
  await pipeline(Readable.from(chunks()), duplex, new Writable({ write: (_c, _e, cb) => cb() }))
}

function fileRss(mode: string, src: string, dst: string, frameSize: number): { seconds: number; rss: number } {
  const result = spawnSync(process.execPath, [STREAM_CHILD, '--child', mode, src, dst], {
    encoding: 'utf8',
    env: { ...process.env, KMSE_BENCH_FRAME: String(frameSize) },
  })
  if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`)
  const [seconds, rss] = result.stdout.trim().split(' ').map(Number)
  return { seconds: seconds!, rss: rss! }
}

const data = new Uint8Array(createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16)).update(Buffer.alloc(DATA)))
const dir = await mkdtemp(join(tmpdir(), 'kmse-frames-'))
try {
  const src = join(dir, 'input')
  await writeFile(src, new Uint8Array(createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16)).update(Buffer.alloc(FILE))))
  const cases = await Promise.all(
    SIZES.map(async (frameSize) => {
      const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench', key: new Uint8Array(32).fill(9) }), frameSize })
      return {
        frameSize,
        env,
        message: await env.encrypt(data),
        times: { bufEnc: [] as number[], bufDec: [] as number[], strEnc: [] as number[], strDec: [] as number[] },
      }
    }),
  )
  // Rounds interleave the sizes, so drift in machine load hits every size alike.
  for (let round = 0; round <= RUNS; round++) {
    for (const c of cases) {
      const record = round > 0 // round 0 warms up
      const t = c.times
      const measure = async (list: number[], fn: () => Promise<unknown>): Promise<void> => {
        const start = performance.now()
        await fn()
        if (record) list.push((performance.now() - start) / 1000)
      }
      await measure(t.bufEnc, () => c.env.encrypt(data))
      await measure(t.bufDec, () => c.env.decrypt(c.message))
      await measure(t.strEnc, () => throughNode(data, createEncryptStream(c.env)))
      await measure(t.strDec, () => throughNode(c.message, createDecryptStream(c.env)))
    }
  }
  console.log(`Frame size vs throughput and memory (node:crypto backend, MB/s = 10^6 B/s, median of ${RUNS} interleaved rounds)`)
  console.log('frame     buffer enc  buffer dec  stream enc  stream dec  file enc RSS  file dec RSS  tag overhead  held per stream')
  for (const { frameSize, times } of cases) {
    const enc = fileRss('encryptFile', src, join(dir, `f${frameSize}.kmse`), frameSize)
    const dec = fileRss('decryptFile', join(dir, `f${frameSize}.kmse`), join(dir, `f${frameSize}.out`), frameSize)
    await rm(join(dir, `f${frameSize}.kmse`))
    await rm(join(dir, `f${frameSize}.out`))
    console.log(
      [
        kib(frameSize).padEnd(8),
        mbps(DATA, median(times.bufEnc)).padStart(10),
        mbps(DATA, median(times.bufDec)).padStart(11),
        mbps(DATA, median(times.strEnc)).padStart(11),
        mbps(DATA, median(times.strDec)).padStart(11),
        `${enc.rss.toFixed(1)} MiB`.padStart(13),
        `${dec.rss.toFixed(1)} MiB`.padStart(13),
        `${((16 / frameSize) * 100).toFixed(3)}%`.padStart(13),
        kib(frameSize).padStart(16),
      ].join(' '),
    )
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
