/**
 * Turning whatever a KMS call threw into a {@link KmsError} with a stable code, or an
 * {@link AbortError}. Reads only the error's name, code, message and HTTP status (duck
 * typed, so this module needs no SDK import) and never keeps the SDK error itself: an SDK
 * error may reference request state, and request state may include a data key (Encrypt).
 * @module
 */
import type { KmsErrorCode } from '../errors.js'
import { AbortError, KmsError } from '../errors.js'
import { printable } from '../printable.js'

/** The KMS operations the keyring calls. */
export type KmsOperation =
  | 'GenerateDataKey'
  | 'GenerateDataKeyWithoutPlaintext'
  | 'Encrypt'
  | 'Decrypt'
  | 'ReEncrypt'
  | 'DescribeKey'
  | 'GetPublicKey'
  | 'client setup'

const BY_NAME: Record<string, KmsErrorCode> = {
  NotFoundException: 'ERR_KMS_NOT_FOUND',
  DisabledException: 'ERR_KMS_DISABLED',
  KMSInvalidStateException: 'ERR_KMS_INVALID_STATE',
  AccessDeniedException: 'ERR_KMS_ACCESS_DENIED',
  CredentialsProviderError: 'ERR_KMS_CREDENTIALS',
  UnrecognizedClientException: 'ERR_KMS_ACCESS_DENIED',
  InvalidSignatureException: 'ERR_KMS_ACCESS_DENIED',
  ExpiredTokenException: 'ERR_KMS_ACCESS_DENIED',
  IncorrectKeyException: 'ERR_KMS_INCORRECT_KEY',
  InvalidCiphertextException: 'ERR_KMS_INVALID_CIPHERTEXT',
  ThrottlingException: 'ERR_KMS_THROTTLED',
  TooManyRequestsException: 'ERR_KMS_THROTTLED',
  RequestLimitExceeded: 'ERR_KMS_THROTTLED',
  DependencyTimeoutException: 'ERR_KMS_UNAVAILABLE',
  KMSInternalException: 'ERR_KMS_UNAVAILABLE',
  KeyUnavailableException: 'ERR_KMS_UNAVAILABLE',
  ServiceUnavailableException: 'ERR_KMS_UNAVAILABLE',
  InternalFailure: 'ERR_KMS_UNAVAILABLE',
  TimeoutError: 'ERR_KMS_UNAVAILABLE',
  RequestTimeout: 'ERR_KMS_UNAVAILABLE',
  RequestTimeoutException: 'ERR_KMS_UNAVAILABLE',
}

// Socket-level failures: Node puts these in `code`, the SDK passes the error through.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
])

const ADVICE: Record<KmsErrorCode, string> = {
  ERR_KMS_NOT_FOUND: 'The key or alias does not exist in that account and Region: check the id, the alias, the Region and the endpoint',
  ERR_KMS_DISABLED: 'The key is disabled: enable it (aws kms enable-key) or use another key',
  ERR_KMS_INVALID_STATE:
    'The key cannot be used in its current state (pending deletion, pending import or unavailable): cancel its deletion (aws kms cancel-key-deletion) or use another key',
  ERR_KMS_ACCESS_DENIED:
    'These credentials may not use this key for this operation: check the key policy, IAM policy, grants and grant tokens, and which AWS credentials are in use',
  ERR_KMS_CREDENTIALS:
    'No AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE, or run where an IAM role provides them, or pass a KMSClient with credentials',
  ERR_KMS_INCORRECT_KEY: 'The wrapped key was encrypted under another KMS key than the one named: the message names the wrong key or was altered',
  ERR_KMS_INVALID_CIPHERTEXT: 'KMS rejected the wrapped key: the encryption context differs from the one used to encrypt, or the wrapped key was altered',
  ERR_KMS_THROTTLED: 'KMS still throttled the request after the SDK retried: retry later, lower the request rate, or raise the KMS quota',
  ERR_KMS_UNAVAILABLE:
    'KMS could not be reached, did not answer in time, or failed on its side, after the SDK retried: check the network, Region and endpoint, then retry',
  ERR_KMS: 'Check the AWS configuration (Region, credentials, endpoint) and the error above',
}

interface ErrorLike {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly requestId?: unknown }
}

function classify(e: ErrorLike): { code: KmsErrorCode; name: string } {
  const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name : typeof e.code === 'string' ? e.code : 'Error'
  const mapped = BY_NAME[name]
  if (mapped !== undefined) return { code: mapped, name }
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return { code: 'ERR_KMS_UNAVAILABLE', name: e.code }
  const status = e.$metadata?.httpStatusCode
  if (typeof status === 'number' && status >= 500) return { code: 'ERR_KMS_UNAVAILABLE', name }
  return { code: 'ERR_KMS', name }
}

/** KMS's own message, trimmed: useful for diagnosis, and it never holds key bytes. */
function detail(e: ErrorLike): string {
  const text = typeof e.message === 'string' ? e.message.replace(/\s+/g, ' ').trim() : ''
  if (text === '' || text === 'UnknownError') return ''
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

/**
 * The typed error for a failed KMS call on `keyId` (for ReEncrypt: the destination; `from` the source). Abort (by the caller's signal, or the
 * SDK reporting an aborted request) becomes {@link AbortError}.
 */
export function kmsFailure(error: unknown, operation: KmsOperation, keyId: string, signal: AbortSignal | undefined, from?: string): AbortError | KmsError {
  const e = (error !== null && typeof error === 'object' ? error : { message: String(error) }) as ErrorLike
  if (signal?.aborted || e.name === 'AbortError') return new AbortError({ cause: signal?.reason })
  const { code, name } = classify(e)
  const said = detail(e)
  const requestId = typeof e.$metadata?.requestId === 'string' ? ` (request id ${e.$metadata.requestId})` : ''
  const advice = /region is missing/i.test(said) ? 'Set AWS_REGION (or --region), or pass a KMSClient with a region' : ADVICE[code]
  // keyId may come from a message's unauthenticated recipients (discovery): bounded here.
  const what = from === undefined ? `with key ${printable(keyId)}` : `from key ${printable(from)} to key ${printable(keyId)}`
  return new KmsError(code, keyId, name, `KMS ${operation} ${what} failed: ${name}${said === '' ? '' : `: ${said}`}${requestId}. ${advice}`)
}

/** A KMS answer the keyring cannot accept (missing field, wrong size, another key than asked). */
export function badKmsResponse(operation: KmsOperation, keyId: string, problem: string): KmsError {
  return new KmsError(
    'ERR_KMS',
    keyId,
    'InvalidResponse',
    `KMS ${operation} with key ${printable(keyId)} returned an unusable answer: ${problem}. Check the endpoint: it may not be AWS KMS`,
  )
}
