/**
 * Random access straight from S3 (moto serves S3 on the KMS endpoint): a 64 MiB object
 * encrypted under a KMS key, read by ranged GetObject calls, and the example server that turns
 * HTTP Range requests into decrypted ranges.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { s3Source, startRangeServer } from '../examples/s3-range-server/server.js'
import type { RandomAccessSource } from '../src/index.js'
import { ciphertextRange, Envelope, urlSource } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { assertExpectedBackend, pattern } from './helpers.js'
import { CREDENTIALS, createKey, kmsEndpoint, motoClient, REGION } from './kms-helpers.js'
import { seededInts } from './pattern.js'

assertExpectedBackend()

const SIZE = 64 * 1024 * 1024
const F = 65536
const STEP = F + 16
const plaintext = pattern(SIZE, 21)
let envelope: Envelope
let endpoint: string
let s3: S3Client
const Bucket = 'kmse-range'
const Key = 'video.kmse'

/** Wraps a source, counting the bytes it fetched. */
function counted(inner: RandomAccessSource): RandomAccessSource & { fetched: number; calls: number } {
  const s = {
    size: inner.size,
    fetched: 0,
    calls: 0,
    read: async (offset: number, length: number, signal?: AbortSignal) => {
      s.fetched += length
      s.calls++
      return inner.read(offset, length, signal)
    },
  }
  return s
}

before(async () => {
  endpoint = await kmsEndpoint()
  const { client } = await motoClient()
  envelope = new Envelope({ keyring: new KmsKeyring({ keyIds: [await createKey()], client }) })
  s3 = new S3Client({ endpoint, region: REGION, credentials: CREDENTIALS, forcePathStyle: true })
  await s3.send(new CreateBucketCommand({ Bucket }))
  const message = await envelope.encrypt(plaintext, { context: { asset: 'video' } })
  // Public, so urlSource reads it with plain HTTP as it would from a CDN or a presigned URL.
  await s3.send(new PutObjectCommand({ Bucket, Key, Body: message, ACL: 'public-read' }))
})

after(() => s3?.destroy())

describe('random access from S3 (moto)', () => {
  it('200 random ranges of a 64 MiB object: exact bytes, and the bytes fetched stay within the frames touched', async () => {
    const source = counted(await s3Source(s3, Bucket, Key))
    const reader = await envelope.openRandomAccess(source, { expectContext: { asset: 'video' } })
    assert.equal(reader.size, SIZE)
    // Open: the head (one 4 KiB probe) and the final frame, never the body.
    assert.ok(source.fetched <= 4096 + STEP, `open fetched ${source.fetched}`)
    const atOpen = source.fetched
    const r = seededInts(77)
    let touched = 0
    for (let i = 0; i < 200; i++) {
      const start = r(SIZE)
      const length = i % 4 === 0 ? r(3 * F) : r(4096) + 1
      assert.deepEqual(await reader.read(start, length), plaintext.subarray(start, start + length), `${start}+${length}`)
      touched += ciphertextRange(reader.layout, start, start + length).frames
    }
    const fetched = source.fetched - atOpen
    // No frame is fetched that the range does not touch, and the cache saves some refetches.
    assert.ok(fetched <= touched * STEP, `fetched ${fetched} for ${touched} frames`)
    assert.ok(fetched >= (touched - 10) * STEP * 0.9, `fetched ${fetched}: the ranges were not read`)
    reader.close()
  })

  it('urlSource over the object URL: real HTTP Range GETs; an object replaced after open fails (If-Match) instead of mixing versions', async () => {
    const reader = await envelope.openRandomAccess(await urlSource(`${endpoint}/${Bucket}/${Key}`), { expectContext: { asset: 'video' } })
    assert.equal(reader.size, SIZE)
    const r = seededInts(9)
    for (let i = 0; i < 10; i++) {
      const start = r(SIZE)
      const length = r(2 * F)
      assert.deepEqual(await reader.read(start, length), plaintext.subarray(start, start + length))
    }
    reader.close()
    const small = pattern(10 * F, 3)
    await s3.send(new PutObjectCommand({ Bucket, Key: 'small.kmse', Body: await envelope.encrypt(small), ACL: 'public-read' }))
    const replaced = await envelope.openRandomAccess(await urlSource(`${endpoint}/${Bucket}/small.kmse`), { cacheFrames: 0 })
    assert.deepEqual(await replaced.read(F, 10), small.subarray(F, F + 10))
    await s3.send(new PutObjectCommand({ Bucket, Key: 'small.kmse', Body: await envelope.encrypt(small), ACL: 'public-read' }))
    await assert.rejects(replaced.read(F, 10), { code: 'ERR_SOURCE', status: 412, message: /HTTP 412/ })
  })

  it('examples/s3-range-server answers real HTTP Range requests with the decrypted bytes', async () => {
    const source = counted(await s3Source(s3, Bucket, Key))
    const server = await startRangeServer(envelope, source)
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const r = seededInts(5)
      for (let i = 0; i < 20; i++) {
        const start = r(SIZE)
        const end = Math.min(SIZE, start + r(200_000) + 1)
        const res = await fetch(base, { headers: { range: `bytes=${start}-${end - 1}` } })
        assert.equal(res.status, 206)
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end - 1}/${SIZE}`)
        assert.deepEqual(new Uint8Array(await res.arrayBuffer()), plaintext.subarray(start, end))
      }
      const tail = await fetch(base, { headers: { range: 'bytes=-1000' } })
      assert.equal(tail.status, 206)
      assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), plaintext.subarray(SIZE - 1000))
      const from = await fetch(base, { headers: { range: `bytes=${SIZE - F - 5}-` } })
      assert.deepEqual(new Uint8Array(await from.arrayBuffer()), plaintext.subarray(SIZE - F - 5))
      const bad = await fetch(base, { headers: { range: `bytes=${SIZE}-` } })
      assert.equal(bad.status, 416)
      await bad.arrayBuffer()
      assert.ok(source.fetched < 20 * (200_000 + 2 * STEP) + 4 * STEP + 4096 + STEP, `fetched ${source.fetched}`)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
