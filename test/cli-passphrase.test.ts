import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { cli, keyFile, NO_PTY } from './cli-helpers.js'
import { CLI, tempDir } from './helpers.js'

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs the CLI on a pseudo-terminal and types `lines` (each after a pause, ended by Enter). */
function typing(args: readonly string[], lines: readonly string[]): { code: number | null; screen: string } {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ')
  const keys = lines.map((l) => `sleep 0.7; printf '%s\\r' ${quote(l)}`).join('; ')
  const result = spawnSync('sh', ['-c', `(${keys}; sleep 0.7) | script -qfec ${quote(command)} /dev/null`], {
    env: { ...process.env, CI: 'true', KMS_ENVELOPE_PASSPHRASE: '' },
    encoding: 'latin1',
  })
  return { code: result.status, screen: result.stdout }
}

describe('CLI --passphrase', () => {
  it('from KMS_ENVELOPE_PASSPHRASE when stdin is not a terminal', async (t) => {
    const dir = await tempDir(t)
    const out = join(dir, 'p.kmse')
    const env = { KMS_ENVELOPE_PASSPHRASE: 'pipe pass wörd', KMS_ENVELOPE_KEY: undefined }
    const enc = await cli(['encrypt', '--passphrase', '--work-factor', '10', '-o', out], 'piped secret', { env })
    assert.equal(enc.code, 0, enc.stderr)
    assert.doesNotMatch(enc.stderr, /pipe pass/)
    const dec = await cli(['decrypt', '--passphrase', out], undefined, { env })
    assert.equal(dec.code, 0, dec.stderr)
    assert.equal(dec.stdout.toString(), 'piped secret')
    const wrong = await cli(['decrypt', '--passphrase', out], undefined, { env: { ...env, KMS_ENVELOPE_PASSPHRASE: 'nope' } })
    assert.equal(wrong.code, 3)
    assert.match(wrong.stderr, /ERR_UNWRAP/)
    const none = await cli(['decrypt', '--passphrase', out], undefined, { env: { ...env, KMS_ENVELOPE_PASSPHRASE: undefined } })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /KMS_ENVELOPE_PASSPHRASE/)
  })

  it('refuses --passphrase with --key (a passphrase must be the only recipient)', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir)
    const r = await cli(['encrypt', '--passphrase', '-k', key.spec, '-o', join(dir, 'x')], 'x', { env: { KMS_ENVELOPE_PASSPHRASE: 'p' } })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /only recipient/)
    assert.equal(existsSync(join(dir, 'x')), false)
  })

  it('decrypt --passphrase also tries the --key keys', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir)
    const out = join(dir, 'k.kmse')
    assert.equal((await cli(['encrypt', '-k', key.spec, '-o', out], 'by key')).code, 0)
    const r = await cli(['decrypt', '--passphrase', '-k', key.spec, out], undefined, { env: { KMS_ENVELOPE_PASSPHRASE: 'unused' } })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), 'by key')
  })

  it('prompts twice on a terminal without echo, then once to decrypt', { skip: NO_PTY }, async (t) => {
    const dir = await tempDir(t)
    const input = join(dir, 'in.txt')
    writeFileSync(input, 'typed secret')
    const out = join(dir, 't.kmse')
    const enc = typing(['encrypt', '--passphrase', '--work-factor', '10', '-o', out, input], ['tty pass', 'tty pass'])
    assert.equal(enc.code, 0, enc.screen)
    assert.match(enc.screen, /Passphrase: [\s\S]*Passphrase again: /)
    assert.doesNotMatch(enc.screen, /tty pass/, 'the passphrase is not echoed')
    const dec = typing(['decrypt', '--passphrase', '-o', join(dir, 'back.txt'), out], ['tty pass'])
    assert.equal(dec.code, 0, dec.screen)
    assert.doesNotMatch(dec.screen, /again/)
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'typed secret')
  })

  it('two different passphrases on a terminal encrypt nothing', { skip: NO_PTY }, async (t) => {
    const dir = await tempDir(t)
    const input = join(dir, 'in.txt')
    writeFileSync(input, 'x')
    const out = join(dir, 'never.kmse')
    const r = typing(['encrypt', '--passphrase', '-o', out, input], ['one', 'two'])
    assert.equal(r.code, 2)
    assert.match(r.screen, /the two passphrases differ/)
    assert.equal(existsSync(out), false)
  })

  it('checks --work-factor before asking for anything', async () => {
    const r = await cli(['encrypt', '--passphrase', '--work-factor', '30'], 'x', { env: { KMS_ENVELOPE_PASSPHRASE: 'p' } })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--work-factor must be/)
  })
})
