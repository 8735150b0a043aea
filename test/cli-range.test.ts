/** `kms-envelope decrypt --range`: random access from the command line. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import { Envelope, LocalKeyring } from '../src/index.js'
import { loadLocalKeyring, writeKeyFile } from '../src/node/index.js'
import { CLI, pattern, tempDir } from './helpers.js'

function cli(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }))
  })
}

it('decrypt --range START-END writes exactly those bytes; a bad range is a usage error; an altered frame inside the range fails, outside it does not', async (t) => {
  const dir = await tempDir(t)
  const keyPath = join(dir, 'k.key')
  await writeKeyFile(keyPath, LocalKeyring.generate({ keyId: 'range-key' }))
  const env = new Envelope({ keyring: await loadLocalKeyring(keyPath), frameSize: 1024 })
  const plaintext = pattern(50 * 1024 + 77, 4)
  const message = await env.encrypt(plaintext, { context: { app: 'cli' } })
  const file = join(dir, 'm.kmse')
  await writeFile(file, message)
  const key = ['-k', `file:${keyPath}`]

  const mid = await cli(['decrypt', ...key, '-e', 'app=cli', '--range', '1000-5000', file])
  assert.equal(mid.code, 0, mid.stderr)
  assert.deepEqual(new Uint8Array(mid.stdout), plaintext.subarray(1000, 5000))
  const out = join(dir, 'tail.bin')
  const tail = await cli(['decrypt', ...key, '--range', `${plaintext.length - 10}-`, '-o', out, file])
  assert.equal(tail.code, 0, tail.stderr)
  assert.deepEqual(new Uint8Array(readFileSync(out)), plaintext.subarray(plaintext.length - 10))
  const past = await cli(['decrypt', ...key, '--range', `${plaintext.length + 5}-${plaintext.length + 9}`, file])
  assert.equal(past.code, 0, past.stderr)
  assert.equal(past.stdout.length, 0)

  for (const bad of ['5-1', 'x-3', '-3', '1-2-3']) {
    const r = await cli(['decrypt', ...key, '--range', bad, file])
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`)
  }
  const stdin = await cli(['decrypt', ...key, '--range', '0-1'])
  assert.equal(stdin.code, 2)
  assert.match(stdin.stderr, /needs an input file/)
  const wrong = await cli(['decrypt', ...key, '-e', 'app=other', '--range', '0-1', file])
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /ERR_CONTEXT_MISMATCH/)

  // Frame 10 altered: a range in frames 0-4 still reads, one touching frame 10 fails and writes no output file.
  const altered = message.slice()
  altered[message.length - 93 - (50 - 10) * 1040 + 5]! ^= 1 // 93: the final frame (77 bytes and its tag)
  await writeFile(file, altered)
  const before = await cli(['decrypt', ...key, '--range', '0-5000', file])
  assert.equal(before.code, 0, before.stderr)
  assert.deepEqual(new Uint8Array(before.stdout), plaintext.subarray(0, 5000))
  const failed = join(dir, 'failed.bin')
  const touching = await cli(['decrypt', ...key, '--range', '9000-12000', '-o', failed, file])
  assert.equal(touching.code, 1)
  assert.match(touching.stderr, /ERR_AUTH/)
  assert.equal(existsSync(failed), false)
})
