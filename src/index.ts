/**
 * kms-envelope: envelope encryption for data at rest.
 *
 * This entry is the runtime-neutral core: it runs wherever `Uint8Array` and
 * `crypto.getRandomValues` exist and never loads the AWS SDK or `node:*` modules (except the
 * node:crypto backend, chosen by the `node` export condition). KMS lives in
 * `kms-envelope/kms`; files, Node streams and key files in `kms-envelope/node`.
 * @module
 */
export { Envelope } from './envelope.js'
export type { EnvelopeOptions, RewrapOptions, RewrapResult } from './envelope.js'
export type { EncryptOptions, DecryptOptions, DecryptResult, EncryptStreamOptions, DecryptStreamOptions, DecryptInfo } from './core/options.js'
export type { DecryptStream } from './stream.js'
export { inspect, inspectStream } from './core/inspect.js'
export type { MessageInfo, InspectStreamOptions } from './core/inspect.js'
export { LocalKeyring } from './keyrings/local.js'
export type { LocalKeyringOptions } from './keyrings/local.js'
export type { Keyring, KeyringCallOptions, GeneratedDataKey } from './keyrings/keyring.js'
export { DataKey } from './crypto/data-key.js'
export { KeyCache } from './cache/key-cache.js'
export type { KeyCacheOptions, KeyCacheStats } from './cache/key-cache.js'
export type { EncryptionContext, CanonicalContext } from './format/context.js'
export type { Recipient } from './format/header.js'
export type { ReadLimits } from './format/message.js'
export {
  EnvelopeError,
  FormatError,
  TruncatedError,
  UnsupportedError,
  LimitError,
  AuthenticationError,
  ContextMismatchError,
  NoMatchingKeyError,
  UnwrapError,
  KeyringError,
  KeyFileError,
  AbortError,
  OutputExistsError,
  FieldError,
  KmsError,
} from './errors.js'
export type { ErrorCode, KmsErrorCode, RecipientRef, UnwrapAttempt } from './errors.js'
export { DEFAULT_FRAME_SIZE, MIN_FRAME_SIZE, MAX_FRAME_SIZE, DEFAULT_MAX_WRAPPED_KEYS, MAX_WRAPPED_KEYS } from './format/constants.js'
export { FieldEncryptor } from './fields/record.js'
export type {
  FieldEncryptorOptions,
  EncryptRecordOptions,
  DecryptRecordOptions,
  EncryptRecordsOptions,
  DecryptRecordsOptions,
  SearchOptions,
} from './fields/record.js'
export type { FieldSchema, FieldMode } from './fields/schema.js'
export type { CreateIndexKeyOptions, UpgradeIndexKeyOptions } from './fields/deterministic.js'
