/**
 * The child process of `npm run fuzz` (scripts/fuzz.ts). It runs one job and reports over IPC:
 * a heartbeat with counts every few thousand inputs (the parent's watchdog kills a child that
 * goes quiet, which is how a hang inside a synchronous parser shows), then "done" or
 * "violation". Arguments: `campaign <seed> <runs> <slowMs> [path]`, `fields <seed> <runs> <slowMs> [path]`
 * (the FieldEncryptor surface, fields.ts), `tamper`, or `stall` (spins
 * forever after one heartbeat: proves the watchdog catches a hang).
 */

import type { CampaignStats } from './campaign.js'
import { emptyStats, runCampaign } from './campaign.js'
import { tamperSamples } from './corpus.js'
import { runFieldsCampaign } from './fields.js'
import { makeWorld } from './hostile.js'
import { SURFACES } from './surfaces.js'
import { ALL_BIT_MASKS, walk } from './tamper.js'

export type WorkerMessage = { readonly type: 'progress' | 'done'; readonly stats: CampaignStats } | { readonly type: 'violation'; readonly message: string }

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve())))
}

async function tamper(): Promise<CampaignStats> {
  const stats: CampaignStats = emptyStats()
  const started = performance.now()
  for (const sample of tamperSamples([64, 100, 4096])) {
    for (const surface of SURFACES) {
      const t0 = performance.now()
      const { edits, outcomes } = await walk(sample, surface, undefined, ALL_BIT_MASKS)
      const ms = performance.now() - t0
      if (ms > stats.slowestMs) {
        stats.slowestMs = ms
        stats.slowestKind = `${surface.name} walk of ${sample.name}`
      }
      // Count each edit once, however many surfaces read it.
      if (surface === SURFACES[0]) {
        stats.inputs += edits
        const kind = `frame size ${sample.frameSize}`
        stats.kinds[kind] = (stats.kinds[kind] ?? 0) + edits
      }
      for (const [outcome, n] of outcomes) stats.outcomes[`${surface.name}: ${outcome}`] = (stats.outcomes[`${surface.name}: ${outcome}`] ?? 0) + n
    }
    stats.elapsedMs = performance.now() - started
    stats.peakHeapUsed = Math.max(stats.peakHeapUsed, process.memoryUsage().heapUsed)
    stats.peakRss = process.resourceUsage().maxRSS * 1024
    await send({ type: 'progress', stats })
  }
  return stats
}

async function main(): Promise<void> {
  const [mode, seed, runs, slowMs, path] = process.argv.slice(2)
  if (mode === 'stall') {
    await send({
      type: 'progress',
      stats: { inputs: 1, outcomes: {}, kinds: {}, elapsedMs: 0, slowestMs: 0, slowestKind: '', peakHeapUsed: 0, peakArrayBuffers: 0, peakRss: 0 },
    })
    for (;;);
  }
  try {
    const campaign = {
      seed: Number(seed),
      runs: Number(runs),
      slowMs: Number(slowMs),
      progressEvery: 2000,
      onProgress: (s: CampaignStats) => void send({ type: 'progress', stats: s }),
      ...(path === undefined ? {} : { path }),
    }
    const stats = mode === 'tamper' ? await tamper() : mode === 'fields' ? await runFieldsCampaign(campaign) : await runCampaign(makeWorld(), campaign)
    await send({ type: 'done', stats })
    process.exit(0)
  } catch (error) {
    const cause = (error as Error).cause
    await send({ type: 'violation', message: `${String((error as Error).message ?? error)}${cause instanceof Error ? `\ncause: ${cause.stack}` : ''}` })
    process.exit(1)
  }
}

void main()
