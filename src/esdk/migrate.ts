/**
 * Migrating AWS Encryption SDK messages to kms-envelope messages, streaming: the ESDK reader's
 * authenticated plaintext goes straight into the kms-envelope writer, so memory stays bounded
 * at any size and no plaintext ever reaches the output that the old message did not
 * authenticate (a failure at any point, the signature of a signed suite included, errors the
 * output stream).
 *
 * Carry-over (docs/FORMAT.md §20): when the old data key came out of an `aws-kms` encrypted
 * data key of a committing suite, the new message keeps the same context, and a destination
 * keyring is a KMS keyring holding that key, the KMS ciphertext becomes the new `aws-kms`
 * recipient as it is: no KMS Encrypt or GenerateDataKey call, and the one Decrypt the reader
 * made is the only KMS call of the migration. Otherwise the destination keyrings give the new
 * message a fresh data key, as `encrypt` does.
 * @module
 */
import type { EncryptionMaterials } from '../core/materials.js'
import { encryptionMaterials, presetMaterials } from '../core/materials.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import type { MaterialsSource } from '../core/writer.js'
import type { DataKey } from '../crypto/data-key.js'
import type { Envelope } from '../envelope.js'
import { invalidArgument } from '../errors.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { canonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { KmsKeyring } from '../keyrings/kms.js'
import { KMS_KEYRING_TYPE } from '../keyrings/kms-response.js'
import { encryptStream } from '../stream.js'
import { checkSignal } from '../validate.js'
import type { EsdkEncryptedDataKey, EsdkHeader } from './header.js'
import type { EsdkReadOptions } from './reader.js'
import { openEsdk } from './reader.js'

/** The suites whose data keys may be carried over: committing, 256-bit, HKDF-SHA-512 (FORMAT.md §20). */
const CARRY_OVER_SUITES: ReadonlySet<number> = new Set([0x0478, 0x0578])

/** The ESDK's provider id of encrypted data keys wrapped by AWS KMS. */
const ESDK_KMS_PROVIDER = 'aws-kms'

/**
 * The new message's encryption context: `'keep'` (the default) is the old message's whole
 * context, stored pairs and `reproducedContext` pairs alike (kms-envelope stores every pair);
 * a function maps the old context to the new one. Only an unchanged context lets the KMS
 * ciphertext be carried over, since KMS bound it to that context.
 */
export type EsdkContextMapping = 'keep' | EsdkContextMapper

/**
 * A mapping of {@link EsdkContextMapping}: returns the new message's context.
 * @param context - the old message's whole context (stored and reproduced pairs)
 */
export type EsdkContextMapper = (context: Readonly<Record<string, string>>) => EncryptionContext

/** Options of `migrateEsdkMessage`. */
export interface MigrateEsdkOptions {
  /** How to read the old message: its keyrings, commitment policy and limits. */
  readonly from: EsdkReadOptions
  /** The Envelope the new message is written with: its keyrings receive the data key, its frame size applies. */
  readonly to: Envelope
  /** The new message's context (default `'keep'`). */
  readonly context?: EsdkContextMapping
  /**
   * Reuse the old message's KMS ciphertext where that is sound (default true). `false` always
   * wraps a fresh data key with the destination keyrings.
   */
  readonly carryOver?: boolean
  /** Cancels the key-service calls and the stream. */
  readonly signal?: AbortSignal
}

/** What `migrateEsdkMessage` did, besides the new message. */
export interface EsdkMigrationInfo {
  /** The old message's authenticated header. */
  readonly header: EsdkHeader
  /** The new message's encryption context. */
  readonly context: Record<string, string>
  /**
   * True when the old `aws-kms` ciphertext became the new message's recipient for that key
   * (no KMS Encrypt or GenerateDataKey); false when the destination keyrings wrapped a fresh data key.
   */
  readonly carriedOver: boolean
  /** The ESDK encrypted data key that opened the old message. */
  readonly openedWith: EsdkEncryptedDataKey
}

/** The result of `migrateEsdkMessage` for a buffer. */
export interface EsdkMigratedMessage extends EsdkMigrationInfo {
  /** The new kms-envelope message. */
  readonly message: Uint8Array
}

/** The result of `migrateEsdkMessage` for a stream. */
export interface EsdkMigratedStream extends EsdkMigrationInfo {
  /**
   * The new kms-envelope message as it is written. It errors if anything fails later (a
   * frame or the signature of the old message, a key service): then discard what it gave.
   */
  readonly stream: ReadableStream<Uint8Array>
}

/** Options checked once. */
interface Plan {
  readonly settings: EnvelopeSettings
  readonly mapContext: (context: Readonly<Record<string, string>>) => EncryptionContext
  readonly carryOver: boolean
  readonly signal: AbortSignal | undefined
}

function planOf(options: MigrateEsdkOptions): Plan {
  if (options === null || typeof options !== 'object') throw invalidArgument('migrateEsdkMessage needs options: { from, to }')
  if (options.from === null || typeof options.from !== 'object') throw invalidArgument('from must be the ESDK read options: { keyring, ... }')
  const settings = requireSettings(options.to, 'to')
  if (settings.writers.length === 0) throw invalidArgument('to is an Envelope that only decrypts: give it a keyring to write the new messages with')
  const mapping = options.context ?? 'keep'
  if (mapping !== 'keep' && typeof mapping !== 'function') throw invalidArgument("context must be 'keep' or a function from the old context to the new one")
  if (options.carryOver !== undefined && typeof options.carryOver !== 'boolean') throw invalidArgument('carryOver must be a boolean')
  return {
    settings,
    mapContext: mapping === 'keep' ? (context) => ({ ...context }) : mapping,
    carryOver: options.carryOver !== false,
    signal: checkSignal(options.signal),
  }
}

function sameContext(a: CanonicalContext, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(b)
  return keys.length === a.size && keys.every((key) => a.get(key) === b[key])
}

/**
 * The old `aws-kms` encrypted data key as a kms-envelope recipient, when carrying it over is
 * sound: committing suite (its data key is a 256-bit HKDF-SHA-512 input and nothing else), the
 * same context (KMS bound the ciphertext to it), and this very ciphertext opened the message
 * (KMS decrypted it under that key and context, and the commitment accepted the result).
 */
function carriedRecipient(
  header: EsdkHeader,
  openedWith: EsdkEncryptedDataKey,
  oldContext: Readonly<Record<string, string>>,
  newContext: CanonicalContext,
): Recipient | undefined {
  if (!CARRY_OVER_SUITES.has(header.suiteId) || openedWith.providerId !== ESDK_KMS_PROVIDER) return undefined
  if (!sameContext(newContext, oldContext)) return undefined
  let keyId: string
  try {
    keyId = new TextDecoder('utf-8', { fatal: true }).decode(openedWith.providerInfo)
  } catch {
    return undefined
  }
  return { type: KMS_KEYRING_TYPE, keyId, wrapped: openedWith.ciphertext }
}

/**
 * Where the new message's data key comes from. Carry-over: the old data key, the carried
 * ciphertext in the place of the first destination KMS keyring with exactly that one key,
 * and every other destination keyring wrapping the same key. Otherwise the destination's own
 * materials (a fresh data key, or its cache), the old data key wiped.
 */
async function materialsFor(
  plan: Plan,
  dataKey: DataKey | undefined,
  carried: Recipient | undefined,
  context: CanonicalContext,
): Promise<{ source: MaterialsSource; carriedOver: boolean }> {
  const { settings, signal } = plan
  const holder = carried === undefined ? undefined : await carryingKeyring(settings, carried, signal)
  // Not carried over: the old key is the caller's to wipe, when the old message has been read.
  if (dataKey === undefined || carried === undefined || holder === undefined) return { source: encryptionMaterials, carriedOver: false }
  let materials: EncryptionMaterials | undefined
  const recipients: Recipient[] = []
  try {
    for (const keyring of settings.writers) {
      if (keyring === holder) recipients.push(carried)
      else recipients.push(...(await keyring.wrapDataKey(dataKey, context, { signal })))
    }
  } catch (error) {
    dataKey.wipe()
    throw error
  }
  materials = presetMaterials(settings, dataKey, recipients, 'the ESDK migration')
  const once: MaterialsSource = async () => {
    if (materials === undefined) throw invalidArgument('the carried-over data key was already used')
    const m = materials
    materials = undefined
    return m
  }
  return { source: once, carriedOver: true }
}

/**
 * The first destination keyring that may receive the carried ciphertext: a KmsKeyring that
 * wraps for exactly one key, which is the ciphertext's key (or, for a multi-Region key, a
 * replica of it), so the carried entry is what that keyring's own wrap would have produced.
 */
async function carryingKeyring(settings: EnvelopeSettings, carried: Recipient, signal: AbortSignal | undefined): Promise<KmsKeyring | undefined> {
  for (const keyring of settings.writers) {
    if (!(keyring instanceof KmsKeyring) || keyring.keyIds.length !== 1) continue
    await keyring.prepareUnwrap([carried], { signal })
    if (keyring.canUnwrap(carried)) return keyring
  }
  return undefined
}

function singleChunk(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes)
      controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

async function migrate(source: ReadableStream<Uint8Array>, options: MigrateEsdkOptions): Promise<EsdkMigratedStream> {
  const plan = planOf(options)
  const from: EsdkReadOptions = plan.signal === undefined || options.from.signal !== undefined ? options.from : { ...options.from, signal: plan.signal }
  const opened = await openEsdk(source, from)
  let context: CanonicalContext
  let materials: { source: MaterialsSource; carriedOver: boolean }
  try {
    context = canonicalContext(plan.mapContext(opened.context), 'the new context', true)
    const carried = plan.carryOver ? carriedRecipient(opened.header, opened.openedWith, opened.context, context) : undefined
    materials = await materialsFor(plan, opened.dataKey, carried, context)
  } catch (error) {
    if (opened.dataKey?.wiped === false) opened.dataKey.wipe()
    await opened.plaintext.cancel(error).catch(() => {})
    throw error
  }
  const newContext = Object.fromEntries(context)
  const encrypt = encryptStream(plan.settings, { context: newContext, signal: plan.signal }, materials.source)
  const output = opened.plaintext.pipeThrough(encrypt, plan.signal === undefined ? {} : { signal: plan.signal })
  return {
    header: opened.header,
    context: newContext,
    carriedOver: materials.carriedOver,
    openedWith: opened.openedWith,
    // Wiped only once the old message is read: for the ESDK's no-KDF suites the data key is also the frame key.
    stream: materials.carriedOver ? output : whenDone(output, () => opened.dataKey?.wipe()),
  }
}

/** `stream`, calling `done` once when it ends, fails or is cancelled. */
function whenDone(stream: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  let ended = false
  const end = (): void => {
    if (!ended) done()
    ended = true
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: finished, value } = await reader.read()
          if (finished) {
            end()
            controller.close()
          } else controller.enqueue(value)
        } catch (error) {
          end()
          controller.error(error)
        }
      },
      async cancel(reason) {
        end()
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Turns an AWS Encryption SDK message into a kms-envelope message with the same plaintext,
 * streaming. The old message is read by the ESDK reader with `from` (its keyrings, commitment
 * policy, limits; only authenticated plaintext goes on, and a signed suite's signature must
 * verify before the stream ends); the new one is written by `to` with the old context (or
 * `context`'s mapping of it). Where the old data key was wrapped by AWS KMS under a committing
 * suite, the context is unchanged and `to` has a KMS keyring for that one key, the KMS
 * ciphertext is carried over as the new message's recipient: one KMS Decrypt in all, no
 * Encrypt (docs/FORMAT.md §20); otherwise the destination keyrings wrap a fresh data key.
 *
 * @example
 * ```ts
 * import { migrateEsdkMessage, RawAesKeyring } from 'kms-envelope/esdk'
 * const old = new RawAesKeyring({ keyNamespace: 'app', keyName: 'aes-1', key: aesKeyBytes })
 * const { message } = await migrateEsdkMessage(esdkBytes, { from: { keyring: old }, to: envelope })
 * ```
 * @throws the ESDK reader's errors (`ERR_FORMAT`, `ERR_UNSUPPORTED` for a suite the policy
 *   forbids, `ERR_LIMIT`, `ERR_NO_MATCHING_KEY`, `ERR_UNWRAP`, `ERR_AUTH`, ...), the destination
 *   keyrings' (`ERR_KMS_*`, `ERR_KEYRING`), TypeError `ERR_INVALID_ARGUMENT` for bad options or a
 *   context kms-envelope cannot write, `ERR_ABORTED`. A stream's result errors with the same.
 * @param message - the ESDK message, whole or as a stream
 * @param options - `from` (ESDK read options), `to` (an Envelope), `context`, `carryOver`, `signal`
 */
export function migrateEsdkMessage(message: Uint8Array, options: MigrateEsdkOptions): Promise<EsdkMigratedMessage>
/**
 * The streaming form of `migrateEsdkMessage`: resolves once the old message's header is
 * authenticated and the new message's key is ready, with the new message as a stream that
 * errors if anything fails later (a frame or the signature of the old message).
 *
 * @example
 * ```ts
 * const { stream } = await migrateEsdkMessage(file.stream(), { from: { keyring: old }, to: envelope })
 * await stream.pipeTo(destination)
 * ```
 * @throws as the buffer form; later failures error `stream`.
 * @param message - the ESDK message as a Web stream of bytes
 * @param options - `from` (ESDK read options), `to` (an Envelope), `context`, `carryOver`, `signal`
 */
export function migrateEsdkMessage(message: ReadableStream<Uint8Array>, options: MigrateEsdkOptions): Promise<EsdkMigratedStream>
export async function migrateEsdkMessage(
  message: Uint8Array | ReadableStream<Uint8Array>,
  options: MigrateEsdkOptions,
): Promise<EsdkMigratedMessage | EsdkMigratedStream> {
  if (message instanceof Uint8Array) {
    const { stream, ...info } = await migrate(singleChunk(message), options)
    return { ...info, message: await collect(stream) }
  }
  if (message === null || typeof message !== 'object' || typeof (message as ReadableStream).getReader !== 'function') {
    throw invalidArgument('message must be a Uint8Array or a ReadableStream of Uint8Array')
  }
  return migrate(message, options)
}
