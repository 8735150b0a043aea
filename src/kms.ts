/**
 * kms-envelope/kms: the AWS KMS keyring. The only entry that loads `@aws-sdk/client-kms`;
 * the core (`kms-envelope`) never does, so code that uses local keys pays nothing for it.
 *
 * @example
 * ```ts
 * import { Envelope } from 'kms-envelope'
 * import { KmsKeyring } from 'kms-envelope/kms'
 * const env = new Envelope({ keyring: new KmsKeyring({ keyIds: ['alias/orders'] }) })
 * ```
 * @module
 */

export type { KmsErrorCode } from './errors.js'
export { KmsError, KmsSdkMissingError } from './errors.js'
export type { KmsDiscoveryFilter, KmsKeyringOptions } from './keyrings/kms.js'
export { KMS_KEYRING_TYPE, KmsKeyring } from './keyrings/kms.js'
