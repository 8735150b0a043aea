/** A short seeded run of the ESDK fuzz campaign (test/fuzz/esdk.ts); longer runs: KMSE_ESDK_FUZZ_RUNS. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runEsdkCampaign } from './fuzz/esdk.js'

describe('ESDK reader: hostile messages (seeded fuzz)', () => {
  it('every mutated ESDK message gives a typed error or the authentic plaintext, on both surfaces', async () => {
    const runs = Number(process.env.KMSE_ESDK_FUZZ_RUNS ?? 400)
    const outcomes = await runEsdkCampaign({ seed: 0x35d1, runs, slowMs: 2000 })
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0)
    assert.equal(total, runs * 2)
    // The corpus is exercised past the parser: some inputs reach authentication, some open.
    assert.ok((outcomes['decryptEsdk: ERR_AUTH'] ?? 0) > 0, JSON.stringify(outcomes))
    assert.ok((outcomes['decryptEsdk: ok'] ?? 0) > 0, JSON.stringify(outcomes))
  })
})
