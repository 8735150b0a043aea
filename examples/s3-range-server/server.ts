/**
 * Serves decrypted byte ranges of an encrypted S3 object over HTTP: each `Range:` GET fetches
 * only the frames it needs from S3 (one ranged GetObject), authenticates them and answers 206.
 * Run: BUCKET=b OBJECT=k KEY_FILE=key.json PORT=8080 node dist/examples/s3-range-server/server.js
 */
import { createServer, type Server } from 'node:http'
import { Readable } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { RandomAccessSource } from '../../src/index.js'
import { Envelope } from '../../src/index.js'
import { loadLocalKeyring } from '../../src/node/index.js'

/** An S3 object as a random-access source: one ranged GetObject per read. */
export async function s3Source(s3: S3Client, Bucket: string, Key: string): Promise<RandomAccessSource> {
  const { ContentLength, ETag } = await s3.send(new HeadObjectCommand({ Bucket, Key }))
  const read = async (offset: number, length: number, abortSignal?: AbortSignal) => {
    const range = `bytes=${offset}-${offset + length - 1}`
    const got = await s3.send(new GetObjectCommand({ Bucket, Key, Range: range, IfMatch: ETag }), abortSignal ? { abortSignal } : {})
    return got.Body!.transformToByteArray()
  }
  return { size: ContentLength!, read }
}

/** Answers GET (whole object or one `bytes=A-B` / `bytes=A-` / `bytes=-N` range) with the plaintext. */
export async function startRangeServer(envelope: Envelope, source: RandomAccessSource, port = 0): Promise<Server> {
  const reader = await envelope.openRandomAccess(source)
  const server = createServer((req, res) => {
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    let [start, end] = [0, reader.size]
    if (m !== null)
      [start, end] =
        m[1] === ''
          ? [Math.max(0, reader.size - Number(m[2])), reader.size]
          : [Number(m[1]), m[2] === '' ? reader.size : Math.min(reader.size, Number(m[2]) + 1)]
    if (req.headers.range !== undefined && (m === null || start >= end)) return void res.writeHead(416, { 'content-range': `bytes */${reader.size}` }).end()
    const head = { 'accept-ranges': 'bytes', 'content-length': end - start, 'content-type': 'application/octet-stream' }
    res.writeHead(m === null ? 200 : 206, m === null ? head : { ...head, 'content-range': `bytes ${start}-${end - 1}/${reader.size}` })
    Readable.fromWeb(reader.stream(start, end) as never)
      .on('error', () => res.destroy())
      .pipe(res)
  })
  server.on('close', () => reader.close())
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = new Envelope({ keyring: await loadLocalKeyring(process.env.KEY_FILE!) })
  const s3 = new S3Client({ forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined })
  const server = await startRangeServer(env, await s3Source(s3, process.env.BUCKET!, process.env.OBJECT!), Number(process.env.PORT ?? 8080))
  console.log(`serving s3://${process.env.BUCKET}/${process.env.OBJECT} decrypted on`, server.address())
}
