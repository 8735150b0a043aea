import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { ArmorVector } from '../scripts/gen-armor-vectors.js'
import { ARMOR_VECTORS_DIR, armorVectors, vectorFile } from '../scripts/gen-armor-vectors.js'
import { ArmorDecoder, ArmorEncoder } from '../src/format/armor.js'
import { ARMOR_BEGIN, ARMOR_END, armor, dearmor, Envelope, LocalKeyring } from '../src/index.js'
import { pattern, rejectsWithCode, VECTORS_DIR } from './helpers.js'

const onDisk: ArmorVector[] = readdirSync(ARMOR_VECTORS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(ARMOR_VECTORS_DIR, f), 'utf8')) as ArmorVector)

/** Runs the streaming decoder over `bytes` cut into pieces of `size` bytes. */
function dearmorInPieces(bytes: Uint8Array, size: number): Uint8Array {
  const decoder = new ArmorDecoder()
  const out: number[] = []
  const emit = (chunk: Uint8Array): void => {
    out.push(...chunk)
  }
  for (let i = 0; i < bytes.length; i += size) decoder.push(bytes.subarray(i, i + size), emit)
  decoder.finish(emit)
  return Uint8Array.from(out)
}

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return String((error as { code?: unknown }).code)
  }
  return 'success'
}

describe('armor / dearmor', () => {
  it('writes the BEGIN line, 64-character base64 lines (the last shorter or equal), the END line and a final newline', () => {
    for (const n of [0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 1000]) {
      const message = pattern(n, n)
      const text = armor(message)
      const lines = text.split('\n')
      assert.equal(lines[0], ARMOR_BEGIN)
      assert.equal(lines.at(-2), ARMOR_END)
      assert.equal(lines.at(-1), '', 'ends in a newline')
      const body = lines.slice(1, -2)
      assert.equal(body.length, Math.ceil(n / 48), `${n} bytes`)
      for (const line of body.slice(0, -1)) assert.equal(line.length, 64)
      if (body.length > 0) assert.ok(body.at(-1)!.length >= 4 && body.at(-1)!.length <= 64)
      assert.equal(Buffer.from(body.join(''), 'base64').equals(Buffer.from(message)), true, 'standard padded base64')
      assert.deepEqual(dearmor(text), message)
      assert.deepEqual(dearmor(new TextEncoder().encode(text)), message)
    }
  })

  it('round-trips a real message, which then decrypts', async () => {
    const env = new Envelope({ keyring: LocalKeyring.generate({ keyId: 'armor-key' }) })
    const message = await env.encrypt('armored hello', { context: { purpose: 'test' } })
    const { plaintext } = await env.decrypt(dearmor(armor(message)))
    assert.equal(new TextDecoder().decode(plaintext), 'armored hello')
  })

  it('the streaming encoder gives the same text for any chunking', () => {
    const message = pattern(5000, 3)
    const whole = armor(message)
    for (const size of [1, 7, 47, 48, 49, 4096]) {
      const encoder = new ArmorEncoder()
      let text = ''
      const emit = (chunk: Uint8Array): void => {
        text += new TextDecoder().decode(chunk)
      }
      for (let i = 0; i < message.length; i += size) encoder.push(message.subarray(i, i + size), emit)
      encoder.finish(emit)
      assert.equal(text, whole, `chunks of ${size}`)
    }
  })

  it('rejects what is not a string or bytes with ERR_INVALID_ARGUMENT', () => {
    assert.throws(() => armor('text' as unknown as Uint8Array), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => dearmor(42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' })
  })

  it('a non-ASCII character is refused, not dropped', () => {
    const text = armor(pattern(10, 1)).replace('\n', '\u00a0\n')
    assert.equal(
      codeOf(() => dearmor(text)),
      'ERR_FORMAT',
    )
  })
})

describe('armor vectors (test/vectors/armor)', () => {
  it('the files are what scripts/gen-armor-vectors.ts writes', () => {
    const generated = armorVectors()
    assert.deepEqual(
      onDisk.map((v) => v.name),
      generated.map((v) => v.name).sort(),
    )
    for (const v of generated) assert.equal(readFileSync(join(ARMOR_VECTORS_DIR, `${v.name}.json`), 'utf8'), vectorFile(v), v.name)
    assert.ok(onDisk.filter((v) => v.expect === 'failure').length >= 15, 'enough failure cases')
  })

  for (const v of onDisk) {
    it(`${v.name}: ${v.expect === 'success' ? 'decodes' : v.code} (${v.comment})`, () => {
      const bytes = new TextEncoder().encode(v.armored)
      if (v.expect === 'success') {
        const message = hexToBytes(v.message!)
        assert.deepEqual(dearmor(v.armored), message)
        for (const size of [1, 2, 3, 37, 64, 65, 66, 129, 1000]) assert.deepEqual(dearmorInPieces(bytes, size), message, `pieces of ${size}`)
      } else {
        assert.equal(
          codeOf(() => dearmor(v.armored)),
          v.code,
        )
        for (const size of [1, 2, 37, 65, 66, 129])
          assert.equal(
            codeOf(() => dearmorInPieces(bytes, size)),
            v.code,
            `pieces of ${size}`,
          )
      }
    })
  }

  it("pos-canonical decrypts with pos-one-byte's key", async () => {
    const base = JSON.parse(readFileSync(join(VECTORS_DIR, 'pos-one-byte.json'), 'utf8')) as { keys: Array<{ keyId: string; key: string }> }
    const key = base.keys[0]!
    const env = new Envelope({ keyring: new LocalKeyring({ keyId: key.keyId, key: hexToBytes(key.key) }) })
    const v = onDisk.find((x) => x.name === 'pos-canonical')!
    const { plaintext } = await env.decrypt(dearmor(v.armored))
    assert.equal(new TextDecoder().decode(plaintext), 'x')
    // The armored text itself is not a message: the binary reader refuses it.
    await rejectsWithCode(env.decrypt(new TextEncoder().encode(v.armored)), 'ERR_FORMAT')
  })
})

describe('armor parsers under hostile text (seeded fuzz)', () => {
  it('edited, cut and spliced armor: buffer and streaming decoders agree, fail only with ERR_FORMAT/ERR_TRUNCATED, and accept only canonical armor', () => {
    const encoder = new TextEncoder()
    let x = 0x2545f491
    const next = (n: number): number => {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      return (x >>> 0) % n
    }
    const alphabet = encoder.encode('-=+/AZaz09 \t\r\nBEGINENDKMS\u0000\u00ff')
    const outcomes = new Map<string, number>()
    for (let round = 0; round < 3000; round++) {
      const text = encoder.encode(armor(pattern(next(300), round)))
      const bytes = Array.from(text)
      for (let edits = 1 + next(3); edits > 0; edits--) {
        const at = next(bytes.length + 1)
        const kind = next(4)
        const b = alphabet[next(alphabet.length)]!
        if (kind === 0) bytes[Math.min(at, bytes.length - 1)] = b
        else if (kind === 1) bytes.splice(at, 0, b)
        else if (kind === 2) bytes.splice(at, 1 + next(70))
        else bytes.splice(at, 0, ...bytes.slice(next(bytes.length), next(bytes.length)))
      }
      const input = Uint8Array.from(bytes)
      let whole: Uint8Array | string
      try {
        whole = dearmor(input)
      } catch (error) {
        whole = String((error as { code?: unknown }).code)
      }
      for (const size of [1, 7, 65]) {
        let piecewise: Uint8Array | string
        try {
          piecewise = dearmorInPieces(input, size)
        } catch (error) {
          piecewise = String((error as { code?: unknown }).code)
        }
        assert.deepEqual(piecewise, whole, `round ${round}: pieces of ${size} disagree with the buffer decoder`)
      }
      if (typeof whole === 'string') {
        assert.ok(whole === 'ERR_FORMAT' || whole === 'ERR_TRUNCATED', `round ${round}: ${whole}`)
        outcomes.set(whole, (outcomes.get(whole) ?? 0) + 1)
      } else {
        // Accepted: the canonical armor of the result is the input without the whitespace allowed around it.
        const trimmed = new TextDecoder('latin1')
          .decode(input)
          .replace(/^\s+|\s+$/g, '')
          .replace(/\r\n/g, '\n')
        assert.equal(armor(whole).trimEnd(), trimmed, `round ${round}: accepted a non-canonical armor`)
        outcomes.set('accepted', (outcomes.get('accepted') ?? 0) + 1)
      }
    }
    assert.ok((outcomes.get('ERR_FORMAT') ?? 0) > 1000 && (outcomes.get('accepted') ?? 0) > 0, JSON.stringify([...outcomes]))
  })

  it('bounded on hostile sizes: a megabyte of whitespace or of one base64 line fails fast, without holding it', () => {
    for (const hostile of [
      new Uint8Array(1 << 20).fill(0x20),
      utf8Bytes(`${ARMOR_BEGIN}\n${'A'.repeat(1 << 20)}`),
      utf8Bytes(`${armor(pattern(10, 1))}${' '.repeat(1 << 20)}`),
    ]) {
      const started = performance.now()
      assert.equal(
        codeOf(() => dearmor(hostile)),
        'ERR_FORMAT',
      )
      assert.equal(
        codeOf(() => dearmorInPieces(hostile, 4096)),
        'ERR_FORMAT',
      )
      // A hang guard, not a speed target: each rejection takes milliseconds.
      assert.ok(performance.now() - started < 2000, 'a hostile size was rejected, not worked through')
    }
  })
})

function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}
