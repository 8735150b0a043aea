import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { cli } from './cli-helpers.js'
import { pattern, tempDir } from './helpers.js'

describe('CLI', () => {
  it('keygen writes a 0600 key file and never overwrites it', async (t) => {
    const dir = await tempDir(t)
    const key = join(dir, 'k.key')
    const r = await cli(['keygen', '-o', key, '--key-id', 'cli-key'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statSync(key).mode & 0o777, 0o600)
    const before = readFileSync(key, 'utf8')
    assert.match(before, /"keyId": "cli-key"/)
    const again = await cli(['keygen', '-o', key])
    assert.equal(again.code, 3)
    assert.match(again.stderr, /already exists.*ERR_KEY_FILE/)
    assert.equal(readFileSync(key, 'utf8'), before)
  })

  it('round trip with files and context; inspect prints the header as JSON', async (t) => {
    const dir = await tempDir(t)
    const key = join(dir, 'k.key')
    await cli(['keygen', '-q', '-o', key])
    const plain = join(dir, 'plain.bin')
    writeFileSync(plain, pattern(200_000, 4))
    const enc = join(dir, 'plain.kmse')
    const e = await cli(['encrypt', '--key', `file:${key}`, '-c', 'tenant=acme', '-c', 'kind=test', '-o', enc, plain])
    assert.equal(e.code, 0, e.stderr)
    assert.equal(e.stdout.length, 0)
    const info = await cli(['inspect', enc])
    assert.equal(info.code, 0, info.stderr)
    const parsed = JSON.parse(info.stdout.toString()) as { context: Record<string, string>; plaintextBytes: number; authenticated: boolean }
    assert.deepEqual(parsed.context, { kind: 'test', tenant: 'acme' })
    assert.equal(parsed.plaintextBytes, 200_000)
    assert.equal(parsed.authenticated, false)
    const out = join(dir, 'out.bin')
    const d = await cli(['decrypt', '-k', `file:${key}`, '-e', 'tenant=acme', '-o', out, enc])
    assert.equal(d.code, 0, d.stderr)
    assert.ok(readFileSync(out).equals(readFileSync(plain)))
    const wrong = await cli(['decrypt', '-k', `file:${key}`, '-e', 'tenant=other', '-o', join(dir, 'x'), enc])
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /ERR_CONTEXT_MISMATCH/)
    assert.equal(existsSync(join(dir, 'x')), false)
  })

  it('round trip through pipes (stdin to stdout)', async (t) => {
    const dir = await tempDir(t)
    const key = join(dir, 'k.key')
    await cli(['keygen', '-q', '-o', key])
    const data = pattern(70_000, 9)
    const e = await cli(['encrypt', '-k', `file:${key}`], data)
    assert.equal(e.code, 0, e.stderr)
    assert.equal(e.stdout.subarray(0, 4).toString(), 'KMSE')
    const d = await cli(['decrypt', '-k', `file:${key}`, '-'], e.stdout)
    assert.equal(d.code, 0, d.stderr)
    assert.ok(d.stdout.equals(Buffer.from(data)))
  })

  it('tampered input: exit 1, one line on stderr, no output file, nothing else in the directory', async (t) => {
    const dir = await tempDir(t)
    const key = join(dir, 'k.key')
    await cli(['keygen', '-q', '-o', key])
    const e = await cli(['encrypt', '-k', `file:${key}`], pattern(1000, 1))
    const tampered = Buffer.from(e.stdout)
    tampered[tampered.length - 20]! ^= 1
    const enc = join(dir, 'bad.kmse')
    writeFileSync(enc, tampered)
    const out = join(dir, 'out.bin')
    const d = await cli(['decrypt', '-k', `file:${key}`, '-o', out, enc])
    assert.equal(d.code, 1)
    assert.match(d.stderr, /^kms-envelope: .*\[ERR_AUTH\]\n$/)
    assert.equal(existsSync(out), false)
    assert.deepEqual((await readdir(dir)).sort(), ['bad.kmse', 'k.key'])
    const piped = await cli(['decrypt', '-k', `file:${key}`], tampered)
    assert.equal(piped.code, 1)
    assert.equal(piped.stdout.length, 0)
  })

  it('an existing output is kept unless --force', async (t) => {
    const dir = await tempDir(t)
    const key = join(dir, 'k.key')
    await cli(['keygen', '-q', '-o', key])
    const out = join(dir, 'out.kmse')
    writeFileSync(out, 'precious')
    const r = await cli(['encrypt', '-k', `file:${key}`, '-o', out], pattern(10))
    assert.equal(r.code, 4)
    assert.match(r.stderr, /already exists.*--force.*ERR_OUTPUT_EXISTS/)
    assert.equal(readFileSync(out, 'utf8'), 'precious')
    const forced = await cli(['encrypt', '-k', `file:${key}`, '-o', out, '--force'], pattern(10))
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(readFileSync(out).subarray(0, 4).toString(), 'KMSE')
  })

  it('several --key recipients: each key file alone decrypts', async (t) => {
    const dir = await tempDir(t)
    const k1 = join(dir, 'a.key')
    const k2 = join(dir, 'b.key')
    await cli(['keygen', '-q', '-o', k1])
    await cli(['keygen', '-q', '-o', k2])
    const e = await cli(['encrypt', '-k', `file:${k1}`, '-k', `file:${k2}`], Buffer.from('both'))
    for (const k of [k1, k2]) {
      const d = await cli(['decrypt', '-k', `file:${k}`], e.stdout)
      assert.equal(d.stdout.toString(), 'both')
    }
    const k3 = join(dir, 'c.key')
    await cli(['keygen', '-q', '-o', k3])
    const none = await cli(['decrypt', '-k', `file:${k3}`], e.stdout)
    assert.equal(none.code, 3)
    assert.match(none.stderr, /ERR_NO_MATCHING_KEY/)
  })

  it('usage errors exit 2 and point at --help; every command has --help', async () => {
    for (const args of [['bogus'], ['encrypt', '--nope'], ['encrypt', '-k', 'ftp:x'], ['decrypt', '-k', 'file:x', '-e', 'novalue'], ['keygen']]) {
      const r = await cli(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /--help/)
      assert.equal(r.stderr.trim().split('\n').length, 1)
    }
    for (const command of ['keygen', 'encrypt', 'decrypt', 'inspect']) {
      const r = await cli([command, '--help'])
      assert.equal(r.code, 0)
      assert.match(r.stdout.toString(), /^Usage: kms-envelope/)
    }
  })

  it('a missing key file or input is a clear error', async (t) => {
    const dir = await tempDir(t)
    const r = await cli(['encrypt', '-k', `file:${join(dir, 'missing.key')}`], Buffer.from('x'))
    assert.equal(r.code, 3)
    assert.match(r.stderr, /missing\.key: cannot read the key file: no such file \[ERR_KEY_FILE\]/)
    const key = join(dir, 'k.key')
    await cli(['keygen', '-q', '-o', key])
    const r2 = await cli(['encrypt', '-k', `file:${key}`, join(dir, 'nope.txt')])
    assert.equal(r2.code, 4)
    assert.match(r2.stderr, /nope\.txt: no such file/)
  })

  it('rewrap with local keys streams: new key decrypts, old key no longer listed, frames byte-identical; in place with --force', async (t) => {
    const dir = await tempDir(t)
    const a = join(dir, 'a.key')
    const b = join(dir, 'b.key')
    await cli(['keygen', '-q', '-o', a, '--key-id', 'old-key'])
    await cli(['keygen', '-q', '-o', b, '--key-id', 'new-key'])
    const plain = pattern(3_000_000, 5)
    const enc = join(dir, 'm.kmse')
    writeFileSync(enc, (await cli(['encrypt', '-k', `file:${a}`, '-c', 'tenant=acme'], plain)).stdout)
    const out = join(dir, 'r.kmse')
    const r = await cli(['rewrap', '--key', `file:${a}`, '--to', `file:${b}`, '-o', out, enc])
    assert.equal(r.code, 0, r.stderr)
    const before = JSON.parse((await cli(['inspect', enc])).stdout.toString()) as { headerBytes: number; recipients: Array<{ keyId: string }> }
    const after = JSON.parse((await cli(['inspect', out])).stdout.toString()) as {
      headerBytes: number
      recipients: Array<{ keyId: string }>
      plaintextBytes: number
    }
    assert.deepEqual(
      after.recipients.map((x) => x.keyId),
      ['new-key'],
    )
    assert.equal(after.plaintextBytes, plain.length)
    assert.ok(readFileSync(out).subarray(after.headerBytes).equals(readFileSync(enc).subarray(before.headerBytes)), 'frames unchanged')
    const d = await cli(['decrypt', '-k', `file:${b}`, out])
    assert.ok(d.stdout.equals(Buffer.from(plain)))
    const old = await cli(['decrypt', '-k', `file:${a}`, out])
    assert.equal(old.code, 3)
    assert.match(old.stderr, /ERR_NO_MATCHING_KEY/)
    // In place: the temp file replaces IN only after the whole copy.
    const inPlace = await cli(['rewrap', '-k', `file:${a}`, '-t', `file:${b}`, '--keep', '-o', enc, '--force', enc])
    assert.equal(inPlace.code, 0, inPlace.stderr)
    const kept = JSON.parse((await cli(['inspect', enc])).stdout.toString()) as { recipients: Array<{ keyId: string }> }
    assert.deepEqual(
      kept.recipients.map((x) => x.keyId),
      ['old-key', 'new-key'],
    )
    // A message cut at a frame boundary (final frame dropped) is refused and leaves no output.
    // (Rewrap does not read the frames' tags: a cut that still looks like a short final frame
    // is only detected when the message is decrypted.)
    const cut = join(dir, 'cut.kmse')
    writeFileSync(cut, readFileSync(out).subarray(0, after.headerBytes + 65536 + 16))
    const bad = await cli(['rewrap', '-k', `file:${b}`, '-t', `file:${a}`, '-o', join(dir, 'never'), cut])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /ERR_TRUNCATED/)
    assert.equal(existsSync(join(dir, 'never')), false)
  })
})
