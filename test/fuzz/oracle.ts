/**
 * The one judge of what a reader did with an input: shared by the tamper walk, the property
 * tests and `npm run fuzz`, so all of them hold every surface to the same invariants:
 *
 * - a failure is an EnvelopeError with a code the surface may raise, never anything else;
 * - parse failures (and "no matching key") happen before any keyring call;
 * - no more unwrap calls than the reader's wrapped-key limit, and never a generate or wrap;
 * - nothing is handed out on failure, except that a stream may have released frames, and
 *   then only a prefix of the authentic plaintext;
 * - success only where the format allows it (the input is authentic, or only recipient
 *   entries the reader does not use were edited, FORMAT.md §9), and then exactly the
 *   authentic plaintext;
 * - whatever any surface accepts has one spelling: its head re-encodes to the same bytes.
 */
import { bytesToHex } from '@noble/ciphers/utils.js'
import { MAX_WRAPPED_KEYS } from '../../src/format/constants.js'
import { encodeAuthenticated, encodeRecipientsSection, parseHead } from '../../src/format/message.js'
import type { Envelope } from '../../src/index.js'
import { EnvelopeError } from '../../src/index.js'
import type { CountingKeyring } from '../counting-keyring.js'
import { concatBytes } from './corpus.js'
import type { Surface } from './surfaces.js'
import { PARSE_CODES } from './surfaces.js'

/** What may come out of one input. */
export interface Expectation {
  /** The authentic plaintext the input was derived from: the only bytes a reader may hand out. */
  readonly plaintext?: Uint8Array
  /** Whether the input may still decrypt; absent means it must not. */
  readonly mayOpen?: (message: Uint8Array) => boolean
}

/** A reader under test: an Envelope and the counting keyrings inside it. */
export interface Reader {
  readonly env: Envelope
  readonly counters: readonly CountingKeyring[]
  /** The reader's wrapped-key limit (bounds unwrap calls per message). */
  readonly maxWrappedKeys: number
}

/** An invariant was broken. Carries what is needed to reproduce it. */
export class Violation extends Error {
  constructor(surface: string, what: string, message: Uint8Array, cause?: unknown) {
    const hex = bytesToHex(message.subarray(0, 256))
    super(`${surface}: ${what} (input ${message.length} bytes: ${hex}${message.length > 256 ? '…' : ''})`, { cause })
    this.name = 'Violation'
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  return prefix.length <= of.length && equalBytes(prefix, of.subarray(0, prefix.length))
}

/** The head of an accepted message must be the deterministic encoding of what it says (FORMAT.md §5). */
function assertOneSpelling(surface: Surface, message: Uint8Array): void {
  const parsed = parseHead(message, { maxWrappedKeys: MAX_WRAPPED_KEYS })
  if (!('head' in parsed)) throw new Violation(surface.name, 'accepted a message whose head is incomplete', message)
  const { header, headerTag, recipients, bodyOffset } = parsed.head
  const again = concatBytes([encodeAuthenticated(header), headerTag, encodeRecipientsSection(recipients)])
  if (!equalBytes(again, message.subarray(0, bodyOffset)))
    throw new Violation(surface.name, 'accepted a head that is not the deterministic encoding of its fields', message)
}

/** Whether `message` starts with a complete, valid head (false for anything parseHead rejects). */
function hasWholeHead(message: Uint8Array): boolean {
  try {
    return 'head' in parseHead(message, { maxWrappedKeys: MAX_WRAPPED_KEYS })
  } catch {
    return false
  }
}

/** Runs `surface` on `message` and checks every invariant. Returns the outcome: "ok" or the error code. */
export async function judge(surface: Surface, reader: Reader, message: Uint8Array, expect: Expectation = {}): Promise<string> {
  const released: Uint8Array[] = []
  const calls = (): { unwrap: number; other: number } => {
    let unwrap = 0
    let other = 0
    for (const c of reader.counters) {
      unwrap += c.calls.unwrap
      other += c.calls.generate + c.calls.wrap
    }
    return { unwrap, other }
  }
  const before = calls()
  let outcome: string
  try {
    const plaintext = await surface.run(reader.env, message, released)
    outcome = 'ok'
    assertOneSpelling(surface, message)
    if (surface.decrypts) {
      if (expect.mayOpen === undefined || !expect.mayOpen(message)) throw new Violation(surface.name, 'decrypted an input that must fail', message)
      if (expect.plaintext === undefined || plaintext === undefined || !equalBytes(plaintext, expect.plaintext)) {
        throw new Violation(surface.name, 'decrypted to bytes other than the authentic plaintext', message)
      }
    }
  } catch (error) {
    if (error instanceof Violation) throw error
    if (!(error instanceof EnvelopeError)) throw new Violation(surface.name, `untyped error: ${String(error)}`, message, error)
    if (!surface.codes.has(error.code)) throw new Violation(surface.name, `unexpected code ${error.code}: ${error.message}`, message, error)
    outcome = error.code
    const out = concatBytes(released)
    if (out.length > 0 && (!surface.partial || expect.plaintext === undefined || !isPrefix(out, expect.plaintext))) {
      throw new Violation(surface.name, `released ${out.length} plaintext bytes before failing with ${error.code}`, message, error)
    }
    const after = calls()
    // A stream learns that its input ended early only at the end, after it opened a complete
    // head: for it, ERR_TRUNCATED after a whole head may follow the one unwrap of that head.
    const streamCutInBody = surface.partial && error.code === 'ERR_TRUNCATED' && hasWholeHead(message)
    if ((PARSE_CODES.has(error.code) || error.code === 'ERR_NO_MATCHING_KEY') && after.unwrap !== before.unwrap && !streamCutInBody) {
      throw new Violation(surface.name, `called the keyring ${after.unwrap - before.unwrap} time(s) before failing with ${error.code}`, message, error)
    }
  }
  const after = calls()
  if (after.other !== before.other) throw new Violation(surface.name, 'generated or wrapped a data key while reading', message)
  if (after.unwrap - before.unwrap > reader.maxWrappedKeys) {
    throw new Violation(surface.name, `${after.unwrap - before.unwrap} unwrap calls for one message; the limit is ${reader.maxWrappedKeys}`, message)
  }
  // The counting wrappers keep what they saw; drop it so long runs stay flat.
  for (const c of reader.counters) {
    c.issued.length = 0
    c.signals.length = 0
  }
  return outcome
}
