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
 * integers for both, `5` and `5n` could not be told apart on the way back. The exact bytes
 * (8-byte integer heads, 4-byte date heads: what v1 has always written, kept so stored
 * deterministic values and blind indexes still match) are in docs/FORMAT.md §13.1.
 * @module
 */
import { Encoder } from 'cbor-x/encode' // the JS entry, as in format/cbor.ts: 'cbor-x' would load a native addon on Node
import { invalidArgument, outOfRange } from '../errors.js'
import { compareKeys } from '../format/context.js'
import { valueKind } from './schema.js'
import { MAX_VALUE_DEPTH, MAX_VALUE_ITEMS, readValue } from './value-reader.js'

export { MAX_VALUE_DEPTH, MAX_VALUE_ITEMS }

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
  const budget = { items: 0 }
  return { prepared: normalize(value, where, canonical, 0, budget) }
}

/** Counts CBOR data items as the reader will, so nothing is written that a reader refuses. */
function spend(budget: { items: number }, items: number, where: string): void {
  budget.items += items
  if (budget.items > MAX_VALUE_ITEMS) throw outOfRange(`${where} makes the value more than ${MAX_VALUE_ITEMS} CBOR data items; split it over several fields`)
}

const INT64_MIN = -(1n << 64n)
const UINT64_MAX = (1n << 64n) - 1n

/** The CBOR bytes of a prepared value: a view into a shared buffer, so use them at once, then wipe them. */
export function encodePrepared(value: PreparedValue): Uint8Array {
  return codec.encode(value.prepared)
}

/**
 * Decodes a field value (see value-reader.ts: bounded, and not through cbor-x). Throws a
 * FormatError or LimitError when the bytes are not such a value.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  return readValue(bytes)
}

function normalize(value: unknown, where: string, canonical: boolean, depth: number, budget: { items: number }): unknown {
  spend(budget, 1, where)
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw invalidArgument(`${where} is a string with a lone UTF-16 surrogate, which has no UTF-8 form`)
      return value
    case 'number':
      return Number.isNaN(value) ? NaN : value // one NaN bit pattern, so deterministic fields agree
    case 'boolean':
      return value
    case 'bigint':
      if (value < INT64_MIN || value > UINT64_MAX) spend(budget, 1, where) // a bignum: tag, then its byte string
      return value
    case 'undefined':
      throw invalidArgument(`${where} is undefined, which has no stored form; use null for "no value"`)
    case 'object':
      break
    default:
      throw invalidArgument(
        `${where} is a ${typeof value}; encrypted values must be data (strings, numbers, bigints, booleans, null, Dates, Uint8Arrays, arrays, plain objects)`,
      )
  }
  if (value === null) return null
  if (depth >= MAX_VALUE_DEPTH) throw outOfRange(`${where} is nested more than ${MAX_VALUE_DEPTH} levels deep (or refers to itself)`)
  if (value instanceof Uint8Array) return value
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw invalidArgument(`${where} is an invalid Date`)
    // cbor-x writes seconds and reads back Math.round(seconds * 1000): refuse the rare dates that would not survive.
    if (Math.round((ms / 1000) * 1000) !== ms) throw outOfRange(`${where} is a Date too far from 1970 to store to the millisecond`)
    spend(budget, 1, where) // tag 1, then the seconds
    return value
  }
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw invalidArgument(`${where} is ${valueKind(value)}; use a plain array`)
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw invalidArgument(`${where}[${i}] is a hole in a sparse array; use null for "no value"`)
      out[i] = normalize(value[i], `${where}[${i}]`, canonical, depth + 1, budget)
    }
    return out
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw invalidArgument(
      `${where} is ${valueKind(value)}; only plain objects, arrays, Dates and Uint8Arrays are stored (convert it, e.g. a Map with Object.fromEntries)`,
    )
  }
  if (Object.getOwnPropertySymbols(value).length > 0) throw invalidArgument(`${where} has symbol keys, which have no stored form`)
  const keys = Object.keys(value)
  if (canonical) keys.sort(compareKeys)
  const map = new Map<string, unknown>()
  for (const key of keys) {
    if (!key.isWellFormed()) throw invalidArgument(`${where} has a key with a lone UTF-16 surrogate`)
    spend(budget, 1, where)
    map.set(key, normalize((value as Record<string, unknown>)[key], `${where}.${key}`, canonical, depth + 1, budget))
  }
  return map
}
