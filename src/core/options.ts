/**
 * The options and results every surface shares: a buffer, a stream, a file, a Node stream
 * all encrypt with the same options and report the same facts when decrypting.
 * @module
 */
import type { EncryptionContext } from '../format/context.js'

/** Options of {@link Envelope.encrypt}, its streams and the file helpers. */
export interface EncryptOptions {
  /** Authenticated, unencrypted metadata that decryption must present again (e.g. `{ tenant: 'acme' }`). Sent to KMS as EncryptionContext. */
  readonly context?: EncryptionContext | undefined
  /** Cancels key-service calls (a stream then fails with `ERR_ABORTED`). */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link Envelope.decrypt}, its streams and the file helpers. */
export interface DecryptOptions {
  /**
   * Pairs the message's context must contain with these exact values, or decryption fails with
   * `ERR_CONTEXT_MISMATCH` before any key service is called.
   */
  readonly expectContext?: EncryptionContext | undefined
  /** Cancels key-service calls (a stream then fails with `ERR_ABORTED`). */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link Envelope.encryptStream} (the same as {@link EncryptOptions}). */
export type EncryptStreamOptions = EncryptOptions

/** Options of {@link Envelope.decryptStream} (the same as {@link DecryptOptions}). */
export type DecryptStreamOptions = DecryptOptions

/** What a reader knows once a message's head is authenticated. */
export interface DecryptInfo {
  /** The message's full, authenticated encryption context. */
  readonly context: Record<string, string>
  /** Key ids of every wrapped key in the message, in message order. */
  readonly keyIds: string[]
  /** The key id that unwrapped the data key. */
  readonly keyId: string
}

/** The result of {@link Envelope.decrypt}. */
export interface DecryptResult extends DecryptInfo {
  readonly plaintext: Uint8Array
}
