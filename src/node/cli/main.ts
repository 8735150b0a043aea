/**
 * The `kms-envelope` command. Exit codes (README "CLI"):
 *   0 success · 1 the message was rejected (altered, malformed, wrong context) ·
 *   2 usage error · 3 key problem (no matching key, unwrap failed, key file, every ERR_KMS* code) ·
 *   4 input/output problem (missing input, output exists, write failed)
 * @module
 */
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from 'node:util'
import { Envelope, toKeyrings } from '../../envelope.js'
import { EnvelopeError } from '../../errors.js'
import { describeHead } from '../../inspect.js'
import { HeadReader } from '../../format/head-reader.js'
import { LocalKeyring } from '../../keyrings/local.js'
import { removeTempFilesSync } from '../atomic.js'
import { writeKeyFile } from '../keyfile.js'
import { DecryptSession, EncryptSession } from '../../stream-session.js'
import type { PumpSession } from '../pump.js'
import { pump } from '../pump.js'
import type { Input, OutputOptions } from './io.js'
import { checkNotInput, checkOutputTarget, exists, openInput, writeOutput } from './io.js'
import { startProgress } from './progress.js'
import { resolveKeySpecs } from './keys.js'
import { UsageError } from './usage.js'
import { RewrapSession } from './rewrap-session.js'
import { OutputExistsError, TruncatedError } from '../../errors.js'

const HELP: Record<string, string> = {
  main: `kms-envelope: envelope encryption with AWS KMS or local keys

Usage: kms-envelope <command> [options]

Commands:
  keygen    create a local key file
  encrypt   encrypt a file or stdin
  decrypt   decrypt a file or stdin
  rewrap    give a message's data key to other keys (body unchanged; KMS to KMS via ReEncrypt)
  inspect   show a message's header as JSON (no key needed, nothing verified)

Run 'kms-envelope <command> --help' for a command's options.
Exit codes: 0 ok, 1 message rejected, 2 usage, 3 key problem, 4 input/output problem.`,
  keygen: `Usage: kms-envelope keygen -o FILE [--key-id ID]

Creates a local 256-bit master key file with mode 0600. Never overwrites a file.

  -o, --output FILE   where to write the key file (required)
      --key-id ID     name of the key inside messages (default: local: + random hex)
  -q, --quiet         print nothing on success`,
  encrypt: `Usage: kms-envelope encrypt --key SPEC [--key SPEC ...] [options] [IN]

Encrypts IN (a file, or stdin when omitted or -) to OUT (stdout by default).

  -k, --key SPEC          file:PATH, kms:ARN, kms:alias/NAME or kms:KEY-ID; repeat to add recipients
  -c, --context K=V       encryption context pair; repeat for more
      --frame-size BYTES  plaintext bytes per frame (default 65536)
  -o, --output OUT        write to OUT (atomically; refused if it exists)
  -f, --force             replace OUT if it exists
      --region REGION     AWS region for kms: keys (default: from the AWS environment)
      --endpoint URL      KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS's)
  -q, --quiet             no progress bar

Streams in constant memory at any size. A progress bar is shown on stderr when it is a
terminal and IN is a regular file.`,
  decrypt: `Usage: kms-envelope decrypt --key SPEC [--key SPEC ...] [options] [IN]

Decrypts IN (a file, or stdin when omitted or -) to OUT (stdout by default).
With -o, OUT appears only once every byte is verified; on any failure it is left as it was.
To stdout, plaintext is streamed as each frame is verified: if decryption fails part-way
the exit code is non-zero and what was already written must be discarded.

  -k, --key SPEC             a key that may open the message (repeatable)
  -e, --expect-context K=V   require this context pair (repeatable)
  -o, --output OUT           write to OUT (atomically; refused if it exists)
  -f, --force                replace OUT if it exists
      --region REGION        AWS region for kms: keys
      --endpoint URL         KMS endpoint
  -q, --quiet                no progress bar

Streams in constant memory at any size. A progress bar is shown on stderr when it is a
terminal and IN is a regular file.`,
  rewrap: `Usage: kms-envelope rewrap --key OLD [--key OLD ...] --to NEW [--to NEW ...] [options] [IN]

Re-wraps the data key of the message in IN (or stdin) for NEW and writes the message to OUT
(stdout by default). Header and body stay byte-identical; only the wrapped keys change.
The wrapped keys OLD holds are removed unless --keep; other recipients stay. From kms: to
kms: this uses KMS ReEncrypt, so the plaintext data key never leaves KMS.

  -k, --key SPEC       a key that holds the message now (repeatable)
  -t, --to SPEC        a key to give the message to (repeatable)
      --keep           keep OLD's wrapped keys too
      --verify         authenticate the message first (Decrypt + Encrypt instead of ReEncrypt)
  -o, --output OUT     write to OUT (atomically; refused if it exists)
  -f, --force          replace OUT if it exists (OUT may be IN)
      --region REGION  AWS region for kms: keys
      --endpoint URL   KMS endpoint
  -q, --quiet          no progress output`,
  inspect: `Usage: kms-envelope inspect [IN]

Prints the header of the message in IN (or stdin) as JSON: version, suite, message id,
context, recipients (type and key id), frame size and sizes. Needs no key and verifies
nothing; never contacts KMS.`,
}

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
} as const

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...common, ...options } as typeof common & T, allowPositionals: true as const, strict: true as const })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> | undefined {
  if (list === undefined) return undefined
  const out: Record<string, string> = {}
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

async function failIfOutputExists(path: string | undefined, force: boolean | undefined): Promise<void> {
  if (path !== undefined && path !== '-' && force !== true && (await exists(path))) throw new OutputExistsError(path)
}

async function keygen(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { output: io.output, 'key-id': { type: 'string' } })
  if (values.help) return void console.log(HELP.keygen)
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
  if (values.output === undefined) throw new UsageError('keygen needs -o FILE')
  const keyring = LocalKeyring.generate(values['key-id'] === undefined ? {} : { keyId: values['key-id'] })
  await writeKeyFile(values.output, keyring)
  if (!values.quiet) process.stderr.write(`wrote key ${keyring.keyId} to ${values.output} (mode 0600); keep it secret and backed up\n`)
}

async function encrypt(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...io, ...keys, context: { type: 'string', short: 'c', multiple: true }, 'frame-size': { type: 'string' } })
  if (values.help) return void console.log(HELP.encrypt)
  const inputPath = oneInput(positionals)
  const context = pairs(values.context, '--context')
  const out = { path: values.output, force: values.force === true, binary: true }
  checkOutputTarget(out)
  await failIfOutputExists(values.output, values.force)
  const frameSize = values['frame-size'] === undefined ? undefined : Number(values['frame-size'])
  const input = await openInput(inputPath)
  try {
    await checkNotInput(out, input)
    const keyring = await resolveKeySpecs(values.key ?? [], { region: values.region, endpoint: values.endpoint })
    const env = new Envelope({ keyring, ...(frameSize === undefined ? {} : { frameSize }) })
    await streamThrough(input, new EncryptSession(env.settings, context === undefined ? {} : { context }), out, values.quiet === true)
  } finally {
    await input.close()
  }
}

async function decrypt(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...io, ...keys, 'expect-context': { type: 'string', short: 'e', multiple: true } })
  if (values.help) return void console.log(HELP.decrypt)
  const inputPath = oneInput(positionals)
  const expectContext = pairs(values['expect-context'], '--expect-context')
  const out = { path: values.output, force: values.force === true, binary: true }
  checkOutputTarget(out)
  await failIfOutputExists(values.output, values.force)
  const input = await openInput(inputPath)
  try {
    await checkNotInput(out, input)
    const keyring = await resolveKeySpecs(values.key ?? [], { region: values.region, endpoint: values.endpoint })
    const env = new Envelope({ keyring })
    await streamThrough(input, new DecryptSession(env.settings, expectContext === undefined ? {} : { expectContext }), out, values.quiet === true)
  } finally {
    await input.close()
  }
}

/** Streams IN through a session into OUT, with a progress bar when it makes sense. */
async function streamThrough(input: Input, session: PumpSession & { dispose(): void }, out: OutputOptions, quiet: boolean): Promise<void> {
  const progress = startProgress(input.size, quiet)
  try {
    await writeOutput(out, (sink) => pump(input.chunks, session, sink, (bytes) => progress.update(bytes)))
  } finally {
    progress.stop()
    session.dispose()
  }
}

async function rewrap(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...io, ...keys, to: { type: 'string', short: 't', multiple: true }, keep: { type: 'boolean' }, verify: { type: 'boolean' } })
  if (values.help) return void console.log(HELP.rewrap)
  const inputPath = oneInput(positionals)
  if (values.to === undefined) throw new UsageError('rewrap needs --to SPEC: the key(s) to give the message to')
  const out = { path: values.output, force: values.force === true, binary: true }
  checkOutputTarget(out)
  await failIfOutputExists(values.output, values.force)
  const input = await openInput(inputPath)
  try {
    const kmsOptions = { region: values.region, endpoint: values.endpoint }
    const from = new Envelope({ keyring: await resolveKeySpecs(values.key ?? [], kmsOptions) })
    const to = toKeyrings(await resolveKeySpecs(values.to, kmsOptions), '--to')
    const session = new RewrapSession(from.settings, { to, keep: values.keep === true, verify: values.verify === true, signal: undefined })
    // Rewriting IN in place is safe: the temp file replaces it only after the whole copy.
    await writeOutput(out, (sink) => pump(input.chunks, session, sink))
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
  const { values, positionals } = parse(args, {})
  if (values.help) return void console.log(HELP.inspect)
  const input = await openInput(oneInput(positionals))
  try {
    // Reads the head only (bounded by the format limits); the rest is counted, not kept.
    const reader = new HeadReader()
    let prefix: Uint8Array | undefined
    let total = 0
    for await (const chunk of input.chunks) {
      total += chunk.length
      if (prefix !== undefined) continue
      const read = reader.push(chunk)
      if (read === undefined) continue
      prefix = read.bytes.slice(0, read.head.bodyOffset) // a copy: the bytes may be the reader's chunk
      if (input.size !== undefined) {
        total = input.size
        break
      }
    }
    if (prefix === undefined) throw new TruncatedError(`the input ended after ${reader.buffered} bytes, inside the message header: it was cut short`)
    process.stdout.write(`${JSON.stringify(describeHead(prefix, total), null, 2)}\n`)
  } finally {
    await input.close()
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { keygen, encrypt, decrypt, rewrap, inspect: inspectCommand }

const MESSAGE_REJECTED = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_CONTEXT_MISMATCH'])
const KEY_PROBLEM = new Set(['ERR_NO_MATCHING_KEY', 'ERR_UNWRAP', 'ERR_KEYRING', 'ERR_KEY_FILE', 'ERR_KMS'])

/** Exit code for an error (documented in the README). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return 2
  const code = (error as { code?: unknown })?.code
  if (error instanceof EnvelopeError && MESSAGE_REJECTED.has(error.code)) return 1
  if (error instanceof EnvelopeError && (KEY_PROBLEM.has(error.code) || error.code.startsWith('ERR_KMS'))) return 3
  if (code === 'ERR_INVALID_ARGUMENT') return 2
  return 4
}

function describeError(error: unknown): string {
  if (error instanceof EnvelopeError) return `${error.message} [${error.code}]`
  const e = error as NodeJS.ErrnoException
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    const what = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message
    return `${e.path}: ${what} [${e.code}]`
  }
  return error instanceof Error ? error.message : String(error)
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-V') {
    console.log('0.1.0')
    return 0
  }
  const run = COMMANDS[command]
  try {
    if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`)
    await run(rest)
    return 0
  } catch (error) {
    const hint = error instanceof UsageError ? ` (see kms-envelope ${run === undefined ? '' : `${command} `}--help)` : ''
    process.stderr.write(`kms-envelope: ${describeError(error)}${hint}\n`)
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
