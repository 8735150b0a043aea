/**
 * Runs a fuzz worker (worker.ts) in a child process under a watchdog: a child that sends no
 * heartbeat for `stallMs` is killed and reported as a hang, since a parser stuck in a
 * synchronous loop cannot report anything itself.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CampaignStats } from './campaign.js'
import type { WorkerMessage } from './worker.js'

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url))

export interface JobResult {
  readonly label: string
  /** The last stats the worker reported. */
  readonly stats?: CampaignStats
  /** Set when the job broke an invariant, hung or crashed. */
  readonly failure?: string
}

export interface JobOptions {
  readonly stallMs: number
  /** Node flags for the child, e.g. `--conditions=kms-envelope-portable`. */
  readonly execArgv?: readonly string[]
  readonly onBeat?: (stats: CampaignStats) => void
}

export function runJob(label: string, args: readonly string[], options: JobOptions): Promise<JobResult> {
  return new Promise((resolve) => {
    const child = fork(WORKER, [...args], { execArgv: [...(options.execArgv ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let last: CampaignStats | undefined
    let failure: string | undefined
    let beat = Date.now()
    const watchdog = setInterval(
      () => {
        if (failure === undefined && Date.now() - beat > options.stallMs) {
          failure = `HANG: no heartbeat for ${options.stallMs / 1000} s after ${last?.inputs ?? 0} inputs; killed`
          child.kill('SIGKILL')
        }
      },
      Math.min(1000, options.stallMs / 4),
    )
    child.on('message', (message: WorkerMessage) => {
      beat = Date.now()
      if (message.type === 'violation') failure = `VIOLATION: ${message.message}`
      else {
        last = message.stats
        options.onBeat?.(message.stats)
      }
    })
    child.on('exit', (code, signal) => {
      clearInterval(watchdog)
      if (failure === undefined && code !== 0) failure = `CRASH: the worker exited with ${code ?? signal} after ${last?.inputs ?? 0} inputs`
      resolve({ label, ...(last === undefined ? {} : { stats: last }), ...(failure === undefined ? {} : { failure }) })
    })
  })
}
