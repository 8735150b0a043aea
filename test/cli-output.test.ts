import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createReadStream, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { LocalKeyring } from '../src/index.js'
import { cli } from './cli-helpers.js'
import { tempDir } from './helpers.js'

async function keyIn(dir: string): Promise<string> {
  const key = join(dir, 'k.key')
  writeFileSync(key, LocalKeyring.generate({ keyId: 'out-key' }).toKeyFile(), { mode: 0o600 })
  return `file:${key}`
}

describe('CLI -o: devices, FIFOs and symlinks', () => {
  it('a symlink is never replaced: refused without --force; with --force its target is replaced and the link stays', async (t) => {
    const dir = await tempDir(t)
    const key = await keyIn(dir)
    const target = join(dir, 'target')
    writeFileSync(target, 'old')
    const link = join(dir, 'link')
    symlinkSync(target, link)
    const refused = await cli(['encrypt', '-k', key, '-o', link], 'secret')
    assert.equal(refused.code, 4)
    assert.match(refused.stderr, /link is a symbolic link; kms-envelope does not replace links.*--force/)
    assert.equal(readFileSync(target, 'utf8'), 'old')
    const forced = await cli(['encrypt', '-k', key, '-f', '-o', link], 'secret')
    assert.equal(forced.code, 0, forced.stderr)
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link')
    assert.equal(readlinkSync(link), target)
    const d = await cli(['decrypt', '-k', key, target], '')
    assert.equal(d.stdout.toString(), 'secret')
    const dangling = join(dir, 'dangling')
    symlinkSync(join(dir, 'nowhere'), dangling)
    assert.match((await cli(['encrypt', '-k', key, '-f', '-o', dangling], 'x')).stderr, /symbolic link to a file that does not exist/)
  })

  it('a FIFO is written through, with or without --force, and stays a FIFO', { timeout: 30_000 }, async (t) => {
    const dir = await tempDir(t)
    const key = await keyIn(dir)
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    for (const force of [[], ['-f']]) {
      const chunks: Buffer[] = []
      const reading = new Promise<void>((resolve, reject) => {
        const s = createReadStream(fifo)
        s.on('data', (d) => chunks.push(d as Buffer))
        s.on('end', resolve)
        s.on('error', reject)
      })
      const r = await cli(['encrypt', '-k', key, ...force, '-o', fifo], 'through the fifo')
      await reading
      assert.equal(r.code, 0, r.stderr)
      assert.ok(statSync(fifo).isFIFO())
      const message = join(dir, 'm')
      writeFileSync(message, Buffer.concat(chunks))
      assert.equal((await cli(['decrypt', '-k', key, message], '')).stdout.toString(), 'through the fifo')
    }
  })

  it('/dev/stdout and /dev/null are written through, not refused as existing', async (t) => {
    const dir = await tempDir(t)
    const key = await keyIn(dir)
    const enc = await cli(['encrypt', '-k', key, '-o', '/dev/stdout'], 'to stdout')
    assert.equal(enc.code, 0, enc.stderr)
    const message = join(dir, 'm')
    writeFileSync(message, enc.stdout)
    const dec = await cli(['decrypt', '-k', key, '-o', '/dev/stdout', message], '')
    assert.equal(dec.code, 0, dec.stderr)
    assert.equal(dec.stdout.toString(), 'to stdout')
    const nul = await cli(['decrypt', '-k', key, '-o', '/dev/null', message], '')
    assert.equal(nul.code, 0, nul.stderr)
    assert.equal(nul.stdout.length, 0)
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device')
  })
})
