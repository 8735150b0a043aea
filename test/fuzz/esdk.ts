/**
 * Hostile AWS Encryption SDK messages for kms-envelope/esdk: a seed corpus of ESDK messages
 * (v1 and v2, framed and non-framed, signed and not, written by the test encoder that the SDK's
 * own decrypt validates in test/esdk-sdk.test.ts), mutated by fast-check (byte edits, length
 * fields set to extremes, truncations, splices, appended bytes) and fed to every ESDK surface.
 * The oracle: a typed read error, nothing released by the buffer reader on failure, only a
 * prefix of the authentic plaintext by the stream, and success only with the authentic plaintext.
 */
import fc from 'fast-check'
import type { EsdkReadOptions } from '../../src/esdk/index.js'
import { RawAesKeyring } from '../../src/esdk/index.js'
import { EnvelopeError } from '../../src/index.js'
import { writeTestMessage } from '../esdk-helpers.js'
import { pattern } from '../pattern.js'
import { concatBytes } from './corpus.js'
import { applyMutation as apply, mutation } from './mutate.js'
import { ESDK_SURFACES, READ_CODES } from './surfaces.js'

/** One seed: a message and the plaintext it must open to. */
export interface EsdkSeed {
  readonly label: string
  readonly message: Uint8Array
  readonly plaintext: Uint8Array
}

const KEY = pattern(32, 91)
const WRAP = { key: KEY, keyNamespace: 'fuzz', keyName: 'esdk' }
/** How the surfaces read the corpus: every suite allowed, small limits so hostile counts hit them. */
export const ESDK_FUZZ_OPTIONS: EsdkReadOptions = {
  keyring: new RawAesKeyring({ keyNamespace: 'fuzz', keyName: 'esdk', key: KEY }),
  commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT',
  maxEncryptedDataKeys: 4,
  maxBodySize: 1 << 16,
}

/** The seed corpus (fresh randomness per run: message ids, IVs, signing keys). */
export function esdkSeeds(): EsdkSeed[] {
  const plaintext = pattern(40, 7)
  const cases = [
    ['0x0478 framed 16', 0x0478, 16],
    ['0x0578 framed 16 signed', 0x0578, 16],
    ['0x0478 non-framed', 0x0478, 0],
    ['0x0014 v1 non-framed', 0x0014, 0],
    ['0x0346 v1 framed 8 signed', 0x0346, 8],
  ] as const
  return cases.map(([label, suiteId, frameLength]) => ({
    label,
    plaintext,
    message: writeTestMessage({ suiteId, frameLength, plaintext, wrap: WRAP, context: { tenant: 'fuzz' } }),
  }))
}

const isPrefix = (a: Uint8Array, b: Uint8Array): boolean => a.length <= b.length && a.every((x, i) => x === b[i])
const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && isPrefix(a, b)

/** Runs `runs` hostile inputs; throws on the first violation. Returns outcome counts per surface. */
export async function runEsdkCampaign(options: { readonly seed: number; readonly runs: number; readonly slowMs: number }): Promise<Record<string, number>> {
  const seeds = esdkSeeds()
  const outcomes: Record<string, number> = {}
  const input = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }),
    random: fc.option(fc.uint8Array({ maxLength: 200 }), { freq: 10 }),
  })
  const property = fc.asyncProperty(fc.noShrink(input), async ({ seed, mutations, random }) => {
    const s = seeds[seed]!
    const message = random ?? mutations.reduce(apply, s.message)
    const t0 = performance.now()
    for (const surface of ESDK_SURFACES) {
      const released: Uint8Array[] = []
      let outcome: string
      try {
        const plaintext = await surface.run(message, ESDK_FUZZ_OPTIONS, released)
        if (!equal(plaintext, s.plaintext)) throw new Error(`${surface.name} decrypted ${s.label} with ${JSON.stringify(mutations)} to other bytes`)
        outcome = 'ok'
      } catch (error) {
        if (!(error instanceof EnvelopeError))
          throw new Error(`${surface.name}: untyped error ${String(error)} for ${s.label} with ${JSON.stringify(mutations)}`)
        if (!READ_CODES.has(error.code)) throw new Error(`${surface.name}: unexpected code ${error.code}: ${error.message}`)
        const out = concatBytes(released)
        if (out.length > 0 && (!surface.partial || !isPrefix(out, s.plaintext)))
          throw new Error(`${surface.name} released ${out.length} bytes before ${error.code}`)
        outcome = error.code
      }
      outcomes[`${surface.name}: ${outcome}`] = (outcomes[`${surface.name}: ${outcome}`] ?? 0) + 1
    }
    const ms = performance.now() - t0
    if (ms > options.slowMs) throw new Error(`one ESDK input took ${ms.toFixed(0)} ms (limit ${options.slowMs} ms)`)
  })
  await fc.assert(property, { seed: options.seed, numRuns: options.runs })
  return outcomes
}
