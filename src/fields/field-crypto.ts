/**
 * Per-field sealing and opening of a record, under the record's keys (keys.ts):
 *
 *   random field   = "kmse1r." base64url( AES-256-GCM(field key, nonce 0^96, CBOR(value), AAD) )
 *   determ. field  = "kmse1d." base64url( AES-256-SIV(SIV key(path, context), AAD, CBOR(value)) )
 *   binding tag    = GCM tag of the empty plaintext under the field key, AAD = AAD || SIV bytes
 *   list tag       = GCM tag of the empty plaintext under the tags key, AAD = tag*
 *
 * (GCM with the zero nonce: each of these keys is used once.) Readers check a deterministic
 * value's binding tag by membership in the list, so a reader whose schema is a subset of the
 * writer's still works. A value moved to another field (other key and AAD), another record
 * (other content key; for deterministic fields the binding tag) or another context (other
 * SIV key) fails with ERR_FIELD.
 * @module
 */
import { concatBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { FieldError, invalidArgument } from '../errors.js'
import { NONCE_BYTES, TAG_BYTES } from '../format/constants.js'
import type { PreparedValue } from './codec.js'
import { decodeValue, encodePrepared, prepareValue } from './codec.js'
import { blindIndexBytes, sivOpen, sivSeal } from './deterministic.js'
import type { RecordKeys } from './keys.js'
import { fieldAad } from './keys.js'
import type { SchemaField } from './schema.js'
import { assign, lookup, valueKind } from './schema.js'
import { fromText, PREFIX_BLIND_INDEX, PREFIX_DETERMINISTIC, PREFIX_RANDOM, toText } from './text.js'

const ZERO_NONCE = new Uint8Array(NONCE_BYTES)
const EMPTY = new Uint8Array(0)
const AUTH_FAILED = 'does not decrypt: it was altered, or copied from another field, record or context'

/** The SIV key of a deterministic path under the record's context (called only for deterministic fields). */
export type SivKeyOf = (path: string) => Uint8Array

/** A schema field found in a stored record, its text decoded (not yet authenticated). */
export interface StoredField {
  readonly field: SchemaField
  readonly sealed: Uint8Array
}

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

/** Membership in constant time per tag: every tag is compared, so timing does not say which one matched. */
function hasTag(tags: Uint8Array, tag: Uint8Array): boolean {
  let found = false
  for (let at = 0; at < tags.length; at += TAG_BYTES) found = backend.equal(tags.subarray(at, at + TAG_BYTES), tag) || found
  return found
}

/** Checks every schema field's value of a record, so a bad one fails before any key service is called. */
export function prepareFields(record: Record<string, unknown>, fields: readonly SchemaField[]): PreparedValue[] {
  return fields.map((field): PreparedValue => {
    const found = lookup(record, field.segments)
    if (!found.found)
      throw invalidArgument(`record is missing field ${JSON.stringify(field.path)}: ${found.why}; every schema field must be present (use null for "no value")`)
    return prepareValue(found.value, field.path, field.mode === 'deterministic')
  })
}

/** Checks the list tag of a record's binding tags, so each tag in the list can be trusted. */
export function checkListTag(keys: RecordKeys, tags: Uint8Array, stored: Uint8Array, keyField: string): void {
  if (!backend.equal(listTag(keys, tags), stored)) throw new FieldError(keyField, 'does not authenticate its field tags: it was altered')
}

/**
 * Seals every schema field of a record into `out` (prepared by copyAlong) and returns the
 * binding tags of the deterministic ones, in schema order.
 */
export function sealFields(
  keys: RecordKeys,
  fields: readonly SchemaField[],
  prepared: readonly PreparedValue[],
  sivKeyOf: SivKeyOf,
  out: Record<string, unknown>,
): Uint8Array {
  const tags = new Uint8Array(fields.filter((f) => f.mode === 'deterministic').length * TAG_BYTES)
  let tagAt = 0
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!
    const plaintext = encodePrepared(prepared[i]!)
    try {
      if (field.mode === 'random') {
        const key = keys.field(field.path)
        const box = new Uint8Array(plaintext.length + TAG_BYTES)
        backend.sealInto(key, ZERO_NONCE, plaintext, fieldAad(PREFIX_RANDOM, field.path), box, 0)
        key.fill(0)
        assign(out, field.segments, toText(PREFIX_RANDOM, box))
      } else {
        const aad = fieldAad(PREFIX_DETERMINISTIC, field.path)
        const box = sivSeal(sivKeyOf(field.path), aad, plaintext)
        tags.set(bindingTag(keys, field.path, aad, box), tagAt)
        tagAt += TAG_BYTES
        assign(out, field.segments, toText(PREFIX_DETERMINISTIC, box))
      }
    } finally {
      plaintext.fill(0)
    }
  }
  return tags
}

/**
 * Authenticates and decrypts each present field into `out`; a deterministic value must carry
 * a binding tag from the (already authenticated) list `tags`.
 */
export function openFields(keys: RecordKeys, present: readonly StoredField[], tags: Uint8Array, sivKeyOf: SivKeyOf, out: Record<string, unknown>): void {
  for (const { field, sealed } of present) {
    let plaintext: Uint8Array | undefined
    if (field.mode === 'random') {
      const key = keys.field(field.path)
      plaintext = backend.open(key, ZERO_NONCE, sealed, fieldAad(PREFIX_RANDOM, field.path))
      key.fill(0)
    } else {
      const aad = fieldAad(PREFIX_DETERMINISTIC, field.path)
      if (!hasTag(tags, bindingTag(keys, field.path, aad, sealed))) {
        throw new FieldError(field.path, 'does not belong to this record: it was copied from another record or field, or altered')
      }
      plaintext = sivOpen(sivKeyOf(field.path), aad, sealed)
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
}

/** Finds and decodes every schema field's text, so malformed records fail before any key service is called. */
export function readStoredFields(stored: Record<string, unknown>, fields: readonly SchemaField[], partial: boolean): StoredField[] {
  const present: StoredField[] = []
  for (const field of fields) {
    const found = lookup(stored, field.segments)
    if (!found.found) {
      if (partial) continue
      throw new FieldError(field.path, `is missing: ${found.why}. Pass { partial: true } to read a record with some fields left out`)
    }
    if (typeof found.value !== 'string') throw new FieldError(field.path, `is ${valueKind(found.value)}, not an encrypted field string`)
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

/** The blind index (`kmse1b.`) of a checked value under its blind key. */
export function blindIndexText(blindKey: Uint8Array, prepared: PreparedValue): string {
  const encoded = encodePrepared(prepared)
  try {
    return toText(PREFIX_BLIND_INDEX, blindIndexBytes(blindKey, encoded))
  } finally {
    encoded.fill(0)
  }
}

/** The text a deterministic field at `path` holds for a checked value, under its SIV key (what sealFields writes). */
export function deterministicText(sivKey: Uint8Array, path: string, prepared: PreparedValue): string {
  const plaintext = encodePrepared(prepared)
  try {
    return toText(PREFIX_DETERMINISTIC, sivSeal(sivKey, fieldAad(PREFIX_DETERMINISTIC, path), plaintext))
  } finally {
    plaintext.fill(0)
  }
}
