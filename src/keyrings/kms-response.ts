/**
 * Checks of what KMS answered, without the SDK: a plaintext data key of the right size taken
 * out of the response (and the response's copy zeroed), a wrapped key naming the key ARN
 * asked for, and the encryption context in the shape KMS takes. Apart from kms.ts so the
 * keyring there is only the calls and their clients.
 * @module
 */
import { DataKey } from '../crypto/data-key.js'
import { KEY_BYTES, MAX_WRAPPED_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'
import { printable } from '../printable.js'
import type { KmsArn } from './kms-arn.js'
import { parseKeyArn } from './kms-arn.js'
import type { KmsOperation } from './kms-errors.js'
import { badKmsResponse } from './kms-errors.js'

/** The keyring type written into messages. */
export const KMS_KEYRING_TYPE = 'aws-kms'

/** @internal The message context as KMS's EncryptionContext (omitted when empty). */
export function kmsContext(context: CanonicalContext): Record<string, string> | undefined {
  return context.size === 0 ? undefined : Object.fromEntries(context)
}

/** @internal Copies a plaintext key out of an SDK response into a DataKey and zeroes the response's bytes. */
export function takeDataKey(plain: Uint8Array | undefined, operation: KmsOperation, keyId: string): DataKey {
  if (!(plain instanceof Uint8Array) || plain.length !== KEY_BYTES) {
    plain?.fill(0)
    throw badKmsResponse(operation, keyId, `the plaintext data key is ${plain?.length ?? 'missing'}, expected ${KEY_BYTES} bytes`)
  }
  const bytes = new Uint8Array(plain)
  plain.fill(0)
  return new DataKey(bytes)
}

/** @internal The data key of a Decrypt response, which must answer for the key ARN Decrypt was pinned to. */
export function decryptedKey(answeredFor: string | undefined, plain: Uint8Array | undefined, keyArn: string): DataKey {
  if (answeredFor !== keyArn) {
    plain?.fill(0)
    throw badKmsResponse('Decrypt', keyArn, `it answered for key ${String(answeredFor)}`)
  }
  return takeDataKey(plain, 'Decrypt', keyArn)
}

/**
 * @internal As {@link decryptedKey}, for a data key of `length` bytes (the AWS Encryption SDK
 * reader's legacy suites): a copy of the plaintext, KMS's buffer wiped.
 */
export function decryptedKeyBytes(answeredFor: string | undefined, plain: Uint8Array | undefined, keyArn: string, length: number): Uint8Array {
  if (answeredFor !== keyArn || !(plain instanceof Uint8Array) || plain.length !== length) {
    plain?.fill(0)
    throw badKmsResponse(
      'Decrypt',
      keyArn,
      answeredFor !== keyArn
        ? `it answered for key ${String(answeredFor)}`
        : `the plaintext data key is ${plain?.length ?? 'missing'}, expected ${length} bytes`,
    )
  }
  const bytes = new Uint8Array(plain)
  plain.fill(0)
  return bytes
}

/** @internal A ReEncrypt for `destination` must have decrypted with the source key ARN it was pinned to. */
export function checkReEncryptSource(answeredFrom: string | undefined, sourceArn: string, destination: string): void {
  if (answeredFrom !== sourceArn) {
    throw badKmsResponse('ReEncrypt', destination, `it re-encrypted from key ${String(answeredFrom)}, not ${printable(sourceArn)}`)
  }
}

/**
 * @internal The recipient for a wrapped key KMS returned, and the key ARN it names, after
 * checking that it is a key ARN (the one asked for, when a key ARN was asked for) and that
 * the blob fits a header.
 */
export function wrappedRecipient(
  operation: KmsOperation,
  requested: string,
  keyId: string | undefined,
  wrapped: Uint8Array | undefined,
): { readonly recipient: Recipient; readonly arn: KmsArn } {
  const arn = keyId === undefined ? undefined : parseKeyArn(keyId)
  if (arn === undefined) throw badKmsResponse(operation, requested, `KeyId ${JSON.stringify(keyId)} is not a key ARN`)
  if (parseKeyArn(requested) !== undefined && keyId !== requested) throw badKmsResponse(operation, requested, `it used key ${keyId}`)
  if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > MAX_WRAPPED_BYTES) {
    throw badKmsResponse(operation, requested, `the ciphertext blob is ${wrapped?.length ?? 'missing'} bytes (expected 1..${MAX_WRAPPED_BYTES})`)
  }
  return { recipient: { type: KMS_KEYRING_TYPE, keyId: keyId!, wrapped: wrapped.slice() }, arn }
}

/** @internal Waits for every promise (none is left running against a wiped key), then fails with the first error. */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises)
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value)
}
