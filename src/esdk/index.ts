/**
 * `kms-envelope/esdk`: a reader for AWS Encryption SDK messages (format versions 1 and 2),
 * so data written with the SDK opens with this library's keyrings and can be migrated.
 * See docs/ESDK.md for what is supported and how it was checked against the SDK.
 * @module
 */
export type { EsdkEncryptedDataKey, EsdkHeader } from './header.js'
export type { EsdkKeyringInput } from './keys.js'
export type { EsdkContextMapper, EsdkContextMapping, EsdkMigratedMessage, EsdkMigratedStream, EsdkMigrationInfo, MigrateEsdkOptions } from './migrate.js'
export { migrateEsdkMessage } from './migrate.js'
export type { RawAesKeyringOptions } from './raw-aes.js'
export { RawAesKeyring } from './raw-aes.js'
export type { RawRsaKeyringOptions, RsaPadding } from './raw-rsa.js'
export { RawRsaKeyring } from './raw-rsa.js'
export type { EsdkDecryptResult, EsdkDecryptStream, EsdkReadOptions, OpenedEsdkMessage } from './reader.js'
export { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, decryptEsdk, decryptEsdkStream, openEsdk } from './reader.js'
export type { CommitmentPolicy } from './suites.js'
export { DEFAULT_COMMITMENT_POLICY } from './suites.js'
