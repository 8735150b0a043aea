/**
 * Interoperability with AWS's own branch key store (@aws-crypto/branch-keystore-node 5.x) and
 * hierarchical keyring (@aws-crypto/kms-keyring-node), on the same moto tables: keys created
 * or rotated by either implementation are read by the other, with the same plaintext branch
 * key bytes, and AWS's hierarchical keyring encrypts and decrypts with keys our store made.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BranchKeyStoreNode } from '@aws-crypto/branch-keystore-node'
import { buildClient, CommitmentPolicy } from '@aws-crypto/client-node'
import { KmsHierarchicalKeyRingNode } from '@aws-crypto/kms-keyring-node'
import { BranchKeyStore } from '../src/kms.js'
import { motoDynamoDb, newStore } from './kms-branch-helpers.js'
import { motoClient } from './kms-helpers.js'

async function both(logicalKeyStoreName?: string) {
  const ours = await newStore(logicalKeyStoreName === undefined ? {} : { logicalKeyStoreName })
  const aws = new BranchKeyStoreNode({
    logicalKeyStoreName: logicalKeyStoreName ?? ours.table,
    storage: { ddbTableName: ours.table, ddbClient: (await motoDynamoDb()).client },
    keyManagement: { kmsClient: (await motoClient()).client },
    kmsConfiguration: { identifier: ours.kmsKeyArn },
  })
  return { ...ours, aws }
}

describe('BranchKeyStore and AWS’s BranchKeyStoreNode share one table', () => {
  it('a branch key AWS created and rotated is read by ours with the same key bytes, every version', async () => {
    const { store, aws } = await both()
    const { branchKeyIdentifier: id } = await aws.createKey({ encryptionContext: { tenant: 'acme' } })
    const awsV1 = await aws.getActiveBranchKey(id)
    const ourV1 = await store.getActiveBranchKey(id)
    const v1 = awsV1.branchKeyVersion.toString('utf8')
    assert.equal(ourV1.branchKeyVersion, v1)
    assert.deepEqual(ourV1.key, new Uint8Array(awsV1.branchKey()))
    assert.deepEqual(ourV1.encryptionContext, { tenant: 'acme' })
    assert.deepEqual(ourV1.encryptionContext, { ...awsV1.encryptionContext })
    await aws.versionKey({ branchKeyIdentifier: id })
    const awsV2 = await aws.getActiveBranchKey(id)
    const ourV2 = await store.getActiveBranchKey(id)
    assert.equal(ourV2.branchKeyVersion, awsV2.branchKeyVersion.toString('utf8'))
    assert.notEqual(ourV2.branchKeyVersion, v1)
    assert.deepEqual(ourV2.key, new Uint8Array(awsV2.branchKey()))
    assert.deepEqual((await store.getBranchKeyVersion(id, v1)).key, ourV1.key)
    // Our rotation of AWS's key is readable by AWS.
    const v3 = await store.versionKey(id)
    const awsV3 = await aws.getActiveBranchKey(id)
    assert.equal(awsV3.branchKeyVersion.toString('utf8'), v3)
    assert.deepEqual(new Uint8Array(awsV3.branchKey()), (await store.getBranchKeyVersion(id, v3)).key)
    assert.deepEqual(new Uint8Array((await aws.getBranchKeyVersion(id, v1)).branchKey()), ourV1.key)
  })

  it('a branch key ours created and rotated is read by AWS with the same key bytes; AWS rotates it too', async () => {
    const { store, aws } = await both('shared-logical-name')
    const id = await store.createKey('tenant-globex', { encryptionContext: { tenant: 'globex', region: 'eu' } })
    const ours1 = await store.getActiveBranchKey(id)
    const aws1 = await aws.getActiveBranchKey(id)
    assert.equal(aws1.branchKeyIdentifier, id)
    assert.equal(aws1.branchKeyVersion.toString('utf8'), ours1.branchKeyVersion)
    assert.deepEqual(new Uint8Array(aws1.branchKey()), ours1.key)
    assert.deepEqual({ ...aws1.encryptionContext }, { tenant: 'globex', region: 'eu' })
    const v2 = await store.versionKey(id)
    assert.deepEqual(new Uint8Array((await aws.getActiveBranchKey(id)).branchKey()), (await store.getActiveBranchKey(id)).key)
    assert.deepEqual(new Uint8Array((await aws.getBranchKeyVersion(id, ours1.branchKeyVersion)).branchKey()), ours1.key)
    await aws.versionKey({ branchKeyIdentifier: id })
    const ours3 = await store.getActiveBranchKey(id)
    assert.notEqual(ours3.branchKeyVersion, v2)
    assert.deepEqual(new Uint8Array((await aws.getActiveBranchKey(id)).branchKey()), ours3.key)
    const described = await store.describe(id)
    assert.equal(described.versions.length, 3)
    assert.equal(described.activeVersion, ours3.branchKeyVersion)
  })

  it('AWS’s hierarchical keyring encrypts and decrypts with a branch key ours created, across our rotation', async () => {
    const { store, aws } = await both()
    const id = await store.createKey()
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    const keyring = () => new KmsHierarchicalKeyRingNode({ branchKeyId: id, keyStore: aws, cacheLimitTtl: 60 })
    // The hierarchical keyring's wrapped key is salt (16) || IV (12) || version UUID (16 bytes) || ...
    const versionIn = (message: { messageHeader: { encryptedDataKeys: readonly { encryptedDataKey: Uint8Array }[] } }) => {
      const hex = Buffer.from(message.messageHeader.encryptedDataKeys[0]!.encryptedDataKey.subarray(28, 44)).toString('hex')
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    }
    const before = await encrypt(keyring(), 'tenant data', { encryptionContext: { tenant: 'initech' } })
    assert.equal(versionIn(before), (await store.getActiveBranchKey(id)).branchKeyVersion)
    const v2 = await store.versionKey(id)
    // A fresh keyring (empty cache) picks the new active version; the old message still opens.
    const after = await encrypt(keyring(), 'after rotation', { encryptionContext: { tenant: 'initech' } })
    assert.equal(versionIn(after), v2)
    assert.equal((await decrypt(keyring(), before.result)).plaintext.toString(), 'tenant data')
    assert.equal((await decrypt(keyring(), after.result)).plaintext.toString(), 'after rotation')
  })

  it('a store of another logical key store name refuses AWS’s items, as AWS refuses ours', async () => {
    const { store, aws, table, kmsKeyArn } = await both()
    const theirs = (await aws.createKey()).branchKeyIdentifier
    const ours = await store.createKey()
    const renamed = new BranchKeyStore({
      tableName: table,
      kmsKeyArn,
      logicalKeyStoreName: 'renamed',
      dynamoDbClient: (await motoDynamoDb()).client,
      kmsClient: (await motoClient()).client,
    })
    await assert.rejects(renamed.getActiveBranchKey(theirs), { code: 'ERR_KMS_INVALID_CIPHERTEXT' })
    const awsRenamed = new BranchKeyStoreNode({
      logicalKeyStoreName: 'renamed',
      storage: { ddbTableName: table, ddbClient: (await motoDynamoDb()).client },
      keyManagement: { kmsClient: (await motoClient()).client },
      kmsConfiguration: { identifier: kmsKeyArn },
    })
    await assert.rejects(awsRenamed.getActiveBranchKey(ours))
  })
})
