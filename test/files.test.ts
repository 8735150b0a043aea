import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import { readdirSync, statSync } from 'node:fs'
import { link, open, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { decryptFile, encryptFile } from '../src/node/index.js'
import { releaseBuffers } from '../src/node/release.js'
import { assertExpectedBackend, pattern, ROOT, rejectsWithCode, tempDir } from './helpers.js'
import { keystream } from './stream-helpers.js'

assertExpectedBackend()

const F = 64
const keyring = new LocalKeyring({ keyId: 'file-key', key: pattern(32, 31) })
const env = new Envelope({ keyring, frameSize: F })

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const tempFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.kmse-tmp'))

describe('encryptFile / decryptFile', () => {
  it('round trips sizes around frame boundaries, byte-compatible with the buffer API both ways', async (t) => {
    const dir = await tempDir(t)
    for (const size of [0, 1, F - 1, F, F + 1, 5 * F + 3]) {
      const plaintext = pattern(size, size + 1)
      const src = join(dir, `p${size}`)
      await writeFile(src, plaintext)
      await encryptFile(src, `${src}.kmse`, { envelope: env, context: { size: String(size) } })
      const message = await readFile(`${src}.kmse`)
      assert.deepEqual((await env.decrypt(message, { expectContext: { size: String(size) } })).plaintext, new Uint8Array(plaintext))
      const info = await decryptFile(`${src}.kmse`, `${src}.out`, { envelope: env, expectContext: { size: String(size) } })
      assert.deepEqual(new Uint8Array(await readFile(`${src}.out`)), plaintext)
      assert.deepEqual(info, { context: { size: String(size) }, keyIds: ['file-key'], keyId: 'file-key' })

      await writeFile(`${src}.buf`, await env.encrypt(plaintext))
      await decryptFile(`${src}.buf`, `${src}.buf.out`, { envelope: env })
      assert.deepEqual(new Uint8Array(await readFile(`${src}.buf.out`)), plaintext)
    }
    assert.deepEqual(tempFiles(dir), [])
  })

  it('50 MiB with the default frame size; the source is unchanged; new files are 0600; progress reaches the size', async (t) => {
    const dir = await tempDir(t)
    const big = new Envelope({ keyring })
    const plaintext = keystream(50 * 1024 * 1024, 7)
    const src = join(dir, 'big')
    await writeFile(src, plaintext)
    let last = 0
    let total = 0
    await encryptFile(src, join(dir, 'big.kmse'), {
      envelope: big,
      onProgress: (done, size) => {
        assert.ok(done >= last)
        last = done
        total = size
      },
    })
    assert.equal(last, plaintext.length)
    assert.equal(total, plaintext.length)
    assert.equal(inspect(await readFile(join(dir, 'big.kmse'))).plaintextBytes, plaintext.length)
    assert.equal((await stat(join(dir, 'big.kmse'))).mode & 0o777, 0o600)
    await decryptFile(join(dir, 'big.kmse'), join(dir, 'big.out'), { envelope: big })
    assert.equal(sha256(await readFile(join(dir, 'big.out'))), sha256(plaintext))
    assert.equal(sha256(await readFile(src)), sha256(plaintext))
  })

  it('never replaces an existing destination unless asked, and then atomically', async (t) => {
    const dir = await tempDir(t)
    const src = join(dir, 'src')
    const dst = join(dir, 'dst')
    await writeFile(src, 'new content')
    await writeFile(dst, 'old content')
    await rejectsWithCode(encryptFile(src, dst, { envelope: env }), 'ERR_OUTPUT_EXISTS')
    assert.equal(await readFile(dst, 'utf8'), 'old content')
    await encryptFile(src, dst, { envelope: env, overwrite: true })
    await decryptFile(dst, join(dir, 'back'), { envelope: env })
    assert.equal(await readFile(join(dir, 'back'), 'utf8'), 'new content')
    assert.deepEqual(tempFiles(dir), [])
  })

  it('a tampered, truncated or wrong-context message leaves no output and an existing destination as it was', async (t) => {
    const dir = await tempDir(t)
    const plaintext = pattern(20 * F + 5)
    const message = await env.encrypt(plaintext, { context: { a: 'b' } })
    const flipped = message.slice()
    flipped[message.length - 3]! ^= 1 // in the last frame: every earlier frame was already written to the temp file
    const cases = [
      { bytes: flipped, options: {}, code: 'ERR_AUTH' },
      { bytes: message.subarray(0, message.length - 21), options: {}, code: 'ERR_TRUNCATED' },
      { bytes: message, options: { expectContext: { a: 'c' } }, code: 'ERR_CONTEXT_MISMATCH' },
      { bytes: new Uint8Array(0), options: {}, code: 'ERR_TRUNCATED' },
    ]
    for (const [i, c] of cases.entries()) {
      const src = join(dir, `bad${i}`)
      await writeFile(src, c.bytes)
      await rejectsWithCode(decryptFile(src, join(dir, `out${i}`), { envelope: env, ...c.options }), c.code)
      await assert.rejects(stat(join(dir, `out${i}`)), { code: 'ENOENT' })
      await writeFile(join(dir, 'keep'), 'keep me')
      await rejectsWithCode(decryptFile(src, join(dir, 'keep'), { envelope: env, overwrite: true, ...c.options }), c.code)
      assert.equal(await readFile(join(dir, 'keep'), 'utf8'), 'keep me')
    }
    assert.deepEqual(tempFiles(dir), [])
  })

  it('refuses the source as destination (same path or a hard link), a missing source, bad options', async (t) => {
    const dir = await tempDir(t)
    const src = join(dir, 'same')
    await writeFile(src, 'do not touch')
    await link(src, join(dir, 'alias'))
    for (const dst of [src, join(dir, 'alias'), join(dir, '.', 'same')]) {
      await rejectsWithCode(encryptFile(src, dst, { envelope: env, overwrite: true }), 'ERR_INVALID_ARGUMENT')
      await rejectsWithCode(decryptFile(src, dst, { envelope: env, overwrite: true }), 'ERR_INVALID_ARGUMENT')
    }
    assert.equal(await readFile(src, 'utf8'), 'do not touch')
    await rejectsWithCode(encryptFile(join(dir, 'missing'), join(dir, 'x'), { envelope: env }), 'ENOENT')
    await assert.rejects(stat(join(dir, 'x')), { code: 'ENOENT' })
    await rejectsWithCode(encryptFile(src, join(dir, 'y'), {} as never), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(encryptFile(src, '', { envelope: env }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(encryptFile(src, join(dir, 'y'), { envelope: env, context: { 'kmse:a': 'b' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(encryptFile(src, join(dir, 'y'), { envelope: env, signal: AbortSignal.abort() }), 'ERR_ABORTED')
    await assert.rejects(stat(join(dir, 'y')), { code: 'ENOENT' })
    assert.deepEqual(tempFiles(dir), [])
  })
})

describe('a process killed in the middle (SIGKILL)', () => {
  const SIZE = 256 * 1024 * 1024
  const KEY_SEED = 3

  async function writeBig(path: string): Promise<string> {
    const hash = createHash('sha256')
    const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 1), Buffer.alloc(16))
    const zeros = Buffer.alloc(16 * 1024 * 1024)
    const handle = await open(path, 'w')
    try {
      for (let at = 0; at < SIZE; at += zeros.length) {
        const block = cipher.update(zeros)
        hash.update(block)
        await handle.write(block)
      }
    } finally {
      await handle.close()
    }
    return hash.digest('hex')
  }

  /** Starts encryptFile/decryptFile in a child, kills it once its temp file has data, returns how it ended. */
  async function killMidway(dir: string, mode: 'encrypt' | 'decrypt', src: string, dst: string, overwrite: boolean): Promise<void> {
    const script = join(dir, 'child.mjs')
    await writeFile(
      script,
      `import { Envelope, LocalKeyring } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/index.js')).href)}
import { encryptFile, decryptFile } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/node/index.js')).href)}
const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'kill-key', key: new Uint8Array(32).fill(${KEY_SEED}) }) })
await (process.argv[2] === 'encrypt' ? encryptFile : decryptFile)(process.argv[3], process.argv[4], { envelope: env, overwrite: process.argv[5] === '1' })
`,
    )
    const child = spawn(process.execPath, [script, mode, src, dst, overwrite ? '1' : '0'], { stdio: 'ignore' })
    const exited = once(child, 'exit')
    let killed = false
    for (let i = 0; i < 20_000 && child.exitCode === null; i++) {
      const temp = tempFiles(dir)[0]
      if (temp !== undefined && (statSync(join(dir, temp), { throwIfNoEntry: false })?.size ?? 0) > 1024 * 1024) {
        child.kill('SIGKILL')
        killed = true
        break
      }
      await sleep(1)
    }
    const [code, signal] = await exited
    assert.ok(killed && signal === 'SIGKILL', `the child was not killed mid-way (exit ${code}, ${signal}): make the input larger`)
  }

  it('encryptFile and decryptFile: the destination is absent or its old content, never partial', async (t) => {
    const dir = await tempDir(t)
    const src = join(dir, 'plain')
    const hash = await writeBig(src)
    const killEnv = new Envelope({ keyring: new LocalKeyring({ keyId: 'kill-key', key: new Uint8Array(32).fill(KEY_SEED) }) })

    await killMidway(dir, 'encrypt', src, join(dir, 'new.kmse'), false)
    await assert.rejects(stat(join(dir, 'new.kmse')), { code: 'ENOENT' })
    await writeFile(join(dir, 'old.kmse'), 'old ciphertext')
    await killMidway(dir, 'encrypt', src, join(dir, 'old.kmse'), true)
    assert.equal(await readFile(join(dir, 'old.kmse'), 'utf8'), 'old ciphertext')

    const message = join(dir, 'message.kmse')
    await encryptFile(src, message, { envelope: killEnv })
    await killMidway(dir, 'decrypt', message, join(dir, 'new.out'), false)
    await assert.rejects(stat(join(dir, 'new.out')), { code: 'ENOENT' })
    await writeFile(join(dir, 'old.out'), 'old plaintext')
    await killMidway(dir, 'decrypt', message, join(dir, 'old.out'), true)
    assert.equal(await readFile(join(dir, 'old.out'), 'utf8'), 'old plaintext')

    // The sources were never touched, and what a killed run left behind is only temp files.
    assert.equal(
      createHash('sha256')
        .update(await readFile(src))
        .digest('hex'),
      hash,
    )
    await decryptFile(message, join(dir, 'check'), { envelope: killEnv })
    assert.equal(
      createHash('sha256')
        .update(await readFile(join(dir, 'check')))
        .digest('hex'),
      hash,
    )
    const names = await readdir(dir)
    assert.ok(
      names.every((n) => ['plain', 'old.kmse', 'message.kmse', 'old.out', 'check', 'child.mjs'].includes(n) || n.endsWith('.kmse-tmp')),
      names.join(' '),
    )
  })
})

describe('releaseBuffers', () => {
  it('frees buffers that own their whole memory and leaves views and small buffers alone', () => {
    const owned = new Uint8Array(64 * 1024)
    const view = new Uint8Array(new ArrayBuffer(128 * 1024), 4096, 64 * 1024)
    const small = Buffer.from('pooled')
    const fromCipher = createCipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12)).update(Buffer.alloc(8192))
    releaseBuffers([owned, view, small, fromCipher])
    assert.equal(owned.byteLength, 0, 'detached')
    assert.equal(fromCipher.byteLength, 0, 'detached')
    assert.equal(view.byteLength, 64 * 1024)
    assert.equal(small.toString(), 'pooled')
  })
})
