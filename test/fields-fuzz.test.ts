/**
 * A short seeded run of the FieldEncryptor fuzz surface (test/fuzz/fields.ts; `npm run fuzz`
 * runs a long one): hostile authentic field values, hostile key fields, hostile caller values.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runFieldsCampaign } from './fuzz/fields.js'
import { assertExpectedBackend } from './helpers.js'

assertExpectedBackend()

describe('FieldEncryptor under hostile input (short seeded campaign)', () => {
  it('only typed errors, decoded values of §13.1 types, nothing slow', async () => {
    const stats = await runFieldsCampaign({ seed: 20261201, runs: 1500, slowMs: 2000, shrink: true })
    assert.equal(stats.inputs, 1500)
    for (const kind of ['field value', 'key field', 'caller value']) assert.ok((stats.kinds[kind] ?? 0) > 100, `${kind}: ${stats.kinds[kind]}`)
    // Both outcomes occur: the campaign reaches the decoder with values it accepts and ones it refuses.
    assert.ok((stats.outcomes['fields decryptRecord: ok'] ?? 0) > 0)
    assert.ok((stats.outcomes['fields decryptRecord: ERR_FIELD'] ?? 0) > 0)
  })
})
