/**
 * kms-envelope/kms: the AWS KMS keyring. The only entry that uses `@aws-sdk/client-kms`, an
 * optional peer dependency (`>=3.709.0 <4`) the application installs: one copy, so the
 * application's own `KMSClient` is the type and the runtime this entry expects. It is loaded
 * on the first KMS call; without it that call fails with {@link KmsSdkMissingError}. The core
 * (`kms-envelope`) never loads it, so code that uses local keys needs no SDK at all.
 *
 * @example
 * ```ts
 * import { Envelope } from 'kms-envelope'
 * import { KmsKeyring } from 'kms-envelope/kms'
 * const env = new Envelope({ keyring: new KmsKeyring({ keyIds: ['alias/orders'] }) })
 * ```
 * @module
 */

export type { BranchKeyStoreErrorCode, KmsErrorCode } from './errors.js'
export { BranchKeyStoreError, DynamoDbSdkMissingError, KmsError, KmsSdkMissingError } from './errors.js'
export type { BranchKeyMaterials, BranchKeySource } from './keyrings/branch-key-source.js'
export type {
  BeaconKeyMaterials,
  BranchKeyDescription,
  BranchKeyStoreCallOptions,
  BranchKeyStoreOptions,
  CreateBranchKeyOptions,
  DynamoDbClientLike,
} from './keyrings/branch-key-store.js'
export { BranchKeyStore } from './keyrings/branch-key-store.js'
export type { KmsDiscoveryFilter, KmsKeyringOptions } from './keyrings/kms.js'
export { KMS_KEYRING_TYPE, KmsKeyring } from './keyrings/kms.js'
export type { KmsRsaKeyringOptions } from './keyrings/kms-rsa.js'
export { KMS_RSA_ALGORITHM, KMS_RSA_KEYRING_TYPE, KmsRsaKeyring } from './keyrings/kms-rsa.js'
