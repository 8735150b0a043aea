/**
 * Bulk rewrap of files in place (rewrapFiles, local key to local key, 4 at a time): files per
 * second, and how many bytes the process read per GB of message data (Linux /proc/self/io
 * `rchar`: every read syscall, page cache included). The body is copied into the replacement
 * file, never decrypted: the rewrap session opens no frame, on this path or KMS to KMS.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { rewrapFiles } from 'kms-envelope/node'

export interface RewrapBench {
  readonly files: number
  readonly fileBytes: number
  readonly filesPerSecond: number
  /** MB read by the process per GB of message data rewrapped; undefined off Linux. */
  readonly readMBPerGB: number | undefined
}

function readChars(): number | undefined {
  try {
    const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

export async function benchRewrap(files: number, fileBytes: number): Promise<RewrapBench> {
  const dir = await mkdtemp(join(tmpdir(), 'kmse-bench-rewrap-'))
  try {
    const from = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench-old', key: new Uint8Array(32).fill(1) }) })
    const to = new LocalKeyring({ keyId: 'bench-new', key: new Uint8Array(32).fill(2) })
    const body = new Uint8Array(fileBytes).fill(7)
    const paths: string[] = []
    for (let i = 0; i < files; i++) {
      const path = join(dir, `m${i}.kmse`)
      await writeFile(path, await from.encrypt(body))
      paths.push(path)
    }
    const readBefore = readChars()
    const started = performance.now()
    const summary = await rewrapFiles(paths, { envelope: from, to, concurrency: 4 })
    const seconds = (performance.now() - started) / 1000
    const readAfter = readChars()
    if (summary.rewrapped !== files) throw new Error(`bench: rewrapped ${summary.rewrapped} of ${files} files`)
    const readMBPerGB = readBefore === undefined || readAfter === undefined ? undefined : (readAfter - readBefore) / 1e6 / (summary.bytes / 1e9)
    return { files, fileBytes, filesPerSecond: files / seconds, readMBPerGB }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
