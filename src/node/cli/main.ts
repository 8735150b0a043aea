/**
 * The `kms-envelope` command. Exit codes (README "CLI"):
 *   0 success · 1 the message was rejected (altered, malformed, wrong context) ·
 *   2 usage error · 3 key problem (no matching key, unwrap failed, key file, every ERR_KMS* code) ·
 *   4 input/output problem (missing input, output exists, write failed)
 * @module
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from 'node:util'
import { inspectStreamHead } from '../../core/inspect.js'
import { messageKeyStatus } from '../../core/key-status.js'
import { DecryptSession } from '../../core/reader.js'
import { RewrapSession } from '../../core/rewrap-stream.js'
import { MAX_PARALLELISM, settingsOf, toKeyrings } from '../../core/settings.js'
import { EncryptSession } from '../../core/writer.js'
import { Envelope } from '../../envelope.js'
import { ContextMismatchError, EnvelopeError, OutputExistsError } from '../../errors.js'
import { MAX_FRAME_SIZE, MIN_FRAME_SIZE } from '../../format/constants.js'
import { LocalKeyring } from '../../keyrings/local.js'
import { escapeControls, printable, quoted, terminalSafeJson } from '../../printable.js'
import { armoredOutput, detectArmor } from '../armor-stream.js'
import { removeTempFilesSync } from '../atomic.js'
import { writeKeyFile } from '../keyfile.js'
import type { PumpSession } from '../pump.js'
import { pump } from '../pump.js'
import { HELP } from './help.js'
import type { Input, OutputOptions, OutputTarget } from './io.js'
import { checkNotInput, checkOutputTarget, isImplicitTerminal, openInput, resolveOutput, terminalText, writeOutput } from './io.js'
import { checkStdinUse, resolveCommandKeys, resolveDestinationKeys } from './keys.js'
import { passphraseKeyring } from './passphrase.js'
import { startProgress } from './progress.js'
import { decryptRange, parseRange } from './range.js'
import { destinationKeys, keygenIdentity, loadIdentities, loadRecipients, rewrapSource, withPublicKeys } from './recipients.js'
import { isBulkRewrap, rewrapBulk } from './rewrap-bulk.js'
import { UsageError } from './usage.js'

const common = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
} as const
const io = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' },
} as const
const keys = {
  key: { type: 'string', short: 'k', multiple: true },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'allow-group-readable': { type: 'boolean' },
} as const
/** Threads for the frames: `'auto'` unless told otherwise (see parallelismOf). */
const threadsFlag = { parallelism: { type: 'string' } } as const

/**
 * `--parallelism N|auto`, else $KMS_ENVELOPE_PARALLELISM, else `'auto'`: a CLI process may use
 * the machine's cores. For a stream `'auto'` is one thread fewer than the cores (the I/O needs
 * one; see streamThreadsFor), so on two cores the CLI stays on one thread, which measured
 * faster there: a 256 MiB file took 538-637 ms to encrypt with a worker against 390-499 ms.
 */
function parallelismOf(flag: string | undefined): number | 'auto' {
  const fromEnv = process.env.KMS_ENVELOPE_PARALLELISM
  const text = flag ?? (fromEnv === undefined || fromEnv === '' ? 'auto' : fromEnv)
  if (text === 'auto') return 'auto'
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PARALLELISM) {
    const source = flag === undefined ? '$KMS_ENVELOPE_PARALLELISM' : '--parallelism'
    throw new UsageError(`${source} must be auto or a number of threads from 1 to ${MAX_PARALLELISM}, got ${JSON.stringify(text)}`)
  }
  return n
}

/** Keys that only read: on every command that reads a message. */
const decryptKey = { 'decrypt-key': { type: 'string', multiple: true } } as const
const armorFlag = { armor: { type: 'boolean', short: 'a' } } as const

/** The version in package.json, found by the package's own name: this file runs from dist/src or from the Node build (dist/bundle). */
function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('kms-envelope/package.json')), 'utf8')) as { version?: unknown }
  return String(pkg.version)
}

function keyOptions(values: { region?: string | undefined; endpoint?: string | undefined; 'allow-group-readable'?: boolean | undefined }) {
  return { region: values.region, endpoint: values.endpoint, allowGroupReadable: values['allow-group-readable'] === true }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...common, ...options } as typeof common & T, allowPositionals: true as const, strict: true as const })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> | undefined {
  if (list === undefined) return undefined
  // No prototype: a key like "__proto__" must become a pair, not a prototype change.
  const out = Object.create(null) as Record<string, string>
  for (const item of list) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(`${flag} needs KEY=VALUE, got ${JSON.stringify(item)}`)
    const key = item.slice(0, eq)
    if (Object.hasOwn(out, key)) throw new UsageError(`${flag} gives ${JSON.stringify(key)} twice`)
    out[key] = item.slice(eq + 1)
  }
  return out
}

function oneInput(positionals: string[]): string | undefined {
  if (positionals.length > 1) throw new UsageError(`expected at most one input, got ${positionals.length}: ${positionals.join(' ')}`)
  return positionals[0]
}

/** --frame-size checked here, so its error names the flag rather than the API's option. */
function frameSizeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < MIN_FRAME_SIZE || n > MAX_FRAME_SIZE) {
    throw new UsageError(`--frame-size must be a whole number of bytes from ${MIN_FRAME_SIZE} to ${MAX_FRAME_SIZE}, got ${JSON.stringify(text)}`)
  }
  return n
}

async function keygen(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { output: io.output, 'key-id': { type: 'string' }, type: { type: 'string' } })
  if (values.help) return void console.log(HELP.keygen)
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
  // Never a key on a terminal (or anywhere) by default: only where -o says, stdout only as -o -.
  if (values.output === undefined) throw new UsageError('keygen needs -o FILE (or -o - to print the key file to stdout)')
  if (values.type !== undefined && values.type !== 'local') {
    if (values['key-id'] !== undefined) throw new UsageError('--key-id is for local keys; an identity is named by its public key')
    return keygenIdentity(values.type, values.output, values.quiet === true)
  }
  const keyring = LocalKeyring.generate(values['key-id'] === undefined ? {} : { keyId: values['key-id'] })
  if (values.output === '-') {
    await writeOutput({ kind: 'stdout', binary: false }, (sink) => sink([new TextEncoder().encode(keyring.toKeyFile())]))
    if (!values.quiet) process.stderr.write(`printed key ${keyring.keyId} to stdout; keep it secret and backed up\n`)
    return
  }
  await writeKeyFile(values.output, keyring)
  if (!values.quiet) process.stderr.write(`wrote key ${keyring.keyId} to ${values.output} (mode 0600); keep it secret and backed up\n`)
}

async function encrypt(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...io,
    ...keys,
    ...armorFlag,
    context: { type: 'string', short: 'c', multiple: true },
    'frame-size': { type: 'string' },
    recipient: { type: 'string', short: 'r', multiple: true },
    'recipients-file': { type: 'string', short: 'R', multiple: true },
    'allow-classical-recipients': { type: 'boolean' },
    passphrase: { type: 'boolean' },
    'work-factor': { type: 'string' },
    ...threadsFlag,
  })
  if (values.help) return void console.log(HELP.encrypt)
  if (values.passphrase === true && values.key !== undefined) throw new UsageError('--passphrase must be the only recipient (FORMAT.md §17): drop --key')
  const inputPath = oneInput(positionals)
  const context = pairs(values.context, '--context')
  const armored = values.armor === true
  const out = { path: values.output, force: values.force === true, binary: !armored }
  checkStdinUse(values.key ?? [], inputPath)
  const target = await resolveOutput(out) // before any key is used
  checkOutputTarget(out, target, ', --armor for text')
  const frameSize = frameSizeOf(values['frame-size'])
  const parallelism = parallelismOf(values.parallelism)
  const input = await openInput(inputPath)
  try {
    await checkNotInput(out, input)
    const publicKeys = await loadRecipients(values.recipient ?? [], values['recipients-file'] ?? [])
    if (values.passphrase === true && publicKeys.length > 0) throw new UsageError('--passphrase must be the only recipient (FORMAT.md §17): drop -r/-R')
    const { keyring } =
      values.passphrase === true
        ? { keyring: [await passphraseKeyring(true, values['work-factor'])] }
        : await withPublicKeys(publicKeys, values.key !== undefined, () => resolveCommandKeys(values.key ?? [], [], keyOptions(values), true))
    const allowClassicalRecipients = values['allow-classical-recipients'] === true
    const env = new Envelope({ keyring, allowClassicalRecipients, parallelism, ...(frameSize === undefined ? {} : { frameSize }) })
    const session = new EncryptSession(settingsOf(env)!, context === undefined ? {} : { context }, undefined, true)
    const progress = startProgress(input.size, values.quiet === true)
    try {
      await writeOutput(target, (sink) => pump(input.chunks, armored ? armoredOutput(session) : session, sink, (bytes) => progress.update(bytes)))
    } finally {
      progress.stop()
      session.dispose()
    }
  } finally {
    await input.close()
  }
}

/** decrypt's keys: --key/--decrypt-key (or KMS_ENVELOPE_KEY), and with --passphrase the passphrase besides them. */
async function decryptKeys(
  values: { key?: string[] | undefined; 'decrypt-key'?: string[] | undefined; passphrase?: boolean | undefined } & Parameters<typeof keyOptions>[0],
) {
  const keySpecs = values.key ?? []
  const decryptSpecs = values['decrypt-key'] ?? []
  if (values.passphrase !== true) return resolveCommandKeys(keySpecs, decryptSpecs, keyOptions(values))
  const given =
    keySpecs.length > 0 || decryptSpecs.length > 0 ? await resolveCommandKeys(keySpecs, decryptSpecs, keyOptions(values)) : { keyring: [], decryptOnly: [] }
  return { keyring: [...given.keyring, await passphraseKeyring(false)], decryptOnly: given.decryptOnly }
}

async function decrypt(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...io,
    ...keys,
    ...decryptKey,
    'expect-context': { type: 'string', short: 'e', multiple: true },
    range: { type: 'string' },
    identity: { type: 'string', short: 'i', multiple: true },
    passphrase: { type: 'boolean' },
    ...threadsFlag,
  })
  if (values.help) return void console.log(HELP.decrypt)
  const inputPath = oneInput(positionals)
  const expectContext = pairs(values['expect-context'], '--expect-context')
  const range = values.range === undefined ? undefined : parseRange(values.range, inputPath)
  const parallelism = parallelismOf(values.parallelism)
  // Binary, but not checked here: plaintext that is text may be printed to a terminal (terminalText).
  const out = { path: values.output, force: values.force === true, binary: true }
  checkStdinUse([...(values.key ?? []), ...(values['decrypt-key'] ?? [])], inputPath)
  const target = await resolveOutput(out) // before any key is used
  // A range is written as it verifies, frame by frame, so it is never held for the text check.
  if (range !== undefined) checkOutputTarget(out, target)
  const input = await openInput(inputPath)
  try {
    await checkNotInput(out, input)
    const identities = await loadIdentities(values.identity ?? [], values['allow-group-readable'] === true)
    const specsGiven = values.key !== undefined || values['decrypt-key'] !== undefined || values.passphrase === true
    const env = new Envelope({ ...(await withPublicKeys(identities, specsGiven, () => decryptKeys(values))), parallelism })
    if (range !== undefined) return await decryptRange(env, range, expectContext, target)
    const session = new DecryptSession(settingsOf(env)!, expectContext === undefined ? {} : { expectContext }, true)
    await streamThrough(input, session, out, target, values.quiet === true)
  } finally {
    await input.close()
  }
}

/**
 * Streams IN (binary or armored) through a session into OUT, with a progress bar when it
 * makes sense. To a terminal (stdout by default), the output is held and printed only if it
 * is text, once the session has finished: all of it verified.
 */
async function streamThrough(
  input: Input,
  session: PumpSession & { dispose(): void },
  out: OutputOptions,
  target: OutputTarget,
  quiet: boolean,
): Promise<void> {
  const progress = startProgress(input.size, quiet)
  try {
    const { chunks } = await detectArmor(input.chunks, (bytes) => progress.update(bytes))
    if (isImplicitTerminal(out, target)) {
      const terminal = terminalText()
      try {
        await pump(chunks, session, terminal.sink)
      } catch (error) {
        terminal.discard()
        throw error
      }
      progress.stop()
      await terminal.print()
    } else await writeOutput(target, (sink) => pump(chunks, session, sink))
  } finally {
    progress.stop()
    session.dispose()
  }
}

async function rewrap(args: string[]): Promise<void> {
  if (await isBulkRewrap(args)) return rewrapBulk(args)
  const { values, positionals } = parse(args, {
    ...io,
    ...keys,
    ...decryptKey,
    to: { type: 'string', short: 't', multiple: true },
    'recipients-file': { type: 'string', short: 'R', multiple: true },
    identity: { type: 'string', short: 'i', multiple: true },
    keep: { type: 'boolean' },
    verify: { type: 'boolean' },
    ...armorFlag,
  })
  if (values.help) return void console.log(HELP.rewrap)
  const inputPath = oneInput(positionals)
  const toSpecs = values.to ?? []
  if (toSpecs.length === 0 && values['recipients-file'] === undefined)
    throw new UsageError('rewrap needs --to SPEC (or -R FILE): the key(s) to give the message to')
  const out = { path: values.output, force: values.force === true, binary: values.armor !== true }
  checkStdinUse([...(values.key ?? []), ...(values['decrypt-key'] ?? []), ...toSpecs], inputPath)
  const target = await resolveOutput(out) // before any key is used
  checkOutputTarget(out, target, ', --armor for text')
  const input = await openInput(inputPath)
  try {
    const kmsOptions = keyOptions(values)
    // The source may be a retired key: rewrapping away from it is what rotation needs.
    const from = new Envelope(await rewrapSource(values, kmsOptions))
    const to = toKeyrings(await destinationKeys(toSpecs, values['recipients-file'] ?? [], (specs) => resolveDestinationKeys(specs, kmsOptions)), '--to')
    const session = new RewrapSession(settingsOf(from)!, { to, keep: values.keep === true, verify: values.verify === true, signal: undefined })
    // An armored message stays armored; --armor armors a binary one.
    const { chunks, armored } = await detectArmor(input.chunks)
    // Rewriting IN in place is safe: the temp file replaces it only after the whole copy.
    await writeOutput(target, (sink) => pump(chunks, armored || values.armor === true ? armoredOutput(session) : session, sink))
    if (values.quiet !== true) {
      process.stderr.write(
        session.verified === true
          ? 'rewrapped: verified (commitment and header tag checked)\n'
          : 'rewrapped inside KMS only (ReEncrypt): the message was not authenticated; use --verify to check it first\n',
      )
    }
  } finally {
    await input.close()
  }
}

async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...keys, ...decryptKey, identity: { type: 'string', short: 'i', multiple: true } })
  if (values.help) return void console.log(HELP.inspect)
  const inputPath = oneInput(positionals)
  // Keys only when asked for: inspect needs none, and never reads KMS_ENVELOPE_KEY on its own.
  const keySpecs = values.key ?? []
  const decryptSpecs = values['decrypt-key'] ?? []
  const withKeys = keySpecs.length > 0 || decryptSpecs.length > 0 || values.identity !== undefined
  checkStdinUse([...keySpecs, ...decryptSpecs], inputPath)
  const input = await openInput(inputPath)
  try {
    const env = withKeys ? new Envelope(await rewrapSource(values, keyOptions(values))) : undefined
    const { chunks, armored } = await detectArmor(input.chunks)
    // An armored IN's size is not the message's: the whole armor is read (and checked) instead.
    const { info, head } = await inspectStreamHead(chunks, input.size === undefined || armored ? {} : { size: input.size })
    let shown: object = info
    if (env !== undefined) {
      // Which of the given keys hold each recipient: write, decrypt-only or none (no unwrap).
      const status = await messageKeyStatus(settingsOf(env)!, head, undefined)
      shown = { ...info, recipients: info.recipients.map((r, i) => ({ ...r, status: status[i]!.status })) }
    }
    // Still exact JSON (it parses to the same strings), but with nothing a terminal acts on.
    process.stdout.write(`${terminalSafeJson(JSON.stringify(shown, null, 2))}
`)
  } finally {
    await input.close()
  }
}

/** Loaded only when it runs: it brings the ESDK reader (./migrate-entry.ts). */
const migrate = async (args: string[]): Promise<void> => (await import('./migrate-entry.js')).migrate(args)

/** Imported on use: only this command loads the DynamoDB SDK. */
async function branchKey(args: string[]): Promise<void> {
  const { branchKeyCommand } = await import('./branch-key.js')
  await branchKeyCommand(args)
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  keygen,
  encrypt,
  decrypt,
  rewrap,
  inspect: inspectCommand,
  migrate,
  'branch-key': branchKey,
}

const MESSAGE_REJECTED = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_CONTEXT_MISMATCH'])
const KEY_PROBLEM = new Set(['ERR_NO_MATCHING_KEY', 'ERR_UNWRAP', 'ERR_KEYRING', 'ERR_KEY_FILE', 'ERR_KMS'])

/** Exit code for an error (documented in the README). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return 2
  const code = (error as { code?: unknown })?.code
  if (error instanceof EnvelopeError && MESSAGE_REJECTED.has(error.code)) return 1
  if (error instanceof EnvelopeError && (KEY_PROBLEM.has(error.code) || error.code.startsWith('ERR_KMS'))) return 3
  // The branch key store (branch-key command) is a key problem too.
  if (error instanceof EnvelopeError && (error.code.startsWith('ERR_BRANCH_KEY') || error.code.startsWith('ERR_DYNAMODB'))) return 3
  if (code === 'ERR_INVALID_ARGUMENT') return 2
  return 4
}

/**
 * The CLI's own wording for errors whose API message names API options: picked by class and
 * code, from the error's structured fields, never by editing the message.
 */
function cliMessage(error: EnvelopeError): string {
  if (error instanceof OutputExistsError) return `${printable(error.path)} already exists; choose another path or pass --force to replace it`
  if (error instanceof ContextMismatchError) {
    return (
      `the message's encryption context does not match --expect-context for key(s) ${error.keys.map((k) => quoted(k)).join(', ')}: ` +
      'it was encrypted for another context; check which record, tenant or purpose it belongs to'
    )
  }
  return error.message
}

function describeError(error: unknown): string {
  if (error instanceof EnvelopeError) return `${cliMessage(error)} [${error.code}]`
  const e = error as NodeJS.ErrnoException
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    const what =
      e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message
    return `${e.path}: ${what} [${e.code}]`
  }
  return error instanceof Error ? error.message : String(error)
}

/**
 * The reader of stdout went away (`decrypt | head -c 10`): a normal end for a command in a
 * pipeline, like `cat`'s, so no message and exit 0. Only stdout's EPIPE counts: a closed
 * pipe given as -o PATH is still an error.
 */
function isClosedStdout(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EPIPE' && stdoutClosed
}
let stdoutClosed = false
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') stdoutClosed = true
})

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-V') {
    console.log(version())
    return 0
  }
  const run = COMMANDS[command]
  try {
    if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`)
    await run(rest)
    return 0
  } catch (error) {
    if (isClosedStdout(error)) return 0
    const hint = error instanceof UsageError ? ` (see kms-envelope ${run === undefined ? '' : `${command} `}--help)` : ''
    // Every message may embed text from the input or from KMS: escaped once more as a whole.
    process.stderr.write(`kms-envelope: ${escapeControls(describeError(error))}${hint}\n`)
    return exitCodeOf(error)
  }
}

/** Installs signal handlers that remove half-written temp files, then runs the CLI. */
export async function run(argv: string[]): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeTempFilesSync()
      process.kill(process.pid, signal)
    })
  }
  process.exitCode = await main(argv)
}
