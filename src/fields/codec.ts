/**
 * Field values as CBOR (RFC 8949), so a value comes back with the type it went in with:
 *
 *   string            text string (must be well-formed UTF-16: a lone surrogate has no UTF-8 form)
 *   number            always a float64 (major type 7): keeps -0, NaN, ±Infinity and every integer exactly
 *   bigint            integer (major types 0/1), or bignum (tags 2/3) beyond 64 bits
 *   boolean, null     simple values
 *   Date              tag 1, epoch seconds (integer or float64); milliseconds survive exactly
 *                     within ±4×10^15 ms of 1970 (±140,000 years); invalid Dates are refused
 *   Uint8Array        byte string (a Buffer comes back as a plain Uint8Array)
 *   array             array (dense; holes and `undefined` elements are refused)
 *   plain object      map with text keys, in insertion order (sorted for deterministic fields)
 *
 * Anything else (undefined, functions, symbols, Map, Set, class instances, other typed
 * arrays, symbol keys, cycles) is refused with a TypeError naming where it is in the value.
 *
 * Numbers are always floats so that the CBOR major type alone tells number from bigint: with
 * integers for both, `5` and `5n` could not be told apart on the way back.
 * @module
 */
import { Encoder } from 'cbor-x/encode' // the JS entry, as in format/cbor.ts: 'cbor-x' would load a native addon on Node
import { invalidArgument, outOfRange } from '../errors.js'
import { compareKeys } from '../format/context.js'
import { describe } from './schema.js'

/** Deepest nesting of arrays and objects inside one field value. Also stops cycles. */
export const MAX_VALUE_DEPTH = 64

const codec = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  alwaysUseFloat: true,
})

/** A value checked and converted for encoding (maps for objects, keys sorted when canonical). */
export type PreparedValue = { readonly prepared: unknown }

/**
 * Checks a field value and converts it for {@link encodePrepared}. Throws a TypeError or
 * RangeError naming `where` for anything that has no exact stored form. Callers prepare every
 * value of a record before calling any key service, so bad input costs nothing.
 */
export function prepareValue(value: unknown, where: string, canonical: boolean): PreparedValue {
  return { prepared: normalize(value, where, canonical, 0) }
}

/** The CBOR bytes of a prepared value: a view into a shared buffer, so use them at once, then wipe them. */
export function encodePrepared(value: PreparedValue): Uint8Array {
  return codec.encode(value.prepared)
}

/** Decodes what {@link encodeValue} wrote. Throws a plain Error when the bytes are not such a value. */
export function decodeValue(bytes: Uint8Array): unknown {
  return restore(codec.decode(bytes), 0)
}

function normalize(value: unknown, where: string, canonical: boolean, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw invalidArgument(`${where} is a string with a lone UTF-16 surrogate, which has no UTF-8 form`)
      return value
    case 'number':
      return Number.isNaN(value) ? NaN : value // one NaN bit pattern, so deterministic fields agree
    case 'boolean':
    case 'bigint':
      return value
    case 'undefined':
      throw invalidArgument(`${where} is undefined, which has no stored form; use null for "no value"`)
    case 'object':
      break
    default:
      throw invalidArgument(`${where} is a ${typeof value}; encrypted values must be data (strings, numbers, bigints, booleans, null, Dates, Uint8Arrays, arrays, plain objects)`)
  }
  if (value === null) return null
  if (depth >= MAX_VALUE_DEPTH) throw outOfRange(`${where} is nested more than ${MAX_VALUE_DEPTH} levels deep (or refers to itself)`)
  if (value instanceof Uint8Array) return value
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw invalidArgument(`${where} is an invalid Date`)
    // cbor-x writes seconds and reads back Math.round(seconds * 1000): refuse the rare dates that would not survive.
    if (Math.round((ms / 1000) * 1000) !== ms) throw outOfRange(`${where} is a Date too far from 1970 to store to the millisecond`)
    return value
  }
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw invalidArgument(`${where} is ${describe(value)}; use a plain array`)
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw invalidArgument(`${where}[${i}] is a hole in a sparse array; use null for "no value"`)
      out[i] = normalize(value[i], `${where}[${i}]`, canonical, depth + 1)
    }
    return out
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw invalidArgument(`${where} is ${describe(value)}; only plain objects, arrays, Dates and Uint8Arrays are stored (convert it, e.g. a Map with Object.fromEntries)`)
  }
  if (Object.getOwnPropertySymbols(value).length > 0) throw invalidArgument(`${where} has symbol keys, which have no stored form`)
  const keys = Object.keys(value)
  if (canonical) keys.sort(compareKeys)
  const map = new Map<string, unknown>()
  for (const key of keys) {
    if (!key.isWellFormed()) throw invalidArgument(`${where} has a key with a lone UTF-16 surrogate`)
    map.set(key, normalize((value as Record<string, unknown>)[key], `${where}.${key}`, canonical, depth + 1))
  }
  return map
}

function restore(item: unknown, depth: number): unknown {
  switch (typeof item) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return item
    case 'object':
      break
    default:
      throw new Error(`unexpected ${typeof item} in a field value`)
  }
  if (item === null) return null
  if (depth >= MAX_VALUE_DEPTH) throw new Error('field value nested too deeply')
  if (item instanceof Uint8Array) return new Uint8Array(item) // own copy, and never a Buffer
  if (item instanceof Date) return item
  if (Array.isArray(item)) return item.map((element) => restore(element, depth + 1))
  if (item instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [key, element] of item as Map<unknown, unknown>) {
      if (typeof key !== 'string') throw new Error('field value has a map key that is not a string')
      // defineProperty, not assignment: a "__proto__" key must stay an own key.
      Object.defineProperty(out, key, { value: restore(element, depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  throw new Error(`unexpected ${describe(item)} in a field value`)
}
