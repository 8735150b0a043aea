/**
 * The Envelope: one object that encrypts and decrypts with a keyring, over buffers and Web
 * Streams, and rewraps. A thin facade: the message life cycle lives in src/core/.
 * @module
 */
import type { KeyCache } from './cache/key-cache.js'
import type { RecipientKeyStatus } from './core/key-status.js'
import { messageKeyStatus } from './core/key-status.js'
import type { DecryptOptions, DecryptResult, DecryptStreamOptions, EncryptOptions, EncryptStreamOptions } from './core/options.js'
import type { RandomAccessOptions, RandomAccessReader, RandomAccessSource } from './core/random-access.js'
import { openRandomAccess } from './core/random-access.js'
import { decryptMessage } from './core/reader.js'
import type { RewrapParams } from './core/rewrap.js'
import { rewrapMessage } from './core/rewrap.js'
import type { RewrapManyResult } from './core/rewrap-bulk.js'
import { rewrapMessages } from './core/rewrap-bulk.js'
import type { EnvelopeSettings } from './core/settings.js'
import { registerSettings, requireSettings, resolveSettings, toKeyrings } from './core/settings.js'
import { encryptMessage } from './core/writer.js'
import { invalidArgument, NotTextError } from './errors.js'
import type { Keyring } from './keyrings/keyring.js'
import type { DecryptStream } from './stream.js'
import { decryptStream, encryptStream, rewrapStream } from './stream.js'
import { checkSignal, integerOption, toMessageBytes } from './validate.js'

/** Strict: invalid UTF-8 throws instead of becoming U+FFFD; a BOM stays part of the text. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Options of {@link Envelope}. */
export interface EnvelopeOptions {
  /**
   * Where data keys come from. With several keyrings, every message is wrapped for all of
   * them (any one can decrypt), and the first generates the data key. `[]` together with
   * `decryptOnly` makes an Envelope that only decrypts (encrypting with it is ERR_INVALID_ARGUMENT).
   */
  readonly keyring: Keyring | readonly Keyring[]
  /**
   * Keyrings that only decrypt: tried after `keyring`, in order, when opening a message (and
   * as rewrap's source), never given a new message, and never the source of a data key a
   * {@link KeyCache} hands to encryption. For key rotation: the new key as `keyring`, the
   * retired one here until every message is rewrapped (README "Rotating keys").
   * A keyring given both here and as `keyring` is refused (ERR_INVALID_ARGUMENT).
   */
  readonly decryptOnly?: Keyring | readonly Keyring[]
  /** Plaintext bytes per frame, 64 B to 4 MiB (default 64 KiB). Larger frames: fewer tags, more memory per stream. */
  readonly frameSize?: number
  /** Most wrapped keys a message may list, 1 to 64 (default 16). Bounds key-service calls on hostile input. */
  readonly maxWrappedKeys?: number
  /** Largest frame size accepted when reading, 64 B to 4 MiB (default 4 MiB). */
  readonly maxFrameSize?: number
  /**
   * Smallest frame size accepted when decrypting, 64 B up to `maxFrameSize` (default 64 B, the
   * format's floor, so every message this library ever wrote stays readable). Each frame costs
   * a fixed AES-GCM set-up, so a hostile writer's 64-byte frames make decryption about 100x
   * slower than 64 KiB frames; 4096 bounds that to about 2x. Checked from the header, before
   * any key service is called (ERR_LIMIT).
   */
  readonly minFrameSize?: number
  /** A {@link KeyCache} of data keys, so hot paths do not call the keyring per message. */
  readonly cache?: KeyCache
  /**
   * Let a message for a post-quantum recipient (`PostQuantumRecipient`) also carry
   * classical public-key recipients (`X25519Recipient`); default false, and such a
   * message (or rewrap) is refused with ERR_INVALID_ARGUMENT, because a quantum computer
   * would open the classical entry and with it the whole message (FORMAT.md §16.3).
   */
  readonly allowClassicalRecipients?: boolean
  /**
   * Threads that seal and open the frames of a large buffer: 1 (default: the calling thread
   * only, no thread is ever started), a count from 2 to 64, or `'auto'` for the cores this
   * process may use. Three threads or more share the AES from 4 MiB; two (one worker: `2`, or
   * `'auto'` on two cores) start at 32 MiB, because below that the worker, which only takes the
   * page faults of a fresh result, measured slower than one thread. The message is byte for
   * byte what one thread writes. On Node the worker threads start on the first large call,
   * are shared by every Envelope asking for the same count, and never keep a process alive;
   * `closeWorkerPools()` stops them. The file helpers and Node streams of `kms-envelope/node`
   * use the same threads, except that for them `'auto'` is one fewer than the cores: their
   * reads and writes need a core (on two cores a stream stays on the calling thread, which
   * measured faster there). Runtimes without the `node` export condition (browsers, edge
   * workers) ignore the option.
   */
  readonly parallelism?: number | 'auto'
}

/** Options of {@link Envelope.rewrap}. */
export interface RewrapOptions {
  /** The keyring(s) that receive the data key. */
  readonly to: Keyring | readonly Keyring[]
  /** Keep the wrapped keys this Envelope's keyring holds (default false: remove them). */
  readonly keep?: boolean
  /**
   * Authenticate the message first (unwrap, check commitment and header tag) even KMS to KMS,
   * where ReEncrypt alone cannot (default false). Costs a Decrypt instead of a ReEncrypt.
   */
  readonly verify?: boolean
  /** Cancels key-service calls. */
  readonly signal?: AbortSignal
}

/** The result of {@link Envelope.rewrapDetailed}. */
export interface RewrapResult {
  readonly message: Uint8Array
  /**
   * True when the message was authenticated (data key unwrapped, commitment and header tag
   * checked); false when its data key was re-wrapped inside KMS only (ReEncrypt), so a
   * forged message would only fail later, at decryption.
   */
  readonly verified: boolean
}

/** @internal {@link RewrapOptions} checked, for every surface that rewraps (envelope, records). */
export function rewrapParams(options: RewrapOptions): RewrapParams {
  if (options === null || typeof options !== 'object') throw invalidArgument('rewrap needs options: { to }')
  if (options.keep !== undefined && typeof options.keep !== 'boolean') throw invalidArgument('keep must be a boolean')
  if (options.verify !== undefined && typeof options.verify !== 'boolean') throw invalidArgument('verify must be a boolean')
  return { to: toKeyrings(options.to, 'to'), keep: options.keep === true, verify: options.verify === true, signal: checkSignal(options.signal) }
}

/**
 * Encrypts and decrypts messages with data keys from a keyring.
 *
 * @example
 * ```ts
 * import { Envelope, LocalKeyring } from 'kms-envelope'
 * const env = new Envelope({ keyring: LocalKeyring.generate() })
 * const msg = await env.encrypt('card 4111…', { context: { tenant: 'acme' } })
 * const { plaintext } = await env.decrypt(msg, { expectContext: { tenant: 'acme' } })
 * ```
 */
export class Envelope {
  readonly #settings: EnvelopeSettings

  /**
   * Checks the options once; a bad one is a TypeError or RangeError with code `ERR_INVALID_ARGUMENT`.
   *
   * @param options - `keyring` (required), `decryptOnly`, frame size, reader limits and an optional `cache`: see {@link EnvelopeOptions}
   */
  constructor(options: EnvelopeOptions) {
    this.#settings = resolveSettings(options)
    registerSettings(this, this.#settings)
  }

  /**
   * Encrypts `plaintext` (bytes, or a string as UTF-8) into one self-contained message.
   *
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a bad plaintext or context.
   * @throws {@link LimitError} `ERR_LIMIT` when the context is too large.
   * @throws keyring errors (`ERR_KMS_*`, `ERR_KEYRING`) and `ERR_ABORTED`.
   * @param plaintext - bytes, or a string (encoded as UTF-8)
   * @param options - `context` to bind, `signal` to cancel
   */
  async encrypt(plaintext: Uint8Array | string, options: EncryptOptions = {}): Promise<Uint8Array> {
    return encryptMessage(this.#settings, plaintext, options)
  }

  /**
   * Authenticates and decrypts a message. Nothing is returned unless every byte is authentic.
   *
   * @throws `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED`, `ERR_LIMIT` for malformed input (no key service is called);
   *   `ERR_CONTEXT_MISMATCH`; `ERR_NO_MATCHING_KEY`; `ERR_UNWRAP` or a keyring's error; `ERR_AUTH` when it was altered.
   * @param message - a whole message, as `encrypt` returned it
   * @param options - `expectContext` to require, `signal` to cancel
   */
  async decrypt(message: Uint8Array, options: DecryptOptions = {}): Promise<DecryptResult> {
    return decryptMessage(this.#settings, message, options)
  }

  /**
   * {@link Envelope.decrypt} for text: authenticates and decrypts, then decodes the plaintext
   * as UTF-8 (strictly: invalid UTF-8 is an error, never U+FFFD; a leading BOM is kept), so
   * `decryptString(await encrypt(s))` is `s` for every well-formed string. The plaintext bytes
   * are zeroed once decoded.
   *
   * @example
   * ```ts
   * const secret = await env.decryptString(message, { expectContext: { tenant: 'acme' } })
   * ```
   * @throws {@link NotTextError} `ERR_NOT_TEXT` when the authentic plaintext is not valid UTF-8
   *   (use `decrypt` for binary data); otherwise as {@link Envelope.decrypt}.
   * @param message - a whole message, as `encrypt` returned it
   * @param options - `expectContext` to require, `signal` to cancel
   */
  async decryptString(message: Uint8Array, options: DecryptOptions = {}): Promise<string> {
    const { plaintext } = await decryptMessage(this.#settings, message, options)
    try {
      return STRICT_UTF8.decode(plaintext)
    } catch (error) {
      throw new NotTextError(`the decrypted plaintext (${plaintext.length} bytes) is not valid UTF-8 text; use decrypt() for binary data`, {
        cause: error,
      })
    } finally {
      plaintext.fill(0)
    }
  }

  /**
   * Opens a message for reading any byte range without decrypting the rest: a file, a `Blob`,
   * an object behind HTTP Range requests (see `blobSource`, `bytesSource`, `urlSource`, and
   * `openEncryptedFile` in `kms-envelope/node`). The head goes through exactly the checks of
   * {@link Envelope.decrypt} (context, key, commitment, header tag), then the final frame is
   * authenticated, so `size` is authentic before any read and a cut or extended message fails
   * here. Each read authenticates every frame it touches before returning a byte; a few
   * decrypted frames are cached (`cacheFrames`). Call `close()` to wipe the content key.
   *
   * @example
   * ```ts
   * const reader = await env.openRandomAccess(blobSource(file), { expectContext: { tenant: 'acme' } })
   * const bytes = await reader.read(1_000_000, 4096)
   * reader.close()
   * ```
   * @throws the errors of {@link Envelope.decrypt} at open (`ERR_TRUNCATED` also for a source
   *   shorter than its final frame, `ERR_AUTH` for a final frame that fails); TypeError
   *   `ERR_INVALID_ARGUMENT` for a bad source or options.
   * @param source - `{ size, read(offset, length) }` over the encrypted message
   * @param options - `expectContext`, `signal` (for the open), `cacheFrames`
   */
  async openRandomAccess(source: RandomAccessSource, options: RandomAccessOptions = {}): Promise<RandomAccessReader> {
    return openRandomAccess(this.#settings, source, options)
  }

  /**
   * For each recipient of `message`, in message order, whether this Envelope holds its key as
   * a writing key (`keyring`), a decrypt-only key (`decryptOnly`) or not at all: the check an
   * operator runs during a rotation (a message with no `write` recipient still needs the old
   * key and is due for rewrap). Decided by the keyrings' `canUnwrap`: no data key is unwrapped
   * and nothing is verified (a KMS keyring configured by alias resolves it once, DescribeKey).
   *
   * @example
   * ```ts
   * const env = new Envelope({ keyring: newKey, decryptOnly: oldKey })
   * const due = (await env.keyStatus(message)).every((r) => r.status !== 'write')
   * ```
   * @throws `ERR_FORMAT`, `ERR_TRUNCATED` (head incomplete), `ERR_UNSUPPORTED`, `ERR_LIMIT`;
   *   `ERR_KMS_*` when an alias cannot be resolved; `ERR_ABORTED`.
   * @param message - a whole message, or at least its head
   * @param options - `signal`, for an alias lookup
   */
  async keyStatus(message: Uint8Array, options: { readonly signal?: AbortSignal } = {}): Promise<RecipientKeyStatus[]> {
    if (!(message instanceof Uint8Array)) throw invalidArgument('message must be a Uint8Array')
    return messageKeyStatus(this.#settings, message, checkSignal(options?.signal))
  }

  /**
   * Gives a message's data key to the keys of `to`, leaving header and body byte-identical
   * (only the recipients section changes). This Envelope's keyring is the source: the wrapped
   * keys it holds are removed unless `keep`; other recipients stay. KMS to KMS uses ReEncrypt,
   * so the plaintext data key never leaves KMS (sent with this Envelope's keyring's client:
   * its principal needs kms:ReEncryptFrom on the old key and kms:ReEncryptTo on the new), but
   * cannot authenticate the message: see {@link Envelope.rewrapDetailed} and `verify`; otherwise the data key is unwrapped, checked against the
   * message's commitment and header tag, and wrapped for `to`.
   *
   * @example
   * ```ts
   * const old = new Envelope({ keyring: new KmsKeyring({ keyIds: [oldArn] }) })
   * const moved = await old.rewrap(message, { to: new KmsKeyring({ keyIds: [newArn] }) })
   * ```
   * @throws `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED`, `ERR_LIMIT` (also when the result would
   *   exceed maxWrappedKeys) for malformed input, before any key service is called;
   *   `ERR_NO_MATCHING_KEY`; `ERR_UNWRAP`, `ERR_KMS_*` or another keyring error; `ERR_AUTH` when the
   *   message was altered (data-key path); `ERR_ABORTED`.
   * @param message - a whole message
   * @param options - `to`: the keyring(s) that receive the data key; `keep`, `verify`, `signal`
   */
  async rewrap(message: Uint8Array, options: RewrapOptions): Promise<Uint8Array> {
    return (await this.rewrapDetailed(message, options)).message
  }

  /**
   * {@link Envelope.rewrap}, also saying whether the message was authenticated on the way
   * (`verified`); pass `verify: true` to require it.
   *
   * @param message - the message to rewrap
   * @param options - as {@link Envelope.rewrap}
   * @throws as {@link Envelope.rewrap}.
   */
  async rewrapDetailed(message: Uint8Array, options: RewrapOptions): Promise<RewrapResult> {
    return rewrapMessage(this.#settings, toMessageBytes(message), rewrapParams(options))
  }

  /**
   * {@link Envelope.rewrap} for a message of any size arriving in chunks: the head is buffered
   * (bounded by the format limits) and rewrapped, then the body is copied through unchanged,
   * so memory stays constant. The stream errors with the errors of `rewrap`, and with
   * `ERR_TRUNCATED` when the input ends before the message is complete.
   *
   * @param options - `to`: the keyring(s) that receive the data key; `keep`; `verify`; `signal`
   * @example
   * ```ts
   * await file.stream().pipeThrough(env.rewrapStream({ to: newKeyring })).pipeTo(destination)
   * ```
   */
  rewrapStream(options: RewrapOptions): TransformStream<Uint8Array, Uint8Array> {
    return rewrapStream(this.#settings, rewrapParams(options))
  }

  /**
   * A `TransformStream` that encrypts: plaintext chunks in, one message out. The message is
   * the same as {@link Envelope.encrypt}'s: `decrypt` opens it and the other way round.
   * The data key is requested when the stream is created; the head is the first output chunk.
   * Memory stays at about one frame whatever the size of the input.
   *
   * @example
   * ```ts
   * const response = await fetch(url)
   * const encrypted = response.body!.pipeThrough(env.encryptStream({ context: { tenant: 'acme' } }))
   * ```
   * @throws TypeError `ERR_INVALID_ARGUMENT` at once for a bad context or signal.
   * The stream errors with keyring errors (`ERR_KMS`, `ERR_KEYRING`), `ERR_LIMIT`, `ERR_ABORTED`,
   * or `ERR_INVALID_ARGUMENT` for a chunk that is not a Uint8Array.
   * @param options - `context` to bind, `signal` to cancel
   */
  encryptStream(options: EncryptStreamOptions = {}): TransformStream<Uint8Array, Uint8Array> {
    return encryptStream(this.#settings, options)
  }

  /**
   * A `TransformStream` that decrypts: message chunks in, plaintext out, released one frame
   * at a time and only after that frame is authenticated.
   *
   * **Streamed plaintext is incomplete until the stream ends without error.** Frames that
   * come out are authentic, but a message cut short, reordered or with trailing bytes is
   * only detected when the stream ends (or at the bad frame), after earlier frames were
   * released. Do not act on the plaintext (execute, import, reply) before the stream
   * closes cleanly; write it to a temporary place and commit it then, as `decryptFile`
   * from `kms-envelope/node` does.
   *
   * `info` resolves with the authenticated context and key ids once the head is verified.
   *
   * @example
   * ```ts
   * const plain = file.stream().pipeThrough(env.decryptStream({ expectContext: { tenant: 'acme' } }))
   * const bytes = new Uint8Array(await new Response(plain).arrayBuffer()) // rejects if anything is wrong
   * ```
   * @throws TypeError `ERR_INVALID_ARGUMENT` at once for a bad expectContext or signal.
   * The stream errors with `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED`, `ERR_LIMIT` for
   * malformed input (no key service is called), `ERR_CONTEXT_MISMATCH`, `ERR_NO_MATCHING_KEY`,
   * `ERR_UNWRAP` or a keyring's error, `ERR_AUTH` when a byte was altered, `ERR_ABORTED`.
   * @param options - `expectContext` to require, `signal` to cancel
   */
  decryptStream(options: DecryptStreamOptions = {}): DecryptStream {
    return decryptStream(this.#settings, options)
  }
}

/** Options of {@link rewrapMany}. */
export interface RewrapManyOptions extends RewrapOptions {
  /** The source: its keyrings unwrap (or ReEncrypt) the wrapped keys being replaced. */
  readonly envelope: Envelope
  /** Messages rewrapped at the same time, and read ahead (1 to 64, default 4). */
  readonly concurrency?: number
}

/**
 * Rewraps many messages held elsewhere (an object store, a table), yielding one result per
 * input in input order: `{ index, message, skipped, verified }`, or `{ index, error }` for a
 * message that could not be rewrapped, so one bad row never stops the run. At most
 * `concurrency` messages are in flight or read ahead. Messages already wrapped for `to` and
 * for no key being retired come back unchanged with `skipped: true` (unless `keep`), so a
 * rerun after an interruption redoes nothing. KMS to KMS costs one ReEncrypt per distinct
 * wrapped key in the run; the data-key path one unwrap per message, or per distinct data key
 * when `envelope` has a `KeyCache`. The options are checked at the call, before any message is read.
 *
 * @example
 * ```ts
 * for await (const r of rewrapMany(rows(), { envelope: oldEnv, to: newKeyring })) {
 *   if (r.error === undefined && !r.skipped) await save(r.index, r.message)
 * }
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options (at the call); the iteration rejects with
 * `ERR_ABORTED` when `signal` aborts, and with the source's own error if reading it fails.
 * @param messages - the messages, in order (any iterable or async iterable of Uint8Array)
 * @param options - `envelope` and `to` (required), `concurrency`, `keep`, `verify`, `signal`
 */
export function rewrapMany(
  messages: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: RewrapManyOptions,
): AsyncGenerator<RewrapManyResult, void, undefined> {
  if (options === null || typeof options !== 'object') throw invalidArgument('rewrapMany needs options: { envelope, to }')
  const settings = requireSettings(options.envelope, 'options.envelope')
  const params = rewrapParams(options)
  const concurrency = integerOption(options.concurrency, 'options.concurrency', 1, 64, 4)
  const iterable = messages as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null
  if (
    iterable === null ||
    typeof iterable !== 'object' ||
    (typeof iterable[Symbol.asyncIterator] !== 'function' && typeof iterable[Symbol.iterator] !== 'function')
  ) {
    throw invalidArgument('messages must be an iterable or async iterable of Uint8Array')
  }
  return rewrapMessages(settings, messages, params, concurrency)
}
