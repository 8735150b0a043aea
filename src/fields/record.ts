/**
 * FieldEncryptor: encrypts selected fields of records (rows, JSON documents) before they
 * reach a database, and leaves every other field as it is.
 *
 * Each record gets one data key from the envelope's keyrings (through materials.ts, so a
 * data-key cache serves records too) and its own message id. The record keeps its key
 * material in one extra field (`_kmse` by default): the head of a kms-envelope message with no
 * frames, one 16-byte binding tag per deterministic field, and a tag over that list:
 *
 *   _kmse          = "kmse1h." base64url( preamble | header | header tag | recipients | tag* | list tag )
 *   random field   = "kmse1r." base64url( AES-256-GCM(field key, nonce 0^96, CBOR(value), AAD) )
 *   determ. field  = "kmse1d." base64url( AES-256-SIV(SIV key(path, context), AAD, CBOR(value)) )
 *   binding tag    = GCM tag of the empty plaintext under the field key, AAD = AAD || SIV bytes
 *   list tag       = GCM tag of the empty plaintext under the tags key, AAD = tag*
 *
 * (GCM with the zero nonce: each of these keys is used once.) Readers check a deterministic
 * value's binding tag by membership in the list, so a reader whose schema is a subset of the
 * writer's still works; the list tag makes the list itself (and so every byte of the key
 * field) authenticated.
 *
 * Keys and AAD are in keys.ts. The header (with the context) is authenticated by the header
 * tag, so a value moved to another field (other key and AAD), another record (other content
 * key; for deterministic fields the binding tag) or another context (other SIV key, and
 * `expectContext`) fails with ERR_FIELD.
 * @module
 */
import { concatBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { decryptionMaterials, encryptionMaterials } from '../core/materials.js'
import { checkExpectedContext } from '../core/reader.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import { newMessageId } from '../core/writer.js'
import type { DataKey } from '../crypto/data-key.js'
import { sealHead } from '../crypto/message.js'
import type { Envelope } from '../envelope.js'
import { FieldError, invalidArgument, LimitError } from '../errors.js'
import { MAX_HEADER_BYTES, MAX_RECIPIENTS_BYTES, MIN_FRAME_SIZE, NONCE_BYTES, PREAMBLE_BYTES, RECIPIENTS_LENGTH_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { canonicalContext } from '../format/context.js'
import type { MessageHead } from '../format/message.js'
import { parseWholeMessage } from '../format/message.js'
import { checkConcurrency, DEFAULT_CONCURRENCY, mapBounded } from './batch.js'
import type { PreparedValue } from './codec.js'
import { decodeValue, encodePrepared, prepareValue } from './codec.js'
import type { CreateIndexKeyOptions, UpgradeIndexKeyOptions } from './deterministic.js'
import { blindIndexBytes, createIndexKey, openIndexKey, ScopedKeys, sivOpen, sivSeal, upgradeIndexKey } from './deterministic.js'
import { fieldAad, RecordKeys } from './keys.js'
import type { FieldSchema, SchemaField } from './schema.js'
import { assign, checkKeyField, compileSchema, copyAlong, describe, isPlainObject, lookup, MAX_SCHEMA_FIELDS, parsePath } from './schema.js'
import { fromText, PREFIX_BLIND_INDEX, PREFIX_DETERMINISTIC, PREFIX_HEAD, PREFIX_RANDOM, textLength, toText } from './text.js'

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

/** Options of {@link FieldEncryptor.encryptRecords}. */
export interface EncryptRecordsOptions {
  /** One context for all records, or a function giving each record its own. */
  readonly context?: EncryptionContext | ((record: unknown, index: number) => EncryptionContext | undefined)
  /** Records in flight at once (default: the encryptor's `concurrency`). */
  readonly concurrency?: number
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.decryptRecords}. */
export interface DecryptRecordsOptions {
  readonly expectContext?: EncryptionContext | ((record: unknown, index: number) => EncryptionContext | undefined)
  readonly partial?: boolean
  readonly concurrency?: number
  readonly signal?: AbortSignal
}

/** Options of {@link FieldEncryptor.blindIndex} and {@link FieldEncryptor.deterministicValue}. */
export interface SearchOptions {
  /** The context the records were (or will be) encrypted with: the same value gives another result under another context. */
  readonly context?: EncryptionContext
  readonly signal?: AbortSignal
}

const ZERO_NONCE = new Uint8Array(NONCE_BYTES)
const EMPTY = new Uint8Array(0)
const AUTH_FAILED = 'does not decrypt: it was altered, or copied from another field, record or context'
/** Longest key-field text accepted before decoding: the largest head plus a tag per schema field. */
const MAX_HEAD_TEXT =
  PREFIX_HEAD.length +
  textLength(PREAMBLE_BYTES + MAX_HEADER_BYTES + TAG_BYTES + RECIPIENTS_LENGTH_BYTES + MAX_RECIPIENTS_BYTES + (MAX_SCHEMA_FIELDS + 1) * TAG_BYTES)

/** @internal The binding tag of a deterministic value to one record: GMAC under the record's field key. */
export function bindingTag(keys: RecordKeys, path: string, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const key = keys.field(path)
  try {
    const tag = new Uint8Array(TAG_BYTES)
    backend.sealInto(key, ZERO_NONCE, EMPTY, concatBytes(aad, sealed), tag, 0)
    return tag
  } finally {
    key.fill(0)
  }
}

/** @internal The tag over the list of binding tags (possibly empty). */
export function listTag(keys: RecordKeys, tags: Uint8Array): Uint8Array {
  const key = keys.tags()
  try {
    const tag = new Uint8Array(TAG_BYTES)
    backend.sealInto(key, ZERO_NONCE, EMPTY, tags, tag, 0)
    return tag
  } finally {
    key.fill(0)
  }
}

function hasTag(tags: Uint8Array, tag: Uint8Array): boolean {
  let found = false
  for (let at = 0; at < tags.length; at += TAG_BYTES) found = backend.equal(tags.subarray(at, at + TAG_BYTES), tag) || found
  return found
}

interface StoredField {
  readonly field: SchemaField
  readonly sealed: Uint8Array
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
  readonly #envelope: Envelope
  readonly #settings: EnvelopeSettings
  readonly #fields: readonly SchemaField[]
  readonly #byPath: ReadonlyMap<string, SchemaField>
  readonly #deterministicCount: number
  readonly #keyField: string
  readonly #concurrency: number
  readonly #indexKeyText: string | undefined
  readonly #indexKeyContext: EncryptionContext | undefined
  #indexKey: Promise<DataKey> | undefined
  readonly #scopedKeys = new ScopedKeys()
  #closed = false

  /**
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a bad schema (unknown mode, malformed or
   *   overlapping paths, a path under `keyField`), a missing `indexKey` when the schema has
   *   deterministic fields, or a bad option. {@link LimitError} `ERR_LIMIT` for more than 256 fields.
   */
  constructor(options: FieldEncryptorOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('FieldEncryptor needs options: { envelope, schema }')
    const envelope = options.envelope as unknown
    const settings = requireSettings(envelope)
    this.#envelope = options.envelope
    this.#settings = settings
    this.#keyField = checkKeyField(options.keyField)
    this.#fields = compileSchema(options.schema, this.#keyField)
    this.#byPath = new Map(this.#fields.map((f) => [f.path, f]))
    this.#deterministicCount = this.#fields.filter((f) => f.mode === 'deterministic').length
    this.#concurrency = checkConcurrency(options.concurrency, DEFAULT_CONCURRENCY)
    if (options.indexKey !== undefined && typeof options.indexKey !== 'string')
      throw invalidArgument('indexKey must be the string FieldEncryptor.createIndexKey() returned')
    this.#indexKeyText = options.indexKey
    if (options.indexKeyContext !== undefined) canonicalContext(options.indexKeyContext, 'indexKeyContext', false)
    this.#indexKeyContext = options.indexKeyContext
    if (this.#deterministicCount > 0 && this.#indexKeyText === undefined) {
      throw invalidArgument(
        'the schema has deterministic fields, which need an index key: create one once with FieldEncryptor.createIndexKey(envelope), keep it in your config, and pass it as { indexKey }',
      )
    }
  }

  /**
   * Generates a new index key and returns it wrapped by `envelope`, as text to keep in config
   * or a table (it is useless without the keyring). One per table or purpose; never per record.
   *
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
   * @throws TypeError `ERR_INVALID_ARGUMENT` for a record that is not a plain object, a missing
   *   field, a value with no stored form, a record that already has `keyField`; keyring errors
   *   and `ERR_ABORTED`. Values are checked before any key service is called.
   */
  async encryptRecord(record: object, options: EncryptRecordOptions = {}): Promise<Record<string, unknown>> {
    this.#checkOpen()
    if (!isPlainObject(record)) throw invalidArgument(`record must be a plain object, got ${describe(record)}`)
    if (Object.hasOwn(record, this.#keyField)) {
      throw invalidArgument(
        `record already has a ${JSON.stringify(this.#keyField)} field: it is encrypted already (decrypt it first), or choose another keyField`,
      )
    }
    const prepared = this.#fields.map((field): PreparedValue => {
      const found = lookup(record, field.segments)
      if (!found.found)
        throw invalidArgument(
          `record is missing field ${JSON.stringify(field.path)}: ${found.why}; every schema field must be present (use null for "no value")`,
        )
      return prepareValue(found.value, field.path, field.mode === 'deterministic')
    })
    const context = canonicalContext(options.context, 'context', true)
    const indexKey = this.#deterministicCount > 0 ? await this.#openIndexKey() : undefined
    const materials = await encryptionMaterials(this.#settings, context, options.signal)
    let sealed: ReturnType<typeof sealHead>
    try {
      sealed = sealHead(backend, {
        dataKey: materials.dataKey,
        recipients: materials.recipients,
        context,
        frameSize: MIN_FRAME_SIZE,
        messageId: newMessageId(),
      })
    } finally {
      materials.release()
    }
    let recordKeys: RecordKeys
    try {
      recordKeys = new RecordKeys(sealed.keys.contentKey)
    } finally {
      sealed.keys.wipe()
    }
    try {
      this.#checkOpen()
      const out = copyAlong(record, this.#fields)
      const tags = new Uint8Array(this.#deterministicCount * TAG_BYTES)
      let tagAt = 0
      for (let i = 0; i < this.#fields.length; i++) {
        const field = this.#fields[i]!
        const plaintext = encodePrepared(prepared[i]!)
        try {
          if (field.mode === 'random') {
            const key = recordKeys.field(field.path)
            const box = new Uint8Array(plaintext.length + TAG_BYTES)
            backend.sealInto(key, ZERO_NONCE, plaintext, fieldAad(PREFIX_RANDOM, field.path), box, 0)
            key.fill(0)
            assign(out, field.segments, toText(PREFIX_RANDOM, box))
          } else {
            const aad = fieldAad(PREFIX_DETERMINISTIC, field.path)
            const box = this.#sivSeal(indexKey!, field.path, context, aad, plaintext)
            tags.set(bindingTag(recordKeys, field.path, aad, box), tagAt)
            tagAt += TAG_BYTES
            assign(out, field.segments, toText(PREFIX_DETERMINISTIC, box))
          }
        } finally {
          plaintext.fill(0)
        }
      }
      out[this.#keyField] = toText(PREFIX_HEAD, concatBytes(sealed.head, concatBytes(tags, listTag(recordKeys, tags))))
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
   * @throws {@link FieldError} `ERR_FIELD` (with `path`) when a field is missing (unless
   *   `partial`), not an encrypted string, altered, or copied from another field, record or
   *   context, or when `keyField` is missing or malformed; `ERR_CONTEXT_MISMATCH`;
   *   `ERR_FORMAT`/`ERR_TRUNCATED`/`ERR_UNSUPPORTED`/`ERR_LIMIT` for a malformed key field;
   *   `ERR_NO_MATCHING_KEY`, `ERR_UNWRAP`, `ERR_AUTH` (key material altered), keyring errors.
   */
  async decryptRecord<T = Record<string, unknown>>(stored: object, options: DecryptRecordOptions = {}): Promise<T> {
    this.#checkOpen()
    if (!isPlainObject(stored)) throw invalidArgument(`record must be a plain object, got ${describe(stored)}`)
    const { head, tags, listTag: listTagOf } = this.#readHead(stored)
    checkExpectedContext(head, options.expectContext)
    const present = this.#readFields(stored, options.partial === true)
    const indexKey = present.some((s) => s.field.mode === 'deterministic') ? await this.#openIndexKey() : undefined
    const { keys } = await decryptionMaterials(this.#settings, head, options.signal)
    let recordKeys: RecordKeys
    try {
      recordKeys = new RecordKeys(keys.contentKey)
    } finally {
      keys.wipe()
    }
    try {
      this.#checkOpen()
      if (!backend.equal(listTag(recordKeys, tags), listTagOf)) {
        throw new FieldError(this.#keyField, 'does not authenticate its field tags: it was altered')
      }
      const out = copyAlong(
        stored,
        present.map((s) => s.field),
        this.#keyField,
      )
      for (const { field, sealed } of present) {
        let plaintext: Uint8Array | undefined
        if (field.mode === 'random') {
          const key = recordKeys.field(field.path)
          plaintext = backend.open(key, ZERO_NONCE, sealed, fieldAad(PREFIX_RANDOM, field.path))
          key.fill(0)
        } else {
          const aad = fieldAad(PREFIX_DETERMINISTIC, field.path)
          if (!hasTag(tags, bindingTag(recordKeys, field.path, aad, sealed))) {
            throw new FieldError(field.path, 'does not belong to this record: it was copied from another record or field, or altered')
          }
          plaintext = this.#sivOpen(indexKey!, field.path, head.header.context, aad, sealed)
        }
        if (plaintext === undefined) throw new FieldError(field.path, AUTH_FAILED)
        try {
          assign(out, field.segments, decodeValue(plaintext))
        } catch (cause) {
          throw new FieldError(field.path, 'is authentic but does not hold a value this version can read', { cause })
        } finally {
          plaintext.fill(0)
        }
      }
      return out as T
    } finally {
      recordKeys.wipe()
    }
  }

  /**
   * {@link FieldEncryptor.encryptRecord} over many records, `concurrency` at a time, results
   * in input order. With a data-key cache, records share data keys (each still has its own
   * message id); without one, each record costs one key-service call.
   *
   * @throws the first failure (lowest record index) with `recordIndex` set and the message
   *   prefixed `record N:`; its class and `code` are those of {@link FieldEncryptor.encryptRecord}.
   */
  encryptRecords(records: readonly object[], options: EncryptRecordsOptions = {}): Promise<Record<string, unknown>[]> {
    this.#checkOpen()
    if (!Array.isArray(records)) throw invalidArgument('records must be an array of plain objects')
    const limit = checkConcurrency(options.concurrency, this.#concurrency)
    const context = options.context
    if (context !== undefined && typeof context !== 'function') canonicalContext(context, 'context', true)
    return mapBounded(records, limit, options.signal, (record, index) => {
      const recordContext = typeof context === 'function' ? context(record, index) : context
      return this.encryptRecord(record, {
        ...(recordContext !== undefined && { context: recordContext }),
        ...(options.signal !== undefined && { signal: options.signal }),
      })
    })
  }

  /**
   * {@link FieldEncryptor.decryptRecord} over many records, `concurrency` at a time, results in input order.
   *
   * @throws the first failure (lowest record index) with `recordIndex` set, as {@link FieldEncryptor.encryptRecords}.
   */
  decryptRecords<T = Record<string, unknown>>(records: readonly object[], options: DecryptRecordsOptions = {}): Promise<T[]> {
    this.#checkOpen()
    if (!Array.isArray(records)) throw invalidArgument('records must be an array of plain objects')
    const limit = checkConcurrency(options.concurrency, this.#concurrency)
    const expect = options.expectContext
    if (expect !== undefined && typeof expect !== 'function') canonicalContext(expect, 'expectContext', false)
    return mapBounded(records, limit, options.signal, (record, index) => {
      const expectContext = typeof expect === 'function' ? expect(record, index) : expect
      return this.decryptRecord<T>(record, {
        ...(expectContext !== undefined && { expectContext }),
        ...(options.partial !== undefined && { partial: options.partial }),
        ...(options.signal !== undefined && { signal: options.signal }),
      })
    })
  }

  /**
   * A blind index of `value` for `path` under `context`: equal values give equal strings
   * (`kmse1b.` and 22 characters), so a column of them supports `WHERE email_idx = ?`.
   * Values are compared by their exact type and CBOR form: normalise first (e.g. lower-case
   * an email) and use the same normalisation when writing and when querying. `path` is any
   * valid path (it separates indexes; it need not be in the schema).
   *
   * @throws TypeError `ERR_INVALID_ARGUMENT` without an `indexKey`, for a bad path, context or value; index-key unwrap errors.
   */
  async blindIndex(path: string, value: unknown, options: SearchOptions = {}): Promise<string> {
    this.#checkOpen()
    parsePath(path, 'path')
    const prepared = prepareValue(value, path, true)
    const context = canonicalContext(options.context, 'context', true)
    if (this.#indexKeyText === undefined)
      throw invalidArgument('blindIndex needs an index key: pass { indexKey } (from FieldEncryptor.createIndexKey) to the FieldEncryptor')
    const indexKey = await this.#openIndexKey()
    this.#checkOpen()
    const key = this.#scopedKeys.get('blind', indexKey, path, context)
    const encoded = encodePrepared(prepared)
    try {
      return toText(PREFIX_BLIND_INDEX, blindIndexBytes(key, encoded))
    } finally {
      encoded.fill(0)
    }
  }

  /**
   * The string a deterministic schema field holds for `value` under `context`, for
   * `WHERE email = ?` on the encrypted column itself.
   *
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
    const indexKey = await this.#openIndexKey()
    this.#checkOpen()
    const plaintext = encodePrepared(prepared)
    try {
      return toText(PREFIX_DETERMINISTIC, this.#sivSeal(indexKey, path, context, fieldAad(PREFIX_DETERMINISTIC, path), plaintext))
    } finally {
      plaintext.fill(0)
    }
  }

  /** Wipes the unwrapped index key. Later calls throw; calls in flight fail rather than use a wiped key. Idempotent. */
  close(): void {
    this.#closed = true
    this.#scopedKeys.clear()
    const pending = this.#indexKey
    this.#indexKey = undefined
    pending?.then(
      (key) => key.wipe(),
      () => {},
    )
  }

  toJSON(): object {
    return { schema: this.schema, keyField: this.#keyField }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FieldEncryptor { schema: ${JSON.stringify(this.schema)}, keyField: ${JSON.stringify(this.#keyField)}, indexKey: ${this.#indexKeyText === undefined ? 'none' : '<redacted>'} }`
  }

  #checkOpen(): void {
    if (this.#closed) throw invalidArgument('this FieldEncryptor was closed; create a new one')
  }

  /** Unwraps the index key once; concurrent callers share the call, and a failure is retried by the next caller. */
  #openIndexKey(): Promise<DataKey> {
    if (this.#indexKey === undefined) {
      const pending = openIndexKey(this.#envelope, this.#indexKeyText!, this.#indexKeyContext)
      this.#indexKey = pending
      pending.catch(() => {
        if (this.#indexKey === pending) this.#indexKey = undefined
      })
    }
    return this.#indexKey
  }

  #sivSeal(indexKey: DataKey, path: string, context: CanonicalContext, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return sivSeal(this.#scopedKeys.get('siv', indexKey, path, context), aad, plaintext)
  }

  #sivOpen(indexKey: DataKey, path: string, context: CanonicalContext, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    return sivOpen(this.#scopedKeys.get('siv', indexKey, path, context), aad, sealed)
  }

  /** Parses the key field: a message head with no frames, whole binding tags, the list tag. */
  #readHead(stored: Record<string, unknown>): { head: MessageHead; tags: Uint8Array; listTag: Uint8Array } {
    const text = stored[this.#keyField]
    if (!Object.hasOwn(stored, this.#keyField) || typeof text !== 'string') {
      throw new FieldError(
        this.#keyField,
        'is missing or not a string: the record was not encrypted by FieldEncryptor (with this keyField), or its key material was removed',
      )
    }
    if (text.length > MAX_HEAD_TEXT)
      throw new LimitError(`field ${JSON.stringify(this.#keyField)} is ${text.length} characters; key material is at most ${MAX_HEAD_TEXT}`)
    const bytes = fromText(PREFIX_HEAD, text)
    if (bytes === undefined) throw new FieldError(this.#keyField, `is not record key material ("${PREFIX_HEAD}" and base64url)`)
    const { head, body: rest } = parseWholeMessage(bytes, this.#settings, `field ${JSON.stringify(this.#keyField)}`)
    if (rest.length < TAG_BYTES || rest.length % TAG_BYTES !== 0 || rest.length > (MAX_SCHEMA_FIELDS + 1) * TAG_BYTES) {
      throw new FieldError(this.#keyField, `ends with ${rest.length} bytes that are not whole field tags: it was altered or cut short`)
    }
    return { head, tags: rest.subarray(0, rest.length - TAG_BYTES), listTag: rest.subarray(rest.length - TAG_BYTES) }
  }

  /** Finds and decodes every schema field's text before any key service is called. */
  #readFields(stored: Record<string, unknown>, partial: boolean): StoredField[] {
    const present: StoredField[] = []
    for (const field of this.#fields) {
      const found = lookup(stored, field.segments)
      if (!found.found) {
        if (partial) continue
        throw new FieldError(field.path, `is missing: ${found.why}. Pass { partial: true } to read a record with some fields left out`)
      }
      if (typeof found.value !== 'string') throw new FieldError(field.path, `is ${describe(found.value)}, not an encrypted field string`)
      const prefix = field.mode === 'random' ? PREFIX_RANDOM : PREFIX_DETERMINISTIC
      const sealed = fromText(prefix, found.value)
      if (sealed === undefined) {
        const other = field.mode === 'random' ? PREFIX_DETERMINISTIC : PREFIX_RANDOM
        throw new FieldError(
          field.path,
          found.value.startsWith(other)
            ? `holds a ${field.mode === 'random' ? 'deterministic' : 'random'} value but the schema says ${field.mode}`
            : `is not an encrypted field string ("${prefix}" and base64url)`,
        )
      }
      if (sealed.length < TAG_BYTES) throw new FieldError(field.path, AUTH_FAILED)
      present.push({ field, sealed })
    }
    return present
  }
}
