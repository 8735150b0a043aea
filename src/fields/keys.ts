/**
 * Key derivations of field encryption (all HKDF-SHA-512, RFC 5869, empty salt):
 *
 *   field key    = HKDF(content key of the record, info = "KMSE v1 field" || 0x00 || path, 32)
 *   scope        = SHA-256(CBOR [path, context])            context: the record's, canonical order
 *   SIV key      = HKDF(index key, info = "KMSE v1 deterministic" || 0x00 || scope, 64)   AES-256-SIV
 *   blind key    = HKDF(index key, info = "KMSE v1 blind index" || 0x00 || scope, 32)     HMAC-SHA-256
 *   field AAD    = UTF-8(prefix || path)                    e.g. "kmse1r.profile.address"
 *   tags key     = HKDF(content key of the record, info = "KMSE v1 record tags", 32)
 *
 * The content key is fresh per record (per message id), so a field key encrypts exactly one
 * value and AES-256-GCM can use the all-zero nonce. Per-record keys are computed as HKDF's
 * extract once and expand per key ({@link RecordKeys}): the same bytes as one HKDF call each,
 * at about a third of the cost per field on node:crypto. The scope is hashed because contexts can
 * be large and node:crypto refuses HKDF info over 1024 bytes.
 * @module
 */
import { concatBytes, utf8ToBytes } from '@noble/ciphers/utils.js'

import { backend } from '#crypto-backend'
import { encodeCbor } from '../format/cbor.js'
import { KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'

const FIELD_LABEL = utf8ToBytes('KMSE v1 field\0')
const TAGS_LABEL = utf8ToBytes('KMSE v1 record tags')
const SIV_LABEL = utf8ToBytes('KMSE v1 deterministic\0')
const BLIND_LABEL = utf8ToBytes('KMSE v1 blind index\0')
const EMPTY = new Uint8Array(0)
/** AES-256-SIV takes two 256-bit keys (RFC 5297; 128-bit MAC keys are too weak across many keys, as Tink notes). */
export const SIV_KEY_BYTES = 64

const TAGS_BLOCK = concatBytes(TAGS_LABEL, Uint8Array.of(1))

/**
 * Per-path bytes (expand inputs, AADs) are the same for every record of a schema: made once,
 * not per field per record (the profile showed their UTF-8 encoding and concatenation at
 * about 7% of a record). Bounded: a program with endless distinct paths just starts over.
 */
const MEMO_LIMIT = 4096
const fieldBlocks = new Map<string, Uint8Array>()
const aads = new Map<string, Uint8Array>()

function memo(cache: Map<string, Uint8Array>, key: string, make: () => Uint8Array): Uint8Array {
  let value = cache.get(key)
  if (value === undefined) {
    if (cache.size >= MEMO_LIMIT) cache.clear()
    value = make()
    cache.set(key, value)
  }
  return value
}

/** RFC 5869: an absent salt is HashLen zero bytes. */
const ZERO_SALT = new Uint8Array(64)
const COUNTER_1 = Uint8Array.of(1)

/** The keys of one record, derived from its content key. Call `wipe()` when done. */
export class RecordKeys {
  readonly #prk: Uint8Array

  constructor(contentKey: Uint8Array) {
    this.#prk = backend.hmacSha512(ZERO_SALT, contentKey) // HKDF-Extract
  }

  /** HKDF-Expand for one block (L ≤ 64): T(1) = HMAC(PRK, `block`), where `block` = info || 0x01. */
  #expand(block: Uint8Array): Uint8Array {
    const t = backend.hmacSha512(this.#prk, block)
    const key = t.slice(0, KEY_BYTES)
    t.fill(0)
    return key
  }

  /** The key of the field at `path`. The caller wipes it. */
  field(path: string): Uint8Array {
    return this.#expand(memo(fieldBlocks, path, () => concatBytes(FIELD_LABEL, utf8ToBytes(path), COUNTER_1)))
  }

  /** The key that authenticates the list of binding tags in the key field. The caller wipes it. */
  tags(): Uint8Array {
    return this.#expand(TAGS_BLOCK)
  }

  wipe(): void {
    this.#prk.fill(0)
  }
}

/** The AAD of a field value. Shared between calls (memoised per path): never modify it. */
export function fieldAad(prefix: string, path: string): Uint8Array {
  const text = prefix + path
  return memo(aads, text, () => utf8ToBytes(text))
}

/** Names one (path, context) pair in a fixed 32 bytes. */
export function scopeOf(path: string, context: CanonicalContext): Uint8Array {
  return backend.sha256(encodeCbor([path, context]))
}

/** Per-(path, context) AES-256-SIV key for deterministic fields. The caller wipes it. */
export function sivKey(indexKey: Uint8Array, scope: Uint8Array): Uint8Array {
  return backend.hkdfSha512(indexKey, EMPTY, concatBytes(SIV_LABEL, scope), SIV_KEY_BYTES)
}

/** Per-(path, context) HMAC key for blind indexes. The caller wipes it. */
export function blindKey(indexKey: Uint8Array, scope: Uint8Array): Uint8Array {
  return backend.hkdfSha512(indexKey, EMPTY, concatBytes(BLIND_LABEL, scope), KEY_BYTES)
}
