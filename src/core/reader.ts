/**
 * Decryption, in the order FORMAT.md §6.4 gives, written once for every reader: a message
 * held in memory ({@link decryptMessage}: buffers, records' heads, index keys) and a message
 * arriving in chunks ({@link DecryptSession}: Web and Node streams, files, the CLI).
 *
 *   parse the head (steps 1-9) → expected context (10) → body limits (11) → body complete (12,
 *   buffers only) → data key (13) → commitment and header tag (14) → frames (15)
 *
 * No key service is called before step 13, and no plaintext is released before its frame
 * verifies.
 * @module
 */
import { backend } from '#crypto-backend'
import type { MessageKeys } from '../crypto/keys.js'
import { openBody } from '../crypto/message.js'
import type { ParallelFrameCodec } from '../crypto/parallel-stream.js'
import type { Emit } from '../crypto/stream-codec.js'
import { FrameDecoder } from '../crypto/stream-codec.js'
import { AbortError, ContextMismatchError, invalidArgument, LimitError } from '../errors.js'
import { streamHeadCutShort } from '../format/body.js'
import { canonicalContext, contextMismatches, contextToObject } from '../format/context.js'
import { HeadReader } from '../format/head-reader.js'
import type { MessageHead, WholeMessage } from '../format/message.js'
import { checkBodyComplete, parseWholeMessage } from '../format/message.js'
import { checkSignal, streamEnded, throwIfAborted, toMessageBytes } from '../validate.js'
import type { DecryptionMaterials } from './materials.js'
import { decryptionMaterials } from './materials.js'
import type { DecryptInfo, DecryptOptions, DecryptResult } from './options.js'
import { streamThreadsFor, threadsFor } from './parallelism.js'
import type { EnvelopeSettings } from './settings.js'

/** Step 10: `expectContext` against a parsed header, before any key service is called. */
export function checkExpectedContext(head: MessageHead, expectContext: unknown): void {
  if (expectContext === undefined) return
  const expected = canonicalContext(expectContext, 'expectContext', false)
  const bad = contextMismatches(head.header.context, expected)
  if (bad.length > 0) throw new ContextMismatchError(bad)
}

/**
 * Step 11: reader limits that only matter when the body is read (decrypt and decrypting
 * streams; not records or rewrap, which read no frames).
 */
function checkBodyLimits(head: MessageHead, settings: EnvelopeSettings): void {
  const { frameSize } = head.header
  if (frameSize < settings.minFrameSize) {
    throw new LimitError(
      `the message uses ${frameSize}-byte frames; this reader accepts at least ${settings.minFrameSize} (minFrameSize): ` +
        'small frames make decryption slow; lower minFrameSize if you trust where the message comes from',
    )
  }
}

/** Message keys that passed steps 13-14, and what the reader may report about the message. */
export interface OpenedHead {
  readonly keys: MessageKeys
  readonly info: DecryptInfo
}

function opened(head: MessageHead, { keys, recipient }: DecryptionMaterials): OpenedHead {
  const info = {
    context: contextToObject(head.header.context),
    keyIds: head.recipients.map((r) => r.keyId),
    keyId: recipient.keyId,
  }
  return { keys, info }
}

/** Steps 13-14: the data key, checked against the commitment and the header tag. A promise only when a keyring is asked. */
function openHead(settings: EnvelopeSettings, head: MessageHead, signal: AbortSignal | undefined): OpenedHead | Promise<OpenedHead> {
  const materials = decryptionMaterials(settings, head, signal)
  return materials instanceof Promise ? materials.then((m) => opened(head, m)) : opened(head, materials)
}

/**
 * Steps 10-14 for every reader that decrypts a body (buffers, streams, random access): the
 * expected context, the body limits, `checkBody` (step 12, for readers that know the body's
 * length before any key service is called), then the data key through the materials (and the
 * cache), checked against the commitment and the header tag. The caller wipes `keys`.
 */
export function openForBody(
  settings: EnvelopeSettings,
  head: MessageHead,
  expectContext: unknown,
  signal: AbortSignal | undefined,
  checkBody?: () => void,
): OpenedHead | Promise<OpenedHead> {
  checkExpectedContext(head, expectContext)
  checkBodyLimits(head, settings)
  checkBody?.()
  return openHead(settings, head, signal)
}

/**
 * Decrypts a whole message held in memory. Nothing is returned unless every byte is authentic.
 * Like the functions below it, this returns a promise only when it must wait (a keyring call,
 * worker threads), and may throw synchronously: callers are async functions, which turn both
 * into one rejected promise.
 */
export function decryptMessage(settings: EnvelopeSettings, message: unknown, options: DecryptOptions = {}): DecryptResult | Promise<DecryptResult> {
  return decryptParsed(settings, parseWholeMessage(toMessageBytes(message), settings), options)
}

/** Steps 10-15 for a message whose head is parsed (readers with their own parsing rules, such as the index key's). */
export function decryptParsed(settings: EnvelopeSettings, whole: WholeMessage, options: DecryptOptions = {}): DecryptResult | Promise<DecryptResult> {
  const head = openForBody(settings, whole.head, options.expectContext, options.signal, () => checkBodyComplete(whole))
  return head instanceof Promise ? head.then((h) => decryptBody(settings, whole, h)) : decryptBody(settings, whole, head)
}

/** Step 15 for a whole message; wipes the keys. */
function decryptBody(settings: EnvelopeSettings, whole: WholeMessage, { keys, info }: OpenedHead): DecryptResult | Promise<DecryptResult> {
  let pending: ReturnType<typeof threadsFor>
  try {
    pending = threadsFor(settings, whole.body.length)
  } catch (error) {
    keys.wipe()
    throw error
  }
  if (pending === undefined) {
    try {
      return { plaintext: openBody(backend, whole.head, keys, whole.body), ...info }
    } finally {
      keys.wipe()
    }
  }
  return (async () => {
    try {
      const threads = await pending
      const plaintext =
        threads === undefined ? openBody(backend, whole.head, keys, whole.body) : await threads.openBody(backend, threads.pool, whole.head, keys, whole.body)
      return { plaintext, ...info }
    } finally {
      keys.wipe()
    }
  })()
}

/**
 * Decrypts one message arriving in chunks, independent of any stream API. `push` returns a
 * promise only while the head is being opened (key-service calls); the caller must not send
 * the next chunk, nor modify this one, until it settles. Afterwards every call is synchronous.
 * Step 12 is deferred to the end of the input (a stream cannot know the body's length first).
 */
export class DecryptSession {
  /** Resolves once the head is authenticated; rejects with the error if the session fails first. */
  readonly info: Promise<DecryptInfo>
  readonly #settings: EnvelopeSettings
  readonly #expectContext: unknown
  readonly #signal: AbortSignal | undefined
  #resolveInfo!: (info: DecryptInfo) => void
  #rejectInfo!: (error: unknown) => void
  /** Collects the head; undefined once it is complete. */
  #headReader: HeadReader | undefined
  readonly #parallel: boolean
  #decoder: FrameDecoder | ParallelFrameCodec | undefined
  #opening = false
  #closed = false

  /**
   * Validates the options now, so a bad `expectContext` fails when the stream is created.
   * `parallel`: open frames on the Envelope's worker threads (its `parallelism`), for callers
   * that await `push` and `finish` (Node streams, files, the CLI).
   */
  constructor(settings: EnvelopeSettings, options: DecryptOptions = {}, parallel = false) {
    this.#settings = settings
    this.#parallel = parallel
    this.#headReader = new HeadReader(settings)
    canonicalContext(options.expectContext, 'expectContext', false)
    this.#expectContext = options.expectContext
    this.#signal = checkSignal(options.signal)
    this.info = new Promise<DecryptInfo>((resolve, reject) => {
      this.#resolveInfo = resolve
      this.#rejectInfo = reject
    })
    // Callers that never look at `info` must not get an unhandled rejection from it.
    this.info.catch(() => {})
  }

  push(chunk: Uint8Array, emit: Emit): void | Promise<void> {
    if (this.#closed) throw streamEnded()
    throwIfAborted(this.#signal)
    if (this.#decoder !== undefined) return this.#decoder.push(chunk, emit)
    if (this.#opening) throw invalidArgument('a chunk was pushed before the previous one was processed; wait for push() to settle')
    const read = this.#headReader!.push(chunk)
    if (read === undefined) return
    this.#headReader = undefined
    return this.#open(read.head, read.bytes, emit)
  }

  async #open(head: MessageHead, bytes: Uint8Array, emit: Emit): Promise<void> {
    this.#opening = true
    const { keys, info } = await openForBody(this.#settings, head, this.#expectContext, this.#signal)
    let threads: Awaited<ReturnType<typeof streamThreadsFor>>
    try {
      threads = this.#parallel ? await streamThreadsFor(this.#settings) : undefined
    } catch (error) {
      keys.wipe()
      throw error
    }
    if (this.#closed) {
      keys.wipe()
      throw new AbortError()
    }
    const { messageId, frameSize } = head.header
    this.#decoder =
      threads === undefined
        ? new FrameDecoder(backend, keys, messageId, frameSize)
        : new threads.Codec(backend, threads.pool, keys, messageId, frameSize, 'open')
    this.#resolveInfo(info)
    await this.#decoder.push(bytes.subarray(head.bodyOffset), emit)
  }

  /** A promise only in parallel mode. */
  finish(emit: Emit): void | Promise<void> {
    if (this.#closed || (this.#opening && this.#decoder === undefined)) throw streamEnded()
    throwIfAborted(this.#signal)
    if (this.#decoder === undefined) {
      const reader = this.#headReader!
      throw streamHeadCutShort(reader.buffered, reader.need)
    }
    this.#closed = true
    return this.#decoder.finish(emit)
  }

  /** Ends the session after an error or cancellation: wipes keys, rejects `info` if still pending. */
  fail(error: unknown): void {
    this.#rejectInfo(error)
    this.dispose()
  }

  /** Wipes keys; the session cannot be used afterwards. */
  dispose(): void {
    this.#closed = true
    this.#headReader = undefined
    this.#decoder?.dispose()
    this.#rejectInfo(new AbortError())
  }
}
