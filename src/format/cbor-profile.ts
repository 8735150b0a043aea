/**
 * The CBOR subset the format uses (docs/FORMAT.md §5), checked on the raw bytes before cbor-x
 * decodes them.
 *
 * cbor-x decodes far more than plain data: tags for dates, sets, typed arrays, records, shared
 * and packed references. The format uses none of them, and some cost time out of all
 * proportion to their size: nested packed-value tables (tag 51) take about 6 s of CPU for one
 * 64 KiB header. cbor-x has no strict mode, and its tag table is global to the process, so the
 * subset is enforced here instead: definite-length integers, byte and text strings, arrays and
 * maps only, in one linear pass without recursion, with ceilings on nesting and item count
 * that no v1 section comes near (a header has at most 518 items, 2 levels deep).
 * @module
 */
import { FormatError, LimitError } from '../errors.js'

/** Deepest container nesting accepted; v1 sections nest 2 levels. */
export const MAX_CBOR_DEPTH = 4
/** Most data items in one section; a v1 header has at most 518, a recipients section 257. */
export const MAX_CBOR_ITEMS = 1024

const MAJOR_NAMES = ['', '', '', '', '', '', 'a tag', 'a float, simple value or break code']

/** Smallest argument each long head form may carry in the deterministic encoding (RFC 8949 §4.2.1). */
const SHORTEST = [24, 256, 65536, 2 ** 32]

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * What the pass saw besides well-formedness: enough to tell, without re-encoding, whether the
 * bytes are the deterministic encoding of what cbor-x decodes them to (see cbor.ts).
 */
export interface ProfileScan {
  /** Data items read. */
  readonly items: number
  /** Every head in its shortest form, and every text string valid UTF-8 (so it decodes and re-encodes to itself). */
  readonly deterministic: boolean
}

function validUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end && bytes[i]! < 0x80) i++ // the common case: ASCII, no decoder call
  if (i === end) return true
  try {
    STRICT_UTF8.decode(bytes.subarray(i, end))
    return true
  } catch {
    return false
  }
}

/**
 * Throws unless `bytes` is exactly one data item of the subset: a LimitError for more items
 * or deeper nesting than the ceilings (like the format's own count limits), else a FormatError. Lengths are
 * checked against the bytes present, so no declared length can make a later step allocate.
 */
export function checkCborProfile(bytes: Uint8Array, what: string): ProfileScan {
  const fail = (why: string, at: number): FormatError => new FormatError(`${what} is not in the CBOR subset of the format: ${why} at byte ${at}`)
  const tooMany = (at: number): LimitError =>
    new LimitError(`${what} holds more than ${MAX_CBOR_ITEMS} CBOR data items (at byte ${at}); no valid message has that many`)
  let at = 0
  let items = 0
  let deterministic = true
  // Items still to read in each open container; the bottom slot is the one top-level item.
  const open: number[] = [1]
  while (open.length > 0) {
    const top = open.length - 1
    if (open[top] === 0) {
      open.pop()
      continue
    }
    open[top]!--
    const start = at
    if (++items > MAX_CBOR_ITEMS) throw tooMany(start)
    if (at >= bytes.length) throw fail('the section ends inside a data item', start)
    const initial = bytes[at++]!
    const major = initial >> 5
    const info = initial & 0x1f
    if (major > 5) throw fail(`${MAJOR_NAMES[major]} (not allowed)`, start)
    if (info > 27) throw fail(info === 31 ? 'an indefinite length (not allowed)' : 'a reserved length encoding', start)
    let arg = info
    if (info >= 24) {
      const size = 1 << (info - 24)
      if (at + size > bytes.length) throw fail('the section ends inside a length', start)
      arg = 0
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[at++]!
      if (arg < SHORTEST[info - 24]!) deterministic = false
    }
    const left = bytes.length - at
    if (major === 2 || major === 3) {
      if (arg > left) throw fail(`a string of ${arg} bytes with ${left} left`, start)
      if (major === 3 && deterministic && !validUtf8(bytes, at, at + arg)) deterministic = false
      at += arg
    } else if (major === 4 || major === 5) {
      const count = major === 5 ? arg * 2 : arg
      if (count > MAX_CBOR_ITEMS - items) throw tooMany(start)
      // Every item takes at least one byte: a larger count is a lie, refused before anything is built.
      if (count > left) throw fail(`a container of ${count} items with ${left} bytes left`, start)
      // `open.length` is this container's depth (the bottom slot is the top-level item). Checked
      // for empty containers too: they nest as deep as any other (FORMAT.md §5, ERR_LIMIT).
      if (open.length > MAX_CBOR_DEPTH)
        throw new LimitError(`${what} nests CBOR containers deeper than ${MAX_CBOR_DEPTH} levels (at byte ${start}); no valid message does`)
      if (count > 0) open.push(count)
    }
  }
  if (at !== bytes.length) throw fail(`${bytes.length - at} bytes after the data item`, at)
  return { items, deterministic }
}
