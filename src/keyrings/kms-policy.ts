/**
 * Which key ARNs a KMS keyring may call, without the SDK: the checked key list and discovery
 * filter, the key ARNs configured ids stand for, and the per-message decision which key ARN
 * (if any) a message's recipient may make us call Decrypt with. Kept apart from the client
 * plumbing in kms.ts so this security decision reads on its own and stays pure: a message
 * chooses which keys it names, never which keys our credentials are asked to use.
 * @module
 */
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { AbortError, invalidArgument } from '../errors.js'
import { integerOption } from '../validate.js'
import type { KmsArn } from './kms-arn.js'
import { formatKmsArn, isKmsKeyIdentifier, isMultiRegionKey, keyArnsMatch, parseKeyArn } from './kms-arn.js'
import { KMS_KEYRING_TYPE, settleAll } from './kms-response.js'

/** Which keys a discovery keyring may try: any key of these accounts in this partition. */
export interface KmsDiscoveryFilter {
  /** 12-digit AWS account ids. */
  readonly accountIds: readonly string[]
  /** `aws`, `aws-cn`, `aws-us-gov`, ... */
  readonly partition: string
  /**
   * The Regions to call, required without `client` (with one, its Region is the only one).
   * A message naming a key of another Region costs no call and creates no client, except a
   * multi-Region key (`mrk-`), which is asked in the first listed Region instead.
   */
  readonly regions?: readonly string[]
  /**
   * At most this many keys a message names are tried per message (default
   * 3): a message can list many keys of a trusted account,
   * each one a Decrypt call.
   */
  readonly maxAttempts?: number
}

/** Default {@link KmsDiscoveryFilter.maxAttempts}. */
export const DEFAULT_DISCOVERY_ATTEMPTS = 3

const ACCOUNT_ID = /^\d{12}$/
const PARTITION = /^[a-z][a-z0-9-]{0,62}$/
const REGION = /^[a-z0-9-]{1,64}$/
const MAX_DISCOVERY_REGIONS = 32
const MAX_GRANT_TOKENS = 10
const clientIds = new WeakMap<object, number>()
let nextClientId = 1

/** @internal The `keyIds` option, checked and frozen; empty only for a discovery keyring. */
export function checkKeyIds(value: unknown, hasDiscovery: boolean): readonly string[] {
  if (value === undefined) {
    if (hasDiscovery) return Object.freeze([])
    throw invalidArgument('KmsKeyring needs keyIds (key ARNs, key ids or alias/NAME), or discovery: { accountIds, partition } to decrypt only')
  }
  if (!Array.isArray(value) || (value.length === 0 && !hasDiscovery)) throw invalidArgument('keyIds must be a non-empty array of KMS key identifiers')
  const seen = new Set<string>()
  for (const id of value as unknown[]) {
    if (typeof id !== 'string' || !isKmsKeyIdentifier(id)) {
      throw invalidArgument(`keyIds: ${JSON.stringify(id)} is not a KMS key identifier; use a key ARN, a key id, alias/NAME or an alias ARN`)
    }
    if (seen.has(id)) throw invalidArgument(`keyIds lists ${id} twice`)
    seen.add(id)
  }
  return Object.freeze([...(value as string[])])
}

/** @internal The `discovery` option, checked and frozen with its `maxAttempts` filled in. */
export function checkDiscovery(value: unknown, hasClient: boolean): KmsDiscoveryFilter | undefined {
  if (value === undefined) return undefined
  const d = value as KmsDiscoveryFilter
  if (
    value === null ||
    typeof value !== 'object' ||
    !Array.isArray(d.accountIds) ||
    d.accountIds.length === 0 ||
    !d.accountIds.every((a) => typeof a === 'string' && ACCOUNT_ID.test(a))
  ) {
    throw invalidArgument('discovery.accountIds must be a non-empty array of 12-digit AWS account ids')
  }
  if (typeof d.partition !== 'string' || !PARTITION.test(d.partition)) throw invalidArgument('discovery.partition must be an AWS partition such as "aws"')
  if (d.regions === undefined && !hasClient) {
    throw invalidArgument('discovery needs regions (e.g. regions: ["eu-west-1"]) or a client: otherwise each message would choose which Regions are called')
  }
  if (
    d.regions !== undefined &&
    (!Array.isArray(d.regions) ||
      d.regions.length === 0 ||
      d.regions.length > MAX_DISCOVERY_REGIONS ||
      !d.regions.every((r) => typeof r === 'string' && REGION.test(r)) ||
      new Set(d.regions).size !== d.regions.length)
  ) {
    throw invalidArgument(`discovery.regions must be a non-empty array of at most ${MAX_DISCOVERY_REGIONS} distinct AWS Regions such as "eu-west-1"`)
  }
  if (d.regions !== undefined && hasClient) throw invalidArgument('discovery.regions and client exclude each other: a client calls its own Region only')
  // `??` rather than integerOption's fallback: a null maxAttempts has always meant the default.
  const maxAttempts = integerOption(d.maxAttempts ?? DEFAULT_DISCOVERY_ATTEMPTS, 'discovery.maxAttempts', 1, 16)
  return Object.freeze({
    accountIds: Object.freeze([...d.accountIds]),
    partition: d.partition,
    ...(d.regions === undefined ? {} : { regions: Object.freeze([...d.regions]) }),
    maxAttempts,
  })
}

/** @internal The `grantTokens` option, checked and frozen; undefined when there are none. */
export function checkGrantTokens(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length > MAX_GRANT_TOKENS || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    throw invalidArgument(`grantTokens must be an array of at most ${MAX_GRANT_TOKENS} non-empty strings`)
  }
  return value.length === 0 ? undefined : Object.freeze([...(value as string[])])
}

/** @internal A keyring's description: its keys and discovery filter, never secret. */
export function kmsDescription(keyIds: readonly string[], discovery: KmsDiscoveryFilter | undefined): string {
  const keys = keyIds.length > 0 ? keyIds.join(',') : ''
  const filter = discovery === undefined ? '' : `${keys === '' ? '' : ' '}discovery(${discovery.partition}:${discovery.accountIds.join(',')})`
  return `${KMS_KEYRING_TYPE}:${keys}${filter}`
}

/**
 * @internal The cache identity of a keyring: same keys, filter, grant tokens and client (or
 * both on the environment's) means the same authority to call KMS.
 */
export function kmsCacheId(
  keyIds: readonly string[],
  discovery: KmsDiscoveryFilter | undefined,
  grantTokens: readonly string[] | undefined,
  client: object | undefined,
): string {
  let clientTag = 'env'
  if (client !== undefined) {
    if (!clientIds.has(client)) clientIds.set(client, nextClientId++)
    clientTag = `client#${clientIds.get(client)}`
  }
  // Grant tokens are bearer secrets: only a fingerprint goes into the id.
  const tokens =
    grantTokens === undefined
      ? ''
      : bytesToHex(backend.hkdfSha512(utf8ToBytes(JSON.stringify(grantTokens)), new Uint8Array(0), utf8ToBytes('KMSE v1 grant tokens'), 16))
  return `${KMS_KEYRING_TYPE}:${JSON.stringify([keyIds, discovery ?? null, tokens, clientTag])}`
}

/**
 * @internal The calling policy of one KMS keyring: which key ARN a recipient may make it
 * call, and how many attempts a message may cost. Learns the key ARNs of configured key ids
 * and aliases as KMS reveals them; everything else is fixed at construction.
 */
export class KmsKeyPolicy {
  /** The keys as configured. */
  readonly keyIds: readonly string[]
  readonly discovery: KmsDiscoveryFilter | undefined
  /**
   * Configured keys are each tried at most once (the attempt key is the pinned key ARN);
   * discovery keys, which the message chooses, share a budget on top.
   */
  readonly maxUnwrapAttempts: number | undefined
  readonly #hasClient: boolean
  /** Configured id → its key ARN: given for key ARNs, learned from KMS for the rest. */
  readonly #resolved = new Map<string, KmsArn>()
  #clientRegion: string | undefined
  #resolving: Promise<void> | undefined

  /**
   * @param keyIds - The checked `keyIds` option ({@link checkKeyIds}).
   * @param discovery - The checked `discovery` option ({@link checkDiscovery}).
   * @param hasClient - Whether the caller passed one client (discovery then calls its Region only).
   */
  constructor(keyIds: readonly string[], discovery: KmsDiscoveryFilter | undefined, hasClient: boolean) {
    this.keyIds = keyIds
    this.discovery = discovery
    this.#hasClient = hasClient
    this.maxUnwrapAttempts = discovery === undefined ? undefined : keyIds.length + discovery.maxAttempts!
    for (const id of keyIds) {
      const arn = parseKeyArn(id)
      if (arn !== undefined) this.#resolved.set(id, arn)
    }
  }

  /** Configured key ids and aliases whose key ARN is not known yet. */
  unresolved(): string[] {
    return this.keyIds.filter((id) => !this.#resolved.has(id))
  }

  /**
   * Records the key ARN KMS said a configured id stands for (the first answer wins).
   * @param configuredId - The id as configured; ids not configured are ignored.
   * @param arn - The key ARN KMS returned for it.
   */
  learn(configuredId: string, arn: KmsArn): void {
    if (!this.#resolved.has(configuredId) && this.keyIds.includes(configuredId)) this.#resolved.set(configuredId, arn)
  }

  /**
   * Looks up every unresolved configured id once, however many messages are opened at once:
   * concurrent callers join the lookup in flight.
   * @param lookup - Asks KMS which key ARN an id stands for (DescribeKey).
   * @param signal - This caller's abort signal.
   */
  async resolve(lookup: (id: string) => Promise<KmsArn>, signal: AbortSignal | undefined): Promise<void> {
    while (this.unresolved().length > 0) {
      const mine = this.#resolving === undefined
      this.#resolving ??= settleAll(this.unresolved().map(async (id) => this.learn(id, await lookup(id))))
        .then(() => undefined)
        .finally(() => {
          this.#resolving = undefined
        })
      try {
        await this.#resolving
        return
      } catch (error) {
        // Another caller's abort is not ours: resolve again under our own signal.
        if (mine || !(error instanceof AbortError) || signal?.aborted) throw error
      }
    }
  }

  /** Whether discovery through the caller's client still needs that client's Region. */
  needsClientRegion(): boolean {
    return this.discovery !== undefined && this.#hasClient && this.#clientRegion === undefined
  }

  /**
   * @param region - The Region of the caller's client: the only one discovery calls.
   */
  setClientRegion(region: string): void {
    this.#clientRegion = region
  }

  /**
   * The key ARN to call Decrypt with for a message's key ARN, or undefined when this keyring
   * may not try it.
   * @param keyId - The key id a recipient of the message names.
   */
  decryptKeyFor(keyId: string): string | undefined {
    const wrapped = parseKeyArn(keyId)
    if (wrapped === undefined) return undefined
    for (const configured of this.#resolved.values()) {
      if (keyArnsMatch(configured, wrapped)) return formatKmsArn(configured)
    }
    const d = this.discovery
    if (d === undefined || wrapped.partition !== d.partition || !d.accountIds.includes(wrapped.account)) return undefined
    if (!this.#hasClient) {
      // Only the listed Regions are called: the message must not choose where (or how many clients).
      const regions = d.regions ?? []
      if (regions.includes(wrapped.region)) return keyId
      return isMultiRegionKey(wrapped) && regions.length > 0 ? formatKmsArn(wrapped, regions[0]) : undefined
    }
    const region = this.#clientRegion
    if (region === undefined) return undefined
    if (wrapped.region === region) return keyId
    return isMultiRegionKey(wrapped) ? formatKmsArn(wrapped, region) : undefined
  }
}
