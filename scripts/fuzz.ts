/**
 * `npm run fuzz`: the long hostile-input run. Each job runs in a child process (test/fuzz/worker.ts)
 * under a watchdog (test/fuzz/supervisor.ts): a child silent for `--stall` seconds is killed and
 * reported as a hang.
 *
 *   1. the tamper walk over the test vectors with every single-bit mask (and 0xff);
 *   2. `--runs` hostile inputs (default 1,000,000) split over `--jobs` children, each input fed
 *      to every surface;
 *   3. `--fields-runs` hostile inputs (default 100,000) to FieldEncryptor (test/fuzz/fields.ts):
 *      authentic hostile field values, hostile `_kmse` text, hostile caller values.
 *
 * Prints counts per surface and outcome, per input kind, elapsed time and peak RSS, and exits
 * non-zero on any untyped error or other broken invariant, a hang, a crash, or a peak RSS over
 * `--max-rss-mb`. Options: --runs N --fields-runs N --seed N --jobs N --slow-ms N --stall S --max-rss-mb N
 * --portable (the @noble backend) --no-tamper --path P (replay one failing input, with its seed).
 */
import { parseArgs } from 'node:util'
import type { CampaignStats } from '../test/fuzz/campaign.js'
import { emptyStats } from '../test/fuzz/campaign.js'
import type { JobResult } from '../test/fuzz/supervisor.js'
import { runJob } from '../test/fuzz/supervisor.js'

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    jobs: { type: 'string', default: '1' },
    'slow-ms': { type: 'string', default: '1000' },
    stall: { type: 'string', default: '60' },
    'max-rss-mb': { type: 'string', default: '512' },
    portable: { type: 'boolean', default: false },
    'no-tamper': { type: 'boolean', default: false },
    'fields-runs': { type: 'string', default: '100000' },
    path: { type: 'string' },
  },
})

const runs = Number(opts.runs)
const jobs = Math.max(1, Number(opts.jobs))
const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed)
const stallMs = Number(opts.stall) * 1000
const maxRss = Number(opts['max-rss-mb']) * 1024 * 1024
const execArgv = opts.portable ? ['--conditions=kms-envelope-portable'] : []

/** A progress line: rewritten in place on a terminal, else printed at most every 30 s. */
let lastLine = 0
function progressLine(text: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r${text}   `)
  else if (Date.now() - lastLine > 30_000) {
    lastLine = Date.now()
    console.log(text)
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

function merge(results: readonly JobResult[]): CampaignStats {
  const out: CampaignStats = emptyStats()
  for (const { stats } of results) {
    if (stats === undefined) continue
    out.inputs += stats.inputs
    for (const [k, v] of Object.entries(stats.outcomes)) out.outcomes[k] = (out.outcomes[k] ?? 0) + v
    for (const [k, v] of Object.entries(stats.kinds)) out.kinds[k] = (out.kinds[k] ?? 0) + v
    out.elapsedMs = Math.max(out.elapsedMs, stats.elapsedMs)
    if (stats.slowestMs > out.slowestMs) {
      out.slowestMs = stats.slowestMs
      out.slowestKind = stats.slowestKind
    }
    out.peakHeapUsed = Math.max(out.peakHeapUsed, stats.peakHeapUsed)
    out.peakArrayBuffers = Math.max(out.peakArrayBuffers, stats.peakArrayBuffers)
    out.peakRss = Math.max(out.peakRss, stats.peakRss)
  }
  return out
}

function report(title: string, stats: CampaignStats, wallMs: number, unit: string): void {
  console.log(
    `\n== ${title}: ${stats.inputs.toLocaleString('en')} ${unit} in ${(wallMs / 1000).toFixed(1)} s (${Math.round(stats.inputs / (wallMs / 1000)).toLocaleString('en')}/s)`,
  )
  const surfaces = [...new Set(Object.keys(stats.outcomes).map((k) => k.slice(0, k.lastIndexOf(': '))))]
  const codes = [...new Set(Object.keys(stats.outcomes).map((k) => k.slice(k.lastIndexOf(': ') + 2)))].sort()
  const width = Math.max(...surfaces.map((s) => s.length)) + 2
  const columns = codes.map((c) => Math.max(10, c.length + 2))
  console.log(`${''.padEnd(width)}${codes.map((c, i) => c.padStart(columns[i]!)).join('')}`)
  for (const s of surfaces) console.log(`${s.padEnd(width)}${codes.map((c, i) => String(stats.outcomes[`${s}: ${c}`] ?? 0).padStart(columns[i]!)).join('')}`)
  console.log(
    `by kind: ${Object.entries(stats.kinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
      .join(', ')}`,
  )
  console.log(
    `slowest: ${stats.slowestMs.toFixed(1)} ms (${stats.slowestKind}); peak RSS ${mib(stats.peakRss)}, peak heap ${mib(stats.peakHeapUsed)}, peak array buffers ${mib(stats.peakArrayBuffers)}`,
  )
}

async function main(): Promise<number> {
  console.log(
    `kms-envelope fuzz: ${runs.toLocaleString('en')} inputs, seed ${seed}, ${jobs} job(s), ${opts.portable ? 'portable' : 'node:crypto'} backend, stall limit ${stallMs / 1000} s, slow-input limit ${opts['slow-ms']} ms`,
  )
  const failures: string[] = []
  const check = (results: readonly JobResult[], stats: CampaignStats): void => {
    for (const r of results) if (r.failure !== undefined) failures.push(`${r.label}: ${r.failure}`)
    if (stats.peakRss > maxRss) failures.push(`MEMORY: peak RSS ${mib(stats.peakRss)} is over --max-rss-mb ${mib(maxRss)}`)
  }

  if (!opts['no-tamper'] && opts.path === undefined) {
    const t0 = Date.now()
    const result = await runJob('tamper walk', ['tamper'], {
      stallMs,
      execArgv,
      onBeat: (s) => progressLine(`   tamper walk: ${s.inputs.toLocaleString('en')} edits`),
    })
    const stats = merge([result])
    report(
      'tamper walk (every byte under 9 masks, every truncation, appends; vectors at frame sizes 64/100/4096), each edit to every surface',
      stats,
      Date.now() - t0,
      'edits',
    )
    check([result], stats)
  }

  const t0 = Date.now()
  const progress = new Map<number, number>()
  const per = Math.ceil(runs / jobs)
  const results = await Promise.all(
    Array.from({ length: jobs }, (_, i) => {
      const args = [
        'campaign',
        String(seed + i),
        String(Math.min(per, runs - i * per)),
        String(opts['slow-ms']),
        ...(opts.path === undefined ? [] : [opts.path]),
      ]
      const onBeat = (s: CampaignStats): void => {
        progress.set(i, s.inputs)
        const done = [...progress.values()].reduce((a, b) => a + b, 0)
        progressLine(
          `   hostile inputs: ${done.toLocaleString('en')} / ${runs.toLocaleString('en')} (${Math.round(done / ((Date.now() - t0) / 1000))}/s, RSS ${mib(s.peakRss)})`,
        )
      }
      return runJob(`job ${i} (seed ${seed + i})`, args, { stallMs, execArgv, onBeat })
    }),
  )
  const stats = merge(results)
  report(`hostile inputs (seeds ${seed}..${seed + jobs - 1}), each to every surface`, stats, Date.now() - t0, 'inputs')
  check(results, stats)
  if (stats.inputs < runs && failures.length === 0) failures.push(`only ${stats.inputs} of ${runs} inputs ran`)

  const fieldsRuns = Number(opts['fields-runs'])
  if (fieldsRuns > 0 && opts.path === undefined) {
    const t1 = Date.now()
    const result = await runJob(`fields (seed ${seed})`, ['fields', String(seed), String(fieldsRuns), String(opts['slow-ms'])], {
      stallMs,
      execArgv,
      onBeat: (s) => progressLine(`   FieldEncryptor inputs: ${s.inputs.toLocaleString('en')} / ${fieldsRuns.toLocaleString('en')} (RSS ${mib(s.peakRss)})`),
    })
    const fieldStats = merge([result])
    report(`FieldEncryptor inputs (seed ${seed}): authentic hostile values, hostile _kmse, hostile caller values`, fieldStats, Date.now() - t1, 'inputs')
    check([result], fieldStats)
    if (fieldStats.inputs < fieldsRuns && failures.length === 0) failures.push(`only ${fieldStats.inputs} of ${fieldsRuns} FieldEncryptor inputs ran`)
  }

  if (failures.length > 0) {
    console.error(
      `\n== FAILED\n${failures.join('\n\n')}\nreplay: npm run fuzz -- --seed <job seed> --runs <runs> --path <path from the report> --jobs 1 --no-tamper`,
    )
    return 1
  }
  console.log('\n== fuzz passed: only typed errors, no hang, memory bounded')
  return 0
}

process.exitCode = await main()
