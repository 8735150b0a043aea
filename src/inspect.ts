/**
 * `inspect`: what a message says about itself, without any key. Nothing here is
 * authenticated; it is for operators and tools, never for access decisions.
 * @module
 */
import { bytesToHex } from '@noble/ciphers/utils.js'
import { splitBody } from './crypto/frames.js'
import { invalidArgument, TruncatedError } from './errors.js'
import { INDEX_KEY_PURPOSE, SUITE_AES256GCM_HKDFSHA512_COMMIT, TAG_BYTES, VERSION } from './format/constants.js'
import { contextToObject } from './format/context.js'
import type { ReadLimits } from './format/message.js'
import { checkReadLimits, parseHead } from './format/message.js'

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
  if ('need' in parsed) throw new TruncatedError(`the message is ${prefix.length} bytes but its header alone needs ${parsed.need}: it was cut short`)
  const { header, recipients, bodyOffset } = parsed.head
  const bodyBytes = totalBytes - bodyOffset
  const layout = splitBody(bodyBytes, header.frameSize)
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
