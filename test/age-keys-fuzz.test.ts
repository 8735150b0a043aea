/**
 * Hostile age key strings and key files (the CLI's -r, -R and -i inputs, and
 * parsePublicKeyRecipient / parseIdentity / parseRecipientsFile / parseIdentityFile): valid
 * strings of each kind with character edits, case flips, cuts and splices, lines mixed into
 * files with comments, CRLF and blank lines, and random text. The oracle: each parser returns
 * only what round-trips to the input (case aside), otherwise throws ERR_INVALID_ARGUMENT;
 * nothing else escapes (no library error without a code), no error about an identity repeats
 * any run of its secret, and every input is judged in bounded time.
 * Longer runs: KMSE_AGE_FUZZ_RUNS.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { PostQuantumIdentity, parseIdentity, parseIdentityFile, parsePublicKeyRecipient, parseRecipientsFile, X25519Identity } from '../src/index.js'
import { pattern } from './pattern.js'

const x = new X25519Identity(pattern(32, 201))
const pq = new PostQuantumIdentity(pattern(32, 202))
/** One valid string of each kind; identities in age's upper case. */
const VALID = [x.recipient.toString(), pq.recipient.toString(), x.toSecretString(), pq.toSecretString()]
const SECRETS = [x.toSecretString(), pq.toSecretString()]
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const OTHER_CHARS = ['1', '-', ' ', '\t', '\r', '\n', '#', 'b', 'i', 'o', 'Q', 'é', '\u0000', '\u{1F600}', '\uD800']

type Edit =
  | { kind: 'set'; at: number; char: string }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'case'; at: number | undefined }
  | { kind: 'cut'; at: number }
  | { kind: 'splice'; at: number; from: number; other: number }

const char = fc.oneof(fc.constantFrom(...BECH32), fc.constantFrom(...OTHER_CHARS))
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), char }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: char, minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('case' as const), at: fc.option(fc.nat(), { nil: undefined }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), other: fc.nat({ max: VALID.length - 1 }) }),
)

function applyEdit(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : ('at' in e && e.at !== undefined ? e.at : 0) % (text.length + 1)
  switch (e.kind) {
    case 'set':
      return text.slice(0, at) + e.char + text.slice(at + 1)
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.count)
    case 'insert':
      return text.slice(0, at) + e.text + text.slice(at)
    case 'case':
      if (e.at === undefined) return text === text.toUpperCase() ? text.toLowerCase() : text.toUpperCase()
      return text.slice(0, at) + (text[at] ?? '').replace(/./su, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())) + text.slice(at + 1)
    case 'cut':
      return text.slice(0, at)
    case 'splice': {
      const other = VALID[e.other]!
      return text.slice(0, at) + other.slice(e.from % (other.length + 1))
    }
  }
}

const keyString = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ base: fc.nat({ max: VALID.length - 1 }), edits: fc.array(edit, { minLength: 0, maxLength: 3 }) })
      .map(({ base, edits }) => edits.reduce(applyEdit, VALID[base]!)),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('age1', 'AGE-SECRET-KEY-1', 'age1pq1', 'AGE-SECRET-KEY-PQ-1', '', ' ', `age1${'q'.repeat(3000)}`) },
)

const keyFile = fc
  .array(fc.oneof(keyString, fc.constantFrom('', '# comment', '   ', '#', `# public key: ${VALID[0]}`)), { minLength: 0, maxLength: 6 })
  .chain((lines) => fc.constantFrom('\n', '\r\n').map((end) => lines.join(end)))

/**
 * Throws unless `error` is the typed argument error; for an identity parser (`secret`), also
 * unless its message is free of any run of a secret. A recipient parser's input is public by
 * contract, and its errors quote the start of it to say which one is wrong.
 */
function checkError(error: unknown, input: string, secret: boolean): void {
  assert.ok(error instanceof TypeError, `not a TypeError: ${String(error)} for ${JSON.stringify(input)}`)
  assert.equal((error as { code?: string }).code, 'ERR_INVALID_ARGUMENT', `${error.message} for ${JSON.stringify(input)}`)
  if (!secret) return
  // An identity's payload (after its 1) never appears in an error, not even 8 characters of it.
  for (const identity of SECRETS) {
    const payload = identity.slice(identity.lastIndexOf('1') + 1)
    for (let i = 0; i + 8 <= payload.length; i += 4) {
      const run = payload.slice(i, i + 8)
      if (input.toUpperCase().includes(run)) assert.ok(!error.message.toUpperCase().includes(run), `an error repeats a secret: ${error.message}`)
    }
  }
}

/** A parser of key strings or key files: one key or the list of them. */
type Parser = (text: string) => { toString(): string }[] | { toString(): string }

/** One parser on one input, judged; returns the outcome for the counts. */
function judge(name: string, parse: Parser, text: string, secret: boolean): string {
  const started = performance.now()
  try {
    const result = parse(text)
    const parsed = Array.isArray(result) ? result : [result]
    for (const key of parsed) {
      const shown = secret ? (key as { toSecretString(): string }).toSecretString() : key.toString()
      // What parses is the input itself (one case), so a typo can never parse as another key.
      assert.ok(text.toLowerCase().includes(shown.toLowerCase()), `${name} parsed ${JSON.stringify(text)} as ${shown}`)
      assert.ok(VALID.includes(shown), `${name} parsed ${JSON.stringify(text)} as a key nobody wrote: ${shown}`)
    }
    return 'ok'
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error
    checkError(error, text, secret)
    return 'ERR_INVALID_ARGUMENT'
  } finally {
    const ms = performance.now() - started
    assert.ok(ms < 1000, `${name} took ${ms.toFixed(0)} ms on ${JSON.stringify(text.slice(0, 80))}`)
  }
}

/**
 * `runs` inputs from `inputs`, each through a recipient parser and an identity parser, judged;
 * then checks that every parser both accepted and refused some (the edits reach both outcomes).
 */
function campaign(inputs: fc.Arbitrary<string>, parsers: readonly (readonly [string, Parser, boolean])[], seed: number, runs: number): void {
  const outcomes: Record<string, number> = {}
  fc.assert(
    fc.property(inputs, (text) => {
      for (const [name, parse, secret] of parsers) {
        const key = `${name}: ${judge(name, parse, text, secret)}`
        outcomes[key] = (outcomes[key] ?? 0) + 1
      }
    }),
    { seed, numRuns: runs },
  )
  for (const [name] of parsers) {
    for (const outcome of ['ok', 'ERR_INVALID_ARGUMENT']) assert.ok((outcomes[`${name}: ${outcome}`] ?? 0) > 0, JSON.stringify(outcomes))
  }
}

describe('age key strings and key files: hostile input (seeded fuzz)', () => {
  const runs = Number(process.env.KMSE_AGE_FUZZ_RUNS ?? 3000)

  it('key strings: each parser returns the very key written or ERR_INVALID_ARGUMENT, never echoing a secret', () => {
    campaign(
      keyString,
      [
        ['recipient', parsePublicKeyRecipient, false],
        ['identity', parseIdentity, true],
      ],
      0x5a9e,
      runs,
    )
  })

  it('key files: each parser returns the very keys written or ERR_INVALID_ARGUMENT naming a line, never echoing a secret', () => {
    campaign(
      keyFile,
      [
        ['recipients file', parseRecipientsFile, false],
        ['identity file', parseIdentityFile, true],
      ],
      0x5a9f,
      runs,
    )
  })
})
