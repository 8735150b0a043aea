/**
 * The items of AWS's branch key store (aws-encryption-sdk-specification,
 * framework/branch-key-store.md "Record Format" and "Encryption Context"), without the SDK:
 * building the KMS encryption context a new branch key is wrapped under, turning it into a
 * DynamoDB item, and checking an item read back before it is unwrapped. Pure functions, so
 * the store (branch-key-store.ts) is only its calls.
 *
 * One branch key version is two items that hold the same key wrapped twice: the version item
 * (`type` = `branch:version:<uuid>`) and, while it is the active one, the `branch:ACTIVE`
 * item (with `version` = `branch:version:<uuid>`). A `beacon:ACTIVE` item holds the beacon key
 * AWS's searchable encryption uses. Every attribute but `enc` is in the KMS encryption
 * context of `enc`, with `tablename` = the logical key store name added: so KMS itself refuses
 * an item whose attributes were changed, or whose `enc` was moved from another item.
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { BranchKeyStoreError } from '../errors.js'
import { MAX_WRAPPED_BYTES } from '../format/constants.js'
import { printable } from '../printable.js'

export const PARTITION_KEY = 'branch-key-id'
export const SORT_KEY = 'type'
export const TABLE_FIELD = 'tablename'
export const ENC_FIELD = 'enc'
export const VERSION_FIELD = 'version'
export const CREATE_TIME_FIELD = 'create-time'
export const HIERARCHY_VERSION_FIELD = 'hierarchy-version'
export const KMS_ARN_FIELD = 'kms-arn'
/** Prefix of the custom encryption context's attribute names. */
export const CUSTOM_PREFIX = 'aws-crypto-ec:'
export const VERSION_PREFIX = 'branch:version:'
export const ACTIVE_TYPE = 'branch:ACTIVE'
export const BEACON_TYPE = 'beacon:ACTIVE'
/** The only hierarchy version the specification defines. */
export const HIERARCHY_VERSION = '1'

/** The KMS encryption context of one wrapped key: every attribute of its item but `enc`, plus `tablename`. */
export type StoreContext = Readonly<Record<string, string>>

/** An item read back and checked: its wrapped key and the context to unwrap it with. */
export interface CheckedItem {
  readonly branchKeyId: string
  /** The version's UUID (for ACTIVE from `version`, for a version item from `type`); '' for the beacon item. */
  readonly version: string
  readonly kmsArn: string
  readonly wrapped: Uint8Array
  readonly context: StoreContext
  /** The custom context, names without `aws-crypto-ec:`. */
  readonly custom: Readonly<Record<string, string>>
}

// Versions are UUIDs as every AWS implementation writes them (version 4, lowercase); read
// case-insensitively, since the version is only compared, never parsed.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** DynamoDB's own limit on a partition key value is 2048 bytes; ids are also echoed in errors. */
export const MAX_BRANCH_KEY_ID_LENGTH = 1024
const MAX_ATTRIBUTES = 64

/** @internal True for a version string this store accepts. */
export function isVersion(value: string): boolean {
  return UUID.test(value)
}

/** @internal ISO 8601 in UTC to microseconds, as the specification asks (`Date` has milliseconds: three zeros follow). */
export function timestamp(now = new Date()): string {
  return now.toISOString().replace('Z', '000Z')
}

/** @internal The DECRYPT_ONLY (version item) context of a new version. */
export function versionContext(
  branchKeyId: string,
  version: string,
  createTime: string,
  logicalName: string,
  kmsArn: string,
  custom: Readonly<Record<string, string>>,
): StoreContext {
  const context: Record<string, string> = {
    [PARTITION_KEY]: branchKeyId,
    [SORT_KEY]: `${VERSION_PREFIX}${version}`,
    [CREATE_TIME_FIELD]: createTime,
    [TABLE_FIELD]: logicalName,
    [KMS_ARN_FIELD]: kmsArn,
    [HIERARCHY_VERSION_FIELD]: HIERARCHY_VERSION,
  }
  for (const [name, value] of Object.entries(custom)) context[`${CUSTOM_PREFIX}${name}`] = value
  return context
}

/** @internal The ACTIVE item's context for a version context: same attributes, `type` moved to `version`. */
export function activeContext(version: StoreContext): StoreContext {
  return { ...version, [VERSION_FIELD]: version[SORT_KEY]!, [SORT_KEY]: ACTIVE_TYPE }
}

/** @internal The beacon item's context, built from a version context. */
export function beaconContext(version: StoreContext): StoreContext {
  return { ...version, [SORT_KEY]: BEACON_TYPE }
}

/** @internal The DynamoDB item for a wrapped key and its context (`tablename` is not stored: the store's configuration supplies it). */
export function toItem(context: StoreContext, wrapped: Uint8Array): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {}
  for (const [name, value] of Object.entries(context)) {
    if (name === TABLE_FIELD) continue
    item[name] = name === HIERARCHY_VERSION_FIELD ? { N: value } : { S: value }
  }
  item[ENC_FIELD] = { B: wrapped }
  return item
}

function badItem(branchKeyId: string, sortKey: string, problem: string): BranchKeyStoreError {
  return new BranchKeyStoreError(
    'ERR_BRANCH_KEY_ITEM',
    branchKeyId,
    `the branch key store item ${printable(branchKeyId)} / ${printable(sortKey)} ${problem}. The item was not unwrapped: check that the table is a branch key store written by a compatible implementation and was not edited`,
  )
}

/**
 * @internal Checks an item read for `branchKeyId` / `sortKey` against the record format and this
 * store's configuration, and builds the context KMS will authenticate it with. Refused here,
 * before any KMS call: a missing or mistyped attribute, an item of another branch key or type
 * than asked, another KMS key than the store's (the store is pinned to one), a `tablename`
 * attribute (the configured logical name is authoritative). Whatever passes is still
 * unauthenticated: KMS decides, since every attribute is in the context.
 */
export function checkItem(item: Record<string, AttributeValue>, branchKeyId: string, sortKey: string, logicalName: string, kmsArn: string): CheckedItem {
  const names = Object.keys(item)
  if (names.length > MAX_ATTRIBUTES) throw badItem(branchKeyId, sortKey, `has ${names.length} attributes (at most ${MAX_ATTRIBUTES})`)
  const context: Record<string, string> = {}
  const custom: Record<string, string> = {}
  let wrapped: Uint8Array | undefined
  for (const name of names) {
    const value = item[name]!
    if (name === ENC_FIELD) {
      if (!(value.B instanceof Uint8Array)) throw badItem(branchKeyId, sortKey, `has an ${ENC_FIELD} attribute that is not binary`)
      wrapped = value.B
    } else if (name === HIERARCHY_VERSION_FIELD) {
      if (value.N !== HIERARCHY_VERSION)
        throw badItem(branchKeyId, sortKey, `has ${HIERARCHY_VERSION_FIELD} ${printable(String(value.N ?? value.S))}, expected the number ${HIERARCHY_VERSION}`)
      context[name] = value.N
    } else if (name === TABLE_FIELD) {
      throw badItem(branchKeyId, sortKey, `has a ${TABLE_FIELD} attribute, which no implementation stores`)
    } else {
      if (typeof value.S !== 'string') throw badItem(branchKeyId, sortKey, `has a non-string attribute ${printable(name)}`)
      context[name] = value.S
      if (name.startsWith(CUSTOM_PREFIX)) custom[name.slice(CUSTOM_PREFIX.length)] = value.S
    }
  }
  for (const required of [PARTITION_KEY, SORT_KEY, CREATE_TIME_FIELD, KMS_ARN_FIELD, HIERARCHY_VERSION_FIELD]) {
    if (context[required] === undefined) throw badItem(branchKeyId, sortKey, `has no ${required} attribute`)
  }
  if (wrapped === undefined) throw badItem(branchKeyId, sortKey, `has no ${ENC_FIELD} attribute`)
  if (wrapped.length === 0 || wrapped.length > MAX_WRAPPED_BYTES)
    throw badItem(branchKeyId, sortKey, `has a ${wrapped.length}-byte ${ENC_FIELD} (expected 1..${MAX_WRAPPED_BYTES})`)
  if (context[PARTITION_KEY] !== branchKeyId || context[SORT_KEY] !== sortKey) {
    throw badItem(branchKeyId, sortKey, `is keyed ${printable(context[PARTITION_KEY]!)} / ${printable(context[SORT_KEY]!)}`)
  }
  if (context[KMS_ARN_FIELD] !== kmsArn) {
    throw badItem(branchKeyId, sortKey, `is wrapped by KMS key ${printable(context[KMS_ARN_FIELD]!)}, not this store's ${printable(kmsArn)}`)
  }
  let version = ''
  if (sortKey === ACTIVE_TYPE) {
    const v = context[VERSION_FIELD]
    if (v === undefined || !v.startsWith(VERSION_PREFIX) || !isVersion(v.slice(VERSION_PREFIX.length))) {
      throw badItem(branchKeyId, sortKey, `has no ${VERSION_FIELD} attribute of the form ${VERSION_PREFIX}<uuid>`)
    }
    version = v.slice(VERSION_PREFIX.length)
  } else {
    if (context[VERSION_FIELD] !== undefined) throw badItem(branchKeyId, sortKey, `has a ${VERSION_FIELD} attribute, which only the ${ACTIVE_TYPE} item has`)
    if (sortKey.startsWith(VERSION_PREFIX)) version = sortKey.slice(VERSION_PREFIX.length)
  }
  context[TABLE_FIELD] = logicalName
  return { branchKeyId, version, kmsArn, wrapped, context, custom }
}
