/**
 * `kms-envelope rewrap` over many files in place: `--in-place`, `--recursive`, several paths
 * or a directory select it (one IN with -o OUT, or stdin, stays the single-message rewrap).
 * The work is {@link rewrapFiles}; this module finds the files, shows progress and sums up.
 * @module
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from 'node:util'
import { Envelope } from '../../envelope.js'
import type { ErrorCode } from '../../errors.js'
import { EnvelopeError } from '../../errors.js'
import { escapeControls, printable } from '../../printable.js'
import { rewrapFiles } from '../rewrap-files.js'
import { HELP } from './help.js'
import { resolveCommandKeys, resolveDestinationKeys } from './keys.js'
import { formatBytes, progressWanted, renderProgress } from './progress.js'
import { UsageError } from './usage.js'

const BULK_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
  key: { type: 'string', short: 'k', multiple: true },
  'decrypt-key': { type: 'string', multiple: true },
  to: { type: 'string', short: 't', multiple: true },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'allow-group-readable': { type: 'boolean' },
  verify: { type: 'boolean' },
  recursive: { type: 'boolean', short: 'r' },
  'in-place': { type: 'boolean' },
  jobs: { type: 'string', short: 'j' },
  'dry-run': { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The single-message rewrap's own flags: accepted here only to decide, then refused in bulk. */
const SINGLE_ONLY = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' },
  keep: { type: 'boolean' },
  armor: { type: 'boolean', short: 'a' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

/**
 * Whether `args` ask for the in-place rewrap of files. Arguments that parse under neither
 * form go to the single-message rewrap, which reports them.
 */
export async function isBulkRewrap(args: string[]): Promise<boolean> {
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args, options: { ...BULK_OPTIONS, ...SINGLE_ONLY }, allowPositionals: true, strict: true })
  } catch {
    return false
  }
  const { values, positionals } = parsed
  if (values['in-place'] === true || values.recursive === true || values.jobs !== undefined || values['dry-run'] === true) return true
  if (positionals.length > 1) return true
  const only = positionals[0]
  if (only === undefined || only === '-') return false
  return (await stat(only).catch(() => undefined))?.isDirectory() === true
}

/** A file found, with its size for the progress bar. */
interface Found {
  readonly path: string
  readonly size: number
}

/**
 * The regular files under `paths`, in a stable order. Symbolic links inside directories are
 * not followed (a rename would replace the link), and our own temp files are never inputs.
 */
async function findFiles(paths: readonly string[], recursive: boolean): Promise<Found[]> {
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
      if (!recursive) throw new UsageError(`${printable(path)} is a directory: pass --recursive to rewrap every file under it`)
      await walk(path)
    } else found.push({ path, size: st?.size ?? 0 }) // a missing path is reported as a failure of its own
  }
  // A file named twice (`-r dir dir/a`) would be rewrapped by two jobs at once and counted twice.
  const seen = new Set<string>()
  return found.filter((f) => {
    const key = resolve(f.path)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function jobsOf(text: string | undefined): number {
  if (text === undefined) return 4
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, got ${JSON.stringify(text)}`)
  return n
}

/** The bar: files done, then bytes, rate and ETA (./progress.ts), redrawn at most every 100 ms. */
function fileProgress(totalFiles: number, totalBytes: number, quiet: boolean): { update(bytes: number): void; stop(): void } {
  const stream = process.stderr
  if (!progressWanted(totalBytes, quiet, stream)) return { update() {}, stop() {} }
  const started = performance.now()
  let files = 0
  let bytes = 0
  let drawn = 0
  let shown = false
  return {
    update(size) {
      files++
      bytes += size
      const now = performance.now()
      if (now - drawn < 100 && files < totalFiles) return
      drawn = now
      shown = true
      const prefix = `${files}/${totalFiles} files `
      const columns = stream.columns > 0 ? stream.columns : 80
      stream.write(`\r${prefix}${renderProgress(bytes, totalBytes, now - started, Math.max(1, columns - prefix.length))}\x1b[K`)
    },
    stop() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}

/** `kms-envelope rewrap` in place over files and directories. */
export async function rewrapBulk(args: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof BULK_OPTIONS; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args, options: BULK_OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    throw new UsageError(`${text}; rewriting files in place takes no -o, --force, --keep or --armor`)
  }
  const { values, positionals } = parsed
  if (values.help) return void console.log(HELP.rewrap)
  if (positionals.length === 0) throw new UsageError('rewrap in place needs the files or directories to rewrap')
  if (positionals.includes('-')) throw new UsageError('rewrap in place needs files, not stdin (-)')
  if (values.to === undefined) throw new UsageError('rewrap needs --to SPEC: the key(s) to give the messages to')
  const keySpecs = [...(values.key ?? []), ...(values['decrypt-key'] ?? []), ...values.to]
  if (keySpecs.includes('file:-')) throw new UsageError('rewrap in place cannot read a key from stdin (file:-): give the key file as file:PATH')
  const concurrency = jobsOf(values.jobs)
  const quiet = values.quiet === true
  const files = await findFiles(positionals, values.recursive === true)

  const kmsOptions = { region: values.region, endpoint: values.endpoint, allowGroupReadable: values['allow-group-readable'] === true }
  // The source may hold retired (decrypt-only) keys: moving messages away from them is the point.
  const envelope = new Envelope(await resolveCommandKeys(values.key ?? [], values['decrypt-key'] ?? [], kmsOptions))
  const to = await resolveDestinationKeys(values.to, kmsOptions)
  const progress = fileProgress(
    files.length,
    files.reduce((n, f) => n + f.size, 0),
    quiet,
  )
  const started = performance.now()
  let summary: Awaited<ReturnType<typeof rewrapFiles>>
  try {
    summary = await rewrapFiles(
      files.map((f) => f.path),
      { envelope, to, concurrency, dryRun: values['dry-run'] === true, verify: values.verify === true, onProgress: (e) => progress.update(e.bytes) },
    )
  } finally {
    progress.stop()
  }
  const seconds = (performance.now() - started) / 1000
  for (const failure of summary.failed) {
    process.stderr.write(`kms-envelope: ${escapeControls(`${printable(failure.path)}: ${failure.message} [${failure.code}]`)}\n`)
  }
  const verb = values['dry-run'] === true ? 'would rewrap' : 'rewrapped'
  if (!quiet || summary.failed.length > 0) {
    process.stderr.write(
      `${verb} ${summary.rewrapped} (${formatBytes(summary.bytes)}), skipped ${summary.skipped} (already done), failed ${summary.failed.length}, in ${seconds.toFixed(1)} s\n`,
    )
  }
  const first = summary.failed[0]
  if (first === undefined) return
  const message = `${summary.failed.length} of ${files.length} files could not be rewrapped (listed above; each was left as it was)`
  // The exit code follows the first failure's kind: key problem, rejected message, or I/O.
  if (first.code.startsWith('ERR_')) throw new EnvelopeError(first.code as ErrorCode, message)
  throw Object.assign(new Error(message), { code: first.code })
}
