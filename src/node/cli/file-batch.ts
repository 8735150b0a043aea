/**
 * The CLI side of the commands that rewrite many files in place (`rewrap` in bulk, `migrate`):
 * finding the files, `--jobs`, the progress bar on a terminal, the summary and the exit code.
 * The work itself is ../file-batch.ts.
 * @module
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ErrorCode } from '../../errors.js'
import { EnvelopeError } from '../../errors.js'
import { escapeControls, printable } from '../../printable.js'
import { BarLine, formatBytes, progressWanted, renderProgress } from './progress.js'
import { UsageError } from './usage.js'

/** A file found, with its size for the progress bar. */
export interface Found {
  readonly path: string
  readonly size: number
}

/**
 * The regular files under `paths`, in a stable order. Symbolic links inside directories are
 * not followed (a rename would replace the link), and our own temp files are never inputs.
 */
export async function findFiles(paths: readonly string[], recursive: boolean, command: string): Promise<Found[]> {
  const found: Found[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile() && !entry.name.endsWith('.kmse-tmp')) found.push({ path, size: (await lstat(path)).size })
    }
  }
  for (const path of paths) {
    const st = await stat(path).catch(() => undefined)
    if (st?.isDirectory() === true) {
      if (!recursive) throw new UsageError(`${printable(path)} is a directory: pass --recursive to ${command} every file under it`)
      await walk(path)
    } else found.push({ path, size: st?.size ?? 0 }) // a missing path is reported as a failure of its own
  }
  // A file named twice (`-r dir dir/a`) would be rewritten by two jobs at once and counted twice.
  const seen = new Set<string>()
  return found.filter((f) => {
    const key = resolve(f.path)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export function jobsOf(text: string | undefined): number {
  if (text === undefined) return 4
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, got ${JSON.stringify(text)}`)
  return n
}

/** The bar: files done, then bytes, rate and ETA (./progress.ts), redrawn at most every 100 ms. */
export function fileProgress(totalFiles: number, totalBytes: number, quiet: boolean): { update(bytes: number): void; stop(): void } {
  const stream = process.stderr
  if (!progressWanted(totalBytes, quiet, stream)) return { update() {}, stop() {} }
  const line = new BarLine(stream)
  let files = 0
  let bytes = 0
  return {
    update(size) {
      files++
      bytes += size
      // The last file always draws, so the bar ends complete.
      const elapsed = line.due(files >= totalFiles)
      if (elapsed === undefined) return
      const prefix = `${files}/${totalFiles} files `
      line.draw(`${prefix}${renderProgress(bytes, totalBytes, elapsed, Math.max(1, line.columns - prefix.length))}`)
    },
    stop: () => line.stop(),
  }
}

/** A finished batch, as the CLI reports it. */
export interface BatchReport {
  readonly done: number
  readonly bytes: number
  readonly skipped: number
  readonly failed: readonly { readonly path: string; readonly code: string; readonly message: string }[]
}

/**
 * Prints each failure and the summary line to stderr, then throws when a file failed: the exit
 * code follows the first failure's kind (key problem, rejected message, or I/O).
 */
export function reportBatch(
  summary: BatchReport,
  how: { readonly verb: string; readonly noun: string; readonly total: number; readonly quiet: boolean; readonly started: number },
): void {
  const seconds = (performance.now() - how.started) / 1000
  for (const failure of summary.failed) {
    process.stderr.write(`kms-envelope: ${escapeControls(`${printable(failure.path)}: ${failure.message} [${failure.code}]`)}\n`)
  }
  if (!how.quiet || summary.failed.length > 0) {
    process.stderr.write(
      `${how.verb} ${summary.done} (${formatBytes(summary.bytes)}), skipped ${summary.skipped} (already done), failed ${summary.failed.length}, in ${seconds.toFixed(1)} s\n`,
    )
  }
  const first = summary.failed[0]
  if (first === undefined) return
  const message = `${summary.failed.length} of ${how.total} files could not be ${how.noun} (listed above; each was left as it was)`
  if (first.code.startsWith('ERR_')) throw new EnvelopeError(first.code as ErrorCode, message)
  throw Object.assign(new Error(message), { code: first.code })
}
