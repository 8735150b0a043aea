/**
 * Node `Transform` streams for encryption and decryption, for `stream.pipeline` and
 * `.pipe()`. They drive the same runtime-neutral session as the Web streams directly
 * rather than wrapping a Web `TransformStream`, which saves a promise and a queue hop per
 * chunk (bench/stream.ts measures the difference). Backpressure is Node's own: a chunk is
 * processed only when the readable side has room.
 * @module
 */

import type { TransformCallback } from 'node:stream'
import { Transform } from 'node:stream'
import type { DecryptInfo, DecryptStreamOptions, EncryptStreamOptions } from '../core/options.js'
import { DecryptSession } from '../core/reader.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import { EncryptSession } from '../core/writer.js'
import type { Envelope } from '../envelope.js'
import { AbortError } from '../errors.js'
import { listenForAbort, toChunk } from '../validate.js'

/** A decrypting Node `Transform`, plus `info` once the message's head is authenticated. */
export interface DecryptTransform extends Transform {
  /** Resolves with the authenticated context and key ids before any plaintext comes out; rejects if the stream fails first. */
  readonly info: Promise<DecryptInfo>
}

/** What both directions' sessions offer a Transform (src/stream-session.ts). */
interface Session {
  push(chunk: Uint8Array, emit: (chunk: Uint8Array) => void): void | Promise<void>
  finish(emit: (chunk: Uint8Array) => void): void | Promise<void>
}

/** Feeds chunks through a session; the subclasses add start-up and tear-down. */
abstract class SessionTransform<S extends Session> extends Transform {
  protected readonly session: S
  protected readonly output = (chunk: Uint8Array): void => {
    this.push(chunk)
  }
  protected readonly stopListening: () => void

  constructor(session: S, signal: AbortSignal | undefined) {
    super()
    this.session = session
    this.stopListening = listenForAbort(signal, (error) => this.destroy(error))
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    let pending: void | Promise<void>
    try {
      pending = this.session.push(toChunk(chunk), this.output)
    } catch (error) {
      callback(error as Error)
      return
    }
    if (pending === undefined) callback()
    else pending.then(() => callback(), callback)
  }

  override _flush(callback: TransformCallback): void {
    let pending: void | Promise<void>
    try {
      pending = this.session.finish(this.output)
    } catch (error) {
      callback(error as Error)
      return
    }
    if (pending === undefined) callback()
    else pending.then(() => callback(), callback)
  }
}

class EncryptTransform extends SessionTransform<EncryptSession> {
  constructor(settings: EnvelopeSettings, options: EncryptStreamOptions) {
    super(new EncryptSession(settings, options, undefined, true), options.signal)
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.session.start(this.output).then(() => callback(), callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopListening()
    this.session.dispose()
    callback(error)
  }
}

class DecryptTransformImpl extends SessionTransform<DecryptSession> implements DecryptTransform {
  readonly info: Promise<DecryptInfo>

  constructor(settings: EnvelopeSettings, options: DecryptStreamOptions) {
    super(new DecryptSession(settings, options, true), options.signal)
    this.info = this.session.info
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopListening()
    // After a clean end `info` is already resolved and this only wipes the keys.
    this.session.fail(error ?? new AbortError())
    callback(error)
  }
}

/**
 * A Node `Transform` that encrypts: plaintext in, one message out (the same bytes
 * {@link Envelope.encrypt} would produce for the same key, id and frame size).
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * import { createReadStream } from 'node:fs'
 * await pipeline(createReadStream('backup.tar'), createEncryptStream(env, { context: { job: 'nightly' } }), upload)
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` at once for a bad envelope, context or signal. The
 * stream is destroyed with keyring errors (`ERR_KMS`, `ERR_KEYRING`), `ERR_LIMIT` or `ERR_ABORTED`.
 * @param envelope - the Envelope that encrypts
 * @param options - `context` to bind, `signal` to cancel
 */
export function createEncryptStream(envelope: Envelope, options: EncryptStreamOptions = {}): Transform {
  return new EncryptTransform(requireSettings(envelope, 'the first argument'), options)
}

/**
 * A Node `Transform` that decrypts, releasing each frame only after it is authenticated.
 *
 * **Streamed plaintext is incomplete until the stream ends without error**: a message cut
 * short or altered after its first frames fails only when the bad frame or the end is
 * reached. Use {@link decryptFile} (all or nothing) when the output is a file.
 *
 * @example
 * ```ts
 * const decrypt = createDecryptStream(env, { expectContext: { job: 'nightly' } })
 * await pipeline(download, decrypt, createWriteStream('backup.tar.partial'))
 * // only now is backup.tar.partial complete and authentic
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` at once for a bad envelope, expectContext or signal.
 * The stream is destroyed with the codes of {@link Envelope.decryptStream}.
 * @param envelope - the Envelope that decrypts
 * @param options - `expectContext` to require, `signal` to cancel
 */
export function createDecryptStream(envelope: Envelope, options: DecryptStreamOptions = {}): DecryptTransform {
  return new DecryptTransformImpl(requireSettings(envelope, 'the first argument'), options)
}
