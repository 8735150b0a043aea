/**
 * One streamed message, independent of any stream API: getting keys, writing or reading the
 * head, then handing chunks to the frame codec. Web streams (src/stream.ts), Node streams
 * and the file helpers (src/node/) are thin adapters over these two classes, so every surface
 * applies the same checks in the same order.
 *
 * Decryption order: the head is buffered (bounded by the header and recipients limits, which
 * `parseHead` enforces before waiting for the bytes), `expectContext` is checked, the data
 * key is unwrapped and checked against the commitment and the header tag, and only then are
 * frames opened, each released only after its tag verifies.
 * @module
 */
import { backend } from '#crypto-backend'
import type { Emit } from './crypto/stream-codec.js'
import { FrameDecoder, FrameEncoder } from './crypto/stream-codec.js'
import { sealHead } from './crypto/message.js'
import { checkBodyLimits, checkExpectedContext, newMessageId } from './envelope.js'
import { AbortError, invalidArgument, TruncatedError } from './errors.js'
import type { CanonicalContext, EncryptionContext } from './format/context.js'
import { canonicalContext, contextToObject } from './format/context.js'
import type { MessageHead } from './format/message.js'
import { HeadReader } from './format/head-reader.js'
import { throwIfAborted } from './keyrings/unwrap.js'
import type { EnvelopeSettings } from './materials.js'
import { decryptionMaterials, encryptionMaterials } from './materials.js'

/** Options of {@link Envelope.encryptStream} and the stream and file helpers built on it. */
export interface EncryptStreamOptions {
  /** Authenticated, unencrypted metadata that decryption must present again. Sent to KMS as EncryptionContext. */
  readonly context?: EncryptionContext
  /** Cancels key-service calls and fails the stream with `ERR_ABORTED`. */
  readonly signal?: AbortSignal
}

/** Options of {@link Envelope.decryptStream} and the stream and file helpers built on it. */
export interface DecryptStreamOptions {
  /** Pairs the message's context must contain with these exact values, or the stream fails with `ERR_CONTEXT_MISMATCH` before any key service is called. */
  readonly expectContext?: EncryptionContext
  /** Cancels key-service calls and fails the stream with `ERR_ABORTED`. */
  readonly signal?: AbortSignal
}

/** What a decrypting stream knows once the message's head is authenticated. */
export interface DecryptInfo {
  /** The message's full, authenticated encryption context. */
  readonly context: Record<string, string>
  /** Key ids of every wrapped key in the message, in message order. */
  readonly keyIds: string[]
  /** The key id that unwrapped the data key. */
  readonly keyId: string
}

/** @internal Stream chunks must be bytes; anything else is the caller's mistake. */
export function toChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  throw invalidArgument(`stream chunks must be Uint8Array (or Buffer), got ${chunk === null ? 'null' : typeof chunk}`)
}

/** @internal Runs `onAbort` once when `signal` aborts; returns the function that stops listening. */
export function listenForAbort(signal: AbortSignal | undefined, onAbort: (error: AbortError) => void): () => void {
  if (signal === undefined) return () => {}
  if (signal.aborted) {
    onAbort(new AbortError({ cause: signal.reason }))
    return () => {}
  }
  const listener = (): void => onAbort(new AbortError({ cause: signal.reason }))
  signal.addEventListener('abort', listener, { once: true })
  return () => signal.removeEventListener('abort', listener)
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal
  throw invalidArgument('signal must be an AbortSignal')
}

function ended(): TypeError {
  return invalidArgument('this stream already ended or failed; create a new one')
}

/** @internal Encrypts one message: `start` writes the head, `push` and `finish` the frames. */
export class EncryptSession {
  readonly #settings: EnvelopeSettings
  readonly #context: CanonicalContext
  readonly #signal: AbortSignal | undefined
  #encoder: FrameEncoder | undefined
  #closed = false

  /** Validates the options now, so a bad context fails when the stream is created. */
  constructor(settings: EnvelopeSettings, options: EncryptStreamOptions = {}) {
    this.#settings = settings
    this.#context = canonicalContext(options.context, 'context', true)
    this.#signal = checkSignal(options.signal)
  }

  /** Gets a data key and emits the head. Must complete before `push`. */
  async start(emit: Emit): Promise<void> {
    const materials = await encryptionMaterials(this.#settings, this.#context, this.#signal)
    let head: Uint8Array
    try {
      // Cancelled while the key service answered: the key is wiped below, nothing is written.
      if (this.#closed) throw new AbortError()
      const messageId = newMessageId()
      const { dataKey, recipients } = materials
      const sealed = sealHead(backend, { dataKey, recipients, context: this.#context, frameSize: this.#settings.frameSize, messageId })
      head = sealed.head
      this.#encoder = new FrameEncoder(backend, sealed.keys, messageId, this.#settings.frameSize)
    } finally {
      materials.release()
    }
    emit(head)
  }

  push(chunk: Uint8Array, emit: Emit): void {
    if (this.#encoder === undefined || this.#closed) throw ended()
    throwIfAborted(this.#signal)
    this.#encoder.push(chunk, emit)
  }

  finish(emit: Emit): void {
    if (this.#encoder === undefined || this.#closed) throw ended()
    throwIfAborted(this.#signal)
    this.#closed = true
    this.#encoder.finish(emit)
  }

  /** Wipes keys and buffered plaintext; the session cannot be used afterwards. */
  dispose(): void {
    this.#closed = true
    this.#encoder?.dispose()
  }
}

/**
 * @internal Decrypts one message. `push` returns a promise only while the head is being
 * opened (key service calls); the caller must not send the next chunk, nor modify this
 * one, until it settles. Afterwards every call is synchronous.
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
  #decoder: FrameDecoder | undefined
  #opening = false
  #closed = false

  /** Validates the options now, so a bad `expectContext` fails when the stream is created. */
  constructor(settings: EnvelopeSettings, options: DecryptStreamOptions = {}) {
    this.#settings = settings
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
    if (this.#closed) throw ended()
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
    checkExpectedContext(head, this.#expectContext)
    checkBodyLimits(head, this.#settings)
    const { keys, recipient } = await decryptionMaterials(this.#settings, head, this.#signal)
    if (this.#closed) {
      keys.wipe()
      throw new AbortError()
    }
    this.#decoder = new FrameDecoder(backend, keys, head.header.messageId, head.header.frameSize)
    this.#resolveInfo({
      context: contextToObject(head.header.context),
      keyIds: head.recipients.map((r) => r.keyId),
      keyId: recipient.keyId,
    })
    this.#decoder.push(bytes.subarray(head.bodyOffset), emit)
  }

  finish(emit: Emit): void {
    if (this.#closed || (this.#opening && this.#decoder === undefined)) throw ended()
    throwIfAborted(this.#signal)
    if (this.#decoder === undefined) {
      const reader = this.#headReader!
      throw new TruncatedError(
        `the input ended after ${reader.buffered} bytes, before the message head was complete (it needs at least ${reader.need}): ` +
          'it is empty or was cut short',
      )
    }
    this.#closed = true
    this.#decoder.finish(emit)
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

