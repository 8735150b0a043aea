/**
 * `kms-envelope migrate` over a directory of files the AWS Encryption SDK wrote (mixed suites,
 * frame lengths, sizes and keyrings): dry run, the run, every file opening to its original
 * bytes, a rerun that skips everything, SIGKILL mid-run followed by a rerun that loses nothing,
 * -o into another tree, and failures listed with their codes.
 *
 * KMSE_ESDK_MIGRATE_FILES sets the corpus size (default 500 for the run, 200 for the kill test).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Envelope } from '../src/index.js'
import { cli, inTerminal, keyFile, NO_PTY } from './cli-helpers.js'
import type { CorpusFile } from './esdk-writer.js'
import { aesKey, COMMITTING_SUITES, LEGACY_SUITES, multi, rsaKey, writeCorpus } from './esdk-writer.js'
import { CLI, tempDir } from './helpers.js'
import { seededInts } from './pattern.js'

const COUNT = Number(process.env.KMSE_ESDK_MIGRATE_FILES ?? 500)
/** The kill test reads every file after each round: a smaller corpus keeps it quick (the same env var raises it). */
const KILL_COUNT = Math.min(COUNT, Number(process.env.KMSE_ESDK_MIGRATE_FILES ?? 200))
/** Committing suites twice as often as each legacy one: that is what stored data mostly holds. */
const SUITES = [...COMMITTING_SUITES, ...COMMITTING_SUITES, ...LEGACY_SUITES]
const ESDK_VERSION = new Set([0x01, 0x02])

const tempFiles = async (dir: string): Promise<string[]> => (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.kmse-tmp'))

/** Keys on disk for the CLI: raw AES and RSA for the ESDK side, a local key for the new messages. */
async function keys(dir: string) {
  const aes = aesKey('app', 'aes-256')
  const rsa = await rsaKey('app-rsa', 'rsa-2048')
  await writeFile(join(dir, 'aes.bin'), aes.key, { mode: 0o600 })
  await writeFile(join(dir, 'rsa.pem'), rsa.privateKey, { mode: 0o600 })
  const dest = keyFile(dir, 'migrated', 'new.key')
  return {
    aes,
    rsa,
    dest,
    // Most files by the AES keyring, every 7th by RSA only, every 11th by both.
    sdkKeyring: (i: number) => (i % 11 === 0 ? multi(aes.sdk, rsa.sdk) : i % 7 === 0 ? rsa.sdk : aes.sdk),
    esdkArgs: ['--esdk-key', `raw-aes:app:aes-256:${join(dir, 'aes.bin')}`, '--esdk-key', `raw-rsa:app-rsa:rsa-2048:oaep-sha256:${join(dir, 'rsa.pem')}`],
  }
}

/** Every file is its original ESDK bytes or a complete kms-envelope message of the same plaintext; returns how many are migrated. */
async function checkEach(files: readonly CorpusFile[], originals: readonly Uint8Array[], envelope: Envelope): Promise<number> {
  let migrated = 0
  for (const [i, file] of files.entries()) {
    const bytes = new Uint8Array(await readFile(file.path))
    if (ESDK_VERSION.has(bytes[0]!)) {
      assert.deepEqual(bytes, originals[i], `${file.path} changed but is not a kms-envelope message`)
      continue
    }
    const opened = await envelope.decrypt(bytes)
    assert.deepEqual(opened.plaintext, file.plaintext, file.path)
    for (const [k, v] of Object.entries(file.context)) assert.equal(opened.context[k], v)
    migrated++
  }
  return migrated
}

describe('kms-envelope migrate', () => {
  it(`migrates ${COUNT} ESDK files of mixed suites in place; each opens to its original bytes; a rerun skips them all`, async (t) => {
    const dir = await tempDir(t)
    const k = await keys(dir)
    const data = join(dir, 'data')
    let started = performance.now()
    const files = await writeCorpus(data, COUNT, k.sdkKeyring, SUITES)
    t.diagnostic(`the SDK wrote ${COUNT} files in ${Math.round(performance.now() - started)} ms`)
    const originals = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f.path))))
    const args = ['migrate', ...k.esdkArgs, '--to', k.dest.spec, '--commitment-policy', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT', '-r', data]

    const dry = await cli([...args, '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, new RegExp(`^would migrate ${COUNT} .*skipped 0 .*failed 0`))
    assert.equal(await checkEach(files, originals, new Envelope({ keyring: k.dest.keyring })), 0)

    started = performance.now()
    const run = await cli(args)
    t.diagnostic(`migrate of ${COUNT} files: ${Math.round(performance.now() - started)} ms (CLI start included)`)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, new RegExp(`^migrated ${COUNT} \\(.*\\), skipped 0 \\(already done\\), failed 0, in [0-9.]+ s\\n$`))
    assert.equal(await checkEach(files, originals, new Envelope({ keyring: k.dest.keyring })), COUNT)
    // And through `kms-envelope decrypt` itself, for a sample: 0x0478, 0x0578, a no-KDF, an HKDF and a signed legacy suite.
    for (const file of [0, 1, 6, 9, 12].map((i) => files[i]!)) {
      const out = await cli(['decrypt', '--key', k.dest.spec, file.path])
      assert.equal(out.code, 0, out.stderr)
      assert.deepEqual(new Uint8Array(out.stdout), file.plaintext)
    }
    const again = await cli(args)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, new RegExp(`^migrated 0 .*skipped ${COUNT} `))
  })

  it('survives SIGKILL mid-run: every file stays ESDK or complete kms-envelope, and a rerun finishes with nothing lost', async (t) => {
    const dir = await tempDir(t)
    const k = await keys(dir)
    const data = join(dir, 'data')
    const files = await writeCorpus(data, KILL_COUNT, k.sdkKeyring, SUITES)
    const originals = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f.path))))
    const envelope = new Envelope({ keyring: k.dest.keyring })
    const args = [CLI, 'migrate', ...k.esdkArgs, '--to', k.dest.spec, '--commitment-policy', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT', '-r', '-j', '2', '-q', data]
    const next = seededInts(20261202)
    const progress: number[] = []
    let base = 300
    let done = 0
    // Seeded kill times, later each round that landed before the first file (a slow start on a busy machine).
    while (progress.length < 8 && !progress.some((n, i) => n > (progress[i - 1] ?? 0) && n < KILL_COUNT) && done < KILL_COUNT) {
      const child = spawn(process.execPath, args, { stdio: 'ignore' })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      const result = await Promise.race([sleep(base + next(200)).then(() => 'kill' as const), exited])
      if (result === 'kill') {
        child.kill('SIGKILL')
        await exited
      }
      const before = done
      done = await checkEach(files, originals, envelope)
      if (done === before) base = Math.round(base * 1.6)
      progress.push(done)
    }
    t.diagnostic(`files migrated after each killed round: ${progress.join(', ')}`)
    assert.ok(
      progress.some((n, i) => n > (progress[i - 1] ?? 0) && n < KILL_COUNT),
      'no kill landed in the middle of a run',
    )
    const rest = await cli(args.slice(1).filter((a) => a !== '-q'))
    assert.equal(rest.code, 0, rest.stderr)
    assert.match(rest.stderr, new RegExp(`^migrated ${KILL_COUNT - done} .*skipped ${done} `))
    assert.equal(await checkEach(files, originals, envelope), KILL_COUNT)
    assert.deepEqual(await tempFiles(data), [])
  })

  it('writes under -o OUT (the tree mirrored, originals untouched, a rerun skips), and lists failures with their codes', async (t) => {
    const dir = await tempDir(t)
    const k = await keys(dir)
    const data = join(dir, 'data')
    const files = await writeCorpus(data, 12, k.aes.sdk, COMMITTING_SUITES)
    const originals = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f.path))))
    const out = join(dir, 'out')
    const args = ['migrate', ...k.esdkArgs, '--to', k.dest.spec, '-r', '-o', out, data]
    const run = await cli(args)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^migrated 12 /)
    const envelope = new Envelope({ keyring: k.dest.keyring })
    for (const [i, file] of files.entries()) {
      assert.deepEqual(new Uint8Array(await readFile(file.path)), originals[i])
      const target = join(out, file.path.slice(data.length + 1))
      assert.deepEqual((await envelope.decrypt(await readFile(target))).plaintext, file.plaintext)
    }
    const again = await cli(args)
    assert.match(again.stderr, /^migrated 0 .*skipped 12 /)
    // One file to one new path.
    const single = await cli(['migrate', ...k.esdkArgs, '--to', k.dest.spec, '-o', join(dir, 'one.kmse'), files[1]!.path])
    assert.equal(single.code, 0, single.stderr)
    assert.deepEqual((await envelope.decrypt(await readFile(join(dir, 'one.kmse')))).plaintext, files[1]!.plaintext)

    // Failures: not a message, a legacy suite under the default policy, a key nobody given holds.
    const bad = join(dir, 'bad')
    const [legacy] = await writeCorpus(bad, 1, k.aes.sdk, [0x0178])
    await writeFile(join(bad, 'notes.txt'), 'plain text')
    const stranger = aesKey('app', 'aes-256')
    const [foreign] = await writeCorpus(join(bad, 'x'), 1, stranger.sdk, [0x0478])
    const before = await Promise.all([legacy!.path, foreign!.path].map((p) => readFile(p)))
    const failed = await cli(['migrate', ...k.esdkArgs, '--to', k.dest.spec, '-r', bad])
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failed.stderr, /notes\.txt: .*neither an AWS Encryption SDK message .*\[ERR_FORMAT\]/)
    assert.match(failed.stderr, /m0000\.esdk: .*\[ERR_UNSUPPORTED\]/)
    assert.match(failed.stderr, /\[ERR_UNWRAP\]|\[ERR_NO_MATCHING_KEY\]/)
    assert.match(failed.stderr, /migrated 0 .*failed 3/)
    assert.deepEqual(await Promise.all([legacy!.path, foreign!.path].map((p) => readFile(p))), before)

    const usage = [
      [['migrate', '--to', k.dest.spec, data], /needs --esdk-key/],
      [['migrate', ...k.esdkArgs, data], /needs --to/],
      [['migrate', '--esdk-key', 'raw-aes:only-two', '--to', k.dest.spec, '-r', data], /is not understood/],
      [['migrate', ...k.esdkArgs, '--to', k.dest.spec, '--commitment-policy', 'ANY', data], /--commitment-policy must be one of/],
      [['migrate', ...k.esdkArgs, '--to', k.dest.spec, data], /is a directory: pass --recursive to migrate/],
      [['migrate', ...k.esdkArgs, '--to', k.dest.spec, '-r', '-o', join(data, 'out'), data], /is inside .*a directory being migrated/],
    ] as const
    for (const [argv, message] of usage) {
      const r = await cli(argv)
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
    }
    await writeFile(join(dir, 'short.bin'), new Uint8Array(20), { mode: 0o600 })
    const short = await cli(['migrate', '--esdk-key', `raw-aes:app:aes-256:${join(dir, 'short.bin')}`, '--to', k.dest.spec, files[0]!.path])
    assert.equal(short.code, 3, short.stderr)
    assert.match(short.stderr, /holds 20 bytes; a raw AES key file holds exactly the 16, 24 or 32 key bytes/)
  })

  it('shows progress on a terminal (files, bytes, rate, ETA), then the summary', { skip: NO_PTY }, async (t) => {
    const dir = await tempDir(t)
    const k = await keys(dir)
    await writeCorpus(join(dir, 'd'), 8, k.aes.sdk, COMMITTING_SUITES)
    const run = inTerminal(['migrate', ...k.esdkArgs, '--to', k.dest.spec, '-r', join(dir, 'd')], { env: { CI: undefined } })
    assert.equal(run.code, 0, run.screen.toString())
    const screen = run.screen.toString()
    assert.match(screen, /8\/8 files 100% .*\/s +ETA 0:00/)
    assert.match(screen, /\r\x1b\[Kmigrated 8 /) // the bar erased before the summary
  })
})
