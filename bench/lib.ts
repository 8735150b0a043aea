/** Small timing helpers: every figure is the median of several timed runs, measured side by side. */

export interface Measured {
  /** Median seconds per operation. */
  readonly seconds: number
  readonly runs: number
}

/**
 * Times `fn` repeatedly: each run loops until at least `minMs` elapsed, and the result is
 * the median per-operation time over `runs` runs (after one warm-up run).
 */
export async function measure(fn: () => unknown, options: { runs?: number; minMs?: number } = {}): Promise<Measured> {
  return (await measureInterleaved([fn], options))[0]!
}

/** One run of `fn`: loops until at least `minMs` elapsed; seconds per operation. */
async function oneRun(fn: () => unknown, minMs: number): Promise<number> {
  let ops = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  do {
    const result = fn()
    if (result instanceof Promise) await result
    ops++
    elapsed = Number(process.hrtime.bigint() - start) / 1e6
  } while (elapsed < minMs)
  return elapsed / 1000 / ops
}

/**
 * {@link measure} for several functions at once, their runs interleaved (a, b, c, a, b, c ...)
 * so that load from other processes falls on all of them alike: their ratios are what a noisy
 * machine can still measure.
 */
export async function measureInterleaved(fns: readonly (() => unknown)[], options: { runs?: number; minMs?: number } = {}): Promise<Measured[]> {
  // Quick mode (the test suite's smoke run) checks that every part still works, not speed.
  const quick = process.env.KMSE_BENCH_QUICK === '1'
  const runs = quick ? 1 : (options.runs ?? 7)
  const minMs = quick ? 5 : (options.minMs ?? 150)
  const samples: number[][] = fns.map(() => [])
  for (let r = 0; r <= runs; r++) {
    for (const [i, fn] of fns.entries()) {
      const seconds = await oneRun(fn, minMs)
      if (r > 0) samples[i]!.push(seconds) // run 0 warms up
    }
  }
  return samples.map((xs) => ({ seconds: median(xs), runs }))
}

/**
 * Runs every op of `units` once per round for `rounds` rounds, the units taking turns leading a
 * round (the ops of a unit stay together and in order: a decryption after the encryption that
 * wrote its input), so no op always runs at the same point of a round. Returns each op's
 * results in the order of `units.flat()`. The file rows use it: each run writes a whole file,
 * so whatever ran just before sets part of the pace.
 */
export async function roundsTakingTurns<Op, R>(
  units: readonly (readonly Op[])[],
  rounds: number,
  run: (op: Op, round: number) => Promise<R> | R,
): Promise<R[][]> {
  const ops = units.flat()
  const results = ops.map(() => [] as R[])
  for (let round = 0; round < rounds; round++) {
    const lead = round % units.length
    for (const op of [...units.slice(lead), ...units.slice(0, lead)].flat()) results[ops.indexOf(op)]!.push(await run(op, round))
  }
  return results
}

/** The middle value of `xs` (the upper middle of an even count); `xs` is left as it was. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export const mbps = (bytes: number, m: Measured): number => bytes / m.seconds / 1e6
export const opsPerSecond = (m: Measured): number => 1 / m.seconds

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 30) return `${bytes / (1 << 30)} GiB`
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`
  if (bytes >= 1 << 10) return `${bytes / (1 << 10)} KiB`
  return `${bytes} B`
}

/** Prints an aligned table. */
export function table(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US', { maximumFractionDigits: 1 }) : c)))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)))
  for (const [n, row] of cells.entries()) {
    console.log(row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  '))
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
