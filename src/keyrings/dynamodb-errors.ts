/**
 * Turning whatever a DynamoDB call threw into a {@link BranchKeyStoreError}, or an
 * {@link AbortError}. Duck typed like kms-errors.ts (no SDK import), and it keeps only the
 * error's name and message, never the SDK error itself.
 * @module
 */
import type { BranchKeyStoreErrorCode } from '../errors.js'
import { AbortError, BranchKeyStoreError } from '../errors.js'
import { printable } from '../printable.js'

/** The DynamoDB operations the store calls. */
export type DynamoDbOperation = 'GetItem' | 'Query' | 'TransactWriteItems' | 'DescribeTable' | 'CreateTable'

interface ErrorLike {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly CancellationReasons?: readonly { readonly Code?: unknown }[]
}

const ADVICE: Record<string, string> = {
  ResourceNotFoundException:
    'The table does not exist in that account and Region: create it (BranchKeyStore.createTable(), or `kms-envelope branch-key create-table`), or check the table name, Region and endpoint',
  AccessDeniedException: 'These credentials may not use this table for this operation: check the IAM policy (see the README, "BranchKeyStore")',
  UnrecognizedClientException: 'DynamoDB refused these credentials: check which AWS credentials are in use',
  ProvisionedThroughputExceededException: 'DynamoDB still throttled the request after the SDK retried: retry later or raise the table capacity',
  ThrottlingException: 'DynamoDB still throttled the request after the SDK retried: retry later or raise the table capacity',
  RequestLimitExceeded: 'DynamoDB still throttled the request after the SDK retried: retry later or raise the account limit',
  CredentialsProviderError:
    'No AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or pass a DynamoDBClient with credentials',
}

/**
 * @internal The typed error for a failed DynamoDB call. A transaction cancelled by a
 * condition becomes `onCondition` (EXISTS for createKey, CONFLICT for versionKey) when given.
 */
export function dynamoDbFailure(
  error: unknown,
  operation: DynamoDbOperation,
  tableName: string,
  branchKeyId: string,
  signal: AbortSignal | undefined,
  onCondition?: { readonly code: BranchKeyStoreErrorCode; readonly message: string },
): AbortError | BranchKeyStoreError {
  const e = (error !== null && typeof error === 'object' ? error : { message: String(error) }) as ErrorLike
  if (signal?.aborted || e.name === 'AbortError') return new AbortError({ cause: signal?.reason })
  const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name : typeof e.code === 'string' ? e.code : 'Error'
  if (onCondition !== undefined) {
    const byCondition =
      name === 'ConditionalCheckFailedException' ||
      (name === 'TransactionCanceledException' && (e.CancellationReasons ?? []).some((r) => r?.Code === 'ConditionalCheckFailed'))
    if (byCondition) return new BranchKeyStoreError(onCondition.code, branchKeyId, onCondition.message)
  }
  const said = typeof e.message === 'string' ? e.message.replace(/\s+/g, ' ').trim().slice(0, 300) : ''
  const advice = /region is missing/i.test(said)
    ? 'Set AWS_REGION (or --region), or pass a DynamoDBClient with a region'
    : (ADVICE[name] ?? 'Check the AWS configuration (Region, credentials, endpoint) and the error above')
  return new BranchKeyStoreError(
    'ERR_DYNAMODB',
    branchKeyId,
    `DynamoDB ${operation} on table ${printable(tableName)} failed: ${printable(name, 80)}${said === '' ? '' : `: ${printable(said)}`}. ${advice}`,
    name,
  )
}
