/**
 * Byte layout of a message (docs/FORMAT.md §2):
 *
 *   magic "KMSE" | version 0x01 | u32 H | header (H) | header tag (16) | u32 R | recipients (R) | frames
 *
 * `parseHead` works on a prefix of the message and says how many more bytes it needs, so the
 * same code serves whole buffers and streams. It checks each declared length against its
 * limit as soon as the length is readable, before waiting for or allocating anything.
 * @module
 */
import { FormatError, LimitError, UnsupportedError } from '../errors.js'
import { integerOption } from '../validate.js'
import { bodyCutShort, bodyFrames, headCutShort } from './body.js'
import { CborWriter } from './cbor-write.js'
import {
  DEFAULT_MAX_WRAPPED_KEYS,
  MAGIC,
  MAX_FRAME_SIZE,
  MAX_HEADER_BYTES,
  MAX_RECIPIENTS_BYTES,
  MAX_WRAPPED_KEYS,
  PREAMBLE_BYTES,
  RECIPIENTS_LENGTH_BYTES,
  TAG_BYTES,
  VERSION,
} from './constants.js'
import type { HeadMemo, MemoLimits } from './head-memo.js'
import type { Header, Recipient } from './header.js'
import { checkRecipientCount, decodeHeader, decodeRecipients, encodeRecipients, headerLength, writeHeader } from './header.js'

/** Reader limits; each defaults to the format's own. */
export interface ReadLimits {
  /** Most wrapped keys accepted (default 16, at most 64). */
  readonly maxWrappedKeys?: number
  /** Largest frame size accepted (default and ceiling 4 MiB). */
  readonly maxFrameSize?: number
  /** @internal The one reserved context pair accepted (FORMAT.md §13.2); set only by the field index-key opener. */
  readonly reservedContext?: readonly [string, string]
  /** @internal The last head read with these limits' owner (an Envelope's settings), see head-memo.ts. */
  readonly headMemo?: HeadMemo | undefined
}

/** Everything before the frames, parsed and validated (but not yet authenticated). */
export interface MessageHead {
  readonly header: Header
  /** Bytes covered by the header tag: preamble and header. */
  readonly authenticated: Uint8Array
  readonly headerTag: Uint8Array
  readonly recipients: readonly Recipient[]
  /** Offset of the first frame. */
  readonly bodyOffset: number
}

export type HeadResult = { readonly head: MessageHead } | { readonly need: number }

const readU32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24
  out[at + 1] = (value >>> 16) & 0xff
  out[at + 2] = (value >>> 8) & 0xff
  out[at + 3] = value & 0xff
}

function checkMagic(bytes: Uint8Array): void {
  const n = Math.min(bytes.length, MAGIC.length)
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== MAGIC[i]) throw new FormatError('not a kms-envelope message (the first bytes are not "KMSE")')
  }
  if (bytes.length > 4 && bytes[4] !== VERSION) {
    throw new UnsupportedError(
      `message format version ${bytes[4]} is not supported by this version of kms-envelope (it reads version ${VERSION}); upgrade to read it`,
    )
  }
}

/**
 * Small heads are copied into a shared slab, as Buffer's pool does: a fresh ArrayBuffer for a
 * 200-byte head cost about as much as the rest of parsing it. Head bytes are public (every
 * field is in the message), nothing writes to a parsed head, and a slab is never reused: a
 * full one is left to the heads that still view it.
 */
const SLAB_BYTES = 8192
const SLAB_MAX_HEAD = 1024
let slab = new Uint8Array(0)
let slabAt = 0

function headCopy(bytes: Uint8Array, length: number): Uint8Array {
  if (length > SLAB_MAX_HEAD) return new Uint8Array(bytes.subarray(0, length)) // a plain copy even of a Buffer
  if (slabAt + length > slab.length) {
    slab = new Uint8Array(SLAB_BYTES)
    slabAt = 0
  }
  const own = slab.subarray(slabAt, slabAt + length)
  own.set(bytes.subarray(0, length))
  slabAt += length
  return own
}

/**
 * Parses the head of a message from a prefix of it.
 * Returns `{ need }` (total bytes required so far) when `bytes` is too short to go on.
 */
export function parseHead(bytes: Uint8Array, limits: ReadLimits = {}): HeadResult {
  const maxWrapped = limits.maxWrappedKeys ?? DEFAULT_MAX_WRAPPED_KEYS
  checkMagic(bytes)
  if (bytes.length < PREAMBLE_BYTES) return { need: PREAMBLE_BYTES }
  const h = readU32(bytes, 5)
  if (h > MAX_HEADER_BYTES) throw new LimitError(`header claims ${h} bytes; the limit is ${MAX_HEADER_BYTES}`)
  if (h === 0) throw new FormatError('header length is zero')
  const tagEnd = PREAMBLE_BYTES + h + TAG_BYTES
  const recipientsStart = tagEnd + RECIPIENTS_LENGTH_BYTES
  if (bytes.length < recipientsStart) return { need: recipientsStart }
  const r = readU32(bytes, tagEnd)
  if (r > MAX_RECIPIENTS_BYTES) throw new LimitError(`recipients section claims ${r} bytes; the limit is ${MAX_RECIPIENTS_BYTES}`)
  if (r === 0) throw new FormatError('recipients section length is zero')
  // The array head is the first byte(s): refuse a hostile key count before waiting for the rest.
  checkRecipientCount(bytes.subarray(recipientsStart, Math.min(bytes.length, recipientsStart + r)), maxWrapped)
  const bodyOffset = recipientsStart + r
  if (bytes.length < bodyOffset) return { need: bodyOffset }
  // One copy of the whole head, and every field a view of it: what is parsed is what the
  // header tag is checked over, whatever the caller does to `bytes` meanwhile.
  const own = headCopy(bytes, bodyOffset)
  const tagAt = PREAMBLE_BYTES + h
  const memo = limits.headMemo
  const used: MemoLimits = { maxWrapped, maxFrameSize: limits.maxFrameSize ?? MAX_FRAME_SIZE, reserved: limits.reservedContext }
  let parts = memo?.lookup(own, tagAt, used)
  if (parts === undefined) {
    const header = decodeHeader(own.subarray(PREAMBLE_BYTES, tagAt), used.maxFrameSize, used.reserved)
    parts = { header, recipients: decodeRecipients(own.subarray(recipientsStart, bodyOffset), maxWrapped) }
    memo?.remember(own, tagAt, used, parts)
  }
  const { header, recipients } = parts
  return {
    head: {
      header,
      authenticated: own.subarray(0, PREAMBLE_BYTES + h),
      headerTag: own.subarray(PREAMBLE_BYTES + h, tagEnd),
      recipients,
      bodyOffset,
    },
  }
}

/** Checks reader limits supplied by the caller. */
export function checkReadLimits(limits: ReadLimits): void {
  if (limits.maxWrappedKeys !== undefined) integerOption(limits.maxWrappedKeys, 'maxWrappedKeys', 1, MAX_WRAPPED_KEYS)
  if (limits.maxFrameSize !== undefined) integerOption(limits.maxFrameSize, 'maxFrameSize', 1, MAX_FRAME_SIZE)
}

/** Bytes of the authenticated part of a head (preamble and header); a LimitError for a header over the format's limit. */
export function authenticatedLength(header: Header): number {
  const length = headerLength(header)
  if (length > MAX_HEADER_BYTES) {
    throw new LimitError(`the header would be ${length} bytes; the limit is ${MAX_HEADER_BYTES}: use a smaller encryption context`)
  }
  return PREAMBLE_BYTES + length
}

/** Writes the preamble and header at the start of `out`, which holds at least `length` = {@link authenticatedLength} bytes. */
export function writeAuthenticated(header: Header, out: Uint8Array, length: number): void {
  out.set(MAGIC, 0)
  out[4] = VERSION
  writeU32(out, 5, length - PREAMBLE_BYTES)
  writeHeader(new CborWriter(out, PREAMBLE_BYTES), header)
}

/** The authenticated part of a head: preamble + header bytes (the header tag's AAD). */
export function encodeAuthenticated(header: Header): Uint8Array {
  const length = authenticatedLength(header)
  const out = new Uint8Array(length)
  writeAuthenticated(header, out, length)
  return out
}

/** Encoded sections by list: a cached data key's recipients are encoded once, not per message. */
const encodedSections = new WeakMap<readonly Recipient[], Uint8Array>()

/** The recipients section with its length prefix. The list must not be mutated afterwards. */
export function encodeRecipientsSection(recipients: readonly Recipient[]): Uint8Array {
  const known = encodedSections.get(recipients)
  if (known !== undefined) return known
  // The length prefix is written into the room left before the CBOR: one buffer, no copy.
  const out = encodeRecipients(recipients, RECIPIENTS_LENGTH_BYTES)
  const length = out.length - RECIPIENTS_LENGTH_BYTES
  if (length > MAX_RECIPIENTS_BYTES) {
    throw new LimitError(`the recipients section would be ${length} bytes; the limit is ${MAX_RECIPIENTS_BYTES}: use fewer keys`)
  }
  writeU32(out, 0, length)
  encodedSections.set(recipients, out)
  return out
}

/** A whole message held in memory: its parsed head and its body. */
export interface WholeMessage {
  readonly head: MessageHead
  readonly body: Uint8Array
}

/**
 * Parses the head of a message held whole in memory (FORMAT.md §6.4 steps 1-9): a message too
 * short for its own head is ERR_TRUNCATED. `what` names the input in errors (a field, an index key).
 */
export function parseWholeMessage(bytes: Uint8Array, limits: ReadLimits, what = 'the message'): WholeMessage {
  const parsed = parseHead(bytes, limits)
  if ('need' in parsed) throw headCutShort(bytes.length, parsed.need, what)
  return { head: parsed.head, body: bytes.subarray(parsed.head.bodyOffset) }
}

/** FORMAT.md §6.4 step 12: the body must end with a final frame, or the message was cut short (ERR_TRUNCATED). */
export function checkBodyComplete(message: WholeMessage, what = 'the message'): void {
  if (bodyFrames(message.body.length, message.head.header.frameSize) === undefined) throw bodyCutShort(what)
}
