/**
 * Branch key store test helpers: DynamoDB clients on moto that count their calls, a fresh
 * table per test file, and raw item access for tampering. Imports the AWS SDK, so only
 * kms-branch* tests use it.
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { BranchKeyStore } from '../src/kms.js'
import type { CallCounter } from './kms-helpers.js'
import { CREDENTIALS, countCalls, createKey, kmsEndpoint, motoClient, REGION } from './kms-helpers.js'

/** A DynamoDB client for moto with a call counter. */
export async function motoDynamoDb(): Promise<{ client: DynamoDBClient; calls: CallCounter }> {
  const client = new DynamoDBClient({ region: REGION, endpoint: await kmsEndpoint(), credentials: CREDENTIALS })
  return { client, calls: countCalls(client) }
}

/** A table name no other test uses. */
export function tableName(prefix = 'kmse-bks'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`
}

/** A store on a new table (created through an uncounted store) and a new KMS key, with counted clients. */
export async function newStore(options: { logicalKeyStoreName?: string } = {}) {
  const kmsKeyArn = await createKey()
  const table = tableName()
  const admin = new BranchKeyStore({ tableName: table, kmsKeyArn, dynamoDbClient: (await motoDynamoDb()).client, kmsClient: (await motoClient()).client })
  await admin.createTable()
  const kms = await motoClient()
  const ddb = await motoDynamoDb()
  const store = new BranchKeyStore({ tableName: table, kmsKeyArn, dynamoDbClient: ddb.client, kmsClient: kms.client, ...options })
  return { store, table, kmsKeyArn, kms, ddb }
}

/** Reads one raw item. */
export async function rawItem(table: string, id: string, type: string): Promise<Record<string, AttributeValue>> {
  const { client } = await motoDynamoDb()
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { 'branch-key-id': { S: id }, type: { S: type } } }))
  if (Item === undefined) throw new Error(`no item ${id} / ${type}`)
  return Item
}

/** Overwrites one raw item. */
export async function putRawItem(table: string, item: Record<string, AttributeValue>): Promise<void> {
  const { client } = await motoDynamoDb()
  await client.send(new PutItemCommand({ TableName: table, Item: item }))
}
