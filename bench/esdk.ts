/**
 * The AWS Encryption SDK for JavaScript (@aws-crypto/client-node), set up the way a user
 * comparing it with kms-envelope would: raw AES keyring, the committing suites, and its
 * caching materials manager for the cached cases.
 *
 * Suites: 0x0478 (ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY) is the like-for-like
 * suite (committing, unsigned); 0x0578 adds an ECDSA P-384 signature and is the SDK default.
 */
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node'

export const ESDK_SUITE_UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY // 0x0478
export const ESDK_SUITE_SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 // 0x0578

/** Named by its own type so the declaration build never has to spell the SDK's internal paths. */
export const esdk: ReturnType<typeof buildClient> = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)

export function esdkKeyring(key: Uint8Array): RawAesKeyringNode {
  // The SDK rejects a key that is a view into Node's Buffer pool: give it its own copy.
  return new RawAesKeyringNode({
    keyName: 'bench-key',
    keyNamespace: 'bench',
    unencryptedMasterKey: new Uint8Array(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  })
}

export function esdkCachingManager(keyring: RawAesKeyringNode, maxAgeMs: number): NodeCachingMaterialsManager {
  return new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(1000),
    maxAge: maxAgeMs,
    maxMessagesEncrypted: 2 ** 32,
    maxBytesEncrypted: Number.MAX_SAFE_INTEGER,
  })
}
