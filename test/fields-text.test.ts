/** The field text forms' base64url is @scure/base's strict unpadded base64url, byte for byte and refusal for refusal. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base64urlnopad } from '@scure/base'
import fc from 'fast-check'
import { decodeBase64url, encodeBase64url, fromText, PREFIX_RANDOM, toText } from '../src/fields/text.js'

const scureDecode = (text: string): Uint8Array | undefined => {
  try {
    return base64urlnopad.decode(text)
  } catch {
    return undefined
  }
}

describe('field text base64url', () => {
  it('encodes as @scure/base does and decodes back, at every length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64url(bytes)
        assert.equal(text, base64urlnopad.encode(bytes))
        assert.deepEqual(decodeBase64url(text), bytes)
        assert.deepEqual(fromText(PREFIX_RANDOM, toText(PREFIX_RANDOM, bytes)), bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts and refuses exactly what @scure/base does (alphabet, padding, length, trailing bits)', () => {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\u00e9\u0100\u{1f600}'.split('')
    const text = fc.array(fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...chars.slice(0, 64)) }, fc.constantFrom(...chars)), { maxLength: 14 })
    fc.assert(
      fc.property(text, (parts) => {
        const t = parts.join('')
        assert.deepEqual(decodeBase64url(t), scureDecode(t), JSON.stringify(t))
      }),
      { numRuns: 20000 },
    )
    for (const t of ['A', 'AB', 'AR', 'ABC', 'ABD', 'AA==', 'AA=', 'ABCDE', '']) assert.deepEqual(decodeBase64url(t), scureDecode(t), t)
    assert.equal(fromText(PREFIX_RANDOM, 'kmse1d.AAAA'), undefined)
  })
})
