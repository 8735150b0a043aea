/**
 * The branch key store's item checks without DynamoDB or KMS: the items it writes pass and give
 * back the context they were wrapped under, and arbitrary edits of an item either fail with
 * ERR_BRANCH_KEY_ITEM (never another error) or leave a context KMS will hold the item to.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import fc from 'fast-check'
import { activeContext, beaconContext, checkItem, timestamp, toItem, versionContext } from '../src/keyrings/branch-key-item.js'
import { BranchKeyStoreError } from '../src/kms.js'

const ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
const VERSION = '0b5bd8a4-5f43-4b25-9b53-8ae5cbd2f7a1'
const base = versionContext('tenant-1', VERSION, timestamp(new Date(0)), 'logical', ARN, { tenant: '1' })
const wrapped = new Uint8Array(184).fill(7)

describe('branch key store items', () => {
  it('what toItem writes, checkItem reads back with the same context (plus tablename) for all three item types', () => {
    for (const [context, sortKey, version] of [
      [base, `branch:version:${VERSION}`, VERSION],
      [activeContext(base), 'branch:ACTIVE', VERSION],
      [beaconContext(base), 'beacon:ACTIVE', ''],
    ] as const) {
      const item = toItem(context, wrapped)
      assert.equal(item.tablename, undefined)
      assert.deepEqual(item['hierarchy-version'], { N: '1' })
      const checked = checkItem(item, 'tenant-1', sortKey, 'logical', ARN)
      assert.deepEqual(checked.context, context)
      assert.equal(checked.version, version)
      assert.deepEqual(checked.custom, { tenant: '1' })
      assert.equal(timestamp(new Date(0)), '1970-01-01T00:00:00.000000Z')
    }
  })

  it('any edit of an item is ERR_BRANCH_KEY_ITEM or leaves the edit inside the context KMS checks', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }).map((S): AttributeValue => ({ S })),
      fc.constantFrom('1', '2', '01').map((N): AttributeValue => ({ N })),
      fc.uint8Array({ maxLength: 40 }).map((B): AttributeValue => ({ B })),
      fc.constant<AttributeValue>({ BOOL: true }),
    )
    const name = fc.constantFrom(
      'branch-key-id',
      'type',
      'version',
      'enc',
      'kms-arn',
      'create-time',
      'hierarchy-version',
      'tablename',
      'aws-crypto-ec:tenant',
      'extra',
    )
    const edit = fc.oneof(fc.record({ op: fc.constant('set' as const), name, value }), fc.record({ op: fc.constant('delete' as const), name }))
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.boolean(), (edits, active) => {
        const item: Record<string, AttributeValue> = toItem(active ? activeContext(base) : base, wrapped)
        for (const e of edits) {
          if (e.op === 'set') item[e.name] = e.value
          else delete item[e.name]
        }
        const sortKey = active ? 'branch:ACTIVE' : `branch:version:${VERSION}`
        let checked: ReturnType<typeof checkItem>
        try {
          checked = checkItem(item, 'tenant-1', sortKey, 'logical', ARN)
        } catch (error) {
          assert.ok(error instanceof BranchKeyStoreError, String(error))
          assert.equal(error.code, 'ERR_BRANCH_KEY_ITEM')
          return
        }
        // Accepted: every attribute but enc is in the context, as a string, and the pinned parts hold.
        for (const [n, v] of Object.entries(item)) if (n !== 'enc') assert.equal(checked.context[n], v.S ?? v.N)
        assert.equal(checked.context.tablename, 'logical')
        assert.equal(checked.context['kms-arn'], ARN)
        assert.equal(checked.context['branch-key-id'], 'tenant-1')
        assert.equal(checked.context.type, sortKey)
        assert.equal(checked.wrapped, item.enc!.B)
      }),
      { numRuns: 2000, seed: 21 },
    )
  })
})
