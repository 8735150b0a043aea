import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileProgress } from '../src/node/cli/file-batch.js'
import { formatBytes, progressWanted, renderProgress, startProgress } from '../src/node/cli/progress.js'
import { CLI, pattern, tempDir } from './helpers.js'

const node = process.execPath
const run = (args: string[], input?: Uint8Array) => spawnSync(node, [CLI, ...args], { input, maxBuffer: 64 * 1024 * 1024 })
const noCi = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.CI
  return env
}

async function keyFile(dir: string): Promise<string> {
  const path = join(dir, 'key')
  const result = run(['keygen', '-q', '-o', path])
  assert.equal(result.status, 0, result.stderr.toString())
  return `file:${path}`
}

describe('CLI streaming', () => {
  it('200 MiB through a pipe: encrypt | decrypt gives the same bytes, nothing on stderr', async (t) => {
    const dir = await tempDir(t)
    const key = await keyFile(dir)
    const encrypt = spawn(node, [CLI, 'encrypt', '-k', key, '-c', 'job=pipe'], { stdio: ['pipe', 'pipe', 'pipe'] })
    const decrypt = spawn(node, [CLI, 'decrypt', '-k', key, '-e', 'job=pipe'], { stdio: [encrypt.stdout, 'pipe', 'pipe'] })
    let stderr = ''
    encrypt.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    decrypt.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const output = createHash('sha256')
    let outputBytes = 0
    decrypt.stdout.on('data', (d: Buffer) => {
      output.update(d)
      outputBytes += d.length
    })
    const exits = Promise.all([once(encrypt, 'exit'), once(decrypt, 'exit')])

    // A fast deterministic source: AES-CTR keystream, written with backpressure.
    const input = createHash('sha256')
    const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16))
    const block = Buffer.alloc(1024 * 1024)
    const total = 200 * 1024 * 1024
    for (let sent = 0; sent < total; sent += block.length) {
      const chunk = cipher.update(block)
      input.update(chunk)
      if (!encrypt.stdin.write(chunk)) await once(encrypt.stdin, 'drain')
    }
    encrypt.stdin.end()
    const [[encCode], [decCode]] = await exits
    assert.equal(encCode, 0, stderr)
    assert.equal(decCode, 0, stderr)
    assert.equal(outputBytes, total)
    assert.equal(output.digest('hex'), input.digest('hex'))
    assert.equal(stderr, '', 'nothing extra on stderr in a pipe')
  })

  it('a tampered file: exit 1, no output file, no temp file; a good one decrypts to -o', async (t) => {
    const dir = await tempDir(t)
    const key = await keyFile(dir)
    const plaintext = pattern(300_000)
    await writeFile(join(dir, 'in'), plaintext)
    const enc = run(['encrypt', '-k', key, '-o', join(dir, 'in.kmse'), join(dir, 'in')])
    assert.equal(enc.status, 0, enc.stderr.toString())
    assert.equal(enc.stderr.length, 0)
    const message = await readFile(join(dir, 'in.kmse'))
    for (const at of [message.length - 5, 2000, 100]) {
      const bad = Buffer.from(message)
      bad[at]! ^= 1
      await writeFile(join(dir, 'bad.kmse'), bad)
      const dec = run(['decrypt', '-k', key, '-o', join(dir, 'out'), join(dir, 'bad.kmse')])
      assert.equal(dec.status, 1, `flip at ${at}: ${dec.stderr.toString()}`)
      assert.match(dec.stderr.toString(), /ERR_(AUTH|FORMAT|UNWRAP)/)
      await assert.rejects(stat(join(dir, 'out')), { code: 'ENOENT' })
    }
    const cut = run(['decrypt', '-k', key, '-o', join(dir, 'out')], message.subarray(0, message.length - 100))
    assert.equal(cut.status, 1)
    await assert.rejects(stat(join(dir, 'out')), { code: 'ENOENT' })
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.kmse-tmp')),
      [],
    )

    const good = run(['decrypt', '-k', key, '-o', join(dir, 'out'), join(dir, 'in.kmse')])
    assert.equal(good.status, 0, good.stderr.toString())
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'out'))), plaintext)
  })

  it('refuses to write over its input, even with --force (exit 2)', async (t) => {
    const dir = await tempDir(t)
    const key = await keyFile(dir)
    await writeFile(join(dir, 'f'), 'precious')
    const result = run(['encrypt', '-k', key, '-f', '-o', join(dir, 'f'), join(dir, 'f')])
    assert.equal(result.status, 2)
    assert.match(result.stderr.toString(), /is the input file/)
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'precious')
  })

  it('shows a progress bar on a terminal (stderr is a TTY, size known), not with --quiet', {
    skip: spawnSync('script', ['--version']).status !== 0 && 'needs script(1) for a pseudo-terminal',
  }, async (t) => {
    const dir = await tempDir(t)
    const key = await keyFile(dir)
    await writeFile(join(dir, 'in'), pattern(4 * 1024 * 1024))
    const command = (extra: string) => `${node} ${CLI} encrypt ${extra} -k ${key} -o ${join(dir, `out${extra}`)} ${join(dir, 'in')}`
    const shown = spawnSync('script', ['-qec', command(''), '/dev/null'], { env: noCi() })
    assert.equal(shown.status, 0, shown.stdout.toString())
    assert.match(shown.stdout.toString(), /%.*iB \/ 4\.00 MiB .*\/s +ETA/)
    const quiet = spawnSync('script', ['-qec', command('-q'), '/dev/null'], { env: noCi() })
    assert.equal(quiet.status, 0)
    assert.equal(quiet.stdout.length, 0)
    const ci = spawnSync('script', ['-qec', command('--force'), '/dev/null'], { env: { ...noCi(), CI: 'true' } })
    assert.equal(ci.status, 0)
    assert.equal(ci.stdout.length, 0)
  })
})

describe('progress bar', () => {
  it('renders percent, bytes, rate and ETA within the terminal width', () => {
    const line = renderProgress(512 * 1024 * 1024, 1024 * 1024 * 1024, 2000, 100)
    assert.match(line, /^ 50% \[#+-+\] 512\.0 MiB \/ 1\.00 GiB {2}256\.0 MiB\/s {2}ETA 0:02$/)
    assert.ok(line.length < 100)
    assert.ok(renderProgress(1, 10, 0, 20).length < 20)
    assert.match(renderProgress(0, 0, 5, 80), /^100%/)
    assert.equal(formatBytes(1536), '1.50 KiB')
    assert.equal(formatBytes(12), '12 B')
  })

  it('draws on the first update even in a process younger than the redraw interval (Node 24 starts the CLI in under 100 ms)', (t) => {
    // performance.now() counts from the process start: a bar that compared it against 0 stayed
    // blank for a file done within the first 100 ms of the process, as on Node 24.
    t.mock.method(performance, 'now', () => 5)
    const written: string[] = []
    const tty = { isTTY: true, columns: 80, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream
    const ci = process.env.CI
    delete process.env.CI
    const stderr = Object.getOwnPropertyDescriptor(process, 'stderr')!
    Object.defineProperty(process, 'stderr', { value: tty, configurable: true })
    try {
      startProgress(1000, false, tty).update(10)
      fileProgress(3, 1000, false).update(10)
    } finally {
      Object.defineProperty(process, 'stderr', stderr)
      if (ci !== undefined) process.env.CI = ci
    }
    assert.equal(written.length, 2, JSON.stringify(written))
    assert.match(written[0]!, /^\r +1% .* 10 B \/ 1000 B /)
    assert.match(written[1]!, /^\r1\/3 files +1% .* 10 B \/ 1000 B /)
  })

  it('is wanted only on a TTY, with a known size, without --quiet, outside CI', () => {
    const tty = { isTTY: true }
    assert.equal(progressWanted(100, false, tty, {}), true)
    assert.equal(progressWanted(undefined, false, tty, {}), false)
    assert.equal(progressWanted(100, true, tty, {}), false)
    assert.equal(progressWanted(100, false, { isTTY: false }, {}), false)
    assert.equal(progressWanted(100, false, tty, { CI: 'true' }), false)
    assert.equal(progressWanted(100, false, tty, { CI: 'false' }), true)
  })
})
