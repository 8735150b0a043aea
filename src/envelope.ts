/**
 * The buffer API: encrypt and decrypt whole messages held in memory.
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { openBody, sealMessage } from './crypto/message.js'
import { ContextMismatchError, invalidArgument, outOfRange, TruncatedError } from './errors.js'
import {
  DEFAULT_FRAME_SIZE,
  DEFAULT_MAX_WRAPPED_KEYS,
  MAX_FRAME_SIZE,
  MAX_WRAPPED_KEYS,
  MESSAGE_ID_BYTES,
  MIN_FRAME_SIZE,
} from './format/constants.js'
import type { EncryptionContext } from './format/context.js'
import { canonicalContext, contextMismatches, contextToObject } from './format/context.js'
import type { MessageHead } from './format/message.js'
import { parseHead } from './format/message.js'
import { splitBody } from './crypto/frames.js'
import type { Keyring } from './keyrings/keyring.js'
import { KeyCache } from './cache/key-cache.js'
import type { EnvelopeSettings } from './materials.js'
import { decryptionMaterials, encryptionMaterials } from './materials.js'
import { rewrapMessage } from './rewrap.js'
import type { DecryptStream } from './stream.js'
import { decryptStream, encryptStream } from './stream.js'
import type { DecryptStreamOptions, EncryptStreamOptions } from './stream-session.js'

/** Options of {@link Envelope}. */
export interface EnvelopeOptions {
  /**
   * Where data keys come from. With several keyrings, every message is wrapped for all of
   * them (any one can decrypt), and the first generates the data key.
   */
  readonly keyring: Keyring | readonly Keyring[]
  /** Plaintext bytes per frame, 64 B to 4 MiB (default 64 KiB). Larger frames: fewer tags, more memory per stream. */
  readonly frameSize?: number
  /** Most wrapped keys a message may list, 1 to 64 (default 16). Bounds key-service calls on hostile input. */
  readonly maxWrappedKeys?: number
  /** Largest frame size accepted when reading, 64 B to 4 MiB (default 4 MiB). */
  readonly maxFrameSize?: number
  /** A {@link KeyCache} of data keys, so hot paths do not call the keyring per message. */
  readonly cache?: KeyCache
}

/** Options of {@link Envelope.encrypt}. */
export interface EncryptOptions {
  /** Authenticated, unencrypted metadata that decryption must present again (e.g. `{ tenant: 'acme' }`). Sent to KMS as EncryptionContext. */
  readonly context?: EncryptionContext
  /** Cancels key-service calls. */
  readonly signal?: AbortSignal
}

/** Options of {@link Envelope.decrypt}. */
export interface DecryptOptions {
  /** Pairs the message's context must contain with these exact values, or decryption fails with ERR_CONTEXT_MISMATCH. */
  readonly expectContext?: EncryptionContext
  /** Cancels key-service calls. */
  readonly signal?: AbortSignal
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

/** The result of {@link Envelope.decrypt}. */
export interface DecryptResult {
  readonly plaintext: Uint8Array
  /** The message's full, authenticated encryption context. */
  readonly context: Record<string, string>
  /** Key ids of every wrapped key in the message, in message order. */
  readonly keyIds: string[]
  /** The key id that unwrapped the data key. */
  readonly keyId: string
}

function intOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function toCache(value: unknown): KeyCache | undefined {
  if (value === undefined || value instanceof KeyCache) return value
  throw invalidArgument('cache must be a KeyCache')
}

function isKeyring(value: unknown): value is Keyring {
  const k = value as Keyring
  return value !== null && typeof value === 'object' && typeof k.generateDataKey === 'function' && typeof k.unwrapDataKey === 'function' && typeof k.canUnwrap === 'function'
}

/** @internal */
export function toKeyrings(value: unknown, name: string): readonly Keyring[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || !list.every(isKeyring)) {
    throw invalidArgument(`${name} must be a keyring (LocalKeyring, KmsKeyring) or a non-empty array of keyrings`)
  }
  return Object.freeze([...list])
}

/** @internal */
export function toPlaintextBytes(plaintext: unknown): Uint8Array {
  if (typeof plaintext === 'string') return utf8ToBytes(plaintext)
  if (plaintext instanceof Uint8Array) return plaintext
  throw invalidArgument('plaintext must be a Uint8Array or a string')
}

/** @internal */
export function newMessageId(): Uint8Array {
  return backend.randomBytes(MESSAGE_ID_BYTES)
}

/** @internal Checks `expectContext` against a parsed header, before any key service is called. */
export function checkExpectedContext(head: MessageHead, expectContext: unknown): void {
  if (expectContext === undefined) return
  const expected = canonicalContext(expectContext, 'expectContext', false)
  const bad = contextMismatches(head.header.context, expected)
  if (bad.length > 0) throw new ContextMismatchError(bad)
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
  /** @internal */
  readonly settings: EnvelopeSettings

  constructor(options: EnvelopeOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('Envelope needs options: { keyring }')
    this.settings = Object.freeze({
      keyrings: toKeyrings(options.keyring, 'keyring'),
      frameSize: intOption(options.frameSize, 'frameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, DEFAULT_FRAME_SIZE),
      maxWrappedKeys: intOption(options.maxWrappedKeys, 'maxWrappedKeys', 1, MAX_WRAPPED_KEYS, DEFAULT_MAX_WRAPPED_KEYS),
      maxFrameSize: intOption(options.maxFrameSize, 'maxFrameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, MAX_FRAME_SIZE),
      cache: toCache(options.cache),
    })
  }

  /**
   * Encrypts `plaintext` (bytes, or a string as UTF-8) into one self-contained message.
   *
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a bad plaintext or context.
   * @throws {@link LimitError} `ERR_LIMIT` when the context is too large.
   * @throws keyring errors (`ERR_KMS_*`, `ERR_KEYRING`) and `ERR_ABORTED`.
   */
  async encrypt(plaintext: Uint8Array | string, options: EncryptOptions = {}): Promise<Uint8Array> {
    const bytes = toPlaintextBytes(plaintext)
    const context = canonicalContext(options.context, 'context', true)
    const materials = await encryptionMaterials(this.settings, context, options.signal, bytes.length)
    try {
      const { dataKey, recipients } = materials
      return sealMessage(backend, { dataKey, recipients, context, frameSize: this.settings.frameSize, messageId: newMessageId() }, bytes)
    } finally {
      materials.release()
    }
  }

  /**
   * Authenticates and decrypts a message. Nothing is returned unless every byte is authentic.
   *
   * @throws `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED`, `ERR_LIMIT` for malformed input (no key service is called);
   *   `ERR_CONTEXT_MISMATCH`; `ERR_NO_MATCHING_KEY`; `ERR_UNWRAP` or a keyring's error; `ERR_AUTH` when it was altered.
   */
  async decrypt(message: Uint8Array, options: DecryptOptions = {}): Promise<DecryptResult> {
    if (!(message instanceof Uint8Array)) throw invalidArgument('message must be a Uint8Array')
    const parsed = parseHead(message, this.settings)
    if ('need' in parsed) throw new TruncatedError(`the message is ${message.length} bytes but its header alone needs ${parsed.need}: it was cut short`)
    const { head } = parsed
    checkExpectedContext(head, options.expectContext)
    const body = message.subarray(head.bodyOffset)
    if (splitBody(body.length, head.header.frameSize) === undefined) {
      throw new TruncatedError('the message ends before its final frame: it was cut short')
    }
    const { keys, recipient } = await decryptionMaterials(this.settings, head, options.signal)
    try {
      const plaintext = openBody(backend, head, keys, body)
      return {
        plaintext,
        context: contextToObject(head.header.context),
        keyIds: head.recipients.map((r) => r.keyId),
        keyId: recipient.keyId,
      }
    } finally {
      keys.wipe()
    }
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
   */
  async rewrap(message: Uint8Array, options: RewrapOptions): Promise<Uint8Array> {
    return (await this.rewrapDetailed(message, options)).message
  }

  /**
   * {@link Envelope.rewrap}, also saying whether the message was authenticated on the way
   * (`verified`); pass `verify: true` to require it.
   * @throws as {@link Envelope.rewrap}.
   */
  async rewrapDetailed(message: Uint8Array, options: RewrapOptions): Promise<RewrapResult> {
    if (!(message instanceof Uint8Array)) throw invalidArgument('message must be a Uint8Array')
    if (options === null || typeof options !== 'object') throw invalidArgument('rewrap needs options: { to }')
    if (options.keep !== undefined && typeof options.keep !== 'boolean') throw invalidArgument('keep must be a boolean')
    if (options.verify !== undefined && typeof options.verify !== 'boolean') throw invalidArgument('verify must be a boolean')
    const to = toKeyrings(options.to, 'to')
    return rewrapMessage(this.settings, message, { to, keep: options.keep === true, verify: options.verify === true, signal: options.signal })
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
   */
  encryptStream(options: EncryptStreamOptions = {}): TransformStream<Uint8Array, Uint8Array> {
    return encryptStream(this.settings, options)
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
   */
  decryptStream(options: DecryptStreamOptions = {}): DecryptStream {
    return decryptStream(this.settings, options)
  }
}
