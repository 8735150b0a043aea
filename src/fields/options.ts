/**
 * Option types of {@link FieldEncryptor}, apart from the class so the orchestration module
 * stays about what it does. `EncryptRecordOptions` (one record) and `EncryptRecordsOptions`
 * (a batch: a context per record, concurrency) differ by one letter; the names are public API,
 * so they stay, and each type's doc says which method it belongs to.
 * @module
 */

import type { Envelope, RewrapOptions } from '../envelope.js'
import type { EncryptionContext } from '../format/context.js'
import type { FieldSchema } from './schema.js'

/** Options of {@link FieldEncryptor}. */
export interface FieldEncryptorOptions {
  /** Supplies data keys (its keyrings, and a data-key cache when it has one). */
  readonly envelope: Envelope
  /** Which paths to encrypt and how: `{ ssn: 'random', email: 'deterministic', 'profile.address': 'random' }`. */
  readonly schema: FieldSchema
  /** Wrapped index key from {@link FieldEncryptor.createIndexKey}; needed for deterministic fields and blind indexes. */
  readonly indexKey?: string
  /** Context the index key must have been wrapped with (checked like `expectContext`). */
  readonly indexKeyContext?: EncryptionContext
  /** Top-level field that holds each record's key material (default `_kmse`). */
  readonly keyField?: string
  /** Default number of records in flight in {@link FieldEncryptor.encryptRecords} and {@link FieldEncryptor.decryptRecords} (1-256, default 8). */
  readonly concurrency?: number
}

/** Options of {@link FieldEncryptor.encryptRecord}. */
export interface EncryptRecordOptions {
  /** Encryption context of the record, e.g. `{ table: 'users', tenant }`. Authenticated, stored in clear in the key field, and it scopes deterministic values. */
  readonly context?: EncryptionContext
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.decryptRecord}. */
export interface DecryptRecordOptions {
  /** Pairs the record's context must contain, or ERR_CONTEXT_MISMATCH (before any key service call). Pass it: it is what stops a record from being read as another tenant's. */
  readonly expectContext?: EncryptionContext
  /** Allow schema fields to be absent (a query that selected only some columns). Default false: a missing field is ERR_FIELD. */
  readonly partial?: boolean
  readonly signal?: AbortSignal
}

/**
 * A context chosen per record in a batch (undefined: none).
 * @param record - the record about to be encrypted, or the stored record about to be decrypted
 * @param index - its index in the batch
 */
export type PerRecordContext = (record: unknown, index: number) => EncryptionContext | undefined

/** Options of {@link FieldEncryptor.encryptRecords}. */
export interface EncryptRecordsOptions {
  /** One context for all records, or a function giving each record its own. */
  readonly context?: EncryptionContext | PerRecordContext
  /** Records in flight at once (default: the encryptor's `concurrency`). */
  readonly concurrency?: number
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.decryptRecords}. */
export interface DecryptRecordsOptions {
  /**
   * Pairs every record's context must contain (as {@link DecryptRecordOptions.expectContext}),
   * or a function giving each record its own.
   */
  readonly expectContext?: EncryptionContext | PerRecordContext
  /** As {@link DecryptRecordOptions.partial}, for every record. */
  readonly partial?: boolean
  /** Records in flight at once (default: the encryptor's `concurrency`). */
  readonly concurrency?: number
  /** Aborts the batch (`ERR_ABORTED`). */
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.blindIndex} and {@link FieldEncryptor.deterministicValue}. */
export interface SearchOptions {
  /** The context the records were (or will be) encrypted with: the same value gives another result under another context. */
  readonly context?: EncryptionContext
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.rewrapRecords}: those of {@link FieldEncryptor.rewrapRecord}, and how many at a time. */
export interface RewrapRecordsOptions extends RewrapOptions {
  /** Records in flight (default: the encryptor's `concurrency`). */
  readonly concurrency?: number
}
