/**
 * `kms-envelope rewrap` over many files in place: `--in-place`, `--recursive`, several paths
 * or a directory select it (one IN with -o OUT, or stdin, stays the single-message rewrap).
 * The work is {@link rewrapFiles}; this module finds the files, shows progress and sums up.
 * @module
 */
import { stat } from 'node:fs/promises'
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from 'node:util'
import { Envelope } from '../../envelope.js'
import { rewrapFiles } from '../rewrap-files.js'
import { fileProgress, findFiles, jobsOf, reportBatch } from './file-batch.js'
import { HELP } from './help.js'
import { resolveDestinationKeys } from './keys.js'
import { destinationKeys, rewrapSource } from './recipients.js'
import { UsageError } from './usage.js'

const BULK_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
  key: { type: 'string', short: 'k', multiple: true },
  'decrypt-key': { type: 'string', multiple: true },
  to: { type: 'string', short: 't', multiple: true },
  'recipients-file': { type: 'string', short: 'R', multiple: true },
  identity: { type: 'string', short: 'i', multiple: true },
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
  const toSpecs = values.to ?? []
  if (toSpecs.length === 0 && values['recipients-file'] === undefined)
    throw new UsageError('rewrap needs --to SPEC (or -R FILE): the key(s) to give the messages to')
  const keySpecs = [...(values.key ?? []), ...(values['decrypt-key'] ?? []), ...toSpecs]
  if (keySpecs.includes('file:-')) throw new UsageError('rewrap in place cannot read a key from stdin (file:-): give the key file as file:PATH')
  const concurrency = jobsOf(values.jobs)
  const quiet = values.quiet === true
  const files = await findFiles(positionals, values.recursive === true, 'rewrap')

  const kmsOptions = { region: values.region, endpoint: values.endpoint, allowGroupReadable: values['allow-group-readable'] === true }
  // The source may hold retired (decrypt-only) keys: moving messages away from them is the point.
  const envelope = new Envelope(await rewrapSource(values, kmsOptions))
  const to = await destinationKeys(toSpecs, values['recipients-file'] ?? [], (specs) => resolveDestinationKeys(specs, kmsOptions))
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
  reportBatch(
    { done: summary.rewrapped, bytes: summary.bytes, skipped: summary.skipped, failed: summary.failed },
    { verb: values['dry-run'] === true ? 'would rewrap' : 'rewrapped', noun: 'rewrapped', total: files.length, quiet, started },
  )
}
