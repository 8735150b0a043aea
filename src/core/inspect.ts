/**
 * `inspect`: what a message says about itself, without any key. Nothing here is
 * authenticated; it is for operators and tools, never for access decisions.
 * @module
 */
import { bytesToHex } from '@noble/ciphers/utils.js'
import { invalidArgument } from '../errors.js'
import { bodyFrames, headCutShort, streamHeadCutShort } from '../format/body.js'
import { INDEX_KEY_PURPOSE, SUITE_AES256GCM_HKDFSHA512_COMMIT, TAG_BYTES, VERSION } from '../format/constants.js'
import { contextToObject } from '../format/context.js'
import { HeadReader } from '../format/head-reader.js'
import type { ReadLimits } from '../format/message.js'
import { checkReadLimits, parseHead } from '../format/message.js'

/** The result of {@link inspect}. Contains no key material. */
export interface MessageInfo {
  readonly version: number
  readonly suite: { readonly id: number; readonly name: string }
  /** 32-byte message id, hex. */
  readonly messageId: string
  readonly context: Record<string, string>
  readonly recipients: ReadonlyArray<{ readonly type: string; readonly keyId: string; readonly wrappedBytes: number }>
  readonly frameSize: number
  /** Bytes before the first frame. */
  readonly headerBytes: number
  readonly bodyBytes: number
  readonly totalBytes: number
  /** Frame count and plaintext size, or null when the body cannot be complete (cut short). */
  readonly frames: number | null
  readonly plaintextBytes: number | null
  /** Always false: inspect reads the header without any key, so nothing is verified. */
  readonly authenticated: false
}

const SUITE_NAMES: Record<number, string> = {
  [SUITE_AES256GCM_HKDFSHA512_COMMIT]: 'AES-256-GCM, HKDF-SHA-512, key commitment',
}

/**
 * Describes a message from its header: version, suite, message id, context, recipients
 * (type and key id only), frame size and sizes. Calls no key service.
 *
 * @example
 * ```ts
 * const info = inspect(message)
 * console.log(info.recipients.map((r) => r.keyId), info.context)
 * ```
 * @throws `ERR_FORMAT`, `ERR_TRUNCATED` (header incomplete), `ERR_UNSUPPORTED`, `ERR_LIMIT`;
 *   RangeError `ERR_INVALID_ARGUMENT` for limits outside the format's (maxWrappedKeys 1..64, maxFrameSize up to 4 MiB).
 * @param message - a whole message, or at least its head
 * @param limits - reader limits (`maxWrappedKeys`, `maxFrameSize`); the format's by default
 */
export function inspect(message: Uint8Array, limits: ReadLimits = {}): MessageInfo {
  if (!(message instanceof Uint8Array)) throw invalidArgument('message must be a Uint8Array')
  // Unchecked, a caller's `{ maxWrappedKeys: 1e6 }` would lift the format's ceiling of 64.
  if (limits === null || typeof limits !== 'object') throw invalidArgument('limits must be an object like { maxWrappedKeys: 16 }')
  checkReadLimits(limits)
  return describeHead(message, message.length, limits)
}

/** @internal For streams: `prefix` holds at least the whole head; `totalBytes` is the message size. */
export function describeHead(prefix: Uint8Array, totalBytes: number, limits: ReadLimits = {}): MessageInfo {
  // An index key's purpose pair is shown like any context: inspect releases no plaintext.
  const parsed = parseHead(prefix, { ...limits, reservedContext: INDEX_KEY_PURPOSE })
  if ('need' in parsed) throw headCutShort(prefix.length, parsed.need)
  const { header, recipients, bodyOffset } = parsed.head
  const bodyBytes = totalBytes - bodyOffset
  const layout = bodyFrames(bodyBytes, header.frameSize)
  return {
    version: VERSION,
    suite: { id: header.suite, name: SUITE_NAMES[header.suite] ?? 'unknown' },
    messageId: bytesToHex(header.messageId),
    context: contextToObject(header.context),
    recipients: recipients.map((r) => ({ type: r.type, keyId: r.keyId, wrappedBytes: r.wrapped.length })),
    frameSize: header.frameSize,
    headerBytes: bodyOffset,
    bodyBytes,
    totalBytes,
    frames: layout?.frames ?? null,
    plaintextBytes: layout?.plaintextLength ?? null,
    authenticated: false,
  }
}

/** Bytes of overhead for a message of `plaintextBytes`, given its head size and frame size. */
export function overheadBytes(headBytes: number, plaintextBytes: number, frameSize: number): number {
  return headBytes + (Math.floor(plaintextBytes / frameSize) + 1) * TAG_BYTES
}

/** Options of {@link inspectStream}. */
export interface InspectStreamOptions extends ReadLimits {
  /** The message's total size when known (a file's size): reading then stops after the head. */
  readonly size?: number
}

/**
 * {@link inspect} for a message arriving in chunks (a file, a pipe, a response body): reads
 * only the head, bounded by the format limits, and counts the rest (or takes `size`). No key
 * is needed and nothing is verified.
 *
 * @param chunks - the message, as any async iterable of byte chunks (a Node stream, a Web ReadableStream)
 * @param options - reader limits, and the message's size when known
 * @throws `ERR_FORMAT`, `ERR_TRUNCATED`, `ERR_UNSUPPORTED`, `ERR_LIMIT` as {@link inspect}.
 */
export async function inspectStream(chunks: AsyncIterable<Uint8Array>, options: InspectStreamOptions = {}): Promise<MessageInfo> {
  return (await inspectStreamHead(chunks, options)).info
}

/** @internal {@link inspectStream}, also giving the head's bytes (the CLI's key status reads them). */
export async function inspectStreamHead(
  chunks: AsyncIterable<Uint8Array>,
  options: InspectStreamOptions = {},
): Promise<{ info: MessageInfo; head: Uint8Array }> {
  checkReadLimits(options)
  const reader = new HeadReader({ ...options, reservedContext: INDEX_KEY_PURPOSE })
  let prefix: Uint8Array | undefined
  let total = 0
  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) throw invalidArgument('inspectStream needs chunks of bytes (Uint8Array)')
    total += chunk.length
    if (prefix !== undefined) continue
    const read = reader.push(chunk)
    if (read === undefined) continue
    prefix = read.bytes.slice(0, read.head.bodyOffset) // a copy: the bytes may be the reader's chunk
    if (options.size !== undefined) {
      total = options.size
      break
    }
  }
  if (prefix === undefined) throw streamHeadCutShort(reader.buffered, reader.need)
  return { info: describeHead(prefix, total, options), head: prefix }
}
