/**
 * ASCII armor (docs/FORMAT.md §14): a message as PEM-style text, for channels that carry
 * only text (e-mail, YAML, a terminal). Strict, in the manner of age's armor: one encoding
 * per message, so an armored message is as non-malleable as the binary one (the armor adds
 * nothing a reader could be tricked by). Streaming encoder and decoder classes let the CLI
 * armor files of any size in constant memory; `armor`/`dearmor` are the whole-buffer API.
 * @module
 */
import { base64Codec } from '#base64'
import { FormatError, invalidArgument, TruncatedError } from '../errors.js'

/** The first line of an armored message. */
export const ARMOR_BEGIN = '-----BEGIN KMS-ENVELOPE MESSAGE-----'
/** The last line of an armored message. */
export const ARMOR_END = '-----END KMS-ENVELOPE MESSAGE-----'
/** Base64 characters per line; every line but the last has exactly this many. */
export const ARMOR_COLUMNS = 64
/** Most whitespace bytes a reader accepts before the BEGIN line, and again after the END marker. */
export const MAX_ARMOR_WHITESPACE = 1024

const BYTES_PER_LINE = (ARMOR_COLUMNS / 4) * 3 // 48
const ascii = new TextEncoder()
const BEGIN_BYTES = ascii.encode(ARMOR_BEGIN)
const END_BYTES = ascii.encode(ARMOR_END)
const LF = 0x0a
const CR = 0x0d
const isWhitespace = (b: number): boolean => b === 0x20 || b === 0x09 || b === CR || b === LF

/**
 * Whether a stream that starts with `firstByte` should be read as armor: armor starts with
 * `-` or whitespace, a binary message with `K` ("KMSE"). Anything else is neither, and the
 * binary reader's error (bad magic) is the one to report.
 */
export function looksArmored(firstByte: number): boolean {
  return firstByte === 0x2d || isWhitespace(firstByte)
}

/**
 * Armors a message: the BEGIN line, the message in standard padded base64 (RFC 4648 §4) in
 * lines of exactly 64 characters (the last one shorter or equal), the END line, each ended by
 * `\n`.
 *
 * @example
 * ```ts
 * import { Envelope, armor, dearmor } from 'kms-envelope'
 * const text = armor(await env.encrypt('hello'))      // "-----BEGIN KMS-ENVELOPE MESSAGE-----\n..."
 * const { plaintext } = await env.decrypt(dearmor(text))
 * ```
 * @param message - the bytes to armor (normally a whole kms-envelope message)
 * @returns the armored text, ending in a newline
 * @throws `ERR_INVALID_ARGUMENT` (TypeError) when `message` is not a Uint8Array.
 */
export function armor(message: Uint8Array): string {
  if (!(message instanceof Uint8Array)) throw invalidArgument('armor needs the message as a Uint8Array')
  const out: Uint8Array[] = []
  const encoder = new ArmorEncoder()
  encoder.push(message, (chunk) => out.push(chunk))
  encoder.finish((chunk) => out.push(chunk))
  let text = ''
  const decoder = new TextDecoder()
  for (const chunk of out) text += decoder.decode(chunk)
  return text
}

/**
 * The message inside an armored text, checked strictly (FORMAT.md §14): only whitespace
 * (at most 1024 bytes each) before the BEGIN line and after the END marker, LF or CRLF line
 * ends used consistently, every base64 line 64 characters but the last (1-64), canonical
 * padded base64, nothing else.
 *
 * @example
 * ```ts
 * import { dearmor } from 'kms-envelope'
 * const message = dearmor(readFileSync('secret.txt', 'utf8'))
 * ```
 * @param text - the armored message, as a string or its bytes (ASCII)
 * @returns the message bytes
 * @throws {@link FormatError} `ERR_FORMAT` when the text is not strict armor (it names the
 *   line and what is wrong); {@link TruncatedError} `ERR_TRUNCATED` when it ends before the
 *   END line; `ERR_INVALID_ARGUMENT` (TypeError) when `text` is neither a string nor bytes.
 */
export function dearmor(text: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array
  if (typeof text === 'string') bytes = ascii.encode(text)
  else if (text instanceof Uint8Array) bytes = text
  else throw invalidArgument('dearmor needs the armored text as a string or a Uint8Array')
  const out: Uint8Array[] = []
  const decoder = new ArmorDecoder()
  decoder.push(bytes, (chunk) => out.push(chunk))
  decoder.finish((chunk) => out.push(chunk))
  let length = 0
  for (const chunk of out) length += chunk.length
  const message = new Uint8Array(length)
  let at = 0
  for (const chunk of out) {
    message.set(chunk, at)
    at += chunk.length
  }
  return message
}

/**
 * Armors bytes arriving in chunks. Emits ASCII: the BEGIN line on the first push (or at
 * finish), then whole lines as 48-byte groups fill; keeps fewer than 48 bytes between calls.
 * @internal
 */
export class ArmorEncoder {
  #rest = new Uint8Array(0)
  #begun = false

  push(chunk: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    this.#begin(emit)
    const data = this.#rest.length === 0 ? chunk : concat(this.#rest, chunk)
    const whole = data.length - (data.length % BYTES_PER_LINE)
    if (whole > 0) emit(lines(base64Codec.encode(data.subarray(0, whole)), ''))
    this.#rest = new Uint8Array(data.subarray(whole)) // a copy (Buffer#slice would be a view): the caller may reuse its chunk
  }

  finish(emit: (chunk: Uint8Array) => void): void {
    this.#begin(emit)
    const last = this.#rest.length > 0 ? `${base64Codec.encode(this.#rest)}\n` : ''
    this.#rest = new Uint8Array(0)
    emit(ascii.encode(`${last}${ARMOR_END}\n`))
  }

  #begin(emit: (chunk: Uint8Array) => void): void {
    if (this.#begun) return
    this.#begun = true
    emit(ascii.encode(`${ARMOR_BEGIN}\n`))
  }
}

/** `b64` (a multiple of 64 characters) cut into `\n`-ended lines, as ASCII bytes. */
function lines(b64: string, prefix: string): Uint8Array {
  const parts: string[] = [prefix]
  for (let i = 0; i < b64.length; i += ARMOR_COLUMNS) parts.push(b64.slice(i, i + ARMOR_COLUMNS), '\n')
  return ascii.encode(parts.join(''))
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

type State = 'leading' | 'begin' | 'body' | 'trailing'

/** Base64 characters of the full lines found in one push, decoded at its end in one call. */
interface Out {
  readonly bytes: Uint8Array
  length: number
}

const BASE64_CHAR = new Uint8Array(256)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') BASE64_CHAR[c.charCodeAt(0)] = 1
const EQUALS = 0x3d
// Only validated base64 characters (ASCII) are decoded with it, so latin1 is exact.
const latin1 = new TextDecoder('latin1')

/**
 * Reads armor arriving in chunks, holding at most one line (65 bytes) and the base64 line
 * before it (the last line may be short, which is known only once the END line follows).
 * Whole lines inside a chunk take a fast path; the rest is read byte by byte. Emits decoded
 * bytes after each push. Errors are FormatError (ERR_FORMAT), or TruncatedError
 * (ERR_TRUNCATED) when the input ends before the END marker.
 * @internal
 */
export class ArmorDecoder {
  #state: State = 'leading'
  #whitespace = 0
  #line = new Uint8Array(ARMOR_COLUMNS + 1)
  #length = 0
  /** Line number (1-based) of the line being read, for messages. */
  #lineNo = 1
  /** True for CRLF line ends, decided by the BEGIN line's. */
  #crlf = false
  /** The previous base64 line (its first #pendingLength bytes; -1: none), not yet known to be a full one or the last one. */
  #pending = new Uint8Array(ARMOR_COLUMNS + 1)
  #pendingLength = -1
  /** The last base64 line, checked, decoded at finish (so an input with trailing garbage emits nothing of it). */
  #last: string | undefined
  #failed = false

  push(chunk: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    if (this.#failed) throw new FormatError('the armor was already rejected')
    try {
      // Each full line copied out was read in this chunk, except the pending line from the last
      // one and the line this chunk completes: at most two lines more than the chunk's bytes.
      const out: Out = { bytes: new Uint8Array(chunk.length + 2 * ARMOR_COLUMNS), length: 0 }
      let i = 0
      while (i < chunk.length) {
        if (this.#state === 'body' && this.#length === 0 && chunk[i] !== 0x2d) {
          // A whole base64 line in this chunk: checked in place, without copying it byte by byte.
          const lf = chunk.indexOf(LF, i)
          if (lf >= 0 && lf - i <= ARMOR_COLUMNS + 1) {
            this.#bodyLine(chunk, i, this.#contentLength(chunk, i, lf - i), out)
            this.#lineNo++
            i = lf + 1
            continue
          }
        }
        this.#byte(chunk[i]!, out)
        i++
      }
      if (out.length > 0) emit(decodeChecked(latin1.decode(out.bytes.subarray(0, out.length))))
    } catch (error) {
      this.#failed = true
      throw error
    }
  }

  finish(emit: (chunk: Uint8Array) => void): void {
    if (this.#failed) throw new FormatError('the armor was already rejected')
    this.#failed = true // one use
    if (this.#state !== 'trailing') {
      throw new TruncatedError(`the armored message ends at line ${this.#lineNo} before its END line "${ARMOR_END}": it was cut short`)
    }
    if (this.#last !== undefined) emit(decodeChecked(this.#last))
    this.#last = undefined
  }

  #byte(b: number, out: Out): void {
    if (this.#state === 'leading') {
      if (isWhitespace(b)) {
        this.#countWhitespace('before the BEGIN line')
        return
      }
      this.#state = 'begin'
    } else if (this.#state === 'trailing') {
      if (!isWhitespace(b)) throw new FormatError(`armor has data after the END line (${describeByte(b)}); only whitespace may follow it`)
      this.#countWhitespace('after the END line')
      return
    }
    this.#collect(b, out)
  }

  #countWhitespace(where: string): void {
    if (++this.#whitespace > MAX_ARMOR_WHITESPACE) throw new FormatError(`over ${MAX_ARMOR_WHITESPACE} bytes of whitespace ${where}`)
  }

  #collect(b: number, out: Out): void {
    if (b !== LF) {
      if (this.#length === this.#line.length) throw this.#error(`is longer than ${ARMOR_COLUMNS} characters`)
      this.#line[this.#length++] = b
      // The END marker ends the body at once: what follows it is trailing whitespace, whatever the line end.
      if (this.#state === 'body' && this.#length === END_BYTES.length && equals(this.#line, 0, this.#length, END_BYTES)) this.#end()
      return
    }
    if (this.#state === 'begin') this.#crlf = this.#length > 0 && this.#line[this.#length - 1] === CR
    const length = this.#contentLength(this.#line, 0, this.#length)
    if (this.#state === 'begin') {
      if (!equals(this.#line, 0, length, BEGIN_BYTES)) throw this.#error(`is not "${ARMOR_BEGIN}"; an armored message starts with that line`)
      this.#state = 'body'
    } else this.#bodyLine(this.#line, 0, length, out)
    this.#length = 0
    this.#lineNo++
  }

  /** The length of a line without its CR, checking the line end is the BEGIN line's. */
  #contentLength(src: Uint8Array, start: number, length: number): number {
    const endsInCr = length > 0 && src[start + length - 1] === CR
    if (this.#crlf && !endsInCr) throw this.#error('ends in LF, but the BEGIN line ended in CRLF; use one line end throughout')
    if (!this.#crlf && endsInCr) throw this.#error('ends in CRLF, but the BEGIN line ended in LF; use one line end throughout')
    return this.#crlf ? length - 1 : length
  }

  #bodyLine(src: Uint8Array, start: number, length: number, out: Out): void {
    if (length === 0) throw this.#error('is empty; base64 lines follow each other with no blank line, up to the END line')
    if (length > ARMOR_COLUMNS) throw this.#error(`is longer than ${ARMOR_COLUMNS} characters`)
    for (let i = start; i < start + length; i++) {
      if (BASE64_CHAR[src[i]!] === 0) throw this.#error(`holds ${describeByte(src[i]!)}, which is not in the base64 alphabet`)
    }
    if (this.#pendingLength >= 0) {
      // A line follows the pending one, so the pending one is not the last: it must be full, unpadded.
      const lineNo = this.#lineNo - 1
      if (this.#pendingLength !== ARMOR_COLUMNS) {
        throw new FormatError(`armor line ${lineNo} has ${this.#pendingLength} characters; every line but the last has ${ARMOR_COLUMNS}`)
      }
      if (this.#pending.subarray(0, ARMOR_COLUMNS).includes(EQUALS)) {
        throw new FormatError(`armor line ${lineNo} holds "=" padding; only the last line may end in padding`)
      }
      out.bytes.set(this.#pending.subarray(0, ARMOR_COLUMNS), out.length)
      out.length += ARMOR_COLUMNS
    }
    this.#pending.set(src.subarray(start, start + length))
    this.#pendingLength = length
  }

  /**
   * The END marker was read: the pending line is the last one. It is checked here (so its
   * error names it) and decoded at finish, after the full lines of this push.
   */
  #end(): void {
    this.#state = 'trailing'
    this.#whitespace = 0
    this.#length = 0
    if (this.#pendingLength < 0) return
    const last = latin1.decode(this.#pending.subarray(0, this.#pendingLength))
    this.#pendingLength = -1
    if (base64Codec.decode(last, false) === undefined) {
      throw new FormatError(`armor line ${this.#lineNo - 1} is not canonical padded base64 (wrong padding, or bits set past the last byte)`)
    }
    this.#last = last
  }

  #error(problem: string): FormatError {
    return new FormatError(`armor line ${this.#lineNo} ${problem}`)
  }
}

/** Base64 the line checks already accepted: full lines of alphabet characters, or the checked last line. */
function decodeChecked(text: string): Uint8Array {
  const bytes = base64Codec.decode(text, true)
  if (bytes === undefined) throw new FormatError('armor is not canonical padded base64')
  return bytes
}

function describeByte(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16).padStart(2, '0')}`
}

function equals(src: Uint8Array, start: number, length: number, expected: Uint8Array): boolean {
  if (length !== expected.length) return false
  for (let i = 0; i < length; i++) if (src[start + i] !== expected[i]) return false
  return true
}
