/**
 * AWS KMS key identifiers, without the SDK: parsing ARNs, telling key ARNs from aliases and
 * bare key ids, and matching multi-Region keys (`mrk-...`) across Regions. Pure functions,
 * so `canUnwrap` can decide without I/O.
 *
 * Forms a caller may configure (AWS KMS "key identifiers"):
 *   key ARN    arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
 *   alias ARN  arn:aws:kms:us-east-1:111122223333:alias/orders
 *   key id     1234abcd-12ab-34cd-56ef-1234567890ab  or  mrk-...
 *   alias name alias/orders
 * Messages only ever hold key ARNs: KMS returns them on every call, and only they name one
 * key for good (an alias can be moved to another key).
 * @module
 */

/** A parsed KMS ARN. */
export interface KmsArn {
  readonly partition: string
  readonly region: string
  readonly account: string
  readonly resourceType: 'key' | 'alias'
  /** Key id (`1234abcd-...`, `mrk-...`) or alias name without `alias/`. */
  readonly resource: string
}

// Partition and Region are lowercase words with dashes (aws, aws-cn, aws-us-gov; us-east-1).
const ARN = /^arn:([a-z][a-z0-9-]{0,62}):kms:([a-z0-9-]{1,64}):(\d{12}):(key|alias)\/([A-Za-z0-9/_+=,.@-]{1,256})$/
// Key ids are UUIDs or `mrk-` + hex; accepted loosely (KMS itself is the judge of existence).
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/

/** Parses a KMS ARN (key or alias); undefined when `value` is not one. */
export function parseKmsArn(value: string): KmsArn | undefined {
  const m = ARN.exec(value)
  if (m === null) return undefined
  const [, partition, region, account, resourceType, resource] = m as unknown as [string, string, string, string, 'key' | 'alias', string]
  if (resourceType === 'key' && !KEY_ID.test(resource)) return undefined
  return { partition, region, account, resourceType, resource }
}

/** Parses a key ARN (not an alias ARN); undefined otherwise. */
export function parseKeyArn(value: string): KmsArn | undefined {
  const arn = parseKmsArn(value)
  return arn?.resourceType === 'key' ? arn : undefined
}

/** True for any identifier KMS accepts as a KeyId: key ARN, alias ARN, key id, alias name. */
export function isKmsKeyIdentifier(value: string): boolean {
  return parseKmsArn(value) !== undefined || KEY_ID.test(value) || ALIAS_NAME.test(value)
}

/** True when `arn` names a multi-Region key. */
export function isMultiRegionKey(arn: KmsArn): boolean {
  return arn.resourceType === 'key' && arn.resource.startsWith('mrk-')
}

/** The ARN text of `arn`, optionally in another Region. */
export function formatKmsArn(arn: KmsArn, region = arn.region): string {
  return `arn:${arn.partition}:kms:${region}:${arn.account}:${arn.resourceType}/${arn.resource}`
}

/**
 * Whether a configured key ARN may decrypt what `wrapped` (the ARN in a message) wrapped:
 * the same key, or replicas of one multi-Region key (same partition, account and `mrk-`
 * id, any Region). This is the AWS Encryption SDK's "MRK match for decrypt".
 */
export function keyArnsMatch(configured: KmsArn, wrapped: KmsArn): boolean {
  if (configured.resourceType !== 'key' || wrapped.resourceType !== 'key') return false
  if (configured.partition !== wrapped.partition || configured.account !== wrapped.account || configured.resource !== wrapped.resource) return false
  return configured.region === wrapped.region || isMultiRegionKey(configured)
}
