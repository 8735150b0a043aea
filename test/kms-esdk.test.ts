/**
 * kms-envelope/esdk with the library's KmsKeyring against moto: messages the AWS Encryption
 * SDK's own KmsKeyringNode wrote (same KMS, same context) open with exactly one Decrypt,
 * counted at the client, pinned to the key ARN; legacy 128/192-bit suites go through the
 * keyring's internal variable-length path; no matching key means no KMS call at all.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { KmsKeyringNode, MultiKeyringNode } from '@aws-crypto/client-node'
import { KMS } from '@aws-sdk/client-kms'
import { decryptEsdk, type RawAesKeyring } from '../src/esdk/index.js'
import { KmsKeyring } from '../src/kms.js'
import { aesPair, checkSame, sdkClient, sdkEncrypt } from './esdk-helpers.js'
import { rejectsWithCode } from './helpers.js'
import { CREDENTIALS, createKey, kmsEndpoint, motoClient, REGION } from './kms-helpers.js'

const context = { tenant: 'acme', purpose: 'esdk-kms' }

/** The SDK's KMS keyring, on moto (it wants the aggregated `KMS` client). */
async function sdkKmsKeyring(generatorKeyId: string, keyIds: string[] = []) {
  const client = new KMS({ region: REGION, endpoint: await kmsEndpoint(), credentials: CREDENTIALS })
  return new KmsKeyringNode({ generatorKeyId, keyIds, clientProvider: () => client as never })
}

describe('ESDK reader on moto: aws-kms encrypted data keys', () => {
  it('committing, signed and legacy (16/24/32-byte keys) suites open with one pinned Decrypt each', async () => {
    const arn = await createKey()
    const sdk = await sdkKmsKeyring(arn)
    const { client, calls } = await motoClient()
    const ours = new KmsKeyring({ keyIds: [arn], client })
    for (const suite of [0x0478, 0x0578, 0x0014, 0x0146, 0x0378]) {
      const plaintext = new Uint8Array(randomBytes(5000))
      const message = await sdkEncrypt(sdk, plaintext, suite, 4096, context)
      calls.take()
      const r = await decryptEsdk(message, { keyring: ours, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })
      assert.deepEqual(calls.take(), { Decrypt: 1 }, `suite 0x${suite.toString(16)}`)
      assert.equal(Buffer.compare(Buffer.from(r.plaintext), plaintext), 0)
      assert.equal(r.context.tenant, 'acme')
      assert.equal(r.header.encryptedDataKeys[0]!.providerId, 'aws-kms')
      assert.equal(new TextDecoder().decode(r.header.encryptedDataKeys[0]!.providerInfo), arn)
    }
  })
  it('the differential check (SDK decrypt, our buffer and stream) with KMS keys, frame boundaries', async () => {
    const arn = await createKey()
    const { client } = await motoClient()
    const pair = { label: 'KMS on moto', sdk: await sdkKmsKeyring(arn), ours: new KmsKeyring({ keyIds: [arn], client }) }
    for (const size of [0, 4096, 4097]) await checkSame(pair, 0x0578, 4096, size, context)
  })
  it('a multi-keyring message (two KMS keys and raw AES): our KMS keyring opens the key it holds; raw AES first means no KMS call', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const aes = aesPair(32, 'with-kms')
    const multi = new MultiKeyringNode({ generator: await sdkKmsKeyring(a), children: [await sdkKmsKeyring(b), aes.sdk] })
    const message = await sdkEncrypt(multi, new Uint8Array(10), 0x0478, 4096, context)
    const { client, calls } = await motoClient()
    const onlyB = new KmsKeyring({ keyIds: [b], client })
    assert.equal((await decryptEsdk(message, { keyring: onlyB })).plaintext.length, 10)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    assert.equal((await decryptEsdk(message, { keyring: [aes.ours as RawAesKeyring, onlyB] })).plaintext.length, 10)
    assert.deepEqual(calls.take(), {})
  })
  it('a keyring without the message’s key: ERR_NO_MATCHING_KEY and no KMS call', async () => {
    const [a, other] = [await createKey(), await createKey()]
    const message = await sdkEncrypt(await sdkKmsKeyring(a), new Uint8Array(10), 0x0478, 4096, context)
    const { client, calls } = await motoClient()
    await rejectsWithCode(decryptEsdk(message, { keyring: new KmsKeyring({ keyIds: [other], client }) }), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
  })
  it('a changed stored context reaches KMS as another EncryptionContext: KMS refuses, one Decrypt, typed error', async () => {
    const arn = await createKey()
    const message = await sdkEncrypt(await sdkKmsKeyring(arn), new Uint8Array(10), 0x0478, 4096, { tenant: 'acme' })
    const at = Buffer.from(message).indexOf('acme')
    const m = message.slice()
    m[at]! ^= 0x20 // 'Acme'
    const { client, calls } = await motoClient()
    const e = await rejectsWithCode(decryptEsdk(m, { keyring: new KmsKeyring({ keyIds: [arn], client }) }), 'ERR_UNWRAP')
    assert.match(String((e as { attempts?: { code: string }[] }).attempts?.[0]?.code), /^ERR_KMS_/)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    await assert.rejects(sdkClient(0x0478).decrypt(await sdkKmsKeyring(arn), m))
  })
})
