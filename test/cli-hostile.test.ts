import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { concatBytes } from '@noble/ciphers/utils.js'
import { PREAMBLE_BYTES } from '../src/format/constants.js'
import { encodeHeader } from '../src/format/header.js'
import { encodeRecipientsSection, parseHead } from '../src/format/message.js'
import { Envelope, LocalKeyring } from '../src/index.js'
import { escapeControls, printable, terminalSafeJson } from '../src/printable.js'
import { cli } from './cli-helpers.js'
import { tempDir } from './helpers.js'

/** Every byte a terminal could act on: C0 but \n, ESC, DEL and C1 as raw bytes or as UTF-8 (C2 80-9F). */
function assertTerminalSafe(bytes: Buffer, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    assert.ok(b >= 0x20 || b === 0x0a, `${what}: control byte 0x${b.toString(16)} at ${i}: ${JSON.stringify(bytes.toString())}`)
    assert.ok(b !== 0x7f && !(b >= 0x80 && b <= 0x9f && bytes[i - 1] === 0xc2), `${what}: DEL/C1 at ${i}`)
  }
  const text = bytes.toString('utf8')
  assert.doesNotMatch(text, /[\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]/, `${what}: bidi or line separator`)
}

// An OSC title change, a line erase with a forged success line, C1 CSI, a bidi override, LS.
const HOSTILE = `k\u001b]0;pwned\u0007\r\u001b[2Kdecryption OK\n\u009b31m\u202egnp.exe\u2028\u007f${'x'.repeat(3000)}`

describe('CLI: message-controlled strings never reach the terminal raw', () => {
  const key = LocalKeyring.generate({ keyId: 'real-key' })
  const env = new Envelope({ keyring: key })

  async function hostileMessage(): Promise<Uint8Array> {
    const message = await env.encrypt(new TextEncoder().encode('secret'), { context: { tenant: 'acme' } })
    const parsed = parseHead(message)
    assert.ok('head' in parsed)
    const { head } = parsed
    const tagEnd = head.authenticated.length + head.headerTag.length
    const r = head.recipients[0]!
    // The recipients section is not authenticated: anyone can put any key id there.
    const recipients = encodeRecipientsSection([
      { type: 'local', keyId: HOSTILE.slice(0, 2000), wrapped: r.wrapped },
      { type: 'aws-kms', keyId: `arn:\u001b[31m${HOSTILE.slice(0, 1000)}`, wrapped: r.wrapped },
    ])
    return concatBytes(message.subarray(0, tagEnd), recipients, message.subarray(head.bodyOffset))
  }

  it('decrypt, rewrap and inspect print hostile key ids escaped and bounded', async (t) => {
    const dir = await tempDir(t)
    const keyFile = join(dir, 'k.key')
    writeFileSync(keyFile, key.toKeyFile(), { mode: 0o600 })
    const msg = join(dir, 'm.kmse')
    writeFileSync(msg, await hostileMessage())

    const d = await cli(['decrypt', '-k', `file:${keyFile}`, msg])
    assert.equal(d.code, 3)
    assert.match(d.stderr.toString(), /ERR_NO_MATCHING_KEY/)
    assert.match(d.stderr.toString(), /k\\x1b\]0;pwned\\x07\\x0d\\x1b\[2Kdecryption OK\\x0a\\x9b31m\\u\{202e\}gnp\.exe/)
    assert.ok(d.stderrBytes.length < 2000, `key ids are bounded in messages, got ${d.stderrBytes.length} bytes`)
    assertTerminalSafe(d.stderrBytes, 'decrypt stderr')
    assert.equal(d.stderr.toString().split('\n').length, 2, 'one line')

    const w = await cli(['rewrap', '-k', `file:${keyFile}`, '--to', `file:${keyFile}`, '-o', join(dir, 'out'), msg])
    assert.equal(w.code, 3)
    assert.match(w.stderr.toString(), /ERR_NO_MATCHING_KEY/)
    assertTerminalSafe(w.stderrBytes, 'rewrap stderr')

    const i = await cli(['inspect', msg])
    assert.equal(i.code, 0, i.stderr.toString())
    assertTerminalSafe(i.stdout, 'inspect stdout')
    // Still exact: the JSON parses back to the very key ids in the message.
    const info = JSON.parse(i.stdout.toString()) as { recipients: Array<{ keyId: string }> }
    assert.equal(info.recipients[0]!.keyId, HOSTILE.slice(0, 2000))
  })

  it('inspect and decrypt escape a hostile context key in a header error', async (t) => {
    const dir = await tempDir(t)
    const message = await env.encrypt(new TextEncoder().encode('secret'), { context: { tenant: 'acme' } })
    const parsed = parseHead(message)
    assert.ok('head' in parsed)
    const { head } = parsed
    const header = encodeHeader({ ...head.header, context: new Map([['kmse:\u001b]0;t\u0007\u009b', 'v']]) })
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, header.length)
    const forged = concatBytes(message.subarray(0, 5), len, header, head.headerTag, message.subarray(head.authenticated.length + head.headerTag.length))
    const msg = join(dir, 'm.kmse')
    writeFileSync(msg, forged)
    assert.equal(forged.subarray(0, PREAMBLE_BYTES).length, PREAMBLE_BYTES)
    for (const args of [
      ['inspect', msg],
      ['decrypt', '-k', 'file:/nonexistent', msg],
    ]) {
      const r = await cli(args)
      assert.notEqual(r.code, 0)
      assertTerminalSafe(r.stderrBytes, `${args[0]} stderr`)
    }
    const r = await cli(['inspect', msg])
    assert.match(r.stderr.toString(), /reserved prefix.*ERR_FORMAT|"kmse:\\x1b\]0;t\\x07\\x9b".*ERR_FORMAT/)
  })
})

describe('printable', () => {
  it('escapes C0, DEL, C1, bidi controls, separators, lone surrogates and backslash; keeps the rest', () => {
    assert.equal(printable('a\u0000\u001f\u007f\u0080\u009f'), 'a\\x00\\x1f\\x7f\\x80\\x9f')
    assert.equal(printable('\u202e\u2066\u200f\u2028\u2029\ufeff\u061c'), '\\u{202e}\\u{2066}\\u{200f}\\u{2028}\\u{2029}\\u{feff}\\u{61c}')
    assert.equal(printable('\ud800x\udc00'), '\\u{d800}x\\u{dc00}')
    assert.equal(printable('é 日本 😀 \\'), 'é 日本 😀 \\\\')
    assert.equal(escapeControls('a\\b\u001b'), 'a\\b\\x1b')
    assert.equal(escapeControls(escapeControls('\u001b')), '\\x1b')
  })

  it('bounds the length in code points and says how long the text was', () => {
    assert.equal(printable('😀'.repeat(300), 3), '😀😀😀… (300 characters in all)')
    assert.equal(printable('abc', 3), 'abc')
  })

  it('terminalSafeJson parses back to the same value', () => {
    const value = { s: 'a\u007f\u0085\u202e\u2028\u001b"\\' }
    const json = terminalSafeJson(JSON.stringify(value))
    assert.doesNotMatch(json, /[\u007f-\u009f\u202e\u2028\u001b]/)
    assert.deepEqual(JSON.parse(json), value)
  })
})
