/**
 * Decrypting AWS Encryption SDK messages (client-apis/decrypt.md): parse the header, check
 * the suite against the commitment policy and the caller's reproduced context, open the
 * data key, check its commitment, verify the header tag, then the body frame by frame and
 * the footer signature. Nothing of the header is returned before its tag verifies, and no
 * plaintext before its own tag does.
 * @module
 */
import { DataKey } from '../crypto/data-key.js'
import { AuthenticationError, ContextMismatchError, FormatError, invalidArgument } from '../errors.js'
import { checkSignal, integerOption, throwIfAborted } from '../validate.js'
import { BodyReader } from './body.js'
import { aesGcmOpen, deriveFrameKey } from './crypto.js'
import type { EsdkEncryptedDataKey, EsdkHeader } from './header.js'
import { readHeader, serializeContext } from './header.js'
import type { EsdkKeyringInput } from './keys.js'
import { checkKeyrings, openDataKey } from './keys.js'
import { PUBLIC_KEY_CONTEXT_KEY, SignatureVerifier } from './signature.js'
import { ByteSource } from './source.js'
import type { CommitmentPolicy, EsdkSuite } from './suites.js'
import { checkPolicy, checkSuiteAllowed } from './suites.js'

/** The default of {@link EsdkReadOptions.maxEncryptedDataKeys}, the SDK's recommended setting. */
export const DEFAULT_MAX_ENCRYPTED_DATA_KEYS = 16
/** The default of {@link EsdkReadOptions.maxBodySize}: 64 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024

/** Options of {@link decryptEsdk}, {@link decryptEsdkStream} and {@link openEsdk}. */
export interface EsdkReadOptions {
  /** The keyring(s) to open the message's data key with; tried in order. */
  readonly keyring: EsdkKeyringInput | readonly EsdkKeyringInput[]
  /** Which suites may be opened. Default `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`: key-committing suites only. */
  readonly commitmentPolicy?: CommitmentPolicy | undefined
  /** Refuse messages with more encrypted data keys than this, before reading them. Default 16. */
  readonly maxEncryptedDataKeys?: number | undefined
  /**
   * The encryption context the caller expects (the SDK's "reproduced encryption context").
   * Keys stored in the message must have these values (else `ERR_CONTEXT_MISMATCH`); keys the
   * message does not store are its required, authenticate-only context (version 2 required
   * encryption context), and the header tag fails unless the writer used exactly them.
   */
  readonly reproducedContext?: Readonly<Record<string, string>> | undefined
  /**
   * Streams only: the largest frame (or non-framed body, which is released whole) the reader
   * will hold in memory. Default 64 MiB. Whole-buffer input needs no limit: it is in memory.
   */
  readonly maxBodySize?: number | undefined
  /** Cancels key-service calls and the read. */
  readonly signal?: AbortSignal | undefined
}

/** What {@link decryptEsdk} returns. */
export interface EsdkDecryptResult {
  readonly plaintext: Uint8Array
  /** The message's encryption context: the stored context and the required context given as `reproducedContext`. */
  readonly context: Record<string, string>
  readonly header: EsdkHeader
}

/** What {@link openEsdk} returns. */
export interface OpenedEsdkMessage {
  readonly header: EsdkHeader
  /** As {@link EsdkDecryptResult.context}. */
  readonly context: Record<string, string>
  /**
   * The suite's plaintext data key, for a migration that keeps it (the caller wipes it);
   * undefined for the legacy 128- and 192-bit suites, whose keys no kms-envelope DataKey holds.
   */
  readonly dataKey: DataKey | undefined
  /** The encrypted data key the keyring opened. */
  readonly openedWith: EsdkEncryptedDataKey
  /** The plaintext: authenticated pieces only; errors (with the library's typed error) on any failure. */
  readonly plaintext: ReadableStream<Uint8Array>
}

interface Checked {
  readonly keyrings: readonly EsdkKeyringInput[]
  readonly policy: CommitmentPolicy
  readonly maxKeys: number
  readonly reproduced: ReadonlyMap<string, string>
  readonly maxBodySize: number
  readonly signal: AbortSignal | undefined
}

function checkOptions(options: EsdkReadOptions): Checked {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object: { keyring }')
  const reproduced = options.reproducedContext
  if (reproduced !== undefined && (reproduced === null || typeof reproduced !== 'object' || Array.isArray(reproduced))) {
    throw invalidArgument('reproducedContext must be a plain object of string keys to string values')
  }
  const entries = Object.entries(reproduced ?? {})
  for (const [k, v] of entries) if (typeof v !== 'string') throw invalidArgument(`reproducedContext[${JSON.stringify(k)}] must be a string`)
  return {
    keyrings: checkKeyrings(options.keyring),
    policy: checkPolicy(options.commitmentPolicy),
    maxKeys: integerOption(options.maxEncryptedDataKeys, 'maxEncryptedDataKeys', 1, 65535, DEFAULT_MAX_ENCRYPTED_DATA_KEYS),
    reproduced: new Map(entries as [string, string][]),
    maxBodySize: integerOption(options.maxBodySize, 'maxBodySize', 1, 2 ** 36, DEFAULT_MAX_BODY_SIZE),
    signal: checkSignal(options.signal),
  }
}

interface Session {
  readonly header: EsdkHeader
  readonly suite: EsdkSuite
  readonly context: Map<string, string>
  readonly body: BodyReader
  readonly frameKey: Uint8Array
  readonly dataKey: Uint8Array
  readonly openedWith: EsdkEncryptedDataKey
}

/** Everything up to the verified header; the body reader is positioned after it. */
async function openSession(src: ByteSource, o: Checked, out?: (header: EsdkHeader) => Uint8Array | undefined): Promise<Session> {
  throwIfAborted(o.signal)
  const parsed = await readHeader(src, o.maxKeys)
  const { suite, storedContext } = parsed
  checkSuiteAllowed(suite, o.policy)
  const mismatched: string[] = []
  const required = new Map<string, string>()
  for (const [k, v] of o.reproduced) {
    const stored = storedContext.get(k)
    if (stored === undefined) required.set(k, v)
    else if (stored !== v) mismatched.push(k)
  }
  if (mismatched.length > 0) throw new ContextMismatchError(mismatched)
  const context = new Map([...storedContext, ...required])
  let verifier: SignatureVerifier | undefined
  if (suite.signature !== undefined) {
    verifier = new SignatureVerifier(suite, storedContext)
    verifier.update(parsed.body)
    if (parsed.header.version === 1) verifier.update(parsed.headerIv)
    verifier.update(parsed.headerTag)
    src.onConsume = (bytes) => verifier!.update(bytes)
  } else if (storedContext.has(PUBLIC_KEY_CONTEXT_KEY)) {
    // The specification's default CMM fails here before any key is asked for, as the SDK
    // does: a verification key beside an unsigned suite means a signature was stripped or
    // the suite id swapped (the framework's "half-sign" vector).
    throw new FormatError(
      `the AWS Encryption SDK message uses the unsigned suite ${suite.name} but its encryption context holds ${PUBLIC_KEY_CONTEXT_KEY}; it is not a message the SDK writes`,
    )
  }
  const opened = await openDataKey(o.keyrings, parsed.header.encryptedDataKeys, context, suite.keyBytes, o.signal)
  let frameKey: Uint8Array | undefined
  try {
    frameKey = deriveFrameKey(suite, opened.key, parsed.header.messageId, parsed.commitment)
    const requiredBytes = serializeContext(required)
    const aad = new Uint8Array(parsed.body.length + requiredBytes.length)
    aad.set(parsed.body)
    aad.set(requiredBytes, parsed.body.length)
    if (aesGcmOpen(frameKey, parsed.headerIv, parsed.headerTag, aad) === undefined) {
      throw new AuthenticationError(
        required.size > 0
          ? 'the AWS Encryption SDK header does not authenticate: it was altered, or reproducedContext names keys the message was not written to require'
          : 'the AWS Encryption SDK header does not authenticate: it was altered',
      )
    }
    const body = new BodyReader(
      src,
      {
        messageId: parsed.header.messageId,
        framed: parsed.header.contentType === 'framed',
        frameLength: parsed.header.frameLength,
        key: frameKey,
        verifier,
        maxBodySize: src.complete ? undefined : o.maxBodySize,
        signal: o.signal,
      },
      out?.(parsed.header),
    )
    return { header: parsed.header, suite, context, body, frameKey, dataKey: opened.key, openedWith: opened.openedWith }
  } catch (error) {
    opened.key.fill(0)
    frameKey?.fill(0)
    throw error
  }
}

/**
 * Decrypts a whole AWS Encryption SDK message (format versions 1 and 2, framed or not, signed
 * or not) and returns its plaintext only once everything, signature included, has verified.
 *
 * @example
 * ```ts
 * import { KmsKeyring } from 'kms-envelope/kms'
 * import { decryptEsdk } from 'kms-envelope/esdk'
 * const keyring = new KmsKeyring({ keyIds: [keyArn] })
 * const { plaintext, context } = await decryptEsdk(esdkMessage, { keyring })
 * ```
 * @param message - The message bytes, as the SDK's `encrypt` returned them.
 * @param options - Keyring(s), commitment policy, limits ({@link EsdkReadOptions}).
 * @throws `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED` (unknown suite, or a legacy suite
 *   the policy refuses), `ERR_LIMIT`, `ERR_CONTEXT_MISMATCH`, `ERR_NO_MATCHING_KEY`,
 *   `ERR_UNWRAP`, `ERR_AUTH` (altered message, commitment or signature), `ERR_KMS_*`, `ERR_ABORTED`.
 */
export async function decryptEsdk(message: Uint8Array, options: EsdkReadOptions): Promise<EsdkDecryptResult> {
  if (!(message instanceof Uint8Array)) throw invalidArgument('message must be a Uint8Array')
  const o = checkOptions(options)
  const src = new ByteSource(message, o.signal)
  // Plaintext is never longer than the rest of the message: one buffer, sliced at the end.
  const session = await openSession(src, o, () => new Uint8Array(Math.max(0, src.buffered)))
  try {
    while ((await session.body.next()) !== undefined) {}
  } catch (error) {
    session.body.wipeOutput()
    throw error
  } finally {
    session.frameKey.fill(0)
    session.dataKey.fill(0)
  }
  return { plaintext: session.body.output(), context: Object.fromEntries(session.context), header: session.header }
}

/**
 * The lower-level reader under the migration (`migrateEsdkMessage`): the header parsed and
 * authenticated, the data key that opened it (the caller wipes it) and the encrypted data
 * key it came from, and a stream of the plaintext that releases authenticated pieces only,
 * with the same withholding of the final piece as {@link decryptEsdkStream}.
 * @param source - The message bytes.
 * @param options - As for {@link decryptEsdk}.
 */
export async function openEsdk(source: ReadableStream<Uint8Array>, options: EsdkReadOptions): Promise<OpenedEsdkMessage> {
  if (!(source instanceof ReadableStream)) throw invalidArgument('source must be a ReadableStream of Uint8Array chunks')
  const o = checkOptions(options)
  const src = new ByteSource(source, o.signal)
  let session: Session
  try {
    session = await openSession(src, o)
  } catch (error) {
    src.release(error)
    throw error
  }
  const { frameKey, dataKey } = session
  const plaintext = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await session.body.next()
          if (chunk === undefined) {
            frameKey.fill(0)
            controller.close()
          } else controller.enqueue(chunk)
        } catch (error) {
          frameKey.fill(0)
          src.release(error)
          controller.error(error)
        }
      },
      cancel(reason) {
        frameKey.fill(0)
        src.release(reason)
      },
    },
    { highWaterMark: 0 },
  )
  const key = dataKey.length === 32 ? new DataKey(dataKey) : undefined
  if (key === undefined) dataKey.fill(0)
  return { header: session.header, context: Object.fromEntries(session.context), dataKey: key, openedWith: session.openedWith, plaintext }
}

/** What {@link decryptEsdkStream} returns: a transform from message bytes to plaintext, and the header once it verified. */
export interface EsdkDecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Resolves once the header is authenticated; rejects with the stream's error if it never is. */
  readonly header: Promise<EsdkHeader>
}

/**
 * A Web `TransformStream` from an AWS Encryption SDK message to its plaintext. It releases
 * only authenticated frames; the final frame waits for the footer signature (signed suites)
 * and for the end of input, and the readable side errors with the library's typed error when
 * anything fails.
 *
 * @example
 * ```ts
 * const stream = decryptEsdkStream({ keyring })
 * const plaintext = response.body.pipeThrough(stream)
 * ```
 * @param options - As for {@link decryptEsdk}, plus `maxBodySize`.
 */
export function decryptEsdkStream(options: EsdkReadOptions): EsdkDecryptStream {
  checkOptions(options)
  const input = new TransformStream<Uint8Array, Uint8Array>()
  const opened = openEsdk(input.readable, options).then((o) => {
    o.dataKey?.wipe()
    return o
  })
  const header = opened.then((o) => o.header)
  header.catch(() => {}) // a caller who never asks for the header still gets the error on the readable side
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (await opened).plaintext.getReader()
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      async cancel(reason) {
        if (reader !== undefined) await reader.cancel(reason)
        else {
          opened.then((o) => o.plaintext.cancel(reason)).catch(() => {})
          await input.readable.cancel(reason).catch(() => {})
        }
      },
    },
    { highWaterMark: 0 },
  )
  return { readable, writable: input.writable, header }
}
