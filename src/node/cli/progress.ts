/**
 * A one-line progress bar on stderr: percent, bar, bytes, rate, ETA. Shown only when it can
 * help and cannot hurt: stderr is a terminal, the input size is known (a regular file), no
 * --quiet, and not in CI. Pipes, log files and CI output get nothing extra. About 60 lines,
 * so no dependency: the popular bar libraries bring options and dependencies this does not need.
 * @module
 */

/** Receives the bytes read so far; `stop` erases the bar. */
export interface Progress {
  update(bytes: number): void
  stop(): void
}

/** Redraws at most this often: cheap, and readable. */
const REDRAW_MS = 100
const NONE: Progress = { update() {}, stop() {} }

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--'
  const s = Math.ceil(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** The bar line for `done` of `total` bytes after `elapsedMs`, fitted to `columns`. */
export function renderProgress(done: number, total: number, elapsedMs: number, columns: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total)
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const text = ` ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`
  const width = Math.max(0, Math.min(30, columns - 1 - percent.length - text.length - 3))
  const filled = Math.round(fraction * width)
  const bar = width > 0 ? ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : ''
  return `${percent}${bar}${text}`.slice(0, Math.max(0, columns - 1))
}

/** Whether a bar would be shown (see the module comment). */
export function progressWanted(total: number | undefined, quiet: boolean, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): total is number {
  return !quiet && total !== undefined && stream.isTTY === true && (env.CI === undefined || env.CI === '' || env.CI === 'false')
}

/**
 * @internal One redrawn terminal line: the pacing (at most every {@link REDRAW_MS}, the first
 * update always: performance.now() counts from the process start, so a fixed start of 0 kept
 * a young process's bar blank) and the erase on stop, shared by this bar and the CLI's
 * many-files bar (file-batch.ts).
 */
export class BarLine {
  readonly #stream: NodeJS.WriteStream
  readonly #started = performance.now()
  #drawn = Number.NEGATIVE_INFINITY
  #shown = false

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream
  }

  /** The terminal's width (80 when it does not say). */
  get columns(): number {
    return this.#stream.columns > 0 ? this.#stream.columns : 80
  }

  /** Milliseconds since the start when a redraw is due now (always with `force`), else undefined. */
  due(force = false): number | undefined {
    const now = performance.now()
    if (!force && now - this.#drawn < REDRAW_MS) return undefined
    this.#drawn = now
    return now - this.#started
  }

  draw(line: string): void {
    this.#shown = true
    this.#stream.write(`\r${line}\x1b[K`)
  }

  stop(): void {
    if (this.#shown) this.#stream.write('\r\x1b[K')
  }
}

/** Starts a bar on `stream` (stderr) if {@link progressWanted}; otherwise returns a no-op. */
export function startProgress(total: number | undefined, quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressWanted(total, quiet, stream)) return NONE
  const line = new BarLine(stream)
  let done = 0
  return {
    update(bytes) {
      done += bytes
      const elapsed = line.due()
      if (elapsed !== undefined) line.draw(renderProgress(done, total, elapsed, line.columns))
    },
    stop: () => line.stop(),
  }
}
