/**
 * Envelope.openRandomAccess: what open authenticates, what reads refuse, the frame cache and
 * concurrency, the sources. Named envelope-* so it runs on both crypto backends.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { RandomAccessSource } from '../src/index.js'
import { blobSource, bytesSource, ciphertextRange, Envelope, EnvelopeError, inspect, KeyCache, LocalKeyring, urlSource } from '../src/index.js'
import { openEncryptedFile } from '../src/node/index.js'
import { countingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode, tempDir } from './helpers.js'
import { edits } from './mutations.js'

assertExpectedBackend()

const F = 64
const STEP = F + 16
const KEY = new LocalKeyring({ keyId: 'ra', key: pattern(32, 7) })
const envelope = new Envelope({ keyring: KEY, frameSize: F })

type Counted = RandomAccessSource & { calls: number; bytes: number; reads: Array<[number, number]> }

function countingSource(bytes: Uint8Array, delayMs = 0): Counted {
  const s: Counted = {
    size: bytes.length,
    calls: 0,
    bytes: 0,
    reads: [],
    read: async (offset, length) => {
      s.calls++
      s.bytes += length
      s.reads.push([offset, length])
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
      return bytes.slice(offset, offset + length)
    },
  }
  return s
}

async function outcome(run: () => Promise<Uint8Array>): Promise<string | Uint8Array> {
  try {
    return await run()
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `untyped ${String(error)}`)
    return error.code
  }
}

function bodyOffset(message: Uint8Array): number {
  const view = new DataView(message.buffer, message.byteOffset)
  const h = view.getUint32(5)
  return 9 + h + 16 + 4 + view.getUint32(9 + h + 16)
}

describe('random access: altered messages', () => {
  it('every single-byte change, truncation and extension: open-then-read-all gives exactly what decrypt gives', async () => {
    const message = await envelope.encrypt(pattern(150, 2), { context: { k: 'v' } })
    let compared = 0
    for (const { label, message: m } of edits(message)) {
      const whole = await outcome(async () => (await envelope.decrypt(m)).plaintext)
      const random = await outcome(async () => {
        const reader = await envelope.openRandomAccess(bytesSource(m))
        return reader.read(0, reader.size)
      })
      assert.deepEqual(random, whole, label)
      compared++
    }
    assert.ok(compared > 1000)
  })

  it('cut or extended: fails at open (ERR_AUTH inside a frame, ERR_TRUNCATED on a frame boundary), before any frame is read', async () => {
    const message = await envelope.encrypt(pattern(5 * F + 10, 3))
    const body = bodyOffset(message)
    const cases: Array<[string, Uint8Array, string]> = [
      ['cut inside the final frame', message.subarray(0, message.length - 3), 'ERR_AUTH'],
      ['final frame dropped', message.subarray(0, body + 5 * STEP), 'ERR_TRUNCATED'],
      ['cut inside a middle frame', message.subarray(0, body + 2 * STEP + 40), 'ERR_AUTH'],
      ['cut in the head', message.subarray(0, body - 1), 'ERR_TRUNCATED'],
      ['one byte appended', Uint8Array.from([...message, 0]), 'ERR_AUTH'],
      ['appended to a full step', Uint8Array.from([...message, ...new Uint8Array(STEP - 26)]), 'ERR_TRUNCATED'],
    ]
    for (const [label, m, code] of cases) {
      const source = countingSource(m)
      await rejectsWithCode(envelope.openRandomAccess(source), code)
      // Head, then at most the final frame: never the frames before it.
      assert.ok(
        source.reads.every(([offset]) => offset < body || offset >= body + Math.floor((m.length - body) / STEP - 1) * STEP),
        label,
      )
    }
  })

  it('reordered or altered frames: open succeeds, each read touching a bad frame fails with ERR_AUTH, others still read, the stream releases only verified frames', async () => {
    const plaintext = pattern(6 * F + 1, 4)
    const message = await envelope.encrypt(plaintext)
    const body = bodyOffset(message)
    const swapped = message.slice()
    swapped.set(message.subarray(body + STEP, body + 2 * STEP), body + 2 * STEP)
    swapped.set(message.subarray(body + 2 * STEP, body + 3 * STEP), body + STEP)
    const flipped = message.slice()
    flipped[body + 2 * STEP + 5]! ^= 1
    for (const [label, m, bad] of [
      ['swapped frames 1 and 2', swapped, [1, 2]],
      ['altered frame 2', flipped, [2]],
    ] as const) {
      const reader = await envelope.openRandomAccess(bytesSource(m), { cacheFrames: 0 })
      for (let i = 0; i <= 6; i++) {
        if (bad.includes(i as never)) await rejectsWithCode(reader.read(i * F, 1), 'ERR_AUTH')
        else assert.deepEqual(await reader.read(i * F, F), plaintext.subarray(i * F, (i + 1) * F), `${label}: frame ${i}`)
      }
      await rejectsWithCode(reader.read(F - 1, 2 + F), 'ERR_AUTH')
      const released: Uint8Array[] = []
      const streamed = reader.stream().getReader()
      const error = await (async () => {
        for (;;) {
          const { done, value } = await streamed.read()
          if (done) return undefined
          released.push(value)
        }
      })().catch((e: unknown) => e)
      assert.equal((error as EnvelopeError).code, 'ERR_AUTH', label)
      assert.equal(released.length, bad[0], `${label}: frames released before the bad one`)
      for (const [i, chunk] of released.entries()) assert.deepEqual(chunk, plaintext.subarray(i * F, (i + 1) * F))
    }
  })

  it('a wrong context or a too-small frame size fails at open before any key service call; a cache serves a second open', async () => {
    const { keyring, calls } = countingKeyring()
    const e = new Envelope({ keyring, frameSize: F })
    const message = await e.encrypt(pattern(300, 1), { context: { tenant: 'acme' } })
    await rejectsWithCode(e.openRandomAccess(bytesSource(message), { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH')
    await rejectsWithCode(new Envelope({ keyring, minFrameSize: 4096 }).openRandomAccess(bytesSource(message)), 'ERR_LIMIT')
    assert.equal(calls.unwrap, 0)
    const cached = new Envelope({ keyring, cache: new KeyCache({ maxEntries: 4, maxAge: 60_000 }) })
    for (let i = 0; i < 3; i++) {
      const reader = await cached.openRandomAccess(bytesSource(message), { expectContext: { tenant: 'acme' } })
      assert.deepEqual(reader.context, { tenant: 'acme' })
      assert.equal(reader.keyId, 'stream-key')
      reader.close()
    }
    assert.equal(calls.unwrap, 1)
    await rejectsWithCode(new Envelope({ keyring: KEY }).openRandomAccess(bytesSource(message)), 'ERR_NO_MATCHING_KEY')
  })
})

describe('random access: reads, cache and concurrency', () => {
  it('300 readers open at once each keep their own head (small heads share copy slabs; none is overwritten by a later one)', async () => {
    const plaintexts = Array.from({ length: 300 }, (_, i) => pattern(3 * F + (i % 7), i))
    const messages = await Promise.all(plaintexts.map((p, i) => envelope.encrypt(p, { context: { n: String(i) } })))
    const readers = []
    for (const m of messages) readers.push(await envelope.openRandomAccess(bytesSource(m), { cacheFrames: 0 }))
    for (const [i, reader] of readers.entries()) {
      assert.deepEqual(await reader.read(0, reader.size), plaintexts[i], `reader ${i}`)
      assert.deepEqual(reader.context, { n: String(i) })
      reader.close()
    }
  })

  it('64 concurrent reads of one frame fetch it once; a run of missing frames is one source read of exactly ciphertextRange', async () => {
    const plaintext = pattern(40 * F + 3, 6)
    const message = await envelope.encrypt(plaintext)
    const source = countingSource(message, 5)
    const reader = await envelope.openRandomAccess(source, { cacheFrames: 0 })
    assert.equal(source.calls, 2, 'head, final frame')
    const got = await Promise.all(Array.from({ length: 64 }, (_, i) => reader.read(7 * F + i, 1)))
    for (const [i, b] of got.entries()) assert.deepEqual(b, plaintext.subarray(7 * F + i, 7 * F + i + 1))
    assert.equal(source.calls, 3)
    for (const [a, b] of [
      [3, 4],
      [F, 2 * F],
      [10 * F + 5, 20 * F + 1],
      [0, 40 * F],
      [39 * F - 1, 39 * F + 1],
    ] as const) {
      source.reads.length = 0
      assert.deepEqual(await reader.read(a, b - a), plaintext.subarray(a, b))
      const r = ciphertextRange(reader.layout, a, b)
      // The final frame (index 40) is held since open, so a range ending in it reads one frame less.
      const end = Math.min(r.end, bodyOffset(message) + 40 * STEP)
      assert.deepEqual(source.reads, [[r.start, end - r.start]], `${a}-${b}`)
    }
    assert.deepEqual(ciphertextRange(reader.layout, 5, 5).frames, 0)
    assert.deepEqual(ciphertextRange(inspect(message), 100, 300), ciphertextRange(reader.layout, 100, 300))
    // Without its final frame (3 bytes and a tag) the body has no end: inspect says null, ciphertextRange refuses.
    assert.throws(() => ciphertextRange(inspect(message.subarray(0, message.length - 19)), 0, 1), TypeError)
    assert.deepEqual(ciphertextRange(reader.layout, 0, 1e9), { start: bodyOffset(message), end: message.length, firstFrame: 0, frames: 41, plaintextStart: 0 })
  })

  it('a read cancelled by its signal is ERR_ABORTED; a read that joined its fetch goes on with a fetch of its own', async () => {
    const plaintext = pattern(10 * F, 12)
    const message = await envelope.encrypt(plaintext)
    const reader = await envelope.openRandomAccess(countingSource(message, 20), { cacheFrames: 0 })
    const controller = new AbortController()
    const first = reader.read(3 * F, 10, controller.signal)
    const second = reader.read(3 * F + 5, 10)
    controller.abort()
    await rejectsWithCode(first, 'ERR_ABORTED')
    assert.deepEqual(await second, plaintext.subarray(3 * F + 5, 3 * F + 15))
    await rejectsWithCode(reader.read(0, 1, controller.signal), 'ERR_ABORTED')
  })

  it('the frame cache is a bounded LRU: small sequential reads open each frame once; memory stays at cacheFrames frames', async () => {
    const plaintext = pattern(100 * F, 8)
    const message = await envelope.encrypt(plaintext)
    const source = countingSource(message)
    const reader = await envelope.openRandomAccess(source, { cacheFrames: 3 })
    const before = source.calls
    for (let at = 0; at < 20 * F; at += 8) assert.deepEqual(await reader.read(at, 8), plaintext.subarray(at, at + 8))
    assert.equal(source.calls - before, 20, 'one source read per frame')
    assert.equal((reader as unknown as { cachedFrames: number }).cachedFrames, 3)
    const mid = source.calls
    await reader.read(17 * F, 3 * F)
    assert.equal(source.calls, mid, 'frames 17-19 come from the cache')
    await reader.read(0, 1)
    assert.equal(source.calls, mid + 1, 'frame 0 was evicted')
    assert.equal((reader as unknown as { cachedFrames: number }).cachedFrames, 3)
  })

  it('arguments: negative or non-integer offsets are TypeErrors, reads past the end are empty, a closed reader refuses, a short source is ERR_TRUNCATED', async () => {
    const message = await envelope.encrypt(pattern(3 * F, 9))
    const reader = await envelope.openRandomAccess(bytesSource(message))
    for (const [o, n] of [
      [-1, 1],
      [1.5, 1],
      [0, -1],
      [Number.NaN, 1],
      ['1', 1],
    ] as const) {
      await rejectsWithCode(() => reader.read(o as number, n), 'ERR_INVALID_ARGUMENT', TypeError)
    }
    assert.equal((await reader.read(3 * F, 10)).length, 0)
    assert.equal((await reader.read(3 * F - 2, 10)).length, 2)
    assert.equal((await reader.read(1e12, 10)).length, 0)
    reader.close()
    await rejectsWithCode(() => reader.read(0, 1), 'ERR_INVALID_ARGUMENT', TypeError)
    await rejectsWithCode(envelope.openRandomAccess({ size: -1, read: async () => new Uint8Array(0) }), 'ERR_INVALID_ARGUMENT', RangeError)
    await rejectsWithCode(envelope.openRandomAccess({} as RandomAccessSource), 'ERR_INVALID_ARGUMENT', TypeError)
    // The object shrinks after it was opened: the next read gets fewer bytes than it asks for.
    let cut = false
    const r2 = await envelope.openRandomAccess({ size: BigInt(message.length), read: async (o, n) => message.slice(o, cut ? o + n - 1 : o + n) })
    cut = true
    assert.equal(r2.size, 3 * F)
    await rejectsWithCode(r2.read(0, 1), 'ERR_TRUNCATED')
  })
})

describe('random access: sources', () => {
  it('Blob, URL (Range requests with If-Match) and file sources read the same bytes; the file allows concurrent reads', async (t) => {
    const plaintext = pattern(50 * F + 17, 10)
    const message = await envelope.encrypt(plaintext)
    const blobReader = await envelope.openRandomAccess(blobSource(new Blob([message as Uint8Array<ArrayBuffer>])))
    assert.deepEqual(await blobReader.read(F * 3 + 5, 2 * F), plaintext.subarray(F * 3 + 5, F * 5 + 5))

    const requests: Array<Record<string, string>> = []
    const fakeFetch = (async (_url: string, init: { headers: Record<string, string> }) => {
      requests.push(init.headers)
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(init.headers.range!)!.map(Number) as [number, number, number]
      return new Response(message.slice(a, b + 1) as Uint8Array<ArrayBuffer>, {
        status: 206,
        headers: { 'content-range': `bytes ${a}-${Math.min(b, message.length - 1)}/${message.length}`, etag: '"v1"' },
      })
    }) as unknown as typeof fetch
    const urlReader = await envelope.openRandomAccess(await urlSource('https://example.test/m', { fetch: fakeFetch, headers: { authorization: 'x' } }))
    assert.deepEqual(await urlReader.read(10 * F, 3 * F), plaintext.subarray(10 * F, 13 * F))
    assert.equal(requests[0]!['if-match'], undefined)
    assert.ok(requests.slice(1).every((h) => h['if-match'] === '"v1"' && h.authorization === 'x'))
    const noRange = (async () => new Response(message as Uint8Array<ArrayBuffer>, { status: 200 })) as unknown as typeof fetch
    await assert.rejects(
      urlSource('https://example.test/m?X-Amz-Signature=secret', { fetch: noRange }),
      (error: Error & { code?: string; status?: number }) => {
        assert.equal(error.code, 'ERR_SOURCE')
        assert.equal(error.status, 200)
        assert.match(error.message, /^https:\/\/example\.test\/m answered a Range request with HTTP 200, not 206/)
        assert.doesNotMatch(error.message, /secret/)
        return true
      },
    )

    const path = join(await tempDir(t), 'm.kmse')
    await writeFile(path, message)
    const file = await openEncryptedFile(path, { envelope })
    const starts = Array.from({ length: 50 }, (_, i) => (i * 37) % (50 * F))
    const got = await Promise.all(starts.map((s) => file.read(s, 2 * F)))
    for (const [i, b] of got.entries()) assert.deepEqual(b, plaintext.subarray(starts[i]!, starts[i]! + 2 * F))
    const streamed = new Uint8Array(await new Response(file.stream(100, 2000)).arrayBuffer())
    assert.deepEqual(streamed, plaintext.subarray(100, 2000))
    await file.close()
    await rejectsWithCode(() => file.read(0, 1), 'ERR_INVALID_ARGUMENT', TypeError)
    await writeFile(path, message.subarray(0, message.length - 1))
    await rejectsWithCode(openEncryptedFile(path, { envelope }), 'ERR_AUTH')
  })
})
