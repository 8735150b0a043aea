/**
 * The DynamoDB branch key store on moto (which serves DynamoDB beside KMS): table creation,
 * create / version / get round trips with the exact item layout of AWS's store, conditional
 * writes, tampered items, and KMS and DynamoDB calls counted per command.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import { CreateTableCommand } from '@aws-sdk/client-dynamodb'
import { bytesToHex } from '@noble/hashes/utils.js'
import { BranchKeyStore, BranchKeyStoreError, KmsError } from '../src/kms.js'
import { rejectsWithCode } from './helpers.js'
import { motoDynamoDb, newStore, putRawItem, rawItem, tableName } from './kms-branch-helpers.js'
import { createKey, motoClient } from './kms-helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('BranchKeyStore on moto: table and items', () => {
  it('createTable creates the key schema once and accepts it afterwards; a table of another schema is refused', async () => {
    const kmsKeyArn = await createKey()
    const { client, calls } = await motoDynamoDb()
    const store = new BranchKeyStore({ tableName: tableName(), kmsKeyArn, dynamoDbClient: client })
    const first = await store.createTable()
    assert.equal(first.created, true)
    assert.match(first.tableArn, /^arn:aws:dynamodb:us-east-1:\d{12}:table\/kmse-bks-/)
    assert.deepEqual((await store.createTable()).created, false)
    calls.take()
    const other = tableName()
    await client.send(
      new CreateTableCommand({
        TableName: other,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    )
    await rejectsWithCode(new BranchKeyStore({ tableName: other, kmsKeyArn, dynamoDbClient: client }).createTable(), 'ERR_BRANCH_KEY_ITEM', BranchKeyStoreError)
  })

  it('createKey writes the version, active and beacon items of AWS’s layout with 3 KMS calls and 1 transaction', async () => {
    const { store, table, kmsKeyArn, kms, ddb } = await newStore()
    const id = await store.createKey()
    assert.match(id, UUID)
    assert.deepEqual(kms.calls.take(), { GenerateDataKeyWithoutPlaintext: 2, ReEncrypt: 1 })
    assert.deepEqual(ddb.calls.take(), { TransactWriteItems: 1 })
    const active = await rawItem(table, id, 'branch:ACTIVE')
    const version = active.version!.S!
    assert.match(version, /^branch:version:[0-9a-f-]{36}$/)
    assert.match(version.slice('branch:version:'.length), UUID)
    const decryptOnly = await rawItem(table, id, version)
    const beacon = await rawItem(table, id, 'beacon:ACTIVE')
    for (const item of [active, decryptOnly, beacon]) {
      assert.equal(item['branch-key-id']!.S, id)
      assert.equal(item['kms-arn']!.S, kmsKeyArn)
      assert.equal(item['hierarchy-version']!.N, '1')
      assert.match(item['create-time']!.S!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
      assert.ok(item.enc!.B instanceof Uint8Array && item.enc!.B.length > 32)
      assert.equal(item.tablename, undefined)
    }
    assert.deepEqual(Object.keys(active).sort(), ['branch-key-id', 'create-time', 'enc', 'hierarchy-version', 'kms-arn', 'type', 'version'])
    assert.deepEqual(Object.keys(decryptOnly).sort(), ['branch-key-id', 'create-time', 'enc', 'hierarchy-version', 'kms-arn', 'type'])
    assert.deepEqual(Object.keys(beacon).sort(), ['branch-key-id', 'create-time', 'enc', 'hierarchy-version', 'kms-arn', 'type'])
    assert.equal(active['create-time']!.S, decryptOnly['create-time']!.S)
    // The same key wrapped twice (different contexts), and the beacon key is another key.
    assert.notDeepEqual(active.enc!.B, decryptOnly.enc!.B)
  })

  it('getActiveBranchKey and getBranchKeyVersion unwrap one key: 1 GetItem + 1 Decrypt each; the custom context comes back', async () => {
    const { store, kms, ddb } = await newStore()
    const id = await store.createKey('tenant-acme', { encryptionContext: { tenant: 'acme', tier: 'gold' } })
    kms.calls.take()
    ddb.calls.take()
    const active = await store.getActiveBranchKey(id)
    assert.deepEqual(kms.calls.take(), { Decrypt: 1 })
    assert.deepEqual(ddb.calls.take(), { GetItem: 1 })
    assert.equal(active.branchKeyId, 'tenant-acme')
    assert.match(active.branchKeyVersion, UUID)
    assert.equal(active.key.length, 32)
    assert.deepEqual(active.encryptionContext, { tenant: 'acme', tier: 'gold' })
    const byVersion = await store.getBranchKeyVersion(id, active.branchKeyVersion)
    assert.deepEqual(kms.calls.take(), { Decrypt: 1 })
    assert.deepEqual(byVersion.key, active.key)
    assert.equal(byVersion.branchKeyVersion, active.branchKeyVersion)
    const beacon = await store.getBeaconKey(id)
    assert.equal(beacon.key.length, 32)
    assert.notDeepEqual(beacon.key, active.key)
    // The key never shows in logs or JSON.
    const hex = bytesToHex(active.key)
    for (const shown of [JSON.stringify(active), inspect(active, { showHidden: true, getters: false }), String(active), JSON.stringify(beacon)]) {
      assert.ok(!shown.includes(hex), shown)
      assert.ok(!shown.includes(`${active.key[0]},`), shown)
    }
    assert.deepEqual(JSON.parse(JSON.stringify(active)).key, '<redacted>')
  })

  it('an existing branch key id is never overwritten: createKey fails with ERR_BRANCH_KEY_EXISTS and the key is unchanged', async () => {
    const { store, kms, ddb } = await newStore()
    await store.createKey('tenant-1', { encryptionContext: { tenant: '1' } })
    const before = await store.getActiveBranchKey('tenant-1')
    kms.calls.take()
    ddb.calls.take()
    const error = await rejectsWithCode(store.createKey('tenant-1', { encryptionContext: { tenant: 'other' } }), 'ERR_BRANCH_KEY_EXISTS', BranchKeyStoreError)
    assert.equal((error as BranchKeyStoreError).branchKeyId, 'tenant-1')
    assert.deepEqual(ddb.calls.take(), { TransactWriteItems: 1 })
    const after = await store.getActiveBranchKey('tenant-1')
    assert.deepEqual(after.key, before.key)
    assert.equal(after.branchKeyVersion, before.branchKeyVersion)
    assert.deepEqual(after.encryptionContext, { tenant: '1' })
    // An id without a context is refused before any call, as the specification asks.
    kms.calls.take()
    await rejectsWithCode(() => store.createKey('tenant-2'), 'ERR_INVALID_ARGUMENT')
    assert.deepEqual(kms.calls.take(), {})
  })

  it('versionKey makes a new active version; the old one still unwraps to the same key; describe lists both', async () => {
    const { store, kms, ddb } = await newStore()
    const id = await store.createKey()
    const v1 = await store.getActiveBranchKey(id)
    kms.calls.take()
    ddb.calls.take()
    const newVersion = await store.versionKey(id)
    assert.deepEqual(kms.calls.take(), { ReEncrypt: 2, GenerateDataKeyWithoutPlaintext: 1 })
    assert.deepEqual(ddb.calls.take(), { GetItem: 1, TransactWriteItems: 1 })
    assert.match(newVersion, UUID)
    assert.notEqual(newVersion, v1.branchKeyVersion)
    const v2 = await store.getActiveBranchKey(id)
    assert.equal(v2.branchKeyVersion, newVersion)
    assert.notDeepEqual(v2.key, v1.key)
    assert.deepEqual((await store.getBranchKeyVersion(id, v1.branchKeyVersion)).key, v1.key)
    assert.deepEqual((await store.getBranchKeyVersion(id, newVersion)).key, v2.key)
    const described = await store.describe(id)
    assert.equal(described.activeVersion, newVersion)
    assert.deepEqual(described.versions.map((v) => v.version).sort(), [v1.branchKeyVersion, newVersion].sort())
    assert.equal(described.hasBeaconKey, true)
    assert.equal(described.kmsArn, store.kmsKeyArn)
  })

  it('of two racing rotations one wins and the other fails with ERR_BRANCH_KEY_CONFLICT, writing nothing', async () => {
    const { store, table, kmsKeyArn } = await newStore()
    const id = await store.createKey()
    const rival = new BranchKeyStore({ tableName: table, kmsKeyArn, dynamoDbClient: (await motoDynamoDb()).client, kmsClient: (await motoClient()).client })
    // The first store's transaction is held until the rival has rotated: both read the same active item.
    const { client } = await motoDynamoDb()
    let rivalVersion: Promise<string> | undefined
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && rivalVersion === undefined) {
          rivalVersion = rival.versionKey(id)
          await rivalVersion
        }
        return next(args)
      },
      { step: 'initialize', name: 'kmseTestRace' },
    )
    const slow = new BranchKeyStore({ tableName: table, kmsKeyArn, dynamoDbClient: client, kmsClient: (await motoClient()).client })
    await rejectsWithCode(slow.versionKey(id), 'ERR_BRANCH_KEY_CONFLICT', BranchKeyStoreError)
    const won = await rivalVersion!
    const described = await store.describe(id)
    assert.equal(described.activeVersion, won)
    assert.equal(described.versions.length, 2, 'the losing rotation wrote no version item')
  })

  it('a missing branch key or version is ERR_BRANCH_KEY_NOT_FOUND with no KMS call; a missing table is ERR_DYNAMODB', async () => {
    const { store, kms } = await newStore()
    kms.calls.take()
    await rejectsWithCode(store.getActiveBranchKey('nobody'), 'ERR_BRANCH_KEY_NOT_FOUND', BranchKeyStoreError)
    await rejectsWithCode(store.versionKey('nobody'), 'ERR_BRANCH_KEY_NOT_FOUND', BranchKeyStoreError)
    await rejectsWithCode(store.describe('nobody'), 'ERR_BRANCH_KEY_NOT_FOUND', BranchKeyStoreError)
    const id = await store.createKey()
    kms.calls.take()
    await rejectsWithCode(store.getBranchKeyVersion(id, '00000000-0000-4000-8000-000000000000'), 'ERR_BRANCH_KEY_NOT_FOUND', BranchKeyStoreError)
    assert.deepEqual(kms.calls.take(), {})
    const missing = new BranchKeyStore({ tableName: tableName('kmse-missing'), kmsKeyArn: store.kmsKeyArn, dynamoDbClient: (await motoDynamoDb()).client })
    const error = await rejectsWithCode(missing.getActiveBranchKey(id), 'ERR_DYNAMODB', BranchKeyStoreError)
    assert.equal((error as BranchKeyStoreError).dynamoDbErrorName, 'ResourceNotFoundException')
    assert.match(error.message, /createTable|create-table/)
  })

  it('an aborted signal rejects with ERR_ABORTED before any call', async () => {
    const { store, kms, ddb } = await newStore()
    const controller = new AbortController()
    controller.abort()
    await rejectsWithCode(store.createKey(undefined, { signal: controller.signal }), 'ERR_ABORTED')
    await rejectsWithCode(store.getActiveBranchKey('x', { signal: controller.signal }), 'ERR_ABORTED')
    assert.deepEqual(kms.calls.take(), {})
    assert.deepEqual(ddb.calls.take(), {})
  })

  it('sends the grant tokens, the pinned key ARN and the item context with every KMS call', async () => {
    const { table, kmsKeyArn } = await newStore()
    const { client } = await motoClient()
    const seen: { command: string; input: Record<string, unknown> }[] = []
    client.middlewareStack.add(
      (next, context) => async (args) => {
        seen.push({ command: String(context.commandName), input: args.input as Record<string, unknown> })
        return next(args)
      },
      { step: 'initialize', name: 'kmseTestInputs' },
    )
    const store = new BranchKeyStore({
      tableName: table,
      kmsKeyArn,
      kmsClient: client,
      dynamoDbClient: (await motoDynamoDb()).client,
      grantTokens: ['grant-a'],
    })
    const id = await store.createKey()
    await store.versionKey(id)
    await store.getActiveBranchKey(id)
    assert.deepEqual(
      seen.map((s) => s.command),
      [
        'GenerateDataKeyWithoutPlaintextCommand',
        'ReEncryptCommand',
        'GenerateDataKeyWithoutPlaintextCommand',
        'ReEncryptCommand',
        'GenerateDataKeyWithoutPlaintextCommand',
        'ReEncryptCommand',
        'DecryptCommand',
      ],
    )
    for (const { input } of seen) {
      assert.deepEqual(input.GrantTokens, ['grant-a'])
      for (const field of ['KeyId', 'SourceKeyId', 'DestinationKeyId']) if (field in input) assert.equal(input[field], kmsKeyArn)
      const context = (input.EncryptionContext ?? input.SourceEncryptionContext) as Record<string, string>
      assert.equal(context['branch-key-id'], id)
      assert.equal(context.tablename, table)
      assert.equal(context['hierarchy-version'], '1')
      assert.equal(context['kms-arn'], kmsKeyArn)
    }
  })

  it('refuses bad options with ERR_INVALID_ARGUMENT', () => {
    const kmsKeyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    assert.throws(() => new BranchKeyStore({ tableName: 't', kmsKeyArn }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new BranchKeyStore({ tableName: 'table', kmsKeyArn: 'alias/orders' }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new BranchKeyStore({ tableName: 'table', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/orders' }), {
      code: 'ERR_INVALID_ARGUMENT',
    })
    assert.throws(() => new BranchKeyStore({ tableName: 'table', kmsKeyArn, logicalKeyStoreName: '' }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new BranchKeyStore({ tableName: 'table', kmsKeyArn, dynamoDbClient: {} as never }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.deepEqual(JSON.parse(JSON.stringify(new BranchKeyStore({ tableName: 'table', kmsKeyArn }))), {
      type: 'BranchKeyStore',
      tableName: 'table',
      logicalKeyStoreName: 'table',
      kmsKeyArn,
    })
  })
})

describe('BranchKeyStore on moto: tampered items are refused with a typed error', () => {
  async function tampered(
    edit: (
      item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>,
      parts: { table: string; id: string; version: string },
    ) => Promise<void> | void,
  ) {
    const setup = await newStore()
    const id = await setup.store.createKey('tenant-t', { encryptionContext: { tenant: 't' } })
    const active = await rawItem(setup.table, id, 'branch:ACTIVE')
    const version = active.version!.S!.slice('branch:version:'.length)
    await edit(active, { table: setup.table, id, version })
    await putRawItem(setup.table, active)
    setup.kms.calls.take()
    return { ...setup, id, version }
  }

  for (const [what, edit] of [
    [
      'a changed custom context value',
      (item: Record<string, { S?: string }>) => {
        item['aws-crypto-ec:tenant'] = { S: 'mallory' }
      },
    ],
    [
      'a changed create-time',
      (item: Record<string, { S?: string }>) => {
        item['create-time'] = { S: '2020-01-01T00:00:00.000000Z' }
      },
    ],
    [
      'an added attribute',
      (item: Record<string, { S?: string }>) => {
        item['aws-crypto-ec:admin'] = { S: 'true' }
      },
    ],
    ['a removed custom attribute', (item: Record<string, { S?: string }>) => void delete item['aws-crypto-ec:tenant']],
  ] as const) {
    it(`${what}: KMS refuses it (ERR_KMS_INVALID_CIPHERTEXT) and versionKey will not rotate it`, async () => {
      const { store, id, kms } = await tampered(edit as never)
      await rejectsWithCode(store.getActiveBranchKey(id), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
      assert.deepEqual(kms.calls.take(), { Decrypt: 1 })
      await rejectsWithCode(store.versionKey(id), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
      assert.deepEqual(kms.calls.take(), { ReEncrypt: 1 }, 'nothing new was generated for a tampered item')
    })
  }

  it('a swapped enc (the version item’s, or another branch key’s) is refused by KMS', async () => {
    const { store, table, id, version } = await tampered(async (item, { table, id, version }) => {
      item.enc = (await rawItem(table, id, `branch:version:${version}`)).enc!
    })
    await rejectsWithCode(store.getActiveBranchKey(id), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
    const other = await store.createKey()
    const foreign = await rawItem(table, id, `branch:version:${version}`)
    foreign.enc = (await rawItem(table, other, 'branch:ACTIVE')).enc!
    await putRawItem(table, foreign)
    await rejectsWithCode(store.getBranchKeyVersion(id, version), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
  })

  it('another KMS key ARN, a mistyped attribute or a missing version is ERR_BRANCH_KEY_ITEM with no KMS call', async () => {
    const edits: ((item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>) => void)[] = [
      (item) => {
        item['kms-arn'] = { S: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000' }
      },
      (item) => {
        item['hierarchy-version'] = { S: '1' }
      },
      (item) => {
        item['hierarchy-version'] = { N: '2' }
      },
      (item) => {
        item['aws-crypto-ec:tenant'] = { N: '7' }
      },
      (item) => void delete item.version,
      (item) => {
        item.version = { S: 'v2' }
      },
      (item) => {
        item.enc = { S: 'not binary' }
      },
      (item) => {
        item.tablename = { S: 'other' }
      },
    ]
    for (const edit of edits) {
      const { store, id, kms } = await tampered(edit)
      await rejectsWithCode(store.getActiveBranchKey(id), 'ERR_BRANCH_KEY_ITEM', BranchKeyStoreError)
      assert.deepEqual(kms.calls.take(), {})
    }
  })

  it('a store with another logical key store name cannot unwrap the table’s keys', async () => {
    const { store, table, kmsKeyArn } = await newStore()
    const id = await store.createKey()
    const renamed = new BranchKeyStore({
      tableName: table,
      kmsKeyArn,
      logicalKeyStoreName: 'another-name',
      dynamoDbClient: (await motoDynamoDb()).client,
      kmsClient: (await motoClient()).client,
    })
    await rejectsWithCode(renamed.getActiveBranchKey(id), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
  })
})
