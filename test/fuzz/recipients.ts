/**
 * Hostile messages for the recipient types beyond local keys: x25519, mlkem768x25519 (X-Wing),
 * scrypt passphrases and the hierarchical keyring, alone and mixed with local keys. A seed
 * corpus of authentic messages, mutated by fast-check (mutate.ts: byte edits, u16 fields set to
 * extremes, cuts, splices) and fed to every native surface (surfaces.ts: decrypt, the stream,
 * random access, inspect) holding the identity or key of each seed. The oracle is the one of
 * the other campaigns: a typed read error, nothing released by a buffer reader on failure, only a
 * prefix of the authentic plaintext by a stream, and success only with the authentic plaintext.
 */
import fc from 'fast-check'
import type { Keyring } from '../../src/index.js'
import { Envelope, EnvelopeError, HierarchicalKeyring, LocalKeyring, PassphraseKeyring, PostQuantumIdentity, X25519Identity } from '../../src/index.js'
import { MemoryBranchKeyStore } from '../memory-branch-key-store.js'
import { pattern } from '../pattern.js'
import { concatBytes } from './corpus.js'
import { applyMutation, mutation } from './mutate.js'
import { SURFACES } from './surfaces.js'

/** One seed: the reader's Envelope, a message it opens and the plaintext it must open to. */
interface RecipientSeed {
  readonly label: string
  readonly reader: Envelope
  readonly message: Uint8Array
  readonly plaintext: Uint8Array
  /** Codes beyond the read codes this seed may give (a hostile version makes the store say "not found"). */
  readonly extraCodes?: ReadonlySet<string>
}

/** The seed corpus: fresh randomness per run (ephemeral shares, salts, message ids). */
async function seeds(): Promise<RecipientSeed[]> {
  const plaintext = pattern(300, 17)
  const context = { tenant: '7', purpose: 'fuzz' }
  const x = new X25519Identity(pattern(32, 101))
  const pq = new PostQuantumIdentity(pattern(32, 102))
  const local = new LocalKeyring({ keyId: 'fuzz-local', key: pattern(32, 103) })
  // A small work factor keeps each run cheap; a reader limit equal to it makes any raise ERR_LIMIT.
  const passphrase = new PassphraseKeyring({ passphrase: 'fuzz passphrase', workFactor: 10, maxWorkFactor: 10 })
  const store = new MemoryBranchKeyStore('fuzz-store')
  store.createKey('tenant-7', pattern(32, 104))
  const hierarchy = new HierarchicalKeyring({ store, branchKeyIdSupplier: (c) => `tenant-${c.tenant}`, cache: { maxAge: 600_000 } })
  const seal = (keyring: Keyring | Keyring[], frameSize = 128) => new Envelope({ keyring, frameSize }).encrypt(plaintext, { context })
  const reader = (keyring: Keyring | Keyring[]) => new Envelope({ keyring, maxWrappedKeys: 4 })
  return [
    { label: 'x25519', reader: reader(x), message: await seal(x.recipient), plaintext },
    { label: 'mlkem768x25519', reader: reader(pq), message: await seal(pq.recipient), plaintext },
    { label: 'pq + local, read by pq', reader: reader(pq), message: await seal([local, pq.recipient]), plaintext },
    { label: 'x25519 + local, read by local', reader: reader(local), message: await seal([x.recipient, local], 64), plaintext },
    { label: 'scrypt', reader: reader(passphrase), message: await seal(passphrase), plaintext },
    { label: 'aws-kms-hierarchy', reader: reader(hierarchy), message: await seal(hierarchy), plaintext, extraCodes: new Set(['ERR_KEYRING']) },
  ]
}

const isPrefix = (a: Uint8Array, b: Uint8Array): boolean => a.length <= b.length && a.every((x, i) => x === b[i])

/** Runs `runs` hostile inputs over every surface; throws on the first violation. Returns outcome counts. */
export async function runRecipientsCampaign(options: {
  readonly seed: number
  readonly runs: number
  readonly slowMs: number
}): Promise<Record<string, number>> {
  const corpus = await seeds()
  const outcomes: Record<string, number> = {}
  const input = fc.record({
    seed: fc.integer({ min: 0, max: corpus.length - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  })
  const property = fc.asyncProperty(fc.noShrink(input), async ({ seed, mutations }) => {
    const s = corpus[seed]!
    const message = mutations.reduce(applyMutation, s.message)
    const t0 = performance.now()
    for (const surface of SURFACES) {
      const released: Uint8Array[] = []
      let outcome: string
      try {
        const plaintext = await surface.run(s.reader, message, released)
        if (surface.decrypts && (plaintext === undefined || plaintext.length !== s.plaintext.length || !isPrefix(plaintext, s.plaintext))) {
          throw new Error(`${surface.name} opened ${s.label} with ${JSON.stringify(mutations)} to other bytes`)
        }
        outcome = 'ok'
      } catch (error) {
        if (!(error instanceof EnvelopeError))
          throw new Error(`${surface.name}: untyped error ${String(error)} for ${s.label} with ${JSON.stringify(mutations)}`)
        if (!surface.codes.has(error.code) && !(surface.decrypts && s.extraCodes?.has(error.code))) {
          throw new Error(`${surface.name}: unexpected ${error.code} for ${s.label} with ${JSON.stringify(mutations)}: ${error.message}`)
        }
        const out = concatBytes(released)
        if (out.length > 0 && (!surface.partial || !isPrefix(out, s.plaintext)))
          throw new Error(`${surface.name} released ${out.length} bytes before ${error.code}`)
        outcome = error.code
      }
      const key = `${s.label} / ${surface.name}: ${outcome}`
      outcomes[key] = (outcomes[key] ?? 0) + 1
    }
    const ms = performance.now() - t0
    if (ms > options.slowMs) throw new Error(`one input (${s.label}) took ${ms.toFixed(0)} ms (limit ${options.slowMs} ms)`)
  })
  await fc.assert(property, { seed: options.seed, numRuns: options.runs })
  return outcomes
}
