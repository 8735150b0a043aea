/**
 * `kms-envelope rewrap` in place over directories and file lists: summary, exit codes, dry
 * run, the single-message form untouched, and SIGKILL at random moments followed by reruns.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { armor, dearmor, Envelope, inspect, LocalKeyring } from '../src/index.js'
import { cli, inTerminal, keyFile, NO_PTY } from './cli-helpers.js'
import { CLI, pattern, rejectsWithCode, tempDir } from './helpers.js'
import { seededInts } from './pattern.js'

async function writeMessages(dir: string, keyring: LocalKeyring, count: number): Promise<string[]> {
  const env = new Envelope({ keyring })
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const path = join(dir, `f${String(i).padStart(3, '0')}.kmse`)
    await writeFile(path, await env.encrypt(pattern(i * 3, i + 1)))
    paths.push(path)
  }
  return paths
}

const tempFiles = async (dir: string): Promise<string[]> => (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.kmse-tmp'))

describe('kms-envelope rewrap in place', () => {
  it('rewraps a directory tree, skips what is done on a rerun, and keeps the single-message form', async (t) => {
    const dir = await tempDir(t)
    const oldKey = keyFile(dir, 'old', 'old.key')
    const newKey = keyFile(dir, 'new', 'new.key')
    const data = join(dir, 'data')
    const paths = [...(await writeMessages(data, oldKey.keyring, 5)), ...(await writeMessages(join(data, 'sub'), oldKey.keyring, 3))]

    const flat = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, data])
    assert.equal(flat.code, 2)
    assert.match(flat.stderr, /is a directory: pass --recursive/)

    const dry = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '-r', '--dry-run', data])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /would rewrap 8 .*skipped 0 .*failed 0/)
    await rejectsWithCode(new Envelope({ keyring: newKey.keyring }).decrypt(await readFile(paths[0]!)), 'ERR_NO_MATCHING_KEY')

    const run = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '-r', '--jobs', '2', data, paths[0]!]) // named twice: once
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^rewrapped 8 .*skipped 0 \(already done\), failed 0, in [0-9.]+ s\n$/)
    const newEnv = new Envelope({ keyring: newKey.keyring })
    for (const path of paths) await newEnv.decrypt(await readFile(path))

    const again = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '-r', data])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /^rewrapped 0 .*skipped 8 /)

    // One file, no flag: still the single-message rewrap to stdout, the file left alone.
    const before = await readFile(paths[0]!)
    const single = await cli(['rewrap', '--key', newKey.spec, '--to', oldKey.spec, paths[0]!])
    assert.equal(single.code, 0, single.stderr)
    await new Envelope({ keyring: oldKey.keyring }).decrypt(single.stdout)
    assert.deepEqual(await readFile(paths[0]!), before)
  })

  it('follows a rotation keyset: --key dir: with the retired key decrypt-only, or --decrypt-key, moves every file to the active key', async (t) => {
    const dir = await tempDir(t)
    const keys = join(dir, 'keys')
    await mkdir(keys)
    const retired = LocalKeyring.generate({ keyId: 'k-2025', status: 'decrypt-only' })
    const active = LocalKeyring.generate({ keyId: 'k-2026' })
    await writeFile(join(keys, 'k-2025.key'), retired.toKeyFile(), { mode: 0o600 })
    await writeFile(join(keys, 'k-2026.key'), active.toKeyFile(), { mode: 0o600 })
    const paths = await writeMessages(join(dir, 'a'), LocalKeyring.fromKeyFile(retired.toKeyFile()), 4)
    const run = await cli(['rewrap', '--key', `dir:${keys}`, '--to', `file:${join(keys, 'k-2026.key')}`, '-r', join(dir, 'a')])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^rewrapped 4 .*skipped 0/)
    for (const path of paths) {
      assert.deepEqual(
        inspect(await readFile(path)).recipients.map((r) => r.keyId),
        ['k-2026'],
      )
      await new Envelope({ keyring: active }).decrypt(await readFile(path))
    }
    // The retired key named with --decrypt-key alone is a source too; --to a decrypt-only file is refused.
    const more = await writeMessages(join(dir, 'b'), LocalKeyring.fromKeyFile(retired.toKeyFile()), 2)
    const refused = await cli(['rewrap', '--decrypt-key', `file:${join(keys, 'k-2025.key')}`, '--to', `file:${join(keys, 'k-2025.key')}`, '-r', join(dir, 'b')])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, /decrypt-only key file: a retired key cannot receive messages/)
    const viaFlag = await cli(['rewrap', '--decrypt-key', `file:${join(keys, 'k-2025.key')}`, '--to', `file:${join(keys, 'k-2026.key')}`, '-r', join(dir, 'b')])
    assert.equal(viaFlag.code, 0, viaFlag.stderr)
    for (const path of more) await new Envelope({ keyring: active }).decrypt(await readFile(path))
  })

  it('rewraps armored files in place and keeps them armored, next to binary ones', async (t) => {
    const dir = await tempDir(t)
    const oldKey = keyFile(dir, 'old', 'old.key')
    const newKey = keyFile(dir, 'new', 'new.key')
    const data = join(dir, 'data')
    const [binary] = await writeMessages(data, oldKey.keyring, 1)
    const armored = join(data, 'secret.txt')
    await writeFile(armored, armor(await new Envelope({ keyring: oldKey.keyring }).encrypt('armored secret')))
    const run = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '-r', data])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^rewrapped 2 .*failed 0/)
    const newEnv = new Envelope({ keyring: newKey.keyring })
    const text = await readFile(armored, 'utf8')
    assert.ok(text.startsWith('-----BEGIN KMS-ENVELOPE MESSAGE-----\n'))
    assert.equal(await newEnv.decryptString(dearmor(text)), 'armored secret')
    assert.deepEqual((await newEnv.decrypt(await readFile(binary!))).plaintext, pattern(0, 1))
  })

  it('lists failures with their codes, exits with the failure kind, and refuses -o and bad --jobs', async (t) => {
    const dir = await tempDir(t)
    const oldKey = keyFile(dir, 'old', 'old.key')
    const newKey = keyFile(dir, 'new', 'new.key')
    const [good] = await writeMessages(join(dir, 'd'), oldKey.keyring, 1)
    const junk = join(dir, 'd', 'junk.txt')
    await writeFile(junk, 'plain text')
    const run = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '--in-place', good!, junk])
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /junk\.txt: .*\[ERR_FORMAT\]/)
    assert.match(run.stderr, /rewrapped 1 .*failed 1/)
    assert.match(run.stderr, /1 of 2 files could not be rewrapped/)
    const missing = await cli(['rewrap', '--key', newKey.spec, '--to', oldKey.spec, good!, join(dir, 'nope')])
    assert.equal(missing.code, 4, missing.stderr)
    const output = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '--in-place', '-o', join(dir, 'x'), good!])
    assert.equal(output.code, 2)
    assert.match(output.stderr, /takes no -o/)
    const jobs = await cli(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '--jobs', '0', good!])
    assert.equal(jobs.code, 2)
    assert.match(jobs.stderr, /--jobs must be a whole number from 1 to 64/)
  })

  it('shows progress on a terminal (files, bytes, rate, ETA), then the summary', { skip: NO_PTY }, async (t) => {
    const dir = await tempDir(t)
    const oldKey = keyFile(dir, 'old', 'old.key')
    const newKey = keyFile(dir, 'new', 'new.key')
    await writeMessages(join(dir, 'd'), oldKey.keyring, 8)
    const run = inTerminal(['rewrap', '--key', oldKey.spec, '--to', newKey.spec, '-r', join(dir, 'd')], { env: { CI: undefined } })
    assert.equal(run.code, 0, run.screen.toString())
    const screen = run.screen.toString()
    assert.match(screen, /8\/8 files 100% .*\/s +ETA 0:00/)
    assert.match(screen, /\r\x1b\[Krewrapped 8 /) // the bar erased before the summary
  })

  it('survives SIGKILL at random moments: every file stays old or new, a rerun finishes, no temp file is left', async (t) => {
    const dir = await tempDir(t)
    const oldKey = keyFile(dir, 'old', 'old.key')
    const newKey = keyFile(dir, 'new', 'new.key')
    const data = join(dir, 'data')
    const paths = await writeMessages(data, oldKey.keyring, 200)
    const either = new Envelope({ keyring: [oldKey.keyring, newKey.keyring] })
    const newEnv = new Envelope({ keyring: newKey.keyring })
    const next = seededInts(20261202)
    const args = [CLI, 'rewrap', '--key', oldKey.spec, '--to', newKey.spec, '--recursive', '--jobs', '2', '--quiet', data]
    let interrupted = 0
    let leftovers = 0
    let base = 80
    let done = 0
    const progress: number[] = []
    // Seeded kill times; a round that landed before the first file (a slow start on a busy
    // machine) pushes the next one later, so the kills reach the middle of the run anyway.
    while (progress.length < 12 && progress.filter((n, i) => n > (progress[i - 1] ?? 0) && n < 200).length < 3 && done < 200) {
      const child = spawn(process.execPath, args, { stdio: 'ignore' })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      const result = await Promise.race([sleep(base + next(120)).then(() => 'kill' as const), exited])
      if (result === 'kill') {
        child.kill('SIGKILL')
        await exited
        interrupted++
        leftovers += (await tempFiles(data)).length
      }
      const before = done
      done = 0
      for (const [i, path] of paths.entries()) {
        const { plaintext, keyId } = await either.decrypt(await readFile(path)) // never half-written: old or new, authentic
        assert.deepEqual(plaintext, pattern(i * 3, i + 1))
        if (keyId === 'new') done++
      }
      if (done === before) base = Math.round(base * 1.5)
      progress.push(done)
    }
    t.diagnostic(`files done after each round: ${progress.join(', ')} (${interrupted} rounds killed, ${leftovers} temp files left by the kills)`)
    assert.ok(
      progress.some((n, i) => n > (progress[i - 1] ?? 0) && n < 200),
      'no kill landed in the middle of a run',
    )
    const rest = await cli(args.slice(1).filter((a) => a !== '--quiet'))
    assert.equal(rest.code, 0, rest.stderr)
    assert.match(rest.stderr, new RegExp(`^rewrapped ${200 - done} .*skipped ${done} `))
    for (const [i, path] of paths.entries()) {
      const { plaintext, keyId } = await newEnv.decrypt(await readFile(path))
      assert.equal(keyId, 'new')
      assert.deepEqual(plaintext, pattern(i * 3, i + 1))
    }
    assert.equal((await readdir(data)).length, 200)
    assert.deepEqual(await tempFiles(data), [])
  })
})
