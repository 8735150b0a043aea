/**
 * The header and recipients sections are written by the sized writer (format/cbor-write.ts),
 * not by cbor-x, because they are written on every encrypt. This holds the two to the same
 * bytes where the hand-written part could drift: text whose UTF-8 length crosses a head size
 * (23/24, 255/256, 65535/65536 bytes), two-, three- and four-byte characters, contexts in
 * canonical order, and recipient lists of every size the format allows. The vectors pin a
 * few fixed cases; this covers the boundaries between them.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeCbor } from '../src/format/cbor.js'
import { textLength, utf8Length } from '../src/format/cbor-write.js'
import { COMMITMENT_BYTES, MESSAGE_ID_BYTES, SUITE_AES256GCM_HKDFSHA512_COMMIT } from '../src/format/constants.js'
import { canonicalContext } from '../src/format/context.js'
import type { Header, Recipient } from '../src/format/header.js'
import { encodeHeader, encodeRecipients, headerLength } from '../src/format/header.js'
import { pattern } from './helpers.js'

/** A deterministic generator, so a failure names its case. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** Characters of every UTF-8 width: 1, 2, 3 and 4 bytes (the last a surrogate pair). */
const UNITS = ['a', 'Z', '7', 'é', 'ß', 'Ω', '世', '€', '😀', '𝄞']

function text(random: () => number, utf8Bytes: number): string {
  const parts: string[] = []
  for (let n = 0; n < utf8Bytes; ) {
    const fits = UNITS.filter((u) => utf8Length(u) <= utf8Bytes - n)
    const unit = fits[Math.floor(random() * fits.length)]!
    parts.push(unit)
    n += utf8Length(unit)
  }
  return parts.join('')
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

describe('the sized CBOR writer writes what cbor-x writes', () => {
  it('utf8Length is what TextEncoder gives, lone surrogates included (they become U+FFFD)', () => {
    const utf8 = new TextEncoder()
    for (const s of ['', 'a', 'é', '世', '😀', '\ud800', '\udc00', 'a\ud800b', '\ud83d\ude00\ud83d', ...UNITS]) {
      assert.equal(utf8Length(s), utf8.encode(s).length, JSON.stringify(s))
    }
  })

  it('headers: context text across every head-size boundary and character width', () => {
    const random = rng(20)
    let cases = 0
    for (const bytes of [0, 1, 23, 24, 25, 255, 256, 257, 1000]) {
      for (let round = 0; round < 6; round++) {
        const pairs: Record<string, string> = {}
        const entries = 1 + Math.floor(random() * 4)
        for (let e = 0; e < entries; e++) pairs[text(random, 1 + Math.floor(random() * 30)) + e] = text(random, bytes)
        const context = canonicalContext(pairs, 'context', true)
        for (const frameSize of [64, 65536, 4 * 1024 * 1024]) {
          const header: Header = {
            suite: SUITE_AES256GCM_HKDFSHA512_COMMIT,
            messageId: pattern(MESSAGE_ID_BYTES, bytes + round),
            frameSize,
            context,
            commitment: pattern(COMMITMENT_BYTES, round),
          }
          const ours = encodeHeader(header)
          const theirs = encodeCbor([header.suite, header.messageId, frameSize, context, header.commitment])
          assert.ok(same(ours, theirs), `text of ${bytes} bytes, round ${round}, frame size ${frameSize}`)
          assert.equal(headerLength(header), ours.length)
          cases++
        }
      }
    }
    assert.ok(cases > 150)
  })

  it('a context value of 65,535 and 65,536 UTF-8 bytes (the 3- to 5-byte head step)', () => {
    for (const bytes of [65535, 65536]) {
      const context = canonicalContext({ k: text(rng(bytes), bytes) }, 'context', true)
      const header: Header = { suite: 1, messageId: pattern(32, 1), frameSize: 65536, context, commitment: pattern(32, 2) }
      assert.equal(textLength(context.get('k')!), (bytes < 65536 ? 3 : 5) + bytes)
      assert.ok(same(encodeHeader(header), encodeCbor([1, header.messageId, 65536, context, header.commitment])), `${bytes} bytes`)
    }
  })

  it('recipients: 1 to 64 entries, types and key ids of every width, wrapped keys across the byte-string head sizes', () => {
    const random = rng(21)
    for (const count of [1, 2, 3, 16, 23, 24, 64]) {
      for (const wrappedBytes of [0, 23, 24, 60, 255, 256, 1000]) {
        const recipients: Recipient[] = Array.from({ length: count }, (_, i) => ({
          type: ['local', 'aws-kms', 'x25519', 'mlkem768x25519'][i % 4]!,
          keyId: text(random, 1 + Math.floor(random() * 300)),
          wrapped: pattern(wrappedBytes, i),
        }))
        const theirs = encodeCbor(recipients.map((r) => [r.type, r.keyId, r.wrapped]))
        assert.ok(same(encodeRecipients(recipients), theirs), `${count} recipients, ${wrappedBytes}-byte wrapped keys`)
        // The reserve form writes the same bytes after the room it leaves.
        assert.ok(same(encodeRecipients(recipients, 4).subarray(4), theirs))
      }
    }
  })
})
