/**
 * A seeded run of the recipient-types fuzz campaign (test/fuzz/recipients.ts) on both backends:
 * x25519, X-Wing, scrypt and hierarchical-keyring messages, mutated, through every surface.
 * Longer runs: KMSE_RECIPIENTS_FUZZ_RUNS.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runRecipientsCampaign } from './fuzz/recipients.js'

describe('recipient types: hostile messages (seeded fuzz)', () => {
  it('every mutated message gives a typed error or the authentic plaintext, on every surface', async () => {
    const runs = Number(process.env.KMSE_RECIPIENTS_FUZZ_RUNS ?? 300)
    const outcomes = await runRecipientsCampaign({ seed: 0x17a9, runs, slowMs: 3000 })
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0)
    assert.equal(total, runs * 4)
    // The mutations reach each type's unwrap (ERR_UNWRAP) and authentication (ERR_AUTH), not only the parser.
    const count = (pattern: RegExp) => Object.entries(outcomes).reduce((n, [k, v]) => (pattern.test(k) ? n + v : n), 0)
    assert.ok(count(/: ERR_AUTH$/) > 0, JSON.stringify(outcomes))
    assert.ok(count(/^(x25519|mlkem768x25519|scrypt|aws-kms-hierarchy) \/ decrypt: ERR_UNWRAP$/) > 0, JSON.stringify(outcomes))
  })
})
