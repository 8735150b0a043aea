/**
 * The CLI with ASCII armor: encrypt --armor, and decrypt/inspect/rewrap reading armor
 * wherever they read a message (file or stdin, any size, streamed).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { dearmor, Envelope } from '../src/index.js'
import { cli, keyFile } from './cli-helpers.js'
import { CLI, pattern, tempDir } from './helpers.js'

const ARMORED = /^-----BEGIN KMS-ENVELOPE MESSAGE-----\n([A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{4,64}\n-----END KMS-ENVELOPE MESSAGE-----\n$/

describe('CLI armor', () => {
  it('encrypt --armor writes armor; decrypt and inspect read it from a file or stdin', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir, 'armor-key')
    const enc = join(dir, 'm.txt')
    const e = await cli(['encrypt', '-a', '-k', key.spec, '-c', 'tenant=acme', '-o', enc], 'armored text')
    assert.equal(e.code, 0, e.stderr)
    const text = readFileSync(enc, 'utf8')
    assert.match(text, ARMORED)
    const { plaintext } = await new Envelope({ keyring: key.keyring }).decrypt(dearmor(text))
    assert.equal(Buffer.from(plaintext).toString(), 'armored text')
    for (const [args, input] of [
      [['decrypt', '-k', key.spec, '-e', 'tenant=acme', enc], undefined],
      [['decrypt', '-k', key.spec], text],
      [['decrypt', '-k', key.spec], `\r\n  ${text.replace(/\n/g, '\r\n')}\r\n`],
    ] as const) {
      const d = await cli(args, input)
      assert.equal(d.code, 0, d.stderr)
      assert.equal(d.stdout.toString(), 'armored text')
    }
    const info = await cli(['inspect', enc])
    assert.equal(info.code, 0, info.stderr)
    const parsed = JSON.parse(info.stdout.toString()) as { context: Record<string, string>; plaintextBytes: number }
    assert.deepEqual(parsed.context, { tenant: 'acme' })
    assert.equal(parsed.plaintextBytes, 12)
  })

  it('altered or cut armor is rejected (exit 1, ERR_FORMAT / ERR_TRUNCATED) and leaves no output file', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir)
    const text = (await cli(['encrypt', '--armor', '-k', key.spec], pattern(1000, 2))).stdout.toString()
    const cases: Array<[string, string]> = [
      [text.replace(/\n([A-Za-z0-9+/]{64})\n/, '\n$1 \n'), 'ERR_FORMAT'],
      [`${text}trailing garbage\n`, 'ERR_FORMAT'],
      [text.slice(0, text.length - 40), 'ERR_TRUNCATED'],
    ]
    for (const [input, code] of cases) {
      for (const command of ['decrypt', 'inspect']) {
        const out = join(dir, 'out')
        const r = await cli(command === 'decrypt' ? ['decrypt', '-k', key.spec, '-o', out] : ['inspect'], input)
        assert.equal(r.code, 1, `${command}: ${r.stderr}`)
        assert.match(r.stderr, new RegExp(`\\[${code}\\]\\n$`), command)
        assert.equal(existsSync(out), false, 'no output file')
      }
    }
    // A flipped character of the last line (the final frame's tag) is still canonical base64
    // of another message: authentication catches it.
    const flipped = text.replace(/\n([A-Za-z0-9+/])([A-Za-z0-9+/=]*\n-----END)/, (_, c: string, rest: string) => `\n${c === 'A' ? 'B' : 'A'}${rest}`)
    assert.notEqual(flipped, text)
    const r = await cli(['decrypt', '-k', key.spec], flipped)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /\[ERR_AUTH\]\n$/)
  })

  it('rewrap keeps armor on an armored message, --armor armors a binary one', async (t) => {
    const dir = await tempDir(t)
    const a = keyFile(dir, 'old', 'a.key')
    const b = keyFile(dir, 'new', 'b.key')
    const armored = (await cli(['encrypt', '--armor', '-k', a.spec], 'rewrap me')).stdout
    const r = await cli(['rewrap', '-q', '-k', a.spec, '--to', b.spec], armored)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout.toString(), ARMORED)
    assert.equal((await cli(['decrypt', '-k', b.spec], r.stdout)).stdout.toString(), 'rewrap me')
    const binary = (await cli(['encrypt', '-k', a.spec], 'binary in')).stdout
    const plain = await cli(['rewrap', '-q', '-k', a.spec, '--to', b.spec], binary)
    assert.equal(plain.stdout.subarray(0, 4).toString(), 'KMSE')
    const armoredOut = await cli(['rewrap', '-q', '--armor', '-k', a.spec, '--to', b.spec], binary)
    assert.match(armoredOut.stdout.toString(), ARMORED)
    assert.equal((await cli(['decrypt', '-k', b.spec], armoredOut.stdout)).stdout.toString(), 'binary in')
  })

  it('armor streams: 24 MiB through encrypt --armor | decrypt, same bytes', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir)
    const input = join(dir, 'big')
    const data = pattern(24 * 1024 * 1024 + 7, 5)
    writeFileSync(input, data)
    const encrypt = spawn(process.execPath, [CLI, 'encrypt', '--armor', '-k', key.spec, input], { stdio: ['ignore', 'pipe', 'pipe'] })
    const decrypt = spawn(process.execPath, [CLI, 'decrypt', '-k', key.spec], { stdio: [encrypt.stdout, 'pipe', 'pipe'] })
    let stderr = ''
    for (const child of [encrypt, decrypt]) child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const hash = createHash('sha256')
    let bytes = 0
    decrypt.stdout.on('data', (d: Buffer) => {
      hash.update(d)
      bytes += d.length
    })
    const [[encCode], [decCode]] = await Promise.all([once(encrypt, 'exit'), once(decrypt, 'exit')])
    assert.equal(encCode, 0, stderr)
    assert.equal(decCode, 0, stderr)
    assert.equal(bytes, data.length)
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'))
  })
})
