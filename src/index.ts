/**
 * kms-envelope: envelope encryption for data at rest.
 *
 * This entry is the runtime-neutral core: it runs wherever `Uint8Array` and
 * `crypto.getRandomValues` exist and never loads the AWS SDK or `node:*` modules (except the
 * node:crypto backend, chosen by the `node` export condition). KMS lives in
 * `kms-envelope/kms`; files, Node streams and key files in `kms-envelope/node`.
 * @module
 */

export type { BranchKeyCacheOptions, BranchKeyCacheStats } from './cache/branch-key-cache.js'
export { BranchKeyCache } from './cache/branch-key-cache.js'
export type { KeyCacheOptions, KeyCacheStats } from './cache/key-cache.js'
export { KeyCache } from './cache/key-cache.js'
export type { InspectStreamOptions, MessageInfo } from './core/inspect.js'
export { inspect, inspectStream } from './core/inspect.js'
export type { KeyStatus, RecipientKeyStatus } from './core/key-status.js'
export type { DecryptInfo, DecryptOptions, DecryptResult, DecryptStreamOptions, EncryptOptions, EncryptStreamOptions } from './core/options.js'
export { closeWorkerPools } from './core/parallelism.js'
export type { CiphertextRange, MessageLayout, RandomAccessOptions, RandomAccessReader, RandomAccessSource } from './core/random-access.js'
export { ciphertextRange } from './core/random-access.js'
export type { RewrapManyResult } from './core/rewrap-bulk.js'
export type { UrlSourceOptions } from './core/sources.js'
export { blobSource, bytesSource, urlSource } from './core/sources.js'
export { DataKey } from './crypto/data-key.js'
export type { EnvelopeOptions, RewrapManyOptions, RewrapOptions, RewrapResult } from './envelope.js'
export { Envelope, rewrapMany } from './envelope.js'
export type { BranchKeyStoreErrorCode, ErrorCode, KmsErrorCode, RecipientRef, UnwrapAttempt } from './errors.js'
export {
  AbortError,
  AuthenticationError,
  ContextMismatchError,
  EnvelopeError,
  FieldError,
  FormatError,
  KeyFileError,
  KeyringError,
  KmsError,
  KmsSdkMissingError,
  LimitError,
  NoMatchingKeyError,
  NotTextError,
  OutputExistsError,
  SourceError,
  TruncatedError,
  UnsupportedError,
  UnwrapError,
  WorkerError,
} from './errors.js'
export type { CreateIndexKeyOptions, UpgradeIndexKeyOptions } from './fields/deterministic.js'
export type {
  DecryptRecordOptions,
  DecryptRecordsOptions,
  EncryptRecordOptions,
  EncryptRecordsOptions,
  FieldEncryptorOptions,
  PerRecordContext,
  RewrapRecordsOptions,
  SearchOptions,
} from './fields/options.js'
export type { RotateIndexKeyOptions } from './fields/record.js'
export { FieldEncryptor } from './fields/record.js'
export type { FieldMode, FieldSchema } from './fields/schema.js'
export { ARMOR_BEGIN, ARMOR_END, armor, dearmor } from './format/armor.js'
export { fromBase64url, toBase64url } from './format/base64url.js'
export { DEFAULT_FRAME_SIZE, DEFAULT_MAX_WRAPPED_KEYS, MAX_FRAME_SIZE, MAX_WRAPPED_KEYS, MIN_FRAME_SIZE } from './format/constants.js'
export type { CanonicalContext, EncryptionContext } from './format/context.js'
export type { Recipient } from './format/header.js'
export type { ReadLimits } from './format/message.js'
export type { BranchKeyMaterials, BranchKeySource } from './keyrings/branch-key-source.js'
export type { BranchKeyIdSupplier, HierarchicalKeyringOptions } from './keyrings/hierarchical.js'
export { HIERARCHY_KEYRING_TYPE, HierarchicalKeyring } from './keyrings/hierarchical.js'
export type { GeneratedDataKey, Keyring, KeyringCallOptions } from './keyrings/keyring.js'
export type { LocalKeyringOptions, LocalKeyStatus } from './keyrings/local.js'
export { LocalKeyring } from './keyrings/local.js'
export { MLKEM768X25519_TYPE, PostQuantumIdentity, PostQuantumRecipient } from './keyrings/mlkem768x25519.js'
export type { PassphraseKeyringOptions } from './keyrings/passphrase.js'
export { DEFAULT_MAX_SCRYPT_WORK_FACTOR, DEFAULT_SCRYPT_WORK_FACTOR, PassphraseKeyring, SCRYPT_KEYRING_TYPE } from './keyrings/passphrase.js'
export type { Identity, PublicKeyRecipient } from './keyrings/public-key.js'
export { identityFileText, parseIdentity, parseIdentityFile, parsePublicKeyRecipient, parseRecipientsFile } from './keyrings/public-key.js'
export { X25519_TYPE, X25519Identity, X25519Recipient } from './keyrings/x25519.js'
export type { DecryptStream } from './stream.js'
