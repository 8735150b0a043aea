/**
 * The exhaustive tamper walk over the test vectors: every success vector as shipped and sealed
 * again with frame sizes 64, 100 and 4096, every byte changed under three masks, every
 * truncation, and appended bytes, through every surface (test/fuzz/surfaces.ts). The oracle
 * (test/fuzz/oracle.ts) demands a typed error with no plaintext released and no keyring call
 * before a parse failure; the only successes allowed are edits inside a recipient entry the
 * reader does not use (FORMAT.md §9), and those must give the authentic plaintext.
 * `npm run fuzz` repeats the walk with every single-bit mask.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { layoutOf, tamperSamples } from './fuzz/corpus.js'
import { SURFACES } from './fuzz/surfaces.js'
import { editCount, walk } from './fuzz/tamper.js'
import { assertExpectedBackend } from './helpers.js'

assertExpectedBackend()

const samples = tamperSamples([64, 100, 4096])

describe('tamper walk over the test vectors, frame sizes 64, 100 and 4096', () => {
  const seen = new Map<string, Set<string>>(SURFACES.map((s) => [s.name, new Set()]))

  it('covers every success vector at every frame size, single- and multi-recipient', () => {
    assert.ok(samples.length >= 40, `only ${samples.length} samples`)
    assert.deepEqual(new Set(samples.map((s) => s.frameSize)), new Set([64, 100, 4096]))
    assert.ok(samples.some((s) => layoutOf(s.message).entries.length === 3))
  })

  for (const sample of samples) {
    it(`${sample.name}: ${editCount(sample.message.length)} edits`, async () => {
      const multi = layoutOf(sample.message).entries.length > 1
      for (const surface of SURFACES) {
        const { edits, outcomes } = await walk(sample, surface)
        assert.equal(edits, editCount(sample.message.length))
        for (const outcome of outcomes.keys()) seen.get(surface.name)!.add(outcome)
        // A single recipient leaves no byte that may change: every edit fails.
        if (surface.decrypts && !multi) assert.equal(outcomes.get('ok'), undefined, `${surface.name}: an edit decrypted`)
      }
    })
  }

  it('reached every stage of reading, not only the first check', () => {
    const decrypt = seen.get('decrypt')!
    for (const code of ['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY', 'ok']) {
      assert.ok(decrypt.has(code), `decrypt never gave ${code}: ${[...decrypt].join(', ')}`)
    }
  })
})
