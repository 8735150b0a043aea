import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, LocalKeyring } from '../src/index.js'
import { encryptFile, loadLocalKeyring } from '../src/node/index.js'
import { cli } from './cli-helpers.js'
import { CLI, pattern, rejectsWithCode, tempDir } from './helpers.js'

async function setup(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; key: string; keyring: LocalKeyring }> {
  const dir = await tempDir(t)
  const keyring = LocalKeyring.generate({ keyId: 'surface-key' })
  const key = join(dir, 'k.key')
  writeFileSync(key, keyring.toKeyFile(), { mode: 0o600 })
  return { dir, key, keyring }
}

describe('CLI: context pairs named __proto__', () => {
  it('-c __proto__=y is written to the context and -e __proto__=x is checked', async (t) => {
    const { dir, key } = await setup(t)
    const plain = join(dir, 'p')
    writeFileSync(plain, 'hello')
    const enc = join(dir, 'p.kmse')
    const e = await cli(['encrypt', '-k', `file:${key}`, '-c', '__proto__=y', '-c', 'constructor=z', '-o', enc, plain])
    assert.equal(e.code, 0, e.stderr)
    const info = JSON.parse((await cli(['inspect', enc])).stdout.toString()) as { context: Record<string, string> }
    assert.deepEqual(Object.entries(info.context), [
      ['__proto__', 'y'],
      ['constructor', 'z'],
    ])
    const wrong = await cli(['decrypt', '-k', `file:${key}`, '-e', '__proto__=x', enc])
    assert.equal(wrong.code, 1, wrong.stderr)
    assert.match(wrong.stderr, /--expect-context for key\(s\) "__proto__".*ERR_CONTEXT_MISMATCH/)
    assert.doesNotMatch(wrong.stderr, /expectContext/)
    const right = await cli(['decrypt', '-k', `file:${key}`, '-e', '__proto__=y', enc])
    assert.equal(right.code, 0, right.stderr)
    assert.equal(right.stdout.toString(), 'hello')
    const twice = await cli(['decrypt', '-k', `file:${key}`, '-e', '__proto__=y', '-e', '__proto__=y', enc])
    assert.equal(twice.code, 2)
    assert.match(twice.stderr, /gives "__proto__" twice/)
  })
})

describe('CLI: a reader that closes the pipe early', () => {
  it('decrypt | head -c 10 ends quietly with exit 0', async (t) => {
    const { dir, key, keyring } = await setup(t)
    const plain = join(dir, 'big')
    writeFileSync(plain, pattern(8 * 1024 * 1024, 2))
    const enc = join(dir, 'big.kmse')
    await encryptFile(plain, enc, { envelope: new Envelope({ keyring }) })
    // A real shell pipeline: head exits after 10 bytes and the pipe's read end closes.
    const status = execFileSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" decrypt -k "file:${key}" "${enc}" 2>"${dir}/err2" | head -c 10 >/dev/null; echo $?`],
      { encoding: 'utf8' },
    ).trim()
    assert.equal(status, '0')
    assert.equal(readFileSync(join(dir, 'err2'), 'utf8'), '')
  })
})

describe('CLI and API errors name their own options', () => {
  it('an existing output: the CLI says --force, the API says overwrite', async (t) => {
    const { dir, key, keyring } = await setup(t)
    const plain = join(dir, 'p')
    writeFileSync(plain, 'x')
    const exists = join(dir, 'exists')
    writeFileSync(exists, 'old')
    const r = await cli(['encrypt', '-k', `file:${key}`, '-o', exists, plain])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /already exists; choose another path or pass --force to replace it \[ERR_OUTPUT_EXISTS\]/)
    const error = await rejectsWithCode(encryptFile(plain, exists, { envelope: new Envelope({ keyring }) }), 'ERR_OUTPUT_EXISTS')
    assert.match(error.message, /overwrite: true/)
    assert.doesNotMatch(error.message, /--force/)
  })

  it('--frame-size is checked under its own name', async (t) => {
    const { dir, key } = await setup(t)
    for (const bad of ['12', 'abc', '1e9', '']) {
      const r = await cli(['encrypt', '-k', `file:${key}`, '--frame-size', bad, '-o', join(dir, 'o')], new Uint8Array(1))
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /--frame-size must be a whole number of bytes from 64 to 4194304/)
      assert.doesNotMatch(r.stderr, /frameSize/)
    }
  })

  it('-o in a missing directory names the directory, not a temp file', async (t) => {
    const { dir, key } = await setup(t)
    const r = await cli(['encrypt', '-k', `file:${key}`, '-o', join(dir, 'nonexistent', 'x')], new Uint8Array(1))
    assert.equal(r.code, 4)
    assert.match(r.stderr, new RegExp(`${join(dir, 'nonexistent')}: no such file or directory \\[ENOENT\\]`))
    assert.doesNotMatch(r.stderr, /kmse-tmp/)
  })

  it('generated key ids print once, not as local:local:…', async (t) => {
    const { dir } = await setup(t)
    const k1 = join(dir, 'k1')
    const k2 = join(dir, 'k2')
    assert.equal((await cli(['keygen', '-q', '-o', k1])).code, 0)
    assert.equal((await cli(['keygen', '-q', '-o', k2])).code, 0)
    const enc = await cli(['encrypt', '-k', `file:${k1}`], Buffer.from('x'))
    const r = await cli(['decrypt', '-k', `file:${k2}`], enc.stdout)
    assert.equal(r.code, 3)
    assert.match(r.stderr, /ERR_NO_MATCHING_KEY/)
    assert.match(r.stderr, /local:[0-9a-f]{16}/)
    assert.doesNotMatch(r.stderr, /local:local:/)
  })
})

describe('key files are opened once and checked on the handle', () => {
  it('follows a symlink and checks the file it leads to; refuses a FIFO (without hanging), a huge file and a file of another owner', async (t) => {
    const { dir, key } = await setup(t)
    const link = join(dir, 'link.key')
    symlinkSync(key, link)
    assert.equal((await loadLocalKeyring(link)).keyId, 'surface-key')
    const fifo = join(dir, 'fifo.key')
    execFileSync('mkfifo', [fifo])
    await assert.rejects(loadLocalKeyring(fifo), /is not a regular file/)
    const fifoLink = join(dir, 'fifo-link.key')
    symlinkSync(fifo, fifoLink)
    await rejectsWithCode(loadLocalKeyring(fifoLink), 'ERR_KEY_FILE')
    await assert.rejects(loadLocalKeyring(fifoLink), /is not a regular file/)
    const dangling = join(dir, 'dangling.key')
    symlinkSync(join(dir, 'nowhere'), dangling)
    await assert.rejects(loadLocalKeyring(dangling), /cannot read the key file: no such file/)
    const huge = join(dir, 'huge.key')
    writeFileSync(huge, Buffer.alloc(1024 * 1024, 0x20), { mode: 0o600 })
    await assert.rejects(loadLocalKeyring(huge), /is 1048576 bytes/)
    if (process.getuid?.() === 0) {
      const other = join(dir, 'other.key')
      writeFileSync(other, readFileSync(key), { mode: 0o600 })
      chownSync(other, 4242, 4242)
      await assert.rejects(loadLocalKeyring(other), /belongs to user 4242/)
      // Behind a symlink the owner check still applies: it is the opened file's.
      const otherLink = join(dir, 'other-link.key')
      symlinkSync(other, otherLink)
      await assert.rejects(loadLocalKeyring(otherLink), /belongs to user 4242/)
    }
    assert.equal((await loadLocalKeyring(key)).keyId, 'surface-key')
    assert.ok(existsSync(fifo))
  })
})
