/**
 * The DynamoDB SDK, loaded on first use like the KMS one (see sdk-loader.ts). Apart from the
 * store so that the store's published declarations never name `@aws-sdk/client-dynamodb`:
 * applications that use KMS only type-check `kms-envelope/kms` without it.
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDbSdkMissingError } from '../errors.js'
import { lazySdk } from './sdk-loader.js'

/** @internal The SDK module's type. */
export type DynamoDbSdk = typeof import('@aws-sdk/client-dynamodb')

/**
 * @internal The DynamoDB SDK's runtime values, imported once on first use.
 * @throws {@link DynamoDbSdkMissingError} when `@aws-sdk/client-dynamodb` is not installed.
 */
export const loadDynamoDbSdk: () => Promise<DynamoDbSdk> = lazySdk(
  '@aws-sdk/client-dynamodb',
  () => import('@aws-sdk/client-dynamodb'),
  (cause) => new DynamoDbSdkMissingError({ cause }),
)

/**
 * @internal A DynamoDB client from the AWS environment with an optional Region and endpoint
 * (the CLI's --region/--endpoint), so no module but this one creates DynamoDB clients from
 * the SDK module.
 * @param config - The Region and endpoint; each undefined one comes from the environment.
 */
export async function newDynamoDbClient(config: { readonly region?: string | undefined; readonly endpoint?: string | undefined }): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await loadDynamoDbSdk()
  return new DynamoDBClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
  })
}
