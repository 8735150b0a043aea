/**
 * Encryption, written once for every writer: a message sealed whole ({@link encryptMessage})
 * or in chunks ({@link EncryptSession}: Web and Node streams, files, the CLI). Both get their
 * data key from the same materials (cache or keyrings), draw a fresh message id and seal the
 * same head, so every surface writes the same bytes for the same inputs.
 * @module
 */
import { backend } from '#crypto-backend'
import { sealHead, sealMessage } from '../crypto/message.js'
import type { ParallelFrameCodec } from '../crypto/parallel-stream.js'
import type { Emit } from '../crypto/stream-codec.js'
import { FrameEncoder } from '../crypto/stream-codec.js'
import { AbortError } from '../errors.js'
import { MESSAGE_ID_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import { canonicalContext } from '../format/context.js'
import { checkSignal, streamEnded, throwIfAborted, toPlaintextBytes } from '../validate.js'
import type { EncryptionMaterials } from './materials.js'
import { cachedEncryptionMaterials, encryptionMaterials } from './materials.js'
import type { EncryptOptions } from './options.js'
import type { Threads } from './parallelism.js'
import { streamThreadsFor, threadsFor } from './parallelism.js'
import type { EnvelopeSettings } from './settings.js'

/** 32 random bytes, fresh for every message: the message's keys and nonces all derive from it. */
export function newMessageId(): Uint8Array {
  return backend.randomBytes(MESSAGE_ID_BYTES)
}

/** Encrypts `plaintext` (bytes, or a string as UTF-8) into one message buffer. */
export function encryptMessage(settings: EnvelopeSettings, plaintext: unknown, options: EncryptOptions = {}): Uint8Array | Promise<Uint8Array> {
  const bytes = toPlaintextBytes(plaintext)
  const context = canonicalContext(options.context, 'context', true)
  const pending = threadsFor(settings, bytes.length)
  // A cache hit on the calling thread needs no promise (as a cached decrypt, reader.ts): the
  // caller is an async method, which turns a result or a throw into its promise.
  const hit = pending === undefined ? cachedEncryptionMaterials(settings, context, bytes.length) : undefined
  if (hit !== undefined) return sealWith(settings, hit, context, bytes, undefined)
  return (async () => {
    const threads = pending === undefined ? undefined : await pending
    return sealWith(settings, await encryptionMaterials(settings, context, options.signal, bytes.length), context, bytes, threads)
  })()
}

/** Seals a whole message with its materials (on the pool's threads when given); releases them. */
function sealWith(
  settings: EnvelopeSettings,
  materials: EncryptionMaterials,
  context: CanonicalContext,
  bytes: Uint8Array,
  threads: Threads | undefined,
): Uint8Array | Promise<Uint8Array> {
  const { dataKey, recipients } = materials
  const params = () => ({ dataKey, recipients, context, frameSize: settings.frameSize, messageId: newMessageId() })
  if (threads === undefined) {
    try {
      return sealMessage(backend, params(), bytes)
    } finally {
      materials.release()
    }
  }
  return (async () => {
    try {
      return await threads.sealMessage(backend, threads.pool, params(), bytes)
    } finally {
      materials.release()
    }
  })()
}

/**
 * @internal Where a session gets its data key and recipients: the Envelope's keyrings or cache
 * by default ({@link encryptionMaterials}); the AWS Encryption SDK migration passes one that
 * carries the old message's KMS-wrapped data key over (see presetMaterials).
 */
export type MaterialsSource = (settings: EnvelopeSettings, context: CanonicalContext, signal: AbortSignal | undefined) => Promise<EncryptionMaterials>

/** Encrypts one message arriving in chunks: `start` writes the head, `push` and `finish` the frames. */
export class EncryptSession {
  readonly #settings: EnvelopeSettings
  readonly #context: CanonicalContext
  readonly #signal: AbortSignal | undefined
  readonly #materials: MaterialsSource
  readonly #parallel: boolean
  #encoder: FrameEncoder | ParallelFrameCodec | undefined
  #closed = false

  /**
   * Validates the options now, so a bad context fails when the stream is created.
   * `materials`: where the data key comes from (default: the Envelope's keyrings or cache).
   * `parallel`: seal frames on the Envelope's worker threads (its `parallelism`), for callers
   * that await `push` and `finish` (Node streams, files, the CLI).
   */
  constructor(settings: EnvelopeSettings, options: EncryptOptions = {}, materials: MaterialsSource | undefined = encryptionMaterials, parallel = false) {
    this.#settings = settings
    this.#context = canonicalContext(options.context, 'context', true)
    this.#signal = checkSignal(options.signal)
    this.#materials = materials
    this.#parallel = parallel
  }

  /** Gets a data key and emits the head. Must complete before `push`. */
  async start(emit: Emit): Promise<void> {
    const threads = this.#parallel ? await streamThreadsFor(this.#settings) : undefined
    const materials = await this.#materials(this.#settings, this.#context, this.#signal)
    let head: Uint8Array
    try {
      // Cancelled while the key service answered: the key is wiped below, nothing is written.
      if (this.#closed) throw new AbortError()
      const messageId = newMessageId()
      const { dataKey, recipients } = materials
      const sealed = sealHead(backend, { dataKey, recipients, context: this.#context, frameSize: this.#settings.frameSize, messageId })
      head = sealed.head
      const { frameSize } = this.#settings
      this.#encoder =
        threads === undefined
          ? new FrameEncoder(backend, sealed.keys, messageId, frameSize)
          : new threads.Codec(backend, threads.pool, sealed.keys, messageId, frameSize, 'seal')
    } finally {
      materials.release()
    }
    emit(head)
  }

  /** A promise only in parallel mode, while its queue is full: wait for it before the next push. */
  push(chunk: Uint8Array, emit: Emit): void | Promise<void> {
    if (this.#encoder === undefined || this.#closed) throw streamEnded()
    throwIfAborted(this.#signal)
    return this.#encoder.push(chunk, emit)
  }

  /** A promise only in parallel mode. */
  finish(emit: Emit): void | Promise<void> {
    if (this.#encoder === undefined || this.#closed) throw streamEnded()
    throwIfAborted(this.#signal)
    this.#closed = true
    return this.#encoder.finish(emit)
  }

  /** Wipes keys and buffered plaintext; the session cannot be used afterwards. */
  dispose(): void {
    this.#closed = true
    this.#encoder?.dispose()
  }
}
