/**
 * FieldEncryptor: encrypts selected fields of records (rows, JSON documents) before they
 * reach a database, and leaves every other field as it is.
 *
 * Each record gets one data key from the envelope's keyrings (through materials.ts, so a
 * data-key cache serves records too) and its own message id. This module orchestrates: the
 * record's key field (`_kmse`) is record-head.ts, per-field sealing and opening is
 * field-crypto.ts, key derivations are keys.ts, the index key is index-key-holder.ts, and the
 * option types are options.ts. A value moved to another field, record or context fails with
 * ERR_FIELD; `expectContext` stops a record from being read under another context.
 * @module
 */
import { checkExpectedContext } from '../core/reader.js'
import type { RewrapParams } from '../core/rewrap.js'
import { rewrapHeadDetailed } from '../core/rewrap.js'
import { isRewrapped, memoizeReEncrypt } from '../core/rewrap-bulk.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import type { DataKey } from '../crypto/data-key.js'
import type { Envelope, RewrapOptions } from '../envelope.js'
import { rewrapParams } from '../envelope.js'
import { invalidArgument } from '../errors.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { canonicalContext } from '../format/context.js'
import { prepareKeyrings } from '../keyrings/unwrap.js'
import { checkConcurrency, DEFAULT_CONCURRENCY, mapRecords } from './batch.js'
import { prepareValue } from './codec.js'
import type { CreateIndexKeyOptions, UpgradeIndexKeyOptions } from './deterministic.js'
import { createIndexKey, rewrapIndexKey, upgradeIndexKey } from './deterministic.js'
import type { SivKeyOf } from './field-crypto.js'
import { blindIndexText, checkListTag, deterministicText, listTag, openFields, prepareFields, readStoredFields, sealFields } from './field-crypto.js'
import { IndexKeyHolder } from './index-key-holder.js'
import type {
  DecryptRecordOptions,
  DecryptRecordsOptions,
  EncryptRecordOptions,
  EncryptRecordsOptions,
  FieldEncryptorOptions,
  RewrapRecordsOptions,
  SearchOptions,
} from './options.js'
import { openRecordKeys, readRecordHead, sealRecordHead, writeRecordHead } from './record-head.js'
import type { FieldSchema, SchemaField } from './schema.js'
import { checkKeyField, compileSchema, copyAlong, isPlainObject, parsePath, valueKind } from './schema.js'

/** Options of {@link FieldEncryptor.rotateIndexKey}. */
export interface RotateIndexKeyOptions {
  /** The FieldEncryptor holding the old index key (same schema and keyField); it opens the record. */
  readonly from: FieldEncryptor
  /**
   * Blind-index columns to rebuild under the new index key: column name to the dotted path of
   * the value it indexes, e.g. `{ email_idx: 'email' }`. The columns are set on the result.
   */
  readonly blindIndexes?: Readonly<Record<string, string>>
  /** Context the blind indexes are scoped to (default: the record's own context). */
  readonly blindIndexContext?: EncryptionContext
  /** Pairs the record's context must contain, as {@link DecryptRecordOptions.expectContext}. */
  readonly expectContext?: EncryptionContext
  /** Aborts the rotation (`ERR_ABORTED`). */
  readonly signal?: AbortSignal
}

/**
 * Encrypts chosen fields of records with per-record data keys; deterministic fields and
 * blind indexes make equality lookups possible. See the module docs for the stored form.
 *
 * @example
 * ```ts
 * const envelope = new Envelope({ keyring })
 * const indexKey = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'users-index' } }) // once; keep it in config
 * const fields = new FieldEncryptor({ envelope, indexKey, indexKeyContext: { purpose: 'users-index' },
 *   schema: { ssn: 'random', email: 'deterministic', 'profile.address': 'random' } })
 * const stored = await fields.encryptRecord(user, { context: { table: 'users', tenant } })
 * const user2 = await fields.decryptRecord(stored, { expectContext: { table: 'users', tenant } })
 * const emailIdx = await fields.blindIndex('email', 'a@b.c', { context: { table: 'users', tenant } })
 * fields.close() // wipes the index key
 * ```
 */
export class FieldEncryptor {
  readonly #settings: EnvelopeSettings
  readonly #fields: readonly SchemaField[]
  readonly #byPath: ReadonlyMap<string, SchemaField>
  readonly #deterministicCount: number
  readonly #keyField: string
  readonly #concurrency: number
  readonly #indexKey: IndexKeyHolder
  #closed = false

  /**
   * Checks the schema and options once; the encryptor is then reused for every record.
   *
   * @param options - `envelope`, `schema`, and optionally `keyField`, `indexKey`, `concurrency`
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a bad schema (unknown mode, malformed or
   *   overlapping paths, a path under `keyField`), a missing `indexKey` when the schema has
   *   deterministic fields, or a bad option. {@link LimitError} `ERR_LIMIT` for more than 256 fields.
   */
  constructor(options: FieldEncryptorOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('FieldEncryptor needs options: { envelope, schema }')
    const envelope = options.envelope as unknown
    const settings = requireSettings(envelope)
    this.#settings = settings
    this.#keyField = checkKeyField(options.keyField)
    this.#fields = compileSchema(options.schema, this.#keyField)
    this.#byPath = new Map(this.#fields.map((f) => [f.path, f]))
    this.#deterministicCount = this.#fields.filter((f) => f.mode === 'deterministic').length
    this.#concurrency = checkConcurrency(options.concurrency, DEFAULT_CONCURRENCY)
    if (options.indexKey !== undefined && typeof options.indexKey !== 'string')
      throw invalidArgument('indexKey must be the string FieldEncryptor.createIndexKey() returned')
    if (options.indexKeyContext !== undefined) canonicalContext(options.indexKeyContext, 'indexKeyContext', false)
    this.#indexKey = new IndexKeyHolder(options.envelope, options.indexKey, options.indexKeyContext)
    if (this.#deterministicCount > 0 && !this.#indexKey.present) {
      throw invalidArgument(
        'the schema has deterministic fields, which need an index key: create one once with FieldEncryptor.createIndexKey(envelope), keep it in your config, and pass it as { indexKey }',
      )
    }
  }

  /**
   * Generates a new index key and returns it wrapped by `envelope`, as text to keep in config
   * or a table (it is useless without the keyring). One per table or purpose; never per record.
   *
   * @param envelope - the Envelope whose keyring wraps the index key
   * @param options - `context` to bind the index key to, `signal` to cancel
   * @throws keyring errors (`ERR_KMS`, `ERR_KEYRING`), `ERR_ABORTED`, `ERR_INVALID_ARGUMENT` for a bad context.
   */
  static createIndexKey(envelope: Envelope, options: CreateIndexKeyOptions = {}): Promise<string> {
    return createIndexKey(envelope, options)
  }

  /**
   * Converts an index key written by kms-envelope 0.1 (before index keys carried their
   * reserved purpose pair, FORMAT.md §13.2) into a current one holding the same key, so
   * existing deterministic values and blind indexes keep matching. Run once on the stored
   * value you trust and store the result instead.
   *
   * @param envelope - the Envelope whose keyring wrapped the legacy index key
   * @param legacyIndexKey - the stored `kmse1k.` text
   * @param options - `expectContext`: the context the index key was created with (required)
   * @throws `ERR_CONTEXT_MISMATCH`, `ERR_FORMAT` (not a 32-byte key), and every error of `decrypt`.
   */
  static upgradeIndexKey(envelope: Envelope, legacyIndexKey: string, options: UpgradeIndexKeyOptions): Promise<string> {
    return upgradeIndexKey(envelope, legacyIndexKey, options)
  }

  /**
   * The index key given to other keys, for key rotation: the same key inside (so every stored
   * deterministic value and blind index stays valid), wrapped for `to` instead of the keys of
   * `envelope` it was wrapped for. Store the result in place of the old text. This is not
   * index-key rotation ({@link FieldEncryptor.rotateIndexKey}), which changes deterministic values and blind indexes.
   *
   * @example
   * ```ts
   * const moved = await FieldEncryptor.rewrapIndexKey(oldEnvelope, config.indexKey, { to: newKeyring })
   * ```
   * @param envelope - an Envelope whose keyring holds a key the index key is wrapped for
   * @param indexKey - the `kmse1k.` text {@link FieldEncryptor.createIndexKey} returned
   * @param options - `to` (required), `keep`, `verify`, `signal`, as {@link Envelope.rewrap}
   * @throws TypeError `ERR_INVALID_ARGUMENT` for text that is not an index key's; `ERR_FORMAT` for a
   *   message without the index-key purpose pair; the errors of {@link Envelope.rewrap}.
   */
  static rewrapIndexKey(envelope: Envelope, indexKey: string, options: RewrapOptions): Promise<string> {
    return rewrapIndexKey(envelope, indexKey, options)
  }

  /** The schema, in canonical path order. */
  get schema(): FieldSchema {
    return Object.freeze(Object.fromEntries(this.#fields.map((f) => [f.path, f.mode])))
  }

  /** The field that holds each record's key material. */
  get keyField(): string {
    return this.#keyField
  }

  /**
   * Returns a copy of `record` with every schema field replaced by its encrypted string and
   * the key material added under `keyField`. The input is not modified; objects on the way to
   * an encrypted field are copied, everything else is shared. Every schema field must be
   * present (null is a value and is encrypted too).
   *
   * @param record - a plain object holding every schema field
   * @param options - `context` to bind the record to, `signal` to cancel
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a record that is not a plain object, a missing
   *   field, a value with no stored form, a record that already has `keyField`; keyring errors
   *   and `ERR_ABORTED`. Values are checked before any key service is called.
   */
  async encryptRecord(record: object, options: EncryptRecordOptions = {}): Promise<Record<string, unknown>> {
    this.#checkOpen()
    if (!isPlainObject(record)) throw invalidArgument(`record must be a plain object, got ${valueKind(record)}`)
    if (Object.hasOwn(record, this.#keyField)) {
      throw invalidArgument(
        `record already has a ${JSON.stringify(this.#keyField)} field: it is encrypted already (decrypt it first), or choose another keyField`,
      )
    }
    const prepared = prepareFields(record, this.#fields)
    const context = canonicalContext(options.context, 'context', true)
    const indexKey = this.#deterministicCount > 0 ? await this.#indexKey.open() : undefined
    const { head, keys: recordKeys } = await sealRecordHead(this.#settings, context, options.signal)
    try {
      this.#checkOpen()
      const out = copyAlong(record, this.#fields)
      const tags = sealFields(recordKeys, this.#fields, prepared, this.#sivKeyOf(indexKey, context), out)
      out[this.#keyField] = writeRecordHead(head, tags, listTag(recordKeys, tags))
      return out
    } finally {
      recordKeys.wipe()
    }
  }

  /**
   * Authenticates and decrypts the schema fields of a stored record and returns a copy with
   * the original values (types included) and without `keyField`. Fields outside the schema
   * are returned as they are. Nothing is returned unless every decrypted field is authentic.
   *
   * @param stored - a record as {@link FieldEncryptor.encryptRecord} returned it (e.g. read back from a database)
   * @param options - `expectContext` to require, `partial` to allow missing fields, `signal` to cancel
   * @throws {@link FieldError} `ERR_FIELD` (with `path`) when a field is missing (unless
   *   `partial`), not an encrypted string, altered, or copied from another field, record or
   *   context, or when `keyField` is missing or malformed; `ERR_CONTEXT_MISMATCH`;
   *   `ERR_FORMAT`/`ERR_TRUNCATED`/`ERR_UNSUPPORTED`/`ERR_LIMIT` for a malformed key field;
   *   `ERR_NO_MATCHING_KEY`, `ERR_UNWRAP`, `ERR_AUTH` (key material altered), keyring errors.
   */
  async decryptRecord<T = Record<string, unknown>>(stored: object, options: DecryptRecordOptions = {}): Promise<T> {
    return (await this.#openRecord(stored, options)).record as T
  }

  /** decryptRecord, also giving the record's (authenticated) context, read from the one parse of its head. */
  async #openRecord(stored: object, options: DecryptRecordOptions): Promise<{ record: Record<string, unknown>; context: CanonicalContext }> {
    this.#checkOpen()
    if (!isPlainObject(stored)) throw invalidArgument(`record must be a plain object, got ${valueKind(stored)}`)
    const { head, tags, listTag: listTagOf } = readRecordHead(stored, this.#keyField, this.#settings)
    checkExpectedContext(head, options.expectContext)
    const present = readStoredFields(stored, this.#fields, options.partial === true)
    const indexKey = present.some((s) => s.field.mode === 'deterministic') ? await this.#indexKey.open() : undefined
    const recordKeys = await openRecordKeys(this.#settings, head, options.signal)
    try {
      this.#checkOpen()
      checkListTag(recordKeys, tags, listTagOf, this.#keyField)
      const out = copyAlong(
        stored,
        present.map((s) => s.field),
        this.#keyField,
      )
      openFields(recordKeys, present, tags, this.#sivKeyOf(indexKey, head.header.context), out)
      return { record: out as Record<string, unknown>, context: head.header.context }
    } finally {
      recordKeys.wipe()
    }
  }

  /**
   * {@link FieldEncryptor.encryptRecord} over many records, `concurrency` at a time, results
   * in input order. With a data-key cache, records share data keys (each still has its own
   * message id); without one, each record costs one key-service call.
   *
   * @param records - the plain objects to encrypt
   * @param options - `context` (one for all, or a function per record), `concurrency`, `signal`
   * @throws the first failure (lowest record index) with `recordIndex` set and the message
   *   prefixed `record N:`; its class and `code` are those of {@link FieldEncryptor.encryptRecord}.
   */
  encryptRecords(records: readonly object[], options: EncryptRecordsOptions = {}): Promise<Record<string, unknown>[]> {
    this.#checkOpen()
    const check = (context: EncryptionContext): void => {
      canonicalContext(context, 'context', true)
    }
    return mapRecords(records, options.concurrency, this.#concurrency, options.signal, options.context, check, (record, context) =>
      this.encryptRecord(record, {
        ...(context !== undefined && { context }),
        ...(options.signal !== undefined && { signal: options.signal }),
      }),
    )
  }

  /**
   * {@link FieldEncryptor.decryptRecord} over many records, `concurrency` at a time, results in input order.
   *
   * @param records - stored records as {@link FieldEncryptor.encryptRecords} returned them
   * @param options - `expectContext` (one for all, or a function per record), `partial`, `concurrency`, `signal`
   * @throws the first failure (lowest record index) with `recordIndex` set, as {@link FieldEncryptor.encryptRecords}.
   */
  decryptRecords<T = Record<string, unknown>>(records: readonly object[], options: DecryptRecordsOptions = {}): Promise<T[]> {
    this.#checkOpen()
    const check = (context: EncryptionContext): void => {
      canonicalContext(context, 'expectContext', false)
    }
    return mapRecords(records, options.concurrency, this.#concurrency, options.signal, options.expectContext, check, (record, expectContext) =>
      this.decryptRecord<T>(record, {
        ...(expectContext !== undefined && { expectContext }),
        ...(options.partial !== undefined && { partial: options.partial }),
        ...(options.signal !== undefined && { signal: options.signal }),
      }),
    )
  }

  /**
   * Returns a copy of the stored record with only its key field (`_kmse`) changed: the record's
   * data key given to `to`, as {@link Envelope.rewrap} does for a message (KMS to KMS through
   * ReEncrypt, otherwise unwrapped, checked and wrapped again). Every other field, encrypted
   * values, deterministic values and blind indexes alike, is the same value as before, so
   * indexes stay valid. A record already wrapped for `to` and for no key being retired comes
   * back as an unchanged copy (unless `keep`). This is not index-key rotation: that changes
   * deterministic values and blind indexes: {@link FieldEncryptor.rotateIndexKey}.
   *
   * @example
   * ```ts
   * const moved = await fields.rewrapRecord(row, { to: new KmsKeyring({ keyIds: [newArn] }) })
   * await db.update(row.id, { _kmse: moved._kmse }) // the only column that changed
   * ```
   * @param stored - a record as {@link FieldEncryptor.encryptRecord} returned it
   * @param options - `to` (required), `keep`, `verify`, `signal`
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a record that is not a plain object or bad options;
   *   `ERR_FIELD`, `ERR_FORMAT`, `ERR_LIMIT` for a missing or malformed key field; the errors of
   *   {@link Envelope.rewrap} (`ERR_NO_MATCHING_KEY`, `ERR_UNWRAP`, `ERR_AUTH`, keyring errors, `ERR_ABORTED`).
   */
  async rewrapRecord(stored: object, options: RewrapOptions): Promise<Record<string, unknown>> {
    this.#checkOpen()
    return this.#rewrapRecord(stored, rewrapParams(options), this.#settings)
  }

  /**
   * {@link FieldEncryptor.rewrapRecord} over many records, `concurrency` at a time, results in
   * input order. KMS to KMS, records sharing a wrapped key (written through a data-key cache)
   * cost one ReEncrypt for the batch; on the data-key path, a `KeyCache` on the envelope makes
   * it one unwrap per distinct data key.
   *
   * @param records - stored records
   * @param options - `to` (required), `keep`, `verify`, `signal`, `concurrency`
   * @throws the first failure (lowest record index) with `recordIndex` set, as {@link FieldEncryptor.encryptRecords}.
   */
  rewrapRecords(records: readonly object[], options: RewrapRecordsOptions): Promise<Record<string, unknown>[]> {
    this.#checkOpen()
    const params = rewrapParams(options)
    const settings = params.verify === true ? this.#settings : { ...this.#settings, keyrings: memoizeReEncrypt(this.#settings.keyrings) }
    return mapRecords(
      records,
      options.concurrency,
      this.#concurrency,
      params.signal,
      undefined,
      () => {},
      (record) => this.#rewrapRecord(record, params, settings),
    )
  }

  async #rewrapRecord(stored: object, params: RewrapParams, settings: EnvelopeSettings): Promise<Record<string, unknown>> {
    if (!isPlainObject(stored)) throw invalidArgument(`record must be a plain object, got ${valueKind(stored)}`)
    const { head, tags, listTag: listTagOf } = readRecordHead(stored, this.#keyField, settings)
    const options = { signal: params.signal }
    await prepareKeyrings(settings.keyrings, head.recipients, options)
    await prepareKeyrings(params.to, head.recipients, options)
    if (!params.keep && isRewrapped(head, settings.keyrings, params.to)) return { ...stored }
    // The list tag is under the record's content key (data key and message id), which a rewrap keeps: it stays valid.
    const { message } = await rewrapHeadDetailed(settings, head, params)
    return { ...stored, [this.#keyField]: writeRecordHead(message, tags, listTagOf) }
  }

  /**
   * Moves a stored record to this encryptor's index key: the record is opened by `from` (the
   * encryptor holding the old index key) and encrypted again by this one under the same
   * context, so its deterministic values are the new key's, and the blind-index columns named
   * in `blindIndexes` are rebuilt. Unlike {@link FieldEncryptor.rewrapRecord} this changes
   * every encrypted value and `_kmse` (a new data key: random fields are re-encrypted too), so
   * write the whole result back, and switch lookups to this encryptor once every record moved.
   *
   * @example
   * ```ts
   * const next = new FieldEncryptor({ envelope, schema, indexKey: newIndexKey })
   * const moved = await next.rotateIndexKey(row, { from: current, blindIndexes: { email_idx: 'email' } })
   * ```
   * @param stored - a record as `from.encryptRecord` returned it
   * @param options - `from` (required), `blindIndexes`, `blindIndexContext`, `expectContext`, `signal`
   * @throws TypeError `ERR_INVALID_ARGUMENT` when `from` is not a FieldEncryptor with the same
   *   schema and keyField, or for a bad `blindIndexes` path; the errors of
   *   {@link FieldEncryptor.decryptRecord} (from `from`) and {@link FieldEncryptor.encryptRecord}.
   */
  async rotateIndexKey(stored: object, options: RotateIndexKeyOptions): Promise<Record<string, unknown>> {
    this.#checkOpen()
    if (options === null || typeof options !== 'object') throw invalidArgument('rotateIndexKey needs options: { from }')
    const from: unknown = options.from
    if (!(from instanceof FieldEncryptor)) throw invalidArgument('rotateIndexKey needs { from }: the FieldEncryptor holding the old index key')
    if (from.#keyField !== this.#keyField || JSON.stringify(from.schema) !== JSON.stringify(this.schema)) {
      throw invalidArgument('rotateIndexKey: `from` must have the same schema and keyField as this encryptor (only the index key changes)')
    }
    const columns = Object.entries(options.blindIndexes ?? {})
    for (const [column, path] of columns) parsePath(path, `blindIndexes.${column}`)
    const signal = options.signal
    const opened = await from.#openRecord(stored, {
      ...(options.expectContext !== undefined && { expectContext: options.expectContext }),
      ...(signal !== undefined && { signal }),
    })
    const plain = opened.record
    const context = Object.fromEntries(opened.context)
    const out = await this.encryptRecord(plain, { context, ...(signal !== undefined && { signal }) })
    const indexContext = options.blindIndexContext ?? context
    for (const [column, path] of columns) out[column] = await this.blindIndex(path, valueAtPath(plain, path), { context: indexContext })
    return out
  }

  /**
   * A blind index of `value` for `path` under `context`: equal values give equal strings
   * (`kmse1b.` and 22 characters), so a column of them supports `WHERE email_idx = ?`.
   * Values are compared by their exact type and CBOR form: normalise first (e.g. lower-case
   * an email) and use the same normalisation when writing and when querying. `path` is any
   * valid path (it separates indexes; it need not be in the schema).
   *
   * @param path - the dotted path the index is for
   * @param value - the (normalised) value to index
   * @param options - `context` the index is scoped to, `signal` to cancel
   * @throws TypeError `ERR_INVALID_ARGUMENT` without an `indexKey`, for a bad path, context or value; index-key unwrap errors.
   */
  async blindIndex(path: string, value: unknown, options: SearchOptions = {}): Promise<string> {
    this.#checkOpen()
    parsePath(path, 'path')
    const prepared = prepareValue(value, path, true)
    const context = canonicalContext(options.context, 'context', true)
    if (!this.#indexKey.present)
      throw invalidArgument('blindIndex needs an index key: pass { indexKey } (from FieldEncryptor.createIndexKey) to the FieldEncryptor')
    const indexKey = await this.#indexKey.open()
    this.#checkOpen()
    return blindIndexText(this.#indexKey.scoped('blind', indexKey, path, context), prepared)
  }

  /**
   * The string a deterministic schema field holds for `value` under `context`, for
   * `WHERE email = ?` on the encrypted column itself.
   *
   * @param path - a deterministic field of the schema
   * @param value - the value to look up
   * @param options - the record's `context`, `signal` to cancel
   * @throws TypeError `ERR_INVALID_ARGUMENT` when `path` is not a deterministic field of the schema, or for a bad value or context.
   */
  async deterministicValue(path: string, value: unknown, options: SearchOptions = {}): Promise<string> {
    this.#checkOpen()
    const field = this.#byPath.get(path)
    if (field === undefined || field.mode !== 'deterministic') {
      throw invalidArgument(
        `deterministicValue needs a deterministic field of the schema; ${JSON.stringify(path)} is ${field === undefined ? 'not in the schema' : 'a random field'}`,
      )
    }
    const prepared = prepareValue(value, path, true)
    const context = canonicalContext(options.context, 'context', true)
    const indexKey = await this.#indexKey.open()
    this.#checkOpen()
    return deterministicText(this.#indexKey.scoped('siv', indexKey, path, context), path, prepared)
  }

  /** Wipes the unwrapped index key. Later calls throw; calls in flight fail rather than use a wiped key. Idempotent. */
  close(): void {
    this.#closed = true
    this.#indexKey.close()
  }

  /** The schema and key field; never the index key. */
  toJSON(): object {
    return { schema: this.schema, keyField: this.#keyField }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FieldEncryptor { schema: ${JSON.stringify(this.schema)}, keyField: ${JSON.stringify(this.#keyField)}, indexKey: ${!this.#indexKey.present ? 'none' : '<redacted>'} }`
  }

  #checkOpen(): void {
    if (this.#closed) throw invalidArgument('this FieldEncryptor was closed; create a new one')
  }

  /** The SIV keys of a record's deterministic fields under its context; only called when the schema has some, so `indexKey` is set. */
  #sivKeyOf(indexKey: DataKey | undefined, context: CanonicalContext): SivKeyOf {
    return (path) => this.#indexKey.scoped('siv', indexKey!, path, context)
  }
}

/** The value at a dotted path of a plain record (undefined where the path does not lead). */
function valueAtPath(record: Record<string, unknown>, path: string): unknown {
  let at: unknown = record
  for (const segment of path.split('.')) {
    if (!isPlainObject(at) || !Object.hasOwn(at, segment)) return undefined
    at = (at as Record<string, unknown>)[segment]
  }
  return at
}
