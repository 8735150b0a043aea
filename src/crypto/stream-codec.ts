/**
 * Frame-at-a-time sealing and opening of a message body (docs/FORMAT.md §6), for input that
 * arrives in chunks of any size. Runtime-neutral: Web streams, Node streams and the file
 * helpers all drive these two classes, so there is one implementation of the stream rules.
 *
 * Neither class needs to look ahead. A frame holding exactly frame-size plaintext bytes is
 * never the final one (the final frame holds 0..frame-size-1), so:
 *   - the encoder seals a frame as soon as it has frame-size bytes, and at the end seals
 *     whatever is left (possibly nothing) as the final frame;
 *   - the decoder opens a frame as soon as it has frame-size + 16 bytes, and at the end
 *     opens whatever is left as the final frame. Fewer than 16 bytes left means the final
 *     frame is missing or cut short.
 * One case needs the next byte to name: a full step that fails as a non-final frame. If more
 * input follows, the message was altered (ERR_AUTH); if the input ends there, the body ends on
 * a full step and its final frame is missing (ERR_TRUNCATED, what the buffer reader says for
 * the same bytes, FORMAT.md §6.4). So that failure is held until the next byte or the end;
 * nothing is released meanwhile, and authentic frames come out as soon as they verify.
 * The final flag in every frame's AAD makes a dropped final frame, a cut, reordering or
 * trailing bytes fail authentication (or the length check), never go unnoticed.
 *
 * Chunks passed in are never kept: whole frames are processed straight from the caller's
 * chunk, and a partial frame is copied into one reusable buffer. So memory is bounded by
 * one frame plus what the caller holds, and callers may reuse their buffers.
 * @module
 */

import { AuthenticationError, LimitError, TruncatedError } from '../errors.js'
import { MAX_FRAMES, TAG_BYTES } from '../format/constants.js'
import type { CryptoBackend } from './backend.js'
import { frameAad, frameNonce } from './frames.js'
import type { MessageKeys } from './keys.js'

/** Receives output chunks in order. Chunks are fresh and owned by the receiver. */
export type Emit = (chunk: Uint8Array) => void

/** Thrown for any use after an error or after `finish`: a failed stream stays failed. */
function closedError(): TypeError {
  return Object.assign(new TypeError('this stream already ended or failed; create a new one'), { code: 'ERR_INVALID_ARGUMENT' as const })
}

/** State shared by both directions: keys, position, and the partial-frame buffer. */
abstract class FrameCodec {
  protected readonly backend: CryptoBackend
  protected readonly keys: MessageKeys
  protected readonly messageId: Uint8Array
  /** Bytes per non-final frame on this side (plaintext for the encoder, sealed for the decoder). */
  protected readonly stride: number
  protected pending: Uint8Array | undefined
  protected filled = 0
  protected index = 0
  protected closed = false
  /** A full step failed authentication; the error depends on whether input follows (decoder only). */
  protected failedStep = false

  constructor(backend: CryptoBackend, keys: MessageKeys, messageId: Uint8Array, stride: number) {
    this.backend = backend
    this.keys = keys
    this.messageId = messageId
    this.stride = stride
  }

  /** Processes every frame `chunk` completes; keeps the rest for the next call. */
  push(chunk: Uint8Array, emit: Emit): void {
    if (this.closed) throw closedError()
    try {
      if (chunk.length === 0) return
      // Input follows a failed full step: it was a frame, and it was altered.
      if (this.failedStep) throw new AuthenticationError()
      const stride = this.stride
      let at = 0
      if (this.filled > 0) {
        at = Math.min(stride - this.filled, chunk.length)
        this.pending!.set(chunk.subarray(0, at), this.filled)
        this.filled += at
        if (this.filled < stride) return
        this.filled = 0
        this.frame(this.pending!, false, emit)
        if (this.failedStep) {
          if (at < chunk.length) throw new AuthenticationError()
          return
        }
      }
      while (chunk.length - at >= stride) {
        this.frame(chunk.subarray(at, at + stride), false, emit)
        at += stride
        if (this.failedStep) {
          if (at < chunk.length) throw new AuthenticationError()
          return
        }
      }
      if (at < chunk.length) {
        this.pending ??= new Uint8Array(stride)
        this.pending.set(chunk.subarray(at), 0)
        this.filled = chunk.length - at
      }
    } catch (error) {
      this.dispose()
      throw error
    }
  }

  /** Processes the final frame from what is left. The codec cannot be used afterwards. */
  finish(emit: Emit): void {
    if (this.closed) throw closedError()
    try {
      this.last(this.pending === undefined ? new Uint8Array(0) : this.pending.subarray(0, this.filled), emit)
    } finally {
      this.dispose()
    }
  }

  /** Wipes the keys and any buffered plaintext. Safe to call more than once. */
  dispose(): void {
    if (this.closed) return
    this.closed = true
    this.keys.wipe()
    this.pending?.fill(0)
    this.pending = undefined
    this.filled = 0
  }

  protected abstract last(rest: Uint8Array, emit: Emit): void

  /** Seals or opens frame `this.index` and moves on. */
  protected frame(input: Uint8Array, final: boolean, emit: Emit): void {
    const i = this.index
    if (i >= MAX_FRAMES) throw new LimitError(`the message would have more than ${MAX_FRAMES} frames`)
    this.index = i + 1
    this.apply(input, frameNonce(i), frameAad(this.messageId, i, final), emit)
  }

  protected abstract apply(input: Uint8Array, nonce: Uint8Array, aad: Uint8Array, emit: Emit): void
}

/** Turns plaintext chunks into sealed frames (ciphertext || tag, as one or two chunks). */
export class FrameEncoder extends FrameCodec {
  /** Takes ownership of `keys` and wipes them when it finishes or fails. */
  constructor(backend: CryptoBackend, keys: MessageKeys, messageId: Uint8Array, frameSize: number) {
    super(backend, keys, messageId, frameSize)
  }

  protected last(rest: Uint8Array, emit: Emit): void {
    this.frame(rest, true, emit)
  }

  protected apply(plaintext: Uint8Array, nonce: Uint8Array, aad: Uint8Array, emit: Emit): void {
    for (const part of this.backend.seal(this.keys.contentKey, nonce, plaintext, aad)) if (part.length > 0) emit(part)
  }
}

/** Turns sealed frames into plaintext, one authenticated frame at a time. */
export class FrameDecoder extends FrameCodec {
  /** Takes ownership of `keys` and wipes them when it finishes or fails. */
  constructor(backend: CryptoBackend, keys: MessageKeys, messageId: Uint8Array, frameSize: number) {
    super(backend, keys, messageId, frameSize + TAG_BYTES)
  }

  protected last(rest: Uint8Array, emit: Emit): void {
    if (this.failedStep || rest.length < TAG_BYTES) {
      throw new TruncatedError(
        rest.length === 0 ? 'the message ends without its final frame: it was cut short' : 'the message ends inside its final frame: it was cut short',
      )
    }
    this.frame(rest, true, emit)
  }

  protected apply(sealed: Uint8Array, nonce: Uint8Array, aad: Uint8Array, emit: Emit): void {
    const plaintext = this.backend.open(this.keys.contentKey, nonce, sealed, aad)
    if (plaintext === undefined) {
      // A full step (non-final by position) is decided by what follows; see the module docs.
      if (sealed.length === this.stride && aad[aad.length - 1] === 0) {
        this.failedStep = true
        return
      }
      throw new AuthenticationError()
    }
    if (plaintext.length > 0) emit(plaintext)
  }
}
