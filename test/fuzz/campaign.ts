/**
 * A fuzzing campaign: `runs` hostile inputs (hostile.ts), each fed to every surface
 * (surfaces.ts) and judged by the oracle, counting outcomes per surface and error code.
 * Used for the short seeded run in `npm test` and by `npm run fuzz`'s worker.
 */

import { bytesToHex } from '@noble/ciphers/utils.js'
import fc from 'fast-check'
import { KeyCache } from '../../src/index.js'
import { readerFor } from './corpus.js'
import type { HostileInput, World } from './hostile.js'
import { hostileInput } from './hostile.js'
import type { Reader } from './oracle.js'
import { judge, Violation } from './oracle.js'
import type { Surface } from './surfaces.js'
import { SURFACES } from './surfaces.js'

export interface CampaignOptions {
  readonly seed: number
  readonly runs: number
  /** An input that keeps the surfaces busy longer than this is a finding (a hang in the making). */
  readonly slowMs: number
  /** Called every `progressEvery` inputs, after yielding to the event loop (heartbeats, timers). */
  readonly onProgress?: (stats: CampaignStats) => void
  readonly progressEvery?: number
  /** Let fast-check shrink a failing input (slow on big inputs; off for long runs). */
  readonly shrink?: boolean
  /** Replays one input: the `path` fast-check printed for a failure (with the same seed). */
  readonly path?: string
}

export interface CampaignStats {
  inputs: number
  /** "surface: outcome" → count, outcome being "ok" or an error code. */
  readonly outcomes: Record<string, number>
  /** Inputs per campaign kind (random, preamble, mutated, header, recipients). */
  readonly kinds: Record<string, number>
  elapsedMs: number
  slowestMs: number
  slowestKind: string
  /** Sampled at each progress point. */
  peakHeapUsed: number
  peakArrayBuffers: number
  /** Peak resident set size of the process (from the kernel), bytes. */
  peakRss: number
}

/** Stats before the first input: every campaign and the merged report start here. */
export function emptyStats(): CampaignStats {
  return { inputs: 0, outcomes: {}, kinds: {}, elapsedMs: 0, slowestMs: 0, slowestKind: '', peakHeapUsed: 0, peakArrayBuffers: 0, peakRss: 0 }
}

interface Target {
  readonly label: string
  readonly surface: Surface
  readonly reader: Reader
}

/** Every surface with a plain reader; decrypting ones also with a data-key cache in front. */
export function targets(world: World): Target[] {
  const plain = readerFor(world.holder)
  const cached = readerFor(world.holder, { cache: new KeyCache({ maxEntries: 64, maxAge: 3_600_000 }) })
  return SURFACES.flatMap((surface) => [
    { label: surface.name, surface, reader: plain },
    ...(surface.decrypts ? [{ label: `${surface.name} (cached)`, surface, reader: cached }] : []),
  ])
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1
}

export async function runCampaign(world: World, options: CampaignOptions): Promise<CampaignStats> {
  const list = targets(world)
  const stats: CampaignStats = emptyStats()
  const every = options.progressEvery ?? 1000
  const started = performance.now()
  let failed = false
  const sample = (): void => {
    const m = process.memoryUsage()
    stats.peakHeapUsed = Math.max(stats.peakHeapUsed, m.heapUsed)
    stats.peakArrayBuffers = Math.max(stats.peakArrayBuffers, m.arrayBuffers)
    stats.peakRss = Math.max(stats.peakRss, process.resourceUsage().maxRSS * 1024)
    stats.elapsedMs = performance.now() - started
  }
  const arbitrary = hostileInput(world).map((input) =>
    Object.assign(input, { [fc.toStringMethod]: () => `${input.kind} input of ${input.message.length} bytes: ${bytesToHex(input.message.subarray(0, 96))}…` }),
  )
  const property = fc.asyncProperty(options.shrink ? arbitrary : fc.noShrink(arbitrary), async (input: HostileInput) => {
    // Once an input failed, fast-check replays smaller ones: they must not count.
    const counting = !failed
    const t0 = performance.now()
    try {
      for (const { label, surface, reader } of list) {
        const outcome = await judge(surface, reader, input.message, input.expect)
        if (counting) bump(stats.outcomes, `${label}: ${outcome}`)
      }
    } catch (error) {
      failed = true
      throw error
    }
    const ms = performance.now() - t0
    if (ms > options.slowMs) {
      failed = true
      throw new Violation('all surfaces', `one input took ${ms.toFixed(0)} ms (limit ${options.slowMs} ms)`, input.message)
    }
    if (!counting) return
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms
      stats.slowestKind = `${input.kind}, ${input.message.length} bytes`
    }
    bump(stats.kinds, input.kind)
    if (++stats.inputs % every === 0) {
      await new Promise((resolve) => setImmediate(resolve))
      sample()
      options.onProgress?.(stats)
    }
  })
  await fc.assert(property, {
    seed: options.seed,
    numRuns: options.runs,
    endOnFailure: !options.shrink,
    ...(options.path === undefined ? {} : { path: options.path }),
  })
  sample()
  return stats
}
