/**
 * Field schemas: which paths of a record are encrypted, and how.
 *
 * A path names a property of a plain object by its keys joined with dots: `ssn`,
 * `profile.address`. Arrays are not traversed (v1): a path cannot point inside an array,
 * but a whole array can be the value of an encrypted field. Keys that contain a dot cannot be
 * named, and `__proto__`, `constructor` and `prototype` are refused so a path can never reach
 * or write an object's prototype.
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { invalidArgument, LimitError } from '../errors.js'
import { compareKeys } from '../format/context.js'

/**
 * How a field is encrypted.
 * - `random`: a fresh key per record; equal values give unrelated strings. Use this unless you
 *   must look records up by the value.
 * - `deterministic`: AES-SIV under a key shared by every record with the same path and
 *   context; equal values give equal strings, so the column can be searched with `=`.
 */
export type FieldMode = 'random' | 'deterministic'

/** Paths (`'ssn'`, `'profile.address'`) to the mode each is encrypted with. */
export type FieldSchema = Readonly<Record<string, FieldMode>>

/** One validated schema entry. */
export interface SchemaField {
  readonly path: string
  readonly segments: readonly string[]
  readonly mode: FieldMode
}

/** Most fields one schema may list. Bounds the per-record work and the sidecar's tag list. */
export const MAX_SCHEMA_FIELDS = 256
/** Longest path, in UTF-8 bytes: keeps every key-derivation input under node:crypto's 1024-byte HKDF info limit. */
export const MAX_PATH_BYTES = 512
/** Deepest path, in segments. */
export const MAX_PATH_DEPTH = 32
/** The record field that holds each record's key material unless the caller names another. */
export const DEFAULT_KEY_FIELD = '_kmse'

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype'])
const MODES: ReadonlySet<string> = new Set<FieldMode>(['random', 'deterministic'])

/** Checks a dotted path and splits it; `name` says where it came from in messages. */
export function parsePath(path: unknown, name: string): readonly string[] {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`${name} must be a non-empty string such as 'ssn' or 'profile.address'`)
  if (!path.isWellFormed()) throw invalidArgument(`${name} ${JSON.stringify(path)} contains a lone UTF-16 surrogate`)
  if (utf8ToBytes(path).length > MAX_PATH_BYTES) throw invalidArgument(`${name} is longer than ${MAX_PATH_BYTES} UTF-8 bytes`)
  const segments = path.split('.')
  if (segments.length > MAX_PATH_DEPTH) throw invalidArgument(`${name} ${JSON.stringify(path)} is deeper than ${MAX_PATH_DEPTH} levels`)
  for (const segment of segments) {
    if (segment.length === 0) {
      throw invalidArgument(`${name} ${JSON.stringify(path)} has an empty segment; use dots only between keys, like 'profile.address'`)
    }
    if (FORBIDDEN_SEGMENTS.has(segment)) throw invalidArgument(`${name} ${JSON.stringify(path)} uses the reserved key ${JSON.stringify(segment)}`)
    if (segment.includes('[') || segment.includes(']')) {
      throw invalidArgument(
        `${name} ${JSON.stringify(path)} looks like an array index; paths cannot point inside arrays (encrypt the whole array by naming its parent)`,
      )
    }
  }
  return segments
}

/** Checks the name of the field that holds each record's key material: one plain key. */
export function checkKeyField(value: unknown): string {
  if (value === undefined) return DEFAULT_KEY_FIELD
  const segments = parsePath(value, 'keyField')
  if (segments.length !== 1) throw invalidArgument(`keyField must be a top-level key without dots, got ${JSON.stringify(value)}`)
  return segments[0]!
}

/**
 * Validates a schema and returns its fields in canonical path order (shorter UTF-8 first,
 * then bytewise), so the order of work never depends on how the caller wrote the object.
 */
export function compileSchema(schema: unknown, keyField: string): readonly SchemaField[] {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || schema instanceof Map) {
    throw invalidArgument(`schema must be a plain object of paths to modes, like { ssn: 'random', email: 'deterministic' }`)
  }
  const entries = Object.entries(schema as Record<string, unknown>)
  if (entries.length === 0) throw invalidArgument('schema lists no fields; name at least one path to encrypt')
  if (entries.length > MAX_SCHEMA_FIELDS) throw new LimitError(`schema lists ${entries.length} fields; at most ${MAX_SCHEMA_FIELDS} are allowed`)
  const fields: SchemaField[] = []
  for (const [path, mode] of entries) {
    const segments = parsePath(path, 'schema path')
    if (typeof mode !== 'string' || !MODES.has(mode)) {
      throw invalidArgument(`schema[${JSON.stringify(path)}] must be 'random' or 'deterministic', got ${JSON.stringify(mode) ?? String(mode)}`)
    }
    if (segments[0] === keyField) {
      throw invalidArgument(
        `schema path ${JSON.stringify(path)} collides with keyField ${JSON.stringify(keyField)}, where each record keeps its key material; choose another keyField`,
      )
    }
    fields.push({ path, segments, mode: mode as FieldMode })
  }
  fields.sort((a, b) => compareKeys(a.path, b.path))
  // A field inside another encrypted field would be encrypted twice, or not at all, depending on order.
  for (const a of fields) {
    for (const b of fields) {
      if (a !== b && b.path.startsWith(`${a.path}.`)) {
        throw invalidArgument(
          `schema paths ${JSON.stringify(a.path)} and ${JSON.stringify(b.path)} overlap: ${JSON.stringify(a.path)} already encrypts everything inside it; keep one of them`,
        )
      }
    }
  }
  return fields
}

/** A plain object: made by `{}`, `JSON.parse`, `Object.create(null)` or a database driver; not an array, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Where a path ends in a record. */
export type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false; readonly why: string }

/** Reads a path through own properties of plain objects only. */
export function lookup(record: Record<string, unknown>, segments: readonly string[]): Lookup {
  let node: unknown = record
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i]!
    if (i > 0 && !isPlainObject(node)) {
      const at = segments.slice(0, i).join('.')
      return {
        found: false,
        why: Array.isArray(node)
          ? `${JSON.stringify(at)} is an array; paths cannot point inside arrays (encrypt the whole array by naming ${JSON.stringify(at)})`
          : `${JSON.stringify(at)} is ${valueKind(node)}, not an object`,
      }
    }
    const object = node as Record<string, unknown>
    if (!Object.hasOwn(object, key) || object[key] === undefined) {
      return { found: false, why: `it has no ${JSON.stringify(segments.slice(0, i + 1).join('.'))}` }
    }
    node = object[key]
  }
  return { found: true, value: node }
}

/**
 * Copies `record` along every path that will be written, so the caller's objects are never
 * modified; everything off those paths is shared, not cloned.
 */
export function copyAlong(record: Record<string, unknown>, fields: readonly SchemaField[], omitKey?: string): Record<string, unknown> {
  const root = shallowCopy(record, omitKey)
  const copied = new Set<object>([root])
  for (const field of fields) {
    let node = root
    for (let i = 0; i < field.segments.length - 1; i++) {
      const key = field.segments[i]!
      let child = node[key] as Record<string, unknown>
      if (!copied.has(child)) {
        child = shallowCopy(child)
        node[key] = child
        copied.add(child)
      }
      node = child
    }
  }
  return root
}

/** Sets a path that {@link copyAlong} prepared (every segment is a checked, non-reserved key). */
export function assign(root: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = root
  for (let i = 0; i < segments.length - 1; i++) node = node[segments[i]!] as Record<string, unknown>
  node[segments[segments.length - 1]!] = value
}

function shallowCopy(object: Record<string, unknown>, omitKey?: string): Record<string, unknown> {
  // Spread and rest define own data properties (a "__proto__" key stays a key); keep a null prototype.
  let copy: Record<string, unknown>
  if (omitKey === undefined) {
    copy = { ...object }
  } else {
    const { [omitKey]: _omitted, ...rest } = object
    copy = rest
  }
  if (Object.getPrototypeOf(object) === null) Object.setPrototypeOf(copy, null)
  return copy
}

/** A short description of a value's type for error messages (never the value itself: it may be secret). */
export function valueKind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name
    return name ? `a ${name}` : 'an object'
  }
  return `a ${typeof value}`
}
