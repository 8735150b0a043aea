/**
 * Issue 7, "done when": 10,000 records through FieldEncryptor with the key-service calls counted.
 *
 * Here on a counting LocalKeyring without a data-key cache: one generate per record on
 * encrypt, one unwrap per record on decrypt (plus one for the index key). The same count with
 * the KMS keyring and a cache (one GenerateDataKey per cache window) is in kms-cache.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base64urlnopad } from '@scure/base'
import { parseHead } from '../src/format/message.js'
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern } from './helpers.js'

assertExpectedBackend()

const RECORDS = 10_000

interface Setup {
  readonly envelope: Envelope
  readonly keyring: CountingKeyring
  /** Key-service calls expected for RECORDS records (the index-key unwrap counted separately). */
  readonly expected: { readonly generate: number; readonly unwrapOnDecrypt: number }
}

async function setup(): Promise<Setup> {
  const keyring = new CountingKeyring(new LocalKeyring({ keyId: 'fields-10k', key: pattern(32, 71) }))
  const envelope = new Envelope({ keyring })
  return { envelope, keyring, expected: { generate: RECORDS, unwrapOnDecrypt: RECORDS } }
}

describe(`${RECORDS.toLocaleString('en')} records`, () => {
  it('key-service calls are counted: per data key, not per field', async () => {
    const { envelope, keyring, expected } = await setup()
    const indexKey = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'users-index' } })
    const fields = new FieldEncryptor({
      envelope,
      indexKey,
      indexKeyContext: { purpose: 'users-index' },
      schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' },
      concurrency: 16,
    })
    const records = Array.from({ length: RECORDS }, (_, i) => ({
      id: i,
      ssn: `${100 + (i % 900)}-${10 + (i % 90)}-${String(i).padStart(4, '0')}`,
      email: `user${i % 5000}@example.com`,
      profile: { address: `${i} Main St`, name: `User ${i}` },
    }))
    const context = { table: 'users', tenant: 'acme' }
    keyring.reset()

    const stored = await fields.encryptRecords(records, { context })
    assert.equal(keyring.calls.generate, expected.generate, 'generate calls')
    assert.equal(keyring.calls.wrap, 0)
    assert.equal(keyring.calls.unwrap, 1, 'the index key, once')

    const messageIds = new Set<string>()
    const dataKeys = new Set<string>()
    for (const s of stored) {
      const parsed = parseHead(base64urlnopad.decode((s._kmse as string).slice('kmse1h.'.length)))
      assert.ok('head' in parsed)
      messageIds.add(base64urlnopad.encode(parsed.head.header.messageId))
      dataKeys.add(parsed.head.recipients.map((r) => base64urlnopad.encode(r.wrapped)).join())
    }
    assert.equal(messageIds.size, RECORDS, 'every record has its own message id (and so its own content key)')
    assert.equal(dataKeys.size, keyring.calls.generate, 'one generate per distinct data key')
    assert.equal(stored[10]!.email, stored[5010]!.email, 'deterministic: equal emails, equal strings')

    keyring.reset()
    const back = await fields.decryptRecords(stored, { expectContext: context })
    assert.equal(keyring.calls.unwrap, expected.unwrapOnDecrypt, 'unwrap calls on decrypt')
    assert.equal(keyring.calls.generate, 0)
    assert.deepEqual(back, records)
    fields.close()
  })
})
