/**
 * The key of a decrypt entry: everything that must match for a cached data key to be reused
 * (the keyrings' cache ids, the partition, the suite, the context and every wrapped key),
 * written as length-prefixed fields so no two different inputs share a key. A small message
 * head (the common case: a few short wrapped keys) is keyed by those fields themselves, as a
 * string; a larger one by a SHA-256 digest of them, so an entry never holds kilobytes of key
 * (wrapped keys can be 8 KiB each). The two forms start differently and cannot collide.
 * Written by hand rather than as CBOR: this runs on every cached decrypt, and the profile
 * showed the general encoder, and then the digest, costing as much as the lookup they feed.
 * @module
 */
import { bytesToHex } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { CanonicalContext } from '../format/context.js'
import type { Recipient } from '../format/header.js'

const utf8 = new TextEncoder()
const LABEL = 'KMSE v1 cache decrypt'

/** Writes fields into one buffer sized for the worst case (3 UTF-8 bytes per UTF-16 unit). */
class FieldWriter {
  readonly bytes: Uint8Array
  #at = 0

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity)
  }

  #u32(at: number, value: number): void {
    this.bytes[at] = value >>> 24
    this.bytes[at + 1] = (value >>> 16) & 0xff
    this.bytes[at + 2] = (value >>> 8) & 0xff
    this.bytes[at + 3] = value & 0xff
  }

  count(value: number): void {
    this.#u32(this.#at, value)
    this.#at += 4
  }

  text(value: string): void {
    const { written } = utf8.encodeInto(value, this.bytes.subarray(this.#at + 4))
    this.#u32(this.#at, written)
    this.#at += 4 + written
  }

  raw(value: Uint8Array): void {
    this.count(value.length)
    this.bytes.set(value, this.#at)
    this.#at += value.length
  }

  get written(): Uint8Array {
    return this.bytes.subarray(0, this.#at)
  }
}

/** The part of the key fixed by a cache partition and a list of keyrings, in both forms; memoised by the caller. */
export interface DecryptKeyPrefix {
  readonly bytes: Uint8Array
  readonly text: string
}

export function decryptKeyPrefix(partition: string, cacheIds: readonly string[]): DecryptKeyPrefix {
  const w = new FieldWriter(4 + 3 * LABEL.length + 4 + 3 * partition.length + 4 + cacheIds.reduce((n, id) => n + 4 + 3 * id.length, 0))
  w.text(LABEL)
  w.text(partition)
  w.count(cacheIds.length)
  for (const id of cacheIds) w.text(id)
  // JSON.stringify of strings is injective; the string form starts with "r", the digest form is hex.
  return { bytes: w.written.slice(), text: `r${JSON.stringify([LABEL, partition, cacheIds])}` }
}

/** Most characters of context, types, key ids and wrapped keys (summed) keyed as a string rather than a digest. */
const MAX_RAW_KEY = 1024

/** Latin-1 characters for bytes: one character per byte, so the length prefix in bytes bounds it exactly. */
function bytesAsText(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[])
}

/** The entry key of a message's data key (see the module docs for its two forms). */
export function decryptEntryKey(prefix: DecryptKeyPrefix, suite: number, context: CanonicalContext, recipients: readonly Recipient[]): string {
  // The context counts too: a hostile message's context can be most of a 64 KiB header, and
  // a cache of such entries must not hold kilobytes of key each.
  let raw = 0
  for (const [k, v] of context) raw += k.length + v.length
  for (const r of recipients) raw += r.type.length + r.keyId.length + r.wrapped.length
  if (raw <= MAX_RAW_KEY) {
    let key = `${prefix.text}${suite}:${context.size}`
    for (const [k, v] of context) key += `:${k.length}:${k}:${v.length}:${v}`
    key += `:${recipients.length}`
    for (const r of recipients) key += `:${r.type.length}:${r.type}:${r.keyId.length}:${r.keyId}:${r.wrapped.length}:${bytesAsText(r.wrapped)}`
    return key
  }
  let capacity = prefix.bytes.length + 16 // its length, the suite and the two counts
  for (const [k, v] of context) capacity += 8 + 3 * (k.length + v.length)
  for (const r of recipients) capacity += 12 + 3 * (r.type.length + r.keyId.length) + r.wrapped.length
  const w = new FieldWriter(capacity)
  w.raw(prefix.bytes)
  w.count(suite)
  w.count(context.size)
  for (const [k, v] of context) {
    w.text(k)
    w.text(v)
  }
  w.count(recipients.length)
  for (const r of recipients) {
    w.text(r.type)
    w.text(r.keyId)
    w.raw(r.wrapped)
  }
  return bytesToHex(backend.sha256(w.written))
}
