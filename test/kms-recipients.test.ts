/**
 * Public-key recipients beside a KMS key on a real KMS server (moto), KMS calls counted at the
 * SDK: one message for local + aws-kms + x25519 + mlkem768x25519, each key decrypting alone,
 * the public-key identities with zero KMS calls; encrypting to public keys needs no KMS.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { pattern } from './helpers.js'
import { createKey, motoClient } from './kms-helpers.js'
import { pqIdentity, xIdentity } from './recipients-helpers.js'

const context = { tenant: 'acme' }
let arn: string

before(async () => {
  arn = await createKey()
})

describe('public-key recipients with a KMS key (moto)', () => {
  it('local + aws-kms + x25519 + pq in one message: each decrypts alone, public keys without KMS calls', async () => {
    const local = new LocalKeyring({ keyId: 'team', key: pattern(32, 95) })
    const { client, calls } = await motoClient()
    const kms = new KmsKeyring({ keyIds: [arn], client })
    const writer = new Envelope({ keyring: [kms, local, pqIdentity.recipient, xIdentity.recipient], allowClassicalRecipients: true })
    const message = await writer.encrypt('four ways in', { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    assert.deepEqual(
      inspect(message).recipients.map((r) => r.type),
      ['aws-kms', 'local', 'mlkem768x25519', 'x25519'],
    )
    for (const keyring of [local, pqIdentity, xIdentity]) {
      assert.equal(await new Envelope({ keyring }).decryptString(message, { expectContext: context }), 'four ways in')
    }
    assert.deepEqual(calls.take(), {})
    assert.equal(await new Envelope({ keyring: kms }).decryptString(message, { expectContext: context }), 'four ways in')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    // Entries are tried in message order: a reader holding both the KMS key and an identity
    // calls KMS for the first entry (once), whichever keyring it lists first.
    assert.equal(await new Envelope({ keyring: [pqIdentity, kms] }).decryptString(message), 'four ways in')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })

  it('rewrap from KMS to a post-quantum recipient: one Decrypt, then the identity opens it alone', async () => {
    const { client, calls } = await motoClient()
    const kms = new KmsKeyring({ keyIds: [arn], client })
    const message = await new Envelope({ keyring: kms }).encrypt('moved offline', { context })
    calls.take()
    const moved = await new Envelope({ keyring: kms }).rewrap(message, { to: pqIdentity.recipient })
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    assert.deepEqual(
      inspect(moved).recipients.map((r) => r.type),
      ['mlkem768x25519'],
    )
    assert.equal(await new Envelope({ keyring: pqIdentity }).decryptString(moved), 'moved offline')
  })
})
