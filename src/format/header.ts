/**
 * The two CBOR sections of a message (docs/FORMAT.md §3, §4):
 *
 *   header     = [suite, message-id, frame-size, context, commitment]   authenticated
 *   recipients = [+ [type, key-id, wrapped]]                             replaceable (rewrap)
 *
 * Decoding is strict: exact types and sizes, every limit, and the bytes must be the
 * deterministic encoding of what they decode to, so every message has one spelling.
 * @module
 */
import { FormatError, LimitError, UnsupportedError } from '../errors.js'
import { quoted } from '../printable.js'
import { decodeCbor, isCanonical } from './cbor.js'
import { CborWriter, headLength, textLength, textMapLength } from './cbor-write.js'
import {
  COMMITMENT_BYTES,
  MAX_CONTEXT_ENTRIES,
  MAX_FRAME_SIZE,
  MAX_KEY_ID_BYTES,
  MAX_KEYRING_TYPE_BYTES,
  MAX_WRAPPED_BYTES,
  MESSAGE_ID_BYTES,
  MIN_FRAME_SIZE,
  RESERVED_CONTEXT_PREFIX,
  SUITE_AES256GCM_HKDFSHA512_COMMIT,
} from './constants.js'
import type { CanonicalContext } from './context.js'
import { isCanonicalOrder } from './context.js'

/** The authenticated header. */
export interface Header {
  readonly suite: number
  readonly messageId: Uint8Array
  readonly frameSize: number
  readonly context: CanonicalContext
  readonly commitment: Uint8Array
}

/** One wrapped copy of the data key, for one key of one keyring type. */
export interface Recipient {
  /** Keyring type that wrote it: `local` or `aws-kms` (others are reserved). */
  readonly type: string
  /** The key that wraps it: a local key id, or a KMS key ARN. */
  readonly keyId: string
  /** The wrapped data key; opaque outside its keyring. */
  readonly wrapped: Uint8Array
}

const TYPE_PATTERN = /^[a-z][a-z0-9-]*$/

/** Bytes of the header's deterministic encoding (exact: the output is sized once). */
export function headerLength(header: Header): number {
  const { suite, messageId, frameSize, context, commitment } = header
  return (
    1 +
    headLength(suite) +
    headLength(messageId.length) +
    messageId.length +
    headLength(frameSize) +
    textMapLength(context) +
    headLength(commitment.length) +
    commitment.length
  )
}

/**
 * Writes the header's deterministic encoding (the same bytes cbor-x writes for the array; the
 * vectors check it) in one pass, where `w` stands: {@link headerLength} bytes.
 */
export function writeHeader(w: CborWriter, header: Header): void {
  w.head(4, 5)
  w.uint(header.suite)
  w.bytesItem(header.messageId)
  w.uint(header.frameSize)
  w.textMap(header.context)
  w.bytesItem(header.commitment)
}

/** The header's deterministic encoding, after `reserve` bytes left free at the start for the caller. */
export function encodeHeader(header: Header, reserve = 0): Uint8Array {
  const w = new CborWriter(reserve + headerLength(header), reserve)
  writeHeader(w, header)
  return w.bytes
}

function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length)
}

/**
 * An unsigned integer as a number, or undefined. cbor-x returns every 8-byte integer as a
 * bigint: those are read by value too (past 2^53 as Infinity, which every range check refuses),
 * so a frame size of 2^32 is ERR_LIMIT and a suite of 2^40 ERR_UNSUPPORTED, as for 4-byte ones.
 */
function uint(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value === 'bigint') return value < 0n ? undefined : value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Infinity
  return undefined
}

const UTF8 = new TextEncoder()
/** UTF-8 bytes of `s`, encoded only when its UTF-16 length leaves doubt (each unit takes at most 3 bytes). */
const utf8Exceeds = (s: string, max: number): boolean => s.length * 3 > max && UTF8.encode(s).length > max

/**
 * Decodes and validates header bytes (the CBOR item only). The byte strings of the result are
 * views of `bytes`: the caller passes bytes it owns (parseHead passes its copy of the head). `maxFrameSize` is the reader's own
 * limit; `reserved` is the one reserved context pair the caller accepts (only the index-key
 * opener passes one), every other `kmse:` key is refused.
 */
export function decodeHeader(bytes: Uint8Array, maxFrameSize = MAX_FRAME_SIZE, reserved?: readonly [string, string]): Header {
  const decoded = decodeCbor(bytes, 'header')
  const item = decoded.value
  if (!Array.isArray(item) || item.length !== 5) throw new FormatError('header must be a CBOR array of 5 items')
  const [rawSuite, messageId, rawFrameSize, context, commitment] = item as unknown[]
  const suite = uint(rawSuite)
  if (suite === undefined) throw new FormatError('header suite must be an unsigned integer')
  if (suite !== SUITE_AES256GCM_HKDFSHA512_COMMIT) {
    throw new UnsupportedError(
      `suite ${String(rawSuite)} is not supported by this version of kms-envelope (it knows suite ${SUITE_AES256GCM_HKDFSHA512_COMMIT}); upgrade to read this message`,
    )
  }
  if (!isBytes(messageId, MESSAGE_ID_BYTES)) throw new FormatError(`header message id must be a ${MESSAGE_ID_BYTES}-byte string`)
  const frameSize = uint(rawFrameSize)
  if (frameSize === undefined) throw new FormatError('header frame size must be an unsigned integer')
  if (frameSize < MIN_FRAME_SIZE || frameSize > Math.min(maxFrameSize, MAX_FRAME_SIZE)) {
    throw new LimitError(`header frame size ${String(rawFrameSize)} is outside the accepted range ${MIN_FRAME_SIZE}..${Math.min(maxFrameSize, MAX_FRAME_SIZE)}`)
  }
  if (!(context instanceof Map)) throw new FormatError('header context must be a CBOR map')
  if (context.size > MAX_CONTEXT_ENTRIES) throw new LimitError(`header context has ${context.size} entries; at most ${MAX_CONTEXT_ENTRIES} are allowed`)
  const keys: string[] = []
  for (const [key, value] of context as Map<unknown, unknown>) {
    if (typeof key !== 'string' || typeof value !== 'string') throw new FormatError('header context keys and values must be text strings')
    if (key.length === 0) throw new FormatError('header context has an empty key')
    if (key.startsWith(RESERVED_CONTEXT_PREFIX) && (reserved === undefined || key !== reserved[0] || value !== reserved[1]))
      throw new FormatError(`header context key ${quoted(key)} uses the reserved prefix "${RESERVED_CONTEXT_PREFIX}"`)
    keys.push(key)
  }
  if (!isCanonicalOrder(keys)) throw new FormatError('header context keys are not in canonical order')
  if (!isBytes(commitment, COMMITMENT_BYTES)) throw new FormatError(`header commitment must be a ${COMMITMENT_BYTES}-byte string`)
  // Re-encoded from the numbers, not the decoded bigints (which cbor-x would write back in 8 bytes).
  if (!isCanonical(decoded, [suite, messageId, frameSize, context, commitment])) throw new FormatError('header is not in deterministic CBOR encoding')
  return {
    suite,
    messageId,
    frameSize,
    context: context as Map<string, string>,
    commitment,
  }
}

/**
 * The recipients section's deterministic encoding (the bytes cbor-x writes for the array of
 * arrays; the vectors check it), after `reserve` bytes left free at the start. Written by hand
 * because it runs on every encrypt without a cache (every message has fresh wrapped keys).
 */
export function encodeRecipients(recipients: readonly Recipient[], reserve = 0): Uint8Array {
  let length = headLength(recipients.length)
  for (const r of recipients) length += 1 + textLength(r.type) + textLength(r.keyId) + headLength(r.wrapped.length) + r.wrapped.length
  const w = new CborWriter(reserve + length, reserve)
  w.head(4, recipients.length)
  for (const r of recipients) {
    w.head(4, 3)
    w.text(r.type)
    w.text(r.keyId)
    w.bytesItem(r.wrapped)
  }
  return w.bytes
}

/** Checks one recipient's fields; shared by the decoder and by keyrings producing recipients. */
export function checkRecipient(type: unknown, keyId: unknown, wrapped: unknown): string | undefined {
  if (typeof type !== 'string' || !TYPE_PATTERN.test(type) || type.length > MAX_KEYRING_TYPE_BYTES) {
    return `keyring type must match ${TYPE_PATTERN} and be at most ${MAX_KEYRING_TYPE_BYTES} bytes`
  }
  if (typeof keyId !== 'string' || keyId.length === 0 || utf8Exceeds(keyId, MAX_KEY_ID_BYTES)) {
    return `key id must be a text string of 1..${MAX_KEY_ID_BYTES} bytes`
  }
  if (!isBytes(wrapped) || wrapped.length === 0 || wrapped.length > MAX_WRAPPED_BYTES) {
    return `wrapped key must be a byte string of 1..${MAX_WRAPPED_BYTES} bytes`
  }
  return undefined
}

/**
 * Reads the array head of the recipients section, from as little as its first byte, so the
 * count limit is enforced before a single entry is decoded: a hostile "10,000 wrapped keys"
 * costs nothing. Returns undefined when `prefix` is too short to hold the head.
 */
export function declaredRecipientCount(prefix: Uint8Array): number | undefined {
  const initial = prefix[0]
  if (initial === undefined) return undefined
  if (initial >> 5 !== 4) throw new FormatError('recipients must be a CBOR array')
  const info = initial & 0x1f
  if (info < 24) return info
  if (info > 27) throw new FormatError('recipients array must have a definite length')
  const size = 1 << (info - 24) // 1, 2, 4 or 8 length bytes follow
  if (prefix.length < 1 + size) return undefined
  let count = 0
  for (let i = 1; i <= size; i++) count = count * 256 + prefix[i]!
  return count
}

/** Refuses a recipients section whose declared count exceeds `maxWrappedKeys`. */
export function checkRecipientCount(prefix: Uint8Array, maxWrappedKeys: number): void {
  const count = declaredRecipientCount(prefix)
  if (count !== undefined && count > maxWrappedKeys) {
    throw new LimitError(`message lists ${count} wrapped keys; this reader accepts at most ${maxWrappedKeys}`)
  }
}

/** Decodes and validates the recipients section; each `wrapped` is a view of `bytes`, which the caller owns (as {@link decodeHeader}). */
export function decodeRecipients(bytes: Uint8Array, maxWrappedKeys: number): Recipient[] {
  checkRecipientCount(bytes, maxWrappedKeys)
  if (declaredRecipientCount(bytes) === 0) throw new FormatError('message lists no wrapped keys')
  const decoded = decodeCbor(bytes, 'recipients')
  const item = decoded.value
  if (!Array.isArray(item)) throw new FormatError('recipients must be a CBOR array')
  const out: Recipient[] = []
  for (const entry of item as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) throw new FormatError('each recipient must be a CBOR array [type, key-id, wrapped]')
    const [type, keyId, wrapped] = entry as unknown[]
    const problem = checkRecipient(type, keyId, wrapped)
    if (problem !== undefined) throw new FormatError(`recipient ${out.length}: ${problem}`)
    out.push({ type: type as string, keyId: keyId as string, wrapped: wrapped as Uint8Array })
  }
  if (!isCanonical(decoded, item)) throw new FormatError('recipients are not in deterministic CBOR encoding')
  return out
}
