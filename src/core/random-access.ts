/**
 * Random access: read any byte range of a message without decrypting the rest (FORMAT.md
 * §15). Frames have a fixed size and their nonce and AAD come from the frame index, so the
 * frames a range needs are found by arithmetic and opened on their own.
 *
 * Opening runs the decrypt order of reader.ts (steps 1-14, with step 12 judged from the
 * source's size) and then authenticates the final frame, so the plaintext size is authentic
 * before the first read: a truncated or extended object fails at open. Each read then
 * authenticates every frame it touches before releasing any of its bytes.
 * @module
 */
import { backend } from '#crypto-backend'
import { frameAad, frameNonce } from '../crypto/frames.js'
import type { MessageKeys } from '../crypto/keys.js'
import { AbortError, AuthenticationError, invalidArgument, LimitError, outOfRange, TruncatedError } from '../errors.js'
import { bodyCutShort, bodyFrames, headCutShort } from '../format/body.js'
import { MAX_FRAMES, TAG_BYTES } from '../format/constants.js'
import type { MessageHead } from '../format/message.js'
import { parseHead } from '../format/message.js'
import { checkSignal, integerOption, listenForAbort, throwIfAborted } from '../validate.js'
import type { MessageInfo } from './inspect.js'
import type { DecryptInfo, DecryptOptions } from './options.js'
import { openForBody } from './reader.js'
import type { EnvelopeSettings } from './settings.js'

/**
 * Random-access bytes of one encrypted message: a file, a Blob, an object in storage.
 * `read` must return exactly `length` bytes from `offset` (the reader never asks past `size`),
 * and may be called concurrently.
 */
export interface RandomAccessSource {
  /** Total bytes of the encrypted message. */
  readonly size: number | bigint
  /**
   * The `length` bytes at `offset`. The reader does not modify them.
   * @param offset - byte offset into the encrypted message
   * @param length - bytes wanted (never past `size`)
   * @param signal - aborts the read
   */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>
}

/** Options of {@link Envelope.openRandomAccess}. */
export interface RandomAccessOptions extends DecryptOptions {
  /**
   * Decrypted frames kept for later reads besides the final frame, 0 to 1024 (default 4), so
   * sequential small reads do not open a frame twice. Memory: about this many frames.
   */
  readonly cacheFrames?: number | undefined
}

/** Where a message's frames are: what {@link ciphertextRange} needs. `inspect` returns these fields too. */
export interface MessageLayout {
  /** Plaintext bytes per frame. */
  readonly frameSize: number
  /** Bytes before the first frame (preamble, header, header tag, recipients). */
  readonly headerBytes: number
  /** Plaintext bytes of the whole message. */
  readonly plaintextBytes: number
}

/** The ciphertext a plaintext range needs: bytes `start` to `end` (exclusive) of the message. */
export interface CiphertextRange {
  /** First ciphertext byte (the first frame's start). */
  readonly start: number
  /** Ciphertext byte after the last frame's tag. */
  readonly end: number
  /** Index of the first frame. */
  readonly firstFrame: number
  /** How many frames (0 for an empty range). */
  readonly frames: number
  /** Plaintext offset of the first frame's first byte: the range starts `rangeStart - plaintextStart` bytes into the frames' plaintext. */
  readonly plaintextStart: number
}

/** An opened message: authentic size and context, and reads of any range. */
export interface RandomAccessReader extends DecryptInfo {
  /** Plaintext bytes, authenticated at open (the final frame was verified). */
  readonly size: number
  /** Frame size and offsets, for {@link ciphertextRange}. */
  readonly layout: MessageLayout
  /**
   * Up to `length` plaintext bytes from `offset`; fewer at the end, none past it. Every frame
   * the range touches is authenticated before any byte is returned.
   *
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a negative or non-integer offset or length, or after `close()`;
   *   `ERR_AUTH` when a frame touched was altered or moved; `ERR_TRUNCATED` when the source returns fewer bytes than asked;
   *   `ERR_ABORTED`; the source's own errors.
   * @param offset - plaintext byte offset
   * @param length - plaintext bytes wanted (fewer are returned past the end)
   * @param signal - aborts the read
   */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>
  /**
   * Plaintext from `start` to `end` (exclusive, default the end) as a stream of at most one
   * frame per chunk, each authenticated before it is released. Errors as {@link RandomAccessReader.read}.
   * @param start - first plaintext byte (default 0)
   * @param end - plaintext offset to stop before (default `size`)
   */
  stream(start?: number, end?: number): ReadableStream<Uint8Array>
  /** Wipes the content key and drops cached frames; reads fail afterwards. */
  close(): void
}

/** Ciphertext bytes a source read may return per call: bounds what one read of many frames holds at once. */
const RUN_BYTES = 8 * 1024 * 1024
/** Bytes asked for first: most heads fit, so opening usually costs one read for the head. */
const HEAD_PROBE = 4096
const DEFAULT_CACHE_FRAMES = 4
const MAX_CACHE_FRAMES = 1024

function checkOffset(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

function sourceSize(source: RandomAccessSource): number {
  const raw = source.size
  const size = typeof raw === 'bigint' && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : raw
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw outOfRange(`source.size must be a non-negative safe integer (number or bigint), got ${String(raw)}`)
  }
  return size
}

/** `promise`, or ERR_ABORTED as soon as `signal` aborts, whether or not the source listens to it. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const stop = listenForAbort(signal, reject)
    promise.then(
      (value) => {
        stop()
        resolve(value)
      },
      (error: unknown) => {
        stop()
        reject(error)
      },
    )
  })
}

/** Exactly `length` bytes of `source` at `offset`: a short answer means the object changed or was cut. */
async function readExact(source: RandomAccessSource, offset: number, length: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0)
  throwIfAborted(signal)
  const bytes = await abortable(source.read(offset, length, signal), signal)
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('source.read must return a Uint8Array')
  if (bytes.length < length) {
    throw new TruncatedError(
      `the source returned ${bytes.length} bytes at offset ${offset} where ${length} were asked: the message changed or was cut short after it was opened`,
    )
  }
  if (bytes.length > length) throw invalidArgument(`source.read returned ${bytes.length} bytes at offset ${offset}; it was asked for ${length}`)
  return bytes
}

/** Steps 1-9 from the source: read what parseHead says it needs, judging each length before reading on. */
async function readHead(source: RandomAccessSource, size: number, settings: EnvelopeSettings, signal: AbortSignal | undefined): Promise<MessageHead> {
  let bytes = await readExact(source, 0, Math.min(size, HEAD_PROBE), signal)
  for (;;) {
    const parsed = parseHead(bytes, settings)
    if ('head' in parsed) return parsed.head
    if (parsed.need > size) throw headCutShort(size, parsed.need)
    const more = await readExact(source, bytes.length, parsed.need - bytes.length, signal)
    const joined = new Uint8Array(parsed.need)
    joined.set(bytes, 0)
    joined.set(more, bytes.length)
    bytes = joined
  }
}

/**
 * The ciphertext bytes that hold plaintext bytes `start` to `end` (exclusive; clamped to the
 * message), so a server can fetch exactly those from object storage and decrypt them.
 *
 * @example
 * ```ts
 * const r = ciphertextRange(reader.layout, 1_000_000, 1_001_024)
 * // GET with `Range: bytes=${r.start}-${r.end - 1}`
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for a negative or non-integer bound or a malformed layout.
 * @param layout - the message's {@link MessageLayout}: a reader's `layout`, or what `inspect` returns for the whole message
 * @param start - first plaintext byte
 * @param end - plaintext byte after the last one
 */
export function ciphertextRange(layout: MessageLayout | MessageInfo, start: number, end: number): CiphertextRange {
  if (layout === null || typeof layout !== 'object') throw invalidArgument('layout must be { frameSize, headerBytes, plaintextBytes }')
  if (layout.plaintextBytes === null) throw invalidArgument('the message has no complete body (inspect says plaintextBytes: null): it was cut short')
  const frameSize = checkOffset(layout.frameSize, 'layout.frameSize')
  if (frameSize === 0) throw invalidArgument('layout.frameSize must be positive')
  const headerBytes = checkOffset(layout.headerBytes, 'layout.headerBytes')
  const size = checkOffset(layout.plaintextBytes, 'layout.plaintextBytes')
  const from = Math.min(checkOffset(start, 'start'), size)
  const to = Math.min(checkOffset(end, 'end'), size)
  const step = frameSize + TAG_BYTES
  const finalIndex = Math.floor(size / frameSize)
  const first = Math.floor(from / frameSize)
  if (to <= from) return { start: headerBytes + first * step, end: headerBytes + first * step, firstFrame: first, frames: 0, plaintextStart: from }
  const last = Math.floor((to - 1) / frameSize)
  const lastSealed = (last === finalIndex ? size - last * frameSize : frameSize) + TAG_BYTES
  return {
    start: headerBytes + first * step,
    end: headerBytes + last * step + lastSealed,
    firstFrame: first,
    frames: last - first + 1,
    plaintextStart: first * frameSize,
  }
}

/** A frame's plaintext, or the error that opening it gave. */
type Opened = Uint8Array | Error

class Reader implements RandomAccessReader {
  readonly size: number
  readonly layout: MessageLayout
  readonly context: Record<string, string>
  readonly keyIds: string[]
  readonly keyId: string
  readonly #source: RandomAccessSource
  readonly #keys: MessageKeys
  readonly #messageId: Uint8Array
  readonly #frameSize: number
  readonly #bodyOffset: number
  readonly #finalIndex: number
  readonly #final: Uint8Array
  readonly #cacheFrames: number
  /** Recently used frames, least recent first (a Map keeps insertion order). */
  readonly #cache = new Map<number, Uint8Array>()
  /** Frames being fetched: a second reader of the same frame waits for the first. */
  readonly #inflight = new Map<number, Promise<Uint8Array>>()
  #closed = false

  constructor(init: {
    source: RandomAccessSource
    head: MessageHead
    keys: MessageKeys
    info: DecryptInfo
    size: number
    finalIndex: number
    final: Uint8Array
    cacheFrames: number
  }) {
    const { header, bodyOffset } = init.head
    this.#source = init.source
    this.#keys = init.keys
    this.#messageId = header.messageId
    this.#frameSize = header.frameSize
    this.#bodyOffset = bodyOffset
    this.#finalIndex = init.finalIndex
    this.#final = init.final
    this.#cacheFrames = init.cacheFrames
    this.size = init.size
    this.layout = Object.freeze({ frameSize: header.frameSize, headerBytes: bodyOffset, plaintextBytes: init.size })
    this.context = init.info.context
    this.keyIds = init.info.keyIds
    this.keyId = init.info.keyId
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkOffset(offset, 'offset')
    checkOffset(length, 'length')
    checkSignal(signal)
    this.#checkOpen()
    const end = Math.min(this.size, offset + length)
    if (offset >= end) return new Uint8Array(0)
    const f = this.#frameSize
    const first = Math.floor(offset / f)
    const last = Math.floor((end - 1) / f)
    const out = new Uint8Array(end - offset)
    // Frames in order, one source read per run of missing frames, so memory is the output plus one run.
    for (let i = first; i <= last; ) {
      const known = this.#known(i)
      let frames: Uint8Array[]
      try {
        frames = known === undefined ? await this.#fetchRun(i, last, signal) : [await known]
      } catch (error) {
        // Another read's signal cancelled the fetch this one joined: fetch the frame itself.
        if (known !== undefined && error instanceof AbortError && !signal?.aborted && !this.#closed) {
          if (this.#inflight.get(i) === known) this.#inflight.delete(i)
          continue
        }
        throw error
      }
      for (const plain of frames) {
        const at = i * f
        const from = Math.max(offset, at) - at
        const to = Math.min(end, at + plain.length) - at
        out.set(plain.subarray(from, to), at + from - offset)
        i++
      }
    }
    return out
  }

  stream(start = 0, end = this.size): ReadableStream<Uint8Array> {
    let at = Math.min(checkOffset(start, 'start'), this.size)
    const stop = Math.min(checkOffset(end, 'end'), this.size)
    this.#checkOpen()
    const controller = new AbortController()
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          if (at >= stop) return c.close()
          const next = Math.min(stop, (Math.floor(at / this.#frameSize) + 1) * this.#frameSize)
          const chunk = await this.read(at, next - at, controller.signal)
          at = next
          c.enqueue(chunk)
          if (at >= stop) c.close()
        },
        cancel: (reason) => controller.abort(reason),
      },
      { highWaterMark: 0 },
    )
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#keys.wipe()
    this.#cache.clear()
  }

  #checkOpen(): void {
    if (this.#closed) throw invalidArgument('this random-access reader is closed; open the message again')
  }

  /** A frame already decrypted or on its way, refreshing its place in the cache. */
  #known(index: number): Promise<Uint8Array> | undefined {
    if (index === this.#finalIndex) return Promise.resolve(this.#final)
    const cached = this.#cache.get(index)
    if (cached !== undefined) {
      this.#cache.delete(index)
      this.#cache.set(index, cached)
      return Promise.resolve(cached)
    }
    return this.#inflight.get(index)
  }

  /** Fetches and opens frames from `first` while they are neither cached nor in flight (never the final frame), up to `last`. */
  async #fetchRun(first: number, last: number, signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const step = this.#frameSize + TAG_BYTES
    const most = Math.max(1, Math.floor(RUN_BYTES / step))
    let stop = first + 1
    while (stop <= last && stop - first < most && stop !== this.#finalIndex && this.#known(stop) === undefined) stop++
    const opened = this.#openFrames(first, stop, signal)
    for (let i = first; i < stop; i++) {
      const one = opened.then((all) => {
        const plain = all[i - first]!
        if (plain instanceof Error) throw plain
        return plain
      })
      // Waiters attach their own handlers; this one only keeps an unawaited failure from being unhandled.
      one.catch(() => {})
      this.#inflight.set(i, one)
    }
    const all = await opened.finally(() => {
      for (let i = first; i < stop; i++) this.#inflight.delete(i)
    })
    const bad = all.find((plain) => plain instanceof Error)
    if (bad !== undefined) throw bad
    return all as Uint8Array[]
  }

  async #openFrames(first: number, stop: number, signal: AbortSignal | undefined): Promise<Opened[]> {
    const step = this.#frameSize + TAG_BYTES
    const sealed = await readExact(this.#source, this.#bodyOffset + first * step, (stop - first) * step, signal)
    if (this.#closed) throw new AbortError({ cause: 'the random-access reader was closed during the read' })
    const out: Opened[] = []
    for (let i = first; i < stop; i++) {
      const at = (i - first) * step
      const plain = backend.open(this.#keys.contentKey, frameNonce(i), sealed.subarray(at, at + step), frameAad(this.#messageId, i, false))
      if (plain === undefined) {
        out.push(new AuthenticationError())
        continue
      }
      out.push(plain)
      this.#remember(i, plain)
    }
    return out
  }

  #remember(index: number, plain: Uint8Array): void {
    if (this.#cacheFrames === 0) return
    this.#cache.delete(index)
    this.#cache.set(index, plain)
    while (this.#cache.size > this.#cacheFrames) this.#cache.delete(this.#cache.keys().next().value!)
  }

  /** @internal Frames held decrypted besides the final one (tests check the bound). */
  get cachedFrames(): number {
    return this.#cache.size
  }
}

/**
 * Opens a message for random access (see {@link RandomAccessReader}): the head goes through the
 * same checks, key acquisition and cache as `decrypt`, then the final frame is authenticated.
 */
export async function openRandomAccess(settings: EnvelopeSettings, source: RandomAccessSource, options: RandomAccessOptions = {}): Promise<RandomAccessReader> {
  if (source === null || typeof source !== 'object' || typeof source.read !== 'function') {
    throw invalidArgument('source must be { size, read(offset, length) }: see blobSource, bytesSource, urlSource, or openEncryptedFile in kms-envelope/node')
  }
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object')
  const cacheFrames = integerOption(options.cacheFrames, 'cacheFrames', 0, MAX_CACHE_FRAMES, DEFAULT_CACHE_FRAMES)
  const signal = checkSignal(options.signal)
  const size = sourceSize(source)
  const head = await readHead(source, size, settings, signal)
  const { frameSize } = head.header
  const layout = bodyFrames(size - head.bodyOffset, frameSize)
  const { keys, info } = await openForBody(settings, head, options.expectContext, signal, () => {
    if (layout === undefined) throw bodyCutShort()
    if (layout.frames > MAX_FRAMES) throw new LimitError(`the message has ${layout.frames} frames; at most ${MAX_FRAMES} are allowed`)
  })
  try {
    const finalIndex = layout!.frames - 1
    const step = frameSize + TAG_BYTES
    const sealed = await readExact(source, head.bodyOffset + finalIndex * step, size - head.bodyOffset - finalIndex * step, signal)
    const final = backend.open(keys.contentKey, frameNonce(finalIndex), sealed, frameAad(head.header.messageId, finalIndex, true))
    if (final === undefined) throw new AuthenticationError()
    return new Reader({ source, head, keys, info, size: layout!.plaintextLength, finalIndex, final, cacheFrames })
  } catch (error) {
    keys.wipe()
    throw error
  }
}
