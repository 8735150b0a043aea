import assert from 'node:assert/strict'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { RandomAccessReader } from '../src/index.js'
import { bytesSource, Envelope, LocalKeyring } from '../src/index.js'
import { openEncryptedFile } from '../src/node/index.js'
import { assertExpectedBackend, pattern, tempDir } from './helpers.js'
import { seededInts } from './pattern.js'

assertExpectedBackend()

const KEY = new LocalKeyring({ keyId: 'ra', key: pattern(32, 7) })
const env = (frameSize: number, extra: Partial<ConstructorParameters<typeof Envelope>[0]> = {}) => new Envelope({ keyring: KEY, frameSize, ...extra })

async function writeStream(path: string, stream: ReadableStream<Uint8Array>): Promise<void> {
  const handle = await open(path, 'w')
  try {
    const reader = stream.getReader()
    for (let next = await reader.read(); !next.done; next = await reader.read()) await handle.write(next.value)
  } finally {
    await handle.close()
  }
}

/** Ranges that matter (empty, first and last byte, frame boundaries, past the end) and `count` random ones. */
function ranges(size: number, frameSize: number, count: number, seed: number): Array<[number, number]> {
  const out: Array<[number, number]> = [
    [0, 0],
    [0, 1],
    [Math.max(0, size - 1), 1],
    [0, size],
    [size, 5],
    [size + 100, 1],
    [frameSize - 1, 2],
    [frameSize, frameSize],
    [Math.max(0, size - frameSize - 1), frameSize + 2],
  ]
  const r = seededInts(seed)
  for (let i = 0; i < count; i++) {
    const start = r(size + 2)
    const kind = r(4)
    const length = kind === 0 ? 0 : kind === 1 ? r(frameSize * 3 + 1) : kind === 2 ? r(64) : r(Math.min(size + 1, 4 * frameSize) + 1)
    out.push([start, length])
  }
  return out
}

async function checkRanges(reader: RandomAccessReader, plain: (start: number, end: number) => Uint8Array, list: Array<[number, number]>): Promise<void> {
  for (const [start, length] of list) {
    const got = await reader.read(start, length)
    const end = Math.min(reader.size, start + length)
    assert.deepEqual(got, plain(Math.min(start, end), end), `range ${start}+${length} of ${reader.size}`)
  }
}

describe('random access: reads match the plaintext', () => {
  for (const frameSize of [64, 65536, 1 << 20]) {
    it(`frame size ${frameSize}: sizes 0, 1, F-1, F, F+1, random ranges on each`, async () => {
      const e = env(frameSize)
      for (const size of [0, 1, frameSize - 1, frameSize, frameSize + 1]) {
        const plaintext = pattern(size, size + 3)
        const message = await e.encrypt(plaintext)
        const reader = await e.openRandomAccess(bytesSource(message))
        assert.equal(reader.size, size)
        await checkRanges(reader, (a, b) => plaintext.subarray(a, b), ranges(size, frameSize, 150, size + 11))
        reader.close()
      }
    })
  }

  it('10,000 random ranges over a 2,000-frame message (64-byte frames), all crossing or hitting frame boundaries alike', async () => {
    const e = env(64)
    const plaintext = pattern(64 * 2000 + 37, 5)
    const reader = await e.openRandomAccess(bytesSource(await e.encrypt(plaintext)), { cacheFrames: 16 })
    await checkRanges(reader, (a, b) => plaintext.subarray(a, b), ranges(plaintext.length, 64, 10_000, 99))
    reader.close()
  })

  it('a 256 MiB file (64 KiB and 1 MiB frames) read through openEncryptedFile: random ranges, the last frame, concurrent reads', async (t) => {
    const dir = await tempDir(t)
    const size = 256 * 1024 * 1024 + 12_345
    // A plaintext computable at any offset, so neither it nor the file is held in memory.
    const byteAt = (i: number): number => (Math.imul(i ^ (i >>> 13), 0x2c1b3c6d) >>> 24) & 0xff
    const plain = (a: number, b: number): Uint8Array => {
      const out = new Uint8Array(b - a)
      for (let i = a; i < b; i++) out[i - a] = byteAt(i)
      return out
    }
    for (const frameSize of [65536, 1 << 20]) {
      const e = env(frameSize)
      const path = join(dir, `big-${frameSize}.kmse`)
      let at = 0
      const input = new ReadableStream<Uint8Array>({
        pull: (c) => {
          if (at >= size) return c.close()
          c.enqueue(plain(at, Math.min(size, at + (1 << 22))))
          at += 1 << 22
        },
      })
      await writeStream(path, input.pipeThrough(e.encryptStream()))
      const file = await openEncryptedFile(path, { envelope: e })
      try {
        assert.equal(file.size, size)
        await checkRanges(file, plain, ranges(size, frameSize, 150, frameSize))
        const r = seededInts(3)
        const list = Array.from({ length: 32 }, () => [r(size), r(3 * frameSize)] as [number, number])
        const got = await Promise.all(list.map(([a, n]) => file.read(a, n)))
        for (const [i, bytes] of got.entries()) assert.deepEqual(bytes, plain(list[i]![0], Math.min(size, list[i]![0] + list[i]![1])))
      } finally {
        await file.close()
      }
    }
  })
})
