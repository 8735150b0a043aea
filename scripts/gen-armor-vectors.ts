/**
 * Generates the ASCII armor vectors in test/vectors/armor/ (FORMAT.md §14), one case per
 * file: `node dist/scripts/gen-armor-vectors.js` after a build. The payload of most cases
 * is the message of test/vectors/pos-one-byte.json, so a success case also decrypts with that
 * vector's key. test/armor.test.ts regenerates them in memory and requires identical files.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex, hexToBytes } from '@noble/ciphers/utils.js'
import { ARMOR_BEGIN, ARMOR_END, armor, MAX_ARMOR_WHITESPACE } from '../src/format/armor.js'

/** One armor vector file. */
export interface ArmorVector {
  readonly name: string
  readonly comment: string
  readonly expect: 'success' | 'failure'
  /** The error code a reader must raise (failure cases). */
  readonly code?: 'ERR_FORMAT' | 'ERR_TRUNCATED'
  /** The armored text, exactly. */
  readonly armored: string
  /** Hex of the bytes a reader must return (success cases). */
  readonly message?: string
}

const root = fileURLToPath(new URL('../../', import.meta.url))
export const ARMOR_VECTORS_DIR = join(root, 'test', 'vectors', 'armor')

export function armorVectors(): ArmorVector[] {
  const base = JSON.parse(readFileSync(join(root, 'test', 'vectors', 'pos-one-byte.json'), 'utf8')) as { message: string }
  const message = hexToBytes(base.message)
  const text = armor(message)
  const lines = text.split('\n') // [BEGIN, ...base64 lines, END, '']
  const body = lines.slice(1, -2)
  const join_ = (...parts: string[]): string => `${parts.join('\n')}\n`
  const ok = (name: string, comment: string, armored: string, bytes: Uint8Array = message): ArmorVector => ({
    name,
    comment,
    expect: 'success',
    armored,
    message: bytesToHex(bytes),
  })
  const bad = (name: string, comment: string, armored: string, code: 'ERR_FORMAT' | 'ERR_TRUNCATED' = 'ERR_FORMAT'): ArmorVector => ({
    name,
    comment,
    expect: 'failure',
    code,
    armored,
  })
  // The message is 255 bytes, a multiple of 3: its last line has no padding. The padding cases use 253.
  const padBody = armor(message.subarray(0, 253)).split('\n').slice(1, -2)
  const last = padBody[padBody.length - 1]!
  const exact = new Uint8Array(96).map((_, i) => (i * 37 + 11) & 0xff)
  return [
    ok('pos-canonical', "what armor() writes for pos-one-byte's message: LF line ends, a final newline", text),
    ok('pos-crlf', 'CRLF line ends throughout', text.replace(/\n/g, '\r\n')),
    ok('pos-whitespace-around', 'whitespace (SP, HTAB, CR, LF) before the BEGIN line and after the END line', `\n \t\r\n${text}\n  \t\n`),
    ok('pos-no-final-newline', 'the END marker is the last thing in the text', text.slice(0, -1)),
    ok(
      'pos-whitespace-at-limit',
      `exactly ${MAX_ARMOR_WHITESPACE} bytes of whitespace before and after`,
      `${' '.repeat(MAX_ARMOR_WHITESPACE)}${text.slice(0, -1)}${' '.repeat(MAX_ARMOR_WHITESPACE)}`,
    ),
    ok('pos-full-last-line', 'a 96-byte payload: two lines of 64 characters, the last one full, no padding', armor(exact), exact),
    ok('pos-empty', 'zero bytes: the BEGIN line right before the END line', armor(new Uint8Array(0)), new Uint8Array(0)),
    bad('neg-garbage-before', 'a byte other than whitespace before the BEGIN line', `x${text}`),
    bad('neg-garbage-after', 'text after the END line', `${text}junk\n`),
    bad('neg-wrong-label', "another PEM label (age's)", text.replace(ARMOR_BEGIN, '-----BEGIN AGE ENCRYPTED FILE-----')),
    bad('neg-lowercase-label', 'the label is case-sensitive', text.replace(ARMOR_BEGIN, ARMOR_BEGIN.toLowerCase())),
    bad('neg-short-line', 'a line before the last with 60 characters (the text re-wrapped at 60)', join_(ARMOR_BEGIN, ...rewrap(body.join(''), 60), ARMOR_END)),
    bad('neg-long-line', 'lines of 76 characters (MIME width)', join_(ARMOR_BEGIN, ...rewrap(body.join(''), 76), ARMOR_END)),
    bad(
      'neg-non-canonical-padding',
      '253 bytes; the last line\'s unused bits (before "==") are set: a lax decoder ignores them, a reader must refuse',
      join_(ARMOR_BEGIN, ...padBody.slice(0, -1), nonCanonical(last), ARMOR_END),
    ),
    bad(
      'neg-missing-padding',
      '253 bytes; the last line without its "==" padding',
      join_(ARMOR_BEGIN, ...padBody.slice(0, -1), last.replace(/=+$/, ''), ARMOR_END),
    ),
    bad(
      'neg-padding-in-full-line',
      'a 64-character line ending in "==" before the last line',
      join_(ARMOR_BEGIN, `${body[0]!.slice(0, 62)}==`, ...body.slice(1), ARMOR_END),
    ),
    bad('neg-base64url', 'base64url characters ("-", "_") instead of "+", "/"', join_(ARMOR_BEGIN, `${body[0]!.slice(0, 62)}-_`, ...body.slice(1), ARMOR_END)),
    bad('neg-space-in-line', 'a trailing space on a base64 line', join_(ARMOR_BEGIN, `${body[0]} `, ...body.slice(1), ARMOR_END)),
    bad('neg-blank-line', 'an empty line between the BEGIN line and the base64', join_(ARMOR_BEGIN, '', ...body, ARMOR_END)),
    bad(
      'neg-mixed-line-ends',
      'LF after the BEGIN line, CRLF after a base64 line',
      `${ARMOR_BEGIN}\n${body[0]}\r\n${body.slice(1).join('\n')}\n${ARMOR_END}\n`,
    ),
    bad('neg-too-much-leading-whitespace', `${MAX_ARMOR_WHITESPACE + 1} spaces before the BEGIN line`, `${' '.repeat(MAX_ARMOR_WHITESPACE + 1)}${text}`),
    bad(
      'neg-too-much-trailing-whitespace',
      `${MAX_ARMOR_WHITESPACE + 1} bytes of whitespace after the END marker`,
      `${text.slice(0, -1)}${'\n'.repeat(MAX_ARMOR_WHITESPACE + 1)}`,
    ),
    bad('neg-missing-end', 'the text stops after the last base64 line', join_(ARMOR_BEGIN, ...body), 'ERR_TRUNCATED'),
    bad('neg-cut-mid-line', 'the text stops inside a base64 line', `${ARMOR_BEGIN}\n${body[0]!.slice(0, 30)}`, 'ERR_TRUNCATED'),
    bad('neg-empty', 'no text at all', '', 'ERR_TRUNCATED'),
  ]
}

/** `b64` re-cut into lines of `width` characters. */
function rewrap(b64: string, width: number): string[] {
  const out: string[] = []
  for (let i = 0; i < b64.length; i += width) out.push(b64.slice(i, i + width))
  return out
}

/** `line` (ending in padding) with its last data character's unused low bits set. */
function nonCanonical(line: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const data = line.replace(/=+$/, '')
  const padding = line.length - data.length
  const value = alphabet.indexOf(data[data.length - 1]!)
  const bits = padding === 2 ? 0b1111 : 0b11
  return `${data.slice(0, -1)}${alphabet[value | bits]}${'='.repeat(padding)}`
}

/** The file text of a vector: stable JSON, one field per line. */
export function vectorFile(v: ArmorVector): string {
  return `${JSON.stringify(v, null, 2)}\n`
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  rmSync(ARMOR_VECTORS_DIR, { recursive: true, force: true })
  mkdirSync(ARMOR_VECTORS_DIR, { recursive: true })
  for (const v of armorVectors()) writeFileSync(join(ARMOR_VECTORS_DIR, `${v.name}.json`), vectorFile(v))
  console.log(`wrote ${readdirSync(ARMOR_VECTORS_DIR).length} armor vectors to ${ARMOR_VECTORS_DIR}`)
}
