/**
 * What reaches a terminal: every case runs the CLI on a real pseudo-terminal (util-linux
 * `script`) and checks the screen and the exit code.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { armor, Envelope, LocalKeyring } from '../src/index.js'
import { inTerminal, keyFile, NO_PTY } from './cli-helpers.js'
import { tempDir } from './helpers.js'

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t)
  const key = keyFile(dir, 'tty-key')
  const env = new Envelope({ keyring: key.keyring, frameSize: 1024 })
  const message = async (name: string, plaintext: string | Uint8Array): Promise<string> => {
    const path = join(dir, name)
    writeFileSync(path, await env.encrypt(plaintext))
    return path
  }
  return { dir, key, env, message }
}

describe('CLI on a terminal', { skip: NO_PTY }, () => {
  it('decrypt prints text (tabs, LF and CRLF line ends) to a terminal, binary or armored input alike', async (t) => {
    const { dir, key, env, message } = await setup(t)
    const text = 'héllo, wörld\n\tindented\r\nwindows line\n'
    const r = inTerminal(['decrypt', '-k', key.spec, await message('t.kmse', text)])
    assert.equal(r.code, 0, r.screen.toString())
    assert.equal(r.screen.toString(), text)
    const armored = join(dir, 't.txt')
    writeFileSync(armored, armor(await env.encrypt(text)))
    const a = inTerminal(['decrypt', '-k', key.spec, armored])
    assert.equal(a.code, 0, a.screen.toString())
    assert.equal(a.screen.toString(), text)
  })

  it('refuses control characters, bidi controls, invalid UTF-8 and binary, naming -o -; prints none of it', async (t) => {
    const { key, message } = await setup(t)
    const cases: Array<[string, string | Uint8Array, RegExp]> = [
      ['escape', 'safe start \u001b]0;title\u0007 SECRET-ESC', /control character \\x1b on line 1/],
      ['bare CR', 'fake\rSECRET-CR', /control character \\x0d/],
      ['C1', 'x\u009bSECRET-C1', /control character \\x9b/],
      ['bidi', 'line\nabc\u202eSECRET-BIDI', /control character \\u\{202e\} on line 2/],
      ['invalid UTF-8', Uint8Array.from([0x53, 0x45, 0x43, 0xff, 0x52]), /binary plaintext \(not UTF-8 text\)/],
      ['binary', Uint8Array.from([0, 1, 2, 3, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54]), /control character \\x00/],
    ]
    for (const [name, plaintext, expected] of cases) {
      const r = inTerminal(['decrypt', '-k', key.spec, await message(`${name}.kmse`, plaintext)])
      const screen = r.screen.toString('latin1')
      assert.equal(r.code, 2, `${name}: ${screen}`)
      assert.match(screen, expected, name)
      assert.match(screen, /use -o FILE or a pipe, or -o - to print it anyway/, name)
      assert.doesNotMatch(screen, /SECRET|SEC\xffR/, `${name}: no plaintext on the screen`)
      assert.equal(screen.trim().split('\n').length, 1, `${name}: one line`)
    }
  })

  it('-o /dev/stdout on a terminal is the terminal: the same checks as no -o', async (t) => {
    const { dir, key, message } = await setup(t)
    const r = inTerminal(['decrypt', '-k', key.spec, '-o', '/dev/stdout', await message('e.kmse', 'x\u001b[2JSECRET')])
    assert.equal(r.code, 2)
    assert.doesNotMatch(r.screen.toString(), /SECRET/)
    const ok = inTerminal(['decrypt', '-k', key.spec, '-o', '/dev/stdout', await message('ok.kmse', 'plain text\n')])
    assert.equal(ok.code, 0)
    assert.equal(ok.screen.toString(), 'plain text\n')
    const plain = join(dir, 'p')
    writeFileSync(plain, 'x')
    const e = inTerminal(['encrypt', '-k', key.spec, '-o', '/dev/stdout', plain])
    assert.equal(e.code, 2)
    assert.match(e.screen.toString(), /refusing to write binary output to a terminal/)
  })

  it('-o - writes binary plaintext to the terminal all the same (the user asked)', async (t) => {
    const { key, message } = await setup(t)
    const r = inTerminal(['decrypt', '-k', key.spec, '-o', '-', await message('b.kmse', Uint8Array.from([0x41, 0x01, 0x42, 0x07, 0x43]))])
    assert.equal(r.code, 0, r.screen.toString())
    assert.deepEqual([...r.screen], [0x41, 0x01, 0x42, 0x07, 0x43])
  })

  it('text over 1 MiB is refused on a terminal (nothing printed) and printed with -o -', async (t) => {
    const { key, message } = await setup(t)
    const big = await message('big.kmse', `${'abcdefghi\n'.repeat(110_000)}`)
    const r = inTerminal(['decrypt', '-k', key.spec, big])
    assert.equal(r.code, 2)
    assert.match(
      r.screen.toString(),
      /^kms-envelope: the plaintext is over 1 MiB, more than a terminal shows: use -o FILE or a pipe \(\| less\), or -o - to print it anyway/,
    )
    assert.doesNotMatch(r.screen.toString(), /abcdefghi/)
    const forced = inTerminal(['decrypt', '-k', key.spec, '-o', '-', big])
    assert.equal(forced.code, 0)
    assert.equal(forced.screen.length, 1_100_000)
  })

  it('a message altered in its last frame prints nothing, although the frames before it are authentic', async (t) => {
    const { dir, key, env } = await setup(t)
    const message = await env.encrypt(`${'VISIBLE-IF-RELEASED '.repeat(200)}\n`) // 4 frames of 1024 bytes
    message[message.length - 3]! ^= 1
    const path = join(dir, 'altered.kmse')
    writeFileSync(path, message)
    const r = inTerminal(['decrypt', '-k', key.spec, path])
    assert.equal(r.code, 1)
    assert.match(r.screen.toString(), /^kms-envelope: .*\[ERR_AUTH\]\n$/)
    assert.doesNotMatch(r.screen.toString(), /VISIBLE/)
  })

  it('encrypt refuses binary ciphertext on a terminal (suggesting --armor and -o -); --armor prints armor', async (t) => {
    const { dir, key } = await setup(t)
    const plain = join(dir, 'p.txt')
    writeFileSync(plain, 'to armor')
    const r = inTerminal(['encrypt', '-k', key.spec, plain])
    assert.equal(r.code, 2)
    assert.match(r.screen.toString(), /refusing to write binary output to a terminal: use -o FILE or a pipe, --armor for text, or -o - to write it anyway/)
    const a = inTerminal(['encrypt', '-k', key.spec, '--armor', plain])
    assert.equal(a.code, 0, a.screen.toString())
    assert.match(
      a.screen.toString(),
      /^-----BEGIN KMS-ENVELOPE MESSAGE-----\n([A-Za-z0-9+/]{64}\n)+[A-Za-z0-9+/=]{4,64}\n-----END KMS-ENVELOPE MESSAGE-----\n$/,
    )
  })

  it('keygen never prints a key to a terminal unless asked with -o -', async (t) => {
    const dir = await tempDir(t)
    const r = inTerminal(['keygen'], { cwd: dir })
    assert.equal(r.code, 2)
    assert.match(r.screen.toString(), /keygen needs -o FILE \(or -o - to print the key file to stdout\)/)
    assert.doesNotMatch(r.screen.toString(), /"key"/)
    const asked = inTerminal(['keygen', '-o', '-', '--key-id', 'shown'], { redirect: '2>/dev/null' })
    assert.equal(asked.code, 0)
    const keyring = LocalKeyring.fromKeyFile(asked.screen.toString())
    assert.equal(keyring.keyId, 'shown')
  })
})
