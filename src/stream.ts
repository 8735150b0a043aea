/**
 * Streaming encryption and decryption as Web Streams `TransformStream`s: runs in Node,
 * browsers, Deno, Bun and edge workers. The message is the same as the buffer API's, so a
 * stream can decrypt what `encrypt` wrote and the other way round.
 * @module
 */
import type { DecryptInfo, DecryptStreamOptions, EncryptStreamOptions } from './core/options.js'
import { DecryptSession } from './core/reader.js'
import type { RewrapParams } from './core/rewrap.js'
import { RewrapSession } from './core/rewrap-stream.js'
import type { EnvelopeSettings } from './core/settings.js'
import type { MaterialsSource } from './core/writer.js'
import { EncryptSession } from './core/writer.js'
import { AbortError } from './errors.js'
import { listenForAbort, throwIfAborted, toChunk } from './validate.js'

/**
 * A decrypting `TransformStream`: ciphertext in, plaintext out, plus `info` once the head
 * is authenticated.
 */
export interface DecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Resolves with the message's authenticated context and key ids once its head is
   * verified (before any plaintext comes out); rejects if the stream fails first.
   */
  readonly info: Promise<DecryptInfo>
}

/** `Transformer` with the `cancel` hook (WHATWG 2023), which lib.dom does not type yet. */
type CancellableTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?: (reason: unknown) => void }

/**
 * @internal Used by {@link Envelope.encryptStream}, and by the AWS Encryption SDK migration
 * with its own `materials` (a carried-over data key).
 */
export function encryptStream(
  settings: EnvelopeSettings,
  options: EncryptStreamOptions = {},
  materials?: MaterialsSource,
): TransformStream<Uint8Array, Uint8Array> {
  const session = new EncryptSession(settings, options, materials)
  let stopListening = (): void => {}
  let enqueue: (chunk: Uint8Array) => void
  const transformer: CancellableTransformer = {
    async start(controller) {
      enqueue = (chunk) => controller.enqueue(chunk)
      stopListening = listenForAbort(options.signal, (error) => {
        session.dispose()
        controller.error(error)
      })
      try {
        await session.start(enqueue)
      } catch (error) {
        stopListening()
        session.dispose()
        throw error
      }
    },
    transform(chunk) {
      try {
        session.push(toChunk(chunk), enqueue)
      } catch (error) {
        stopListening()
        session.dispose()
        throw error
      }
    },
    flush() {
      try {
        session.finish(enqueue)
      } finally {
        stopListening()
        session.dispose()
      }
    },
    cancel() {
      stopListening()
      session.dispose()
    },
  }
  // The default queues (one chunk on the writable side, none on the readable side) give
  // backpressure: a chunk is processed only when the reader pulls, so memory is bounded by
  // one input chunk and its output, whatever the size of the message.
  return new TransformStream(transformer)
}

/** @internal Used by {@link Envelope.decryptStream}. */
export function decryptStream(settings: EnvelopeSettings, options: DecryptStreamOptions = {}): DecryptStream {
  const session = new DecryptSession(settings, options)
  let stopListening = (): void => {}
  let enqueue: (chunk: Uint8Array) => void
  const fail = (error: unknown): void => {
    stopListening()
    session.fail(error)
  }
  const transformer: CancellableTransformer = {
    start(controller) {
      enqueue = (chunk) => controller.enqueue(chunk)
      stopListening = listenForAbort(options.signal, (error) => {
        session.fail(error)
        controller.error(error)
      })
    },
    transform(chunk) {
      try {
        const pending = session.push(toChunk(chunk), enqueue)
        if (pending !== undefined)
          return pending.catch((error: unknown) => {
            fail(error)
            throw error
          })
      } catch (error) {
        fail(error)
        throw error
      }
      return undefined
    },
    flush() {
      try {
        session.finish(enqueue)
      } catch (error) {
        fail(error)
        throw error
      }
      stopListening()
      session.dispose()
    },
    cancel(reason) {
      fail(new AbortError({ cause: reason }))
    },
  }
  const stream = new TransformStream(transformer)
  return Object.assign(stream, { info: session.info })
}

/** @internal Used by {@link Envelope.rewrapStream}: message in, rewrapped message out, the body copied through. */
export function rewrapStream(settings: EnvelopeSettings, params: RewrapParams): TransformStream<Uint8Array, Uint8Array> {
  const session = new RewrapSession(settings, params)
  let enqueue: (chunk: Uint8Array) => void
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      enqueue = (chunk) => controller.enqueue(chunk)
    },
    transform(chunk) {
      throwIfAborted(params.signal)
      return session.push(toChunk(chunk), enqueue)
    },
    flush() {
      session.finish()
    },
  })
}
