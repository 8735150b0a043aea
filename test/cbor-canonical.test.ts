/**
 * The header and recipients decoders decide "deterministic encoding" from the profile pass's
 * scan (shortest heads, valid UTF-8) and an item count instead of re-encoding what they
 * decoded. This holds the two equivalent: over every one- and two-byte edit of real sections
 * and over hand-built alternative spellings, the scan says canonical exactly when re-encoding
 * gives the same bytes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Decoded } from '../src/format/cbor.js'
import { decodeCbor, encodeCbor, isCanonical } from '../src/format/cbor.js'
import { PREAMBLE_BYTES, TAG_BYTES } from '../src/format/constants.js'
import { Envelope, LocalKeyring } from '../src/index.js'

/**
 * Integers as the decoders check them: numbers below 2^32, which cbor-x re-encodes in their
 * shortest head. (It writes larger numbers as floats, so those stay bigints, which it writes
 * as 8-byte integers; the decoders refuse such values before their canonical check anyway.)
 */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return value < 2n ** 32n && value > -(2n ** 32n) ? Number(value) : value
  if (Array.isArray(value)) return value.map(normalise)
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalise(k), normalise(v)]))
  return value
}

function reencodes(bytes: Uint8Array, value: unknown): boolean {
  let again: Uint8Array
  try {
    again = encodeCbor(normalise(value))
  } catch {
    return false
  }
  return again.length === bytes.length && again.every((b, i) => b === bytes[i])
}

/** Compares the two checks on `bytes`; false when the profile or cbor-x refuses them (nothing to compare). */
function agree(bytes: Uint8Array): boolean {
  let decoded: Decoded
  try {
    decoded = decodeCbor(bytes, 'section')
  } catch {
    return false
  }
  const value = normalise(decoded.value)
  assert.equal(isCanonical(decoded, value), reencodes(bytes, decoded.value), `disagree on ${Buffer.from(bytes).toString('hex')}`)
  return true
}

async function sections(): Promise<Uint8Array[]> {
  const env = new Envelope({ keyring: [LocalKeyring.generate({ keyId: 'k1' }), LocalKeyring.generate({ keyId: 'second' })] })
  const message = await env.encrypt('x', { context: { tenant: 'acme', 'ключ': 'значение 😀', a: '' } })
  const view = new DataView(message.buffer, message.byteOffset)
  const h = view.getUint32(5)
  const r = view.getUint32(PREAMBLE_BYTES + h + TAG_BYTES)
  const rStart = PREAMBLE_BYTES + h + TAG_BYTES + 4
  return [message.slice(PREAMBLE_BYTES, PREAMBLE_BYTES + h), message.slice(rStart, rStart + r)]
}

describe('the scan-based canonical check equals re-encoding', () => {
  it('on every single-byte edit of a header and a recipients section', async () => {
    let compared = 0
    for (const section of await sections()) {
      assert.ok(agree(section))
      for (let at = 0; at < section.length; at++) {
        for (const value of [
          0x00,
          0x01,
          0x17,
          0x18,
          0x19,
          0x1a,
          0x1b,
          0x20,
          0x38,
          0x40,
          0x58,
          0x60,
          0x78,
          0x80,
          0x98,
          0xa0,
          0xb8,
          0xc3,
          0xe9,
          0xff,
          section[at]! ^ 1,
        ]) {
          const edited = section.slice()
          edited[at] = value
          if (agree(edited)) compared++
        }
      }
    }
    assert.ok(compared > 100, `only ${compared} edits decoded`)
  })

  it('on alternative spellings: long heads, repeated map keys, invalid and overlong UTF-8', () => {
    const cases: Array<[string, boolean]> = [
      ['8101', true], // [1]
      ['811801', false], // [1] with a 1-byte argument
      ['81190001', false],
      ['811a00000001', false],
      ['811b0000000000000001', false],
      ['811b00000000ffffffff', false], // 2^32 - 1 fits in 4 bytes
      ['811b0000000100000000', true], // 2^32 does not
      ['811b0020000000000000', true], // 2^53 needs 8
      ['a2616101616102', false], // {"a": 1, "a": 2}: a decoded Map holds one entry
      ['a2616101616202', true],
      ['8162c328', false], // invalid UTF-8
      ['8162c0af', false], // overlong "/"
      ['8163eda080', false], // an encoded surrogate
      ['8164f09f9880', true], // U+1F600
      ['81780161', false], // "a" with a 1-byte length
      ['815801ff', false], // byte string with a 1-byte length
      ['9801' + '00', false], // array head with a 1-byte count
    ]
    for (const [hex, canonical] of cases) {
      const bytes = Uint8Array.from(Buffer.from(hex, 'hex'))
      assert.ok(agree(bytes), hex)
      const decoded = decodeCbor(bytes, 'section')
      assert.equal(isCanonical(decoded, normalise(decoded.value)), canonical, hex)
    }
  })
})
