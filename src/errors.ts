/**
 * Typed errors. Every failure the library reports on purpose is an {@link EnvelopeError}
 * with a stable `code`; callers branch on `code` (or `instanceof`), never on messages.
 *
 * Misuse of the API by the caller (a wrong argument type, an out-of-range option) is a
 * `TypeError` or `RangeError` with `code = 'ERR_INVALID_ARGUMENT'`, like Node's own APIs.
 *
 * No error ever carries key material: messages are built from key ids, sizes and names only.
 * @module
 */
import { escapeControls, printable, quoted } from './printable.js'

/** Every stable error code the library throws. */
export type ErrorCode =
  | 'ERR_FORMAT'
  | 'ERR_TRUNCATED'
  | 'ERR_UNSUPPORTED'
  | 'ERR_LIMIT'
  | 'ERR_AUTH'
  | 'ERR_CONTEXT_MISMATCH'
  | 'ERR_NO_MATCHING_KEY'
  | 'ERR_UNWRAP'
  | 'ERR_KEYRING'
  | 'ERR_KEY_FILE'
  | KmsErrorCode
  | 'ERR_KMS_SDK_MISSING'
  | 'ERR_ABORTED'
  | 'ERR_OUTPUT_EXISTS'
  | 'ERR_FIELD'
  | 'ERR_NOT_TEXT'
  | 'ERR_SOURCE'
  | 'ERR_INVALID_ARGUMENT'
  | BranchKeyStoreErrorCode
  | 'ERR_DYNAMODB_SDK_MISSING'
  | 'ERR_WORKER'

/** Base class of every error the library throws on purpose. */
export class EnvelopeError extends Error {
  /** Stable, documented code: safe to branch on across versions. */
  readonly code: ErrorCode

  /** @internal */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    // Messages embed key ids and context keys read from unauthenticated bytes: no control
    // character or bidi override may reach a terminal or log through them.
    super(escapeControls(message), options)
    this.code = code
    this.name = new.target.name
  }
}

/** The bytes are not a well-formed kms-envelope message (bad magic, bad CBOR, bad field). */
export class FormatError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_FORMAT' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it (control characters are escaped)
   * @param options - `cause`: the underlying error, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FORMAT', message, options)
  }
}

/** The input ended before the message was complete (cut short in transit or on disk). */
export class TruncatedError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_TRUNCATED' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it (control characters are escaped)
   */
  constructor(message: string) {
    super('ERR_TRUNCATED', message)
  }
}

/** A format version or suite this version of the library does not know. */
export class UnsupportedError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_UNSUPPORTED' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it (control characters are escaped)
   */
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message)
  }
}

/** A declared size or count exceeds a limit; raised before anything is allocated or called. */
export class LimitError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_LIMIT' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it (control characters are escaped)
   */
  constructor(message: string) {
    super('ERR_LIMIT', message)
  }
}

/**
 * Authentication failed: the message was altered, truncated inside a frame, reordered,
 * extended, or its data key does not match its commitment. Deliberately says no more.
 */
export class AuthenticationError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_AUTH' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - defaults to a message that says no more than that authentication failed
   */
  constructor(message = 'message authentication failed: it was altered, truncated or reordered, or was not produced by a holder of its data key') {
    super('ERR_AUTH', message)
  }
}

/** The message is authentic but its encryption context is not the one the caller expected. */
export class ContextMismatchError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_CONTEXT_MISMATCH' as const

  /** The keys whose values were missing or different. */
  readonly keys: readonly string[]
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param keys - the expected context keys that are missing or differ (their values are never shown)
   */
  constructor(keys: readonly string[]) {
    super(
      'ERR_CONTEXT_MISMATCH',
      `encryption context does not match expectContext for key(s) ${keys.map((k) => quoted(k)).join(', ')}: ` +
        'the message was encrypted for another context; check which record, tenant or purpose it belongs to',
    )
    this.keys = keys
  }
}

/** One recipient of a message, as far as errors need to describe it. */
export interface RecipientRef {
  readonly type: string
  readonly keyId: string
}

/**
 * @internal How messages name a recipient: its key id, bounded and escaped (it comes from the
 * unauthenticated recipients section), prefixed with its type unless the id already says it
 * (local key ids default to `local:…`, which would otherwise print as `local:local:…`).
 */
export function recipientLabel(r: RecipientRef): string {
  const id = printable(r.keyId)
  return r.keyId.startsWith(`${r.type}:`) ? id : `${printable(r.type, 40)}:${id}`
}

/** None of the message's wrapped keys belongs to a key the keyring holds. No key service was called. */
export class NoMatchingKeyError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_NO_MATCHING_KEY' as const

  /** The recipients listed in the message. */
  readonly recipients: readonly RecipientRef[]
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param recipients - the recipients the message lists
   * @param keyringDescription - what the reader holds, for the message
   */
  constructor(recipients: readonly RecipientRef[], keyringDescription: string) {
    super(
      'ERR_NO_MATCHING_KEY',
      `no key in the keyring (${keyringDescription}) can open this message; it is encrypted to ${recipients
        .map(recipientLabel)
        .join(', ')}. Use a keyring that holds one of these keys`,
    )
    this.recipients = recipients
  }
}

/** What one attempt to unwrap a data key answered. */
export interface UnwrapAttempt extends RecipientRef {
  /** The code of the error that attempt raised. */
  readonly code: ErrorCode | string
  readonly message: string
}

/**
 * Every recipient the keyring matched was tried and none could unwrap the data key: wrong key
 * material under the same key id, a tampered wrapped key, or the key service refused.
 * `attempts` says what each one answered; `cause` is the last attempt's error.
 */
export class UnwrapError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_UNWRAP' as const

  readonly attempts: readonly UnwrapAttempt[]
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param attempts - every recipient tried and why it failed
   * @param options - `cause`: the underlying error, if any
   */
  constructor(attempts: readonly UnwrapAttempt[], options?: { cause?: unknown }) {
    super(
      'ERR_UNWRAP',
      attempts.length === 1
        ? attempts[0]!.message
        : `could not unwrap the data key with any of ${attempts.length} matching keys: ` +
            attempts.map((a) => `${recipientLabel(a)}: ${a.code}: ${a.message}`).join('; '),
      options,
    )
    this.attempts = attempts
  }
}

/** A keyring was configured or used wrongly (for example, it cannot wrap for this message). */
export class KeyringError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_KEYRING' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it (control characters are escaped)
   * @param options - `cause`: the underlying error, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEYRING', message, options)
  }
}

/** A local key file is missing, malformed, has unsafe permissions, or already exists. */
export class KeyFileError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_KEY_FILE' as const

  readonly path: string
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param path - the key file
   * @param message - what was wrong and what to do about it (control characters are escaped)
   * @param options - `cause`: the underlying error, if any
   */
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_FILE', `${path}: ${message}`, options)
    this.path = path
  }
}

/**
 * Codes of {@link KmsError}: one per thing the caller can act on differently.
 * - `ERR_KMS_NOT_FOUND`: no such key or alias in that account and region (NotFoundException).
 * - `ERR_KMS_DISABLED`: the key is disabled (DisabledException).
 * - `ERR_KMS_INVALID_STATE`: the key is pending deletion, pending import or unavailable (KMSInvalidStateException).
 * - `ERR_KMS_ACCESS_DENIED`: the credentials may not use the key (AccessDeniedException), or KMS refused them.
 * - `ERR_KMS_CREDENTIALS`: no AWS credentials were found (CredentialsProviderError).
 * - `ERR_KMS_INCORRECT_KEY`: the wrapped key belongs to another KMS key than the one named (IncorrectKeyException).
 * - `ERR_KMS_INVALID_CIPHERTEXT`: wrong encryption context, or an altered wrapped key (InvalidCiphertextException).
 * - `ERR_KMS_THROTTLED`: still throttled after the SDK's retries.
 * - `ERR_KMS_UNAVAILABLE`: KMS unreachable, timed out, or failing on its side (after the SDK's retries).
 * - `ERR_KMS`: any other KMS failure, or an answer the keyring cannot accept.
 */
export type KmsErrorCode =
  | 'ERR_KMS'
  | 'ERR_KMS_NOT_FOUND'
  | 'ERR_KMS_DISABLED'
  | 'ERR_KMS_INVALID_STATE'
  | 'ERR_KMS_ACCESS_DENIED'
  | 'ERR_KMS_CREDENTIALS'
  | 'ERR_KMS_INCORRECT_KEY'
  | 'ERR_KMS_INVALID_CIPHERTEXT'
  | 'ERR_KMS_THROTTLED'
  | 'ERR_KMS_UNAVAILABLE'

/**
 * A call to AWS KMS failed. `keyId` names the key (the ARN, or the id or alias as
 * configured), `kmsErrorName` what KMS (or the network) answered, e.g. `DisabledException`
 * or `ECONNREFUSED`. Holds no key material and no SDK objects.
 */
export class KmsError extends EnvelopeError {
  declare readonly code: KmsErrorCode
  /** The key the failed call named: its ARN, or the key id or alias as configured. */
  readonly keyId: string
  /** The error name KMS or the SDK reported (`NotFoundException`, `ThrottlingException`, `TimeoutError`, `ECONNREFUSED`, ...). */
  readonly kmsErrorName: string
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param code - the classified failure
   * @param keyId - the key the call named
   * @param kmsErrorName - what KMS or the SDK reported
   * @param message - what was wrong and what to do about it (control characters are escaped)
   */
  constructor(code: KmsErrorCode, keyId: string, kmsErrorName: string, message: string) {
    super(code, message)
    this.keyId = keyId
    this.kmsErrorName = kmsErrorName
  }
}

/**
 * `kms-envelope/kms` was used but `@aws-sdk/client-kms`, its optional peer dependency, is not
 * installed where kms-envelope can import it. Install it in the application
 * (`npm install @aws-sdk/client-kms`, a version in `>=3.709.0 <4`); the core,
 * `kms-envelope/node` and local keys never need it.
 */
export class KmsSdkMissingError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_KMS_SDK_MISSING' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param options - `cause`: the import's error
   */
  constructor(options?: { cause?: unknown }) {
    super(
      'ERR_KMS_SDK_MISSING',
      `kms-envelope/kms needs the AWS SDK's KMS client, which is not installed: run \`npm install @aws-sdk/client-kms\` in your application (supported versions: >=3.709.0 <4, the peer dependency range in kms-envelope's package.json)`,
      options,
    )
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_ABORTED' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param options - `cause`: the signal's reason
   */
  constructor(options?: { cause?: unknown }) {
    super('ERR_ABORTED', 'the operation was aborted', options)
  }
}

/** An output file exists and overwriting was not requested. */
export class OutputExistsError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_OUTPUT_EXISTS' as const

  readonly path: string
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param path - the destination that exists
   */
  constructor(path: string) {
    super('ERR_OUTPUT_EXISTS', `${path} already exists; choose another path, or set the option overwrite: true to replace it`)
    this.path = path
  }
}

/**
 * An encrypted field of a record does not decrypt: it is not a kms-envelope field string, it
 * was altered, or it was copied from another field, record or context. `path` names the field
 * (or the record's key-material field, e.g. `_kmse`).
 */
export class FieldError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_FIELD' as const

  readonly path: string
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param path - the field's dotted path
   * @param message - what was wrong and what to do about it (control characters are escaped)
   * @param options - `cause`: the underlying error, if any
   */
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_FIELD', `field ${JSON.stringify(path)}: ${message}`, options)
    this.path = path
  }
}

/**
 * An authentic message's plaintext is not valid UTF-8, so {@link Envelope.decryptString} has
 * no text to return. Nothing of the plaintext is in the error; use `decrypt` for binary data.
 */
export class NotTextError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_NOT_TEXT' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it
   * @param options - `cause`: the underlying error, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NOT_TEXT', message, options)
  }
}

/**
 * A random-access source could not deliver what was asked: an HTTP server that does not
 * answer Range requests with 206 and a Content-Range, or an object replaced after it was
 * opened (HTTP 412 against the first ETag). `status` is the HTTP status when there was one.
 */
export class SourceError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_SOURCE' as const

  /** The HTTP status the server answered, when the failure was an HTTP answer. */
  readonly status: number | undefined
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what was wrong and what to do about it
   * @param status - the HTTP status, if any
   */
  constructor(message: string, status?: number) {
    super('ERR_SOURCE', message)
    this.status = status
  }
}

/**
 * A worker thread sealing or opening frames (the `parallelism` option) failed or exited
 * before answering. Nothing of the message was released; the pool replaces the worker, so
 * the operation can be retried. `cause` holds the worker's error when there was one.
 */
export class WorkerError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_WORKER' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param message - what failed
   * @param options - `cause`: the worker's error, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER', message, options)
  }
}

/** @internal Caller misuse: a TypeError with a stable code, naming the argument. */
export function invalidArgument(message: string): TypeError {
  return Object.assign(new TypeError(escapeControls(message)), { code: 'ERR_INVALID_ARGUMENT' as const })
}

/** @internal Caller misuse of a numeric option: a RangeError with a stable code. */
export function outOfRange(message: string): RangeError {
  return Object.assign(new RangeError(escapeControls(message)), { code: 'ERR_INVALID_ARGUMENT' as const })
}

/**
 * Codes of `BranchKeyStoreError` (exported by `kms-envelope/kms`): one per thing the caller can act on differently.
 * - `ERR_BRANCH_KEY_NOT_FOUND`: the table has no such branch key id, or no such version of it.
 * - `ERR_BRANCH_KEY_EXISTS`: createKey with an id the table already holds (nothing was written).
 * - `ERR_BRANCH_KEY_CONFLICT`: versionKey lost a race: the active version changed after it was read (nothing was written; retry).
 * - `ERR_BRANCH_KEY_ITEM`: an item is malformed, or belongs to another KMS key or logical key store than this store's.
 * - `ERR_DYNAMODB`: a DynamoDB call failed (missing table, access denied, throttled, unreachable).
 */
export type BranchKeyStoreErrorCode = 'ERR_BRANCH_KEY_NOT_FOUND' | 'ERR_BRANCH_KEY_EXISTS' | 'ERR_BRANCH_KEY_CONFLICT' | 'ERR_BRANCH_KEY_ITEM' | 'ERR_DYNAMODB'

/**
 * A branch key store operation failed on the DynamoDB side or on what the table holds. KMS
 * failures while wrapping or unwrapping branch keys are {@link KmsError}s instead. Holds no
 * key material and no SDK objects.
 */
export class BranchKeyStoreError extends EnvelopeError {
  declare readonly code: BranchKeyStoreErrorCode
  /** The branch key id the operation was about. */
  readonly branchKeyId: string
  /** For `ERR_DYNAMODB`: the error name DynamoDB or the SDK reported (`ResourceNotFoundException`, ...); otherwise undefined. */
  readonly dynamoDbErrorName: string | undefined
  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param code - the classified failure
   * @param branchKeyId - the branch key the operation was about
   * @param message - what was wrong and what to do about it (control characters are escaped)
   * @param dynamoDbErrorName - what DynamoDB reported, for `ERR_DYNAMODB`
   */
  constructor(code: BranchKeyStoreErrorCode, branchKeyId: string, message: string, dynamoDbErrorName?: string) {
    super(code, message)
    this.branchKeyId = branchKeyId
    this.dynamoDbErrorName = dynamoDbErrorName
  }
}

/**
 * The DynamoDB branch key store was used but `@aws-sdk/client-dynamodb`, its optional peer
 * dependency, is not installed where kms-envelope can import it. Install it in the
 * application (`npm install @aws-sdk/client-dynamodb`, a version in `>=3.709.0 <4`).
 */
export class DynamoDbSdkMissingError extends EnvelopeError {
  /** The `code` of every instance. */
  static readonly code = 'ERR_DYNAMODB_SDK_MISSING' as const

  /**
   * Thrown by the library; callers branch on `code` (or `instanceof`), never on the message.
   *
   * @param options - `cause`: the import's error
   */
  constructor(options?: { cause?: unknown }) {
    super(
      'ERR_DYNAMODB_SDK_MISSING',
      `BranchKeyStore needs the AWS SDK's DynamoDB client, which is not installed: run \`npm install @aws-sdk/client-dynamodb\` in your application (supported versions: >=3.709.0 <4, the peer dependency range in kms-envelope's package.json)`,
      options,
    )
  }
}
