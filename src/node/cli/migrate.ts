/**
 * `kms-envelope migrate`: AWS Encryption SDK message files to kms-envelope messages, in place
 * or under -o, many files at a time, each streamed (constant memory) and written atomically,
 * so a run killed at any moment leaves every file either its old ESDK self or a complete
 * kms-envelope message, and a rerun skips what is already kms-envelope and finishes the rest.
 *
 * The ESDK reader and the migration live in the `kms-envelope/esdk` surface, which this
 * surface may not import: ./migrate-entry.ts hands them in as an {@link EsdkMigrator}.
 * @module
 */
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from 'node:util'
import { Envelope } from '../../envelope.js'
import { FormatError, KeyFileError } from '../../errors.js'
import type { Keyring } from '../../keyrings/keyring.js'
import { printable } from '../../printable.js'
import { writeAtomically } from '../atomic.js'
import type { FileResult } from '../file-batch.js'
import { directoriesOf, openRegularFile, replaceFile, runFileBatch } from '../file-batch.js'
import { readKeyFileBytes } from '../keyfile.js'
import { fileSink } from '../pump.js'
import { fileProgress, findFiles, jobsOf, reportBatch } from './file-batch.js'
import { HELP } from './help.js'
import { resolveDestinationKeys } from './keys.js'
import type { KeySpecOptions } from './usage.js'
import { UsageError } from './usage.js'

/** The ESDK side of the command: keyring constructors and the streaming migration (kms-envelope/esdk). */
export interface EsdkMigrator {
  rawAesKeyring(options: { keyNamespace: string; keyName: string; key: Uint8Array }): object
  rawRsaKeyring(options: { keyNamespace: string; keyName: string; privateKey: string; padding: string }): object
  /** The RSA paddings the reader knows, as the SDK names them (`PKCS1`, `OAEP-SHA256-MGF1`, ...). */
  readonly rsaPaddings: readonly string[]
  migrate(
    source: ReadableStream<Uint8Array>,
    options: { from: { keyring: readonly object[]; commitmentPolicy: string }; to: Envelope },
  ): Promise<{ stream: ReadableStream<Uint8Array>; carriedOver: boolean }>
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
  'esdk-key': { type: 'string', short: 'k', multiple: true },
  to: { type: 'string', short: 't', multiple: true },
  'commitment-policy': { type: 'string' },
  output: { type: 'string', short: 'o' },
  recursive: { type: 'boolean', short: 'r' },
  jobs: { type: 'string', short: 'j' },
  'dry-run': { type: 'boolean' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'allow-group-readable': { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

const POLICIES = ['REQUIRE_ENCRYPT_REQUIRE_DECRYPT', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT', 'FORBID_ENCRYPT_ALLOW_DECRYPT']
/** The first bytes of every kms-envelope message (FORMAT.md §2): a file starting so is already migrated. */
const KMSE_MAGIC = [0x4b, 0x4d, 0x53, 0x45]
/** Input is read in steps of this many bytes, each a buffer of its own (the reader may keep it). */
const READ_BYTES = 256 * 1024

/** `--esdk-key` specs into ESDK keyrings (see HELP.migrate). */
async function esdkKeyrings(specs: readonly string[], esdk: EsdkMigrator, options: KeySpecOptions): Promise<object[]> {
  const keyrings: object[] = []
  const kmsArns: string[] = []
  const fileOptions = { allowGroupReadable: options.allowGroupReadable === true }
  for (const spec of specs) {
    const [scheme, ...parts] = spec.split(':')
    if (scheme === 'raw-aes' && parts.length >= 3 && parts.slice(0, 3).every((p) => p.length > 0)) {
      const [keyNamespace, keyName, ...path] = parts as [string, string, ...string[]]
      const file = path.join(':')
      const key = await readKeyFileBytes(file, fileOptions)
      try {
        if (![16, 24, 32].includes(key.length)) {
          throw new KeyFileError(file, `holds ${key.length} bytes; a raw AES key file holds exactly the 16, 24 or 32 key bytes (binary, no newline)`)
        }
        keyrings.push(esdk.rawAesKeyring({ keyNamespace, keyName, key }))
      } finally {
        key.fill(0)
      }
    } else if (scheme === 'raw-rsa' && parts.length >= 4 && parts.slice(0, 4).every((p) => p.length > 0)) {
      const [keyNamespace, keyName, padding, ...path] = parts as [string, string, string, ...string[]]
      const name = esdk.rsaPaddings.find((p) => p.toLowerCase() === padding.toLowerCase() || p.toLowerCase() === `${padding.toLowerCase()}-mgf1`)
      if (name === undefined) throw new UsageError(`raw-rsa padding ${JSON.stringify(padding)} is not one of ${esdk.rsaPaddings.join(', ')}`)
      const file = path.join(':')
      const pem = await readKeyFileBytes(file, fileOptions)
      try {
        keyrings.push(esdk.rawRsaKeyring({ keyNamespace, keyName, padding: name, privateKey: new TextDecoder().decode(pem) }))
      } catch (error) {
        throw new KeyFileError(file, error instanceof Error ? error.message : String(error), { cause: error })
      } finally {
        pem.fill(0)
      }
    } else if ((scheme === 'aws-kms' || scheme === 'kms') && parts.join(':').length > 0) {
      kmsArns.push(parts.join(':'))
    } else {
      throw new UsageError(
        `--esdk-key ${JSON.stringify(spec)} is not understood: use raw-aes:NAMESPACE:NAME:KEYFILE, raw-rsa:NAMESPACE:NAME:PADDING:PEMFILE or aws-kms:ARN`,
      )
    }
  }
  if (kmsArns.length > 0) {
    const { createCliKmsKeyring } = await import('./kms.js')
    keyrings.push(await createCliKmsKeyring(kmsArns, options))
  }
  return keyrings
}

/** A Web stream of the file from its start, each chunk a fresh buffer. */
function fileStream(handle: FileHandle): ReadableStream<Uint8Array> {
  let position = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buffer = new Uint8Array(READ_BYTES)
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position)
        if (bytesRead === 0) return controller.close()
        position += bytesRead
        controller.enqueue(bytesRead === READ_BYTES ? buffer : buffer.subarray(0, bytesRead))
      },
    },
    { highWaterMark: 0 },
  )
}

/** Whether the file at `handle` is already a kms-envelope message; refuses what is neither that nor an ESDK message. */
async function alreadyMigrated(handle: FileHandle, path: string): Promise<boolean> {
  const head = new Uint8Array(4)
  const { bytesRead } = await handle.read(head, 0, 4, 0)
  if (bytesRead === 4 && KMSE_MAGIC.every((b, i) => head[i] === b)) return true
  // ESDK message format versions 1 and 2 begin with their version byte.
  if (bytesRead === 0 || (head[0] !== 0x01 && head[0] !== 0x02)) {
    throw new FormatError(`${printable(path)} is neither an AWS Encryption SDK message (version byte 01 or 02) nor a kms-envelope message`)
  }
  return false
}

async function copyOut(stream: ReadableStream<Uint8Array>, output: FileHandle): Promise<void> {
  const sink = fileSink(output)
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    await sink([value])
  }
}

interface Job {
  readonly esdk: EsdkMigrator
  readonly from: { keyring: readonly object[]; commitmentPolicy: string }
  readonly to: Envelope
  readonly dryRun: boolean
  /** Where each input goes: itself (in place) or a path under -o. */
  readonly target: (path: string) => string
}

async function migrateOne(path: string, job: Job): Promise<FileResult & { carriedOver?: boolean }> {
  const { handle, size, owner } = await openRegularFile(path)
  try {
    const target = job.target(path)
    const inPlace = target === path
    if (await alreadyMigrated(handle, path)) {
      if (inPlace) return { changed: false, bytes: size }
      throw new FormatError(`${printable(path)} is already a kms-envelope message; only AWS Encryption SDK messages are migrated to -o`)
    }
    if (!inPlace) {
      const existing = await open(target, 'r').catch(() => undefined)
      if (existing !== undefined) {
        try {
          // A complete kms-envelope file there is the output of an earlier run: done.
          if (await alreadyMigrated(existing, target).catch(() => false)) return { changed: false, bytes: size }
        } finally {
          await existing.close()
        }
      }
    }
    if (job.dryRun) return { changed: true, bytes: size }
    let carriedOver = false
    const write = async (output: FileHandle): Promise<void> => {
      const migrated = await job.esdk.migrate(fileStream(handle), { from: job.from, to: job.to })
      carriedOver = migrated.carriedOver
      await copyOut(migrated.stream, output)
    }
    if (inPlace) await replaceFile(path, owner, write)
    else {
      await mkdir(dirname(target), { recursive: true })
      await writeAtomically(target, write, { mode: owner.mode })
    }
    return { changed: true, bytes: size, carriedOver }
  } finally {
    await handle.close()
  }
}

/** Maps each input to its output under `out`: one file to `out` itself, files under a directory to the same relative path. */
async function targetsUnder(out: string, positionals: readonly string[], files: readonly string[]): Promise<(path: string) => string> {
  const single = positionals.length === 1 && (await stat(positionals[0]!).catch(() => undefined))?.isFile() === true
  if (single) return () => out
  const roots = await Promise.all(positionals.map(async (p) => ({ root: resolve(p), dir: (await stat(p).catch(() => undefined))?.isDirectory() === true })))
  const outAbs = resolve(out)
  const inside = roots.find((r) => r.dir && (outAbs === r.root || outAbs.startsWith(`${r.root}${sep}`)))
  // A rerun would find the new messages among its inputs.
  if (inside !== undefined)
    throw new UsageError(`-o ${printable(out)} is inside ${printable(inside.root)}, a directory being migrated: choose an OUT outside it`)
  const map = new Map<string, string>()
  const taken = new Set<string>()
  for (const file of files) {
    const abs = resolve(file)
    const root = roots.find((r) => r.dir && abs.startsWith(`${r.root}${sep}`))
    const rel = root === undefined ? relative(process.cwd(), abs) : relative(root.root, abs)
    if (rel.startsWith('..'))
      throw new UsageError(`${printable(file)} is outside the current directory: with several files and -o DIR, give them by relative path`)
    const target = join(out, rel)
    if (taken.has(target)) throw new UsageError(`two inputs would both be written to ${printable(target)}`)
    taken.add(target)
    map.set(file, target)
  }
  return (path) => map.get(path) ?? join(out, relative(process.cwd(), resolve(path)))
}

/** `kms-envelope migrate`: see HELP.migrate. */
export async function migrateCommand(args: string[], esdk: EsdkMigrator): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  if (values.help) return void console.log(HELP.migrate)
  if (positionals.length === 0) throw new UsageError('migrate needs the files or directories to migrate')
  if (positionals.includes('-')) throw new UsageError('migrate needs files, not stdin (-): it writes each file atomically')
  if (values['esdk-key'] === undefined) throw new UsageError('migrate needs --esdk-key SPEC: the key that opens the AWS Encryption SDK messages')
  if (values.to === undefined) throw new UsageError('migrate needs --to SPEC: the key(s) the kms-envelope messages are written for')
  if (values.to.includes('file:-')) throw new UsageError('migrate cannot read a key from stdin (file:-): give the key file as file:PATH')
  const commitmentPolicy = values['commitment-policy'] ?? POLICIES[0]!
  if (!POLICIES.includes(commitmentPolicy)) throw new UsageError(`--commitment-policy must be one of ${POLICIES.join(', ')}`)
  const concurrency = jobsOf(values.jobs)
  const quiet = values.quiet === true
  const dryRun = values['dry-run'] === true
  const files = await findFiles(positionals, values.recursive === true, 'migrate')

  const keyOptions = { region: values.region, endpoint: values.endpoint, allowGroupReadable: values['allow-group-readable'] === true }
  const from = { keyring: await esdkKeyrings(values['esdk-key'], esdk, keyOptions), commitmentPolicy }
  const to = new Envelope({ keyring: (await resolveDestinationKeys(values.to, keyOptions)) as Keyring[] })
  const out = values.output
  const target =
    out === undefined
      ? (path: string) => path
      : await targetsUnder(
          out,
          positionals,
          files.map((f) => f.path),
        )
  const paths = files.map((f) => f.path)
  const progress = fileProgress(
    files.length,
    files.reduce((n, f) => n + f.size, 0),
    quiet,
  )
  const started = performance.now()
  let carried = 0
  const job: Job = { esdk, from, to, dryRun, target }
  let summary: Awaited<ReturnType<typeof runFileBatch>>
  try {
    summary = await runFileBatch(
      paths,
      {
        concurrency,
        signal: undefined,
        cleanDirs: dryRun ? [] : directoriesOf(paths.map(target)),
        onFile: (_path, _outcome, bytes) => progress.update(bytes),
      },
      async (path) => {
        const result = await migrateOne(path, job)
        if (result.carriedOver === true) carried++
        return result
      },
    )
  } finally {
    progress.stop()
  }
  if (!quiet && carried > 0) process.stderr.write(`${carried} kept their KMS-wrapped data key (no KMS Encrypt)\n`)
  reportBatch(
    { done: summary.changed, bytes: summary.bytes, skipped: summary.skipped, failed: summary.failed },
    { verb: dryRun ? 'would migrate' : 'migrated', noun: 'migrated', total: files.length, quiet, started },
  )
}
