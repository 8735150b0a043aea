/**
 * Random-access sources for the runtime-neutral core: bytes in memory, a Blob or File, and a
 * URL whose server answers HTTP Range requests (object storage, a CDN, a presigned URL).
 * Node files are in kms-envelope/node (openEncryptedFile).
 * @module
 */
import { invalidArgument, SourceError, TruncatedError } from '../errors.js'
import type { RandomAccessSource } from './random-access.js'

/**
 * A source over a message held in memory.
 *
 * @example
 * ```ts
 * const reader = await env.openRandomAccess(bytesSource(message))
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` when `bytes` is not a Uint8Array.
 * @param bytes - the whole message
 */
export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes must be a Uint8Array')
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) }
}

/**
 * A source over a `Blob` or `File` (browsers, Node, Deno, Bun): only the slices read are loaded.
 *
 * @example
 * ```ts
 * const reader = await env.openRandomAccess(blobSource(input.files[0]))
 * const page = await reader.read(4096 * 10, 4096)
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` when `blob` is not a Blob.
 * @param blob - the encrypted message
 */
export function blobSource(blob: Blob): RandomAccessSource {
  if (typeof Blob === 'undefined' || !(blob instanceof Blob)) throw invalidArgument('blob must be a Blob or File')
  return { size: blob.size, read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) }
}

/** Options of {@link urlSource}. */
export interface UrlSourceOptions {
  /** The fetch to use (default the global one): to add authentication, retries or a test double. */
  readonly fetch?: typeof fetch
  /** Headers sent with every request (Range and If-Match are set by the source). */
  readonly headers?: Record<string, string>
  /** Cancels the first request. */
  readonly signal?: AbortSignal
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/

function urlForMessages(url: string | URL): string {
  try {
    const parsed = new URL(String(url))
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return 'the URL'
  }
}

/**
 * A source over a URL whose server answers `Range:` GETs with 206 (S3 and most object stores,
 * CDNs and static servers). The first request (`bytes=0-0`) learns the size from
 * `Content-Range`; later requests send `If-Match` with the first ETag when the server exposes
 * one, so an object replaced meanwhile fails instead of mixing two versions.
 *
 * @example
 * ```ts
 * const reader = await env.openRandomAccess(await urlSource('https://cdn.example/video.kmse'))
 * const video = reader.stream(1_000_000)
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for a bad URL or options; {@link SourceError} `ERR_SOURCE`
 *   when the server does not answer a Range request with 206 and a Content-Range, and (from
 *   reads) when the object was replaced after the first request (HTTP 412); `ERR_TRUNCATED`
 *   when it returns fewer bytes than asked.
 * @param url - the encrypted object
 * @param options - `fetch`, `headers`, `signal`
 */
export async function urlSource(url: string | URL, options: UrlSourceOptions = {}): Promise<RandomAccessSource> {
  if (typeof url !== 'string' && !(url instanceof URL)) throw invalidArgument('url must be a string or URL')
  const doFetch = options.fetch ?? globalThis.fetch
  if (typeof doFetch !== 'function') throw invalidArgument('no fetch available: pass options.fetch')
  const base = { ...options.headers }
  // Origin and path only: a presigned URL's query holds a signature, which no error message should carry.
  const where = urlForMessages(url)
  const get = async (start: number, end: number, etag: string | null, signal: AbortSignal | undefined): Promise<Response> => {
    const headers: Record<string, string> = { ...base, range: `bytes=${start}-${end - 1}` }
    if (etag !== null) headers['if-match'] = etag
    const response = await doFetch(url, { headers, ...(signal === undefined ? {} : { signal }) })
    if (response.status !== 206) {
      await response.body?.cancel()
      if (response.status === 412 && etag !== null) {
        throw new SourceError(`${where} changed after it was opened (HTTP 412: it no longer matches ETag ${etag}); open it again`, 412)
      }
      throw new SourceError(`${where} answered a Range request with HTTP ${response.status}, not 206: the server must support Range requests`, response.status)
    }
    return response
  }
  const first = await get(0, 1, null, options.signal)
  const match = CONTENT_RANGE.exec(first.headers.get('content-range') ?? '')
  await first.body?.cancel()
  if (match === null) throw new SourceError(`${where} answered without a Content-Range header (exposed to this page): the size is unknown`, first.status)
  const size = Number(match[3])
  const etag = first.headers.get('etag')
  return {
    size,
    read: async (offset, length, signal) => {
      const response = await get(offset, offset + length, etag, signal)
      const range = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '')
      if (range !== null && Number(range[1]) !== offset) {
        await response.body?.cancel()
        throw new SourceError(`${where} answered a Range request for byte ${offset} with bytes from ${range[1]}`, response.status)
      }
      const bytes = new Uint8Array(await response.arrayBuffer())
      if (bytes.length < length) throw new TruncatedError(`${where} returned ${bytes.length} bytes at ${offset} where ${length} were asked`)
      return bytes.subarray(0, length)
    },
  }
}
