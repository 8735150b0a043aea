/**
 * Migrating KMS-wrapped AWS Encryption SDK messages on moto: where the old data key's KMS
 * ciphertext can be carried over, one Decrypt and no Encrypt or GenerateDataKey per message
 * (counted on the clients, once per request sent); otherwise the destination's own KMS calls.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node'
import { migrateEsdkMessage } from '../src/esdk/index.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { cli } from './cli-helpers.js'
import { esdkEncrypt, writeCorpus } from './esdk-writer.js'
import { pattern, tempDir } from './helpers.js'
import { CREDENTIALS, createKey, kmsEndpoint, motoClient } from './kms-helpers.js'

async function sdkKeyring(arn: string): Promise<KmsKeyringNode> {
  const endpoint = await kmsEndpoint()
  // The SDK's KMS client type and the keyring's expected interface disagree on optional fields only.
  const clientProvider = getClient(KMS as never, { endpoint, credentials: CREDENTIALS })
  return new KmsKeyringNode({ generatorKeyId: arn, clientProvider })
}

describe('migrating KMS-wrapped ESDK messages (moto)', () => {
  it('carries the KMS ciphertext over: 1 Decrypt, 0 Encrypt, 0 GenerateDataKey per message, and the result opens with the same key', async () => {
    const arn = await createKey()
    const writer = await sdkKeyring(arn)
    const source = await motoClient()
    const dest = await motoClient()
    const reader = await motoClient()
    const from = { keyring: new KmsKeyring({ keyIds: [arn], client: source.client }) }
    const to = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: dest.client }) })
    const COUNT = 24
    for (let i = 0; i < COUNT; i++) {
      const suiteId = i % 2 === 0 ? 0x0478 : 0x0578
      const context = i % 3 === 0 ? {} : { tenant: `t${i}`, table: 'cards' }
      const plaintext = pattern(i * 701, i)
      const esdk = await esdkEncrypt(writer, plaintext, { suiteId, context, frameLength: 4096 })
      const migrated = await migrateEsdkMessage(esdk, { from, to })
      assert.equal(migrated.carriedOver, true)
      assert.deepEqual(source.calls.take(), { Decrypt: 1 })
      assert.deepEqual(dest.calls.take(), {})
      const [recipient, ...others] = inspect(migrated.message).recipients
      assert.equal(others.length, 0)
      assert.equal(recipient!.type, 'aws-kms')
      assert.equal(recipient!.keyId, arn)
      assert.equal(recipient!.wrappedBytes, migrated.openedWith.ciphertext.length)
      const opened = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: reader.client }) }).decrypt(migrated.message)
      assert.deepEqual(opened.plaintext, plaintext)
      assert.deepEqual(opened.context, migrated.context)
      assert.deepEqual(reader.calls.take(), { Decrypt: 1 })
    }
  })

  it('carries over beside other destination keyrings (they wrap the same key), and wraps afresh when carry-over would not be sound', async () => {
    const arn = await createKey()
    const other = await createKey()
    const writer = await sdkKeyring(arn)
    const source = await motoClient()
    const dest = await motoClient()
    const from = { keyring: new KmsKeyring({ keyIds: [arn], client: source.client }) }
    const local = LocalKeyring.generate({ keyId: 'local-too' })
    const plaintext = pattern(9000, 2)
    const esdk = await esdkEncrypt(writer, plaintext, { context: { a: 'b' } })

    const mixed = await migrateEsdkMessage(esdk, { from, to: new Envelope({ keyring: [local, new KmsKeyring({ keyIds: [arn], client: dest.client })] }) })
    assert.equal(mixed.carriedOver, true)
    assert.deepEqual(source.calls.take(), { Decrypt: 1 })
    assert.deepEqual(dest.calls.take(), {})
    assert.deepEqual(
      inspect(mixed.message).recipients.map((r) => r.keyId),
      ['local-too', arn],
    )
    assert.deepEqual((await new Envelope({ keyring: local }).decrypt(mixed.message)).plaintext, plaintext)

    const toArn = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: dest.client }) })
    const cases: [string, Parameters<typeof migrateEsdkMessage>[1], Uint8Array][] = [
      ['another key', { from, to: new Envelope({ keyring: new KmsKeyring({ keyIds: [other], client: dest.client }) }) }, esdk],
      ['a changed context', { from, to: toArn, context: (c) => ({ ...c, migrated: 'yes' }) }, esdk],
      ['carryOver: false', { from, to: toArn, carryOver: false }, esdk],
      // A legacy suite's 32-byte key (HKDF-SHA256, no commitment) is never carried over.
      [
        'a legacy suite',
        { from: { ...from, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }, to: toArn },
        await esdkEncrypt(writer, plaintext, { suiteId: 0x0178 }),
      ],
    ]
    for (const [name, options, message] of cases) {
      const migrated = await migrateEsdkMessage(message, options)
      assert.equal(migrated.carriedOver, false, name)
      assert.deepEqual(source.calls.take(), { Decrypt: 1 }, name)
      assert.deepEqual(dest.calls.take(), { GenerateDataKey: 1 }, name)
      const target = options.to === toArn ? arn : other
      const opened = await new Envelope({ keyring: new KmsKeyring({ keyIds: [target], client: dest.client }) }).decrypt(migrated.message)
      assert.deepEqual(opened.plaintext, plaintext, name)
      dest.calls.take()
    }
  })

  it('the CLI migrates KMS-wrapped files with --esdk-key aws-kms:ARN --to kms:ARN, and a rerun skips them', async (t) => {
    const arn = await createKey()
    const dir = await tempDir(t)
    const files = await writeCorpus(join(dir, 'data'), 12, await sdkKeyring(arn), [0x0478, 0x0578])
    const endpoint = await kmsEndpoint()
    const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' }
    const args = ['migrate', '--esdk-key', `aws-kms:${arn}`, '--to', `kms:${arn}`, '--endpoint', endpoint, '-r', join(dir, 'data')]
    const run = await cli(args, undefined, { env })
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^12 kept their KMS-wrapped data key \(no KMS Encrypt\)\nmigrated 12 .*skipped 0 .*failed 0/)
    const reader = await motoClient()
    const envelope = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: reader.client }) })
    for (const file of files) assert.deepEqual((await envelope.decrypt(await readFile(file.path))).plaintext, file.plaintext)
    const again = await cli(args, undefined, { env })
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /^migrated 0 .*skipped 12 /)
  })
})
