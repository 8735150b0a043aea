/**
 * Searchable fields. A per-record data key cannot give equal ciphertexts for equal values, so
 * deterministic fields and blind indexes use an index key: 32 random bytes generated once,
 * kept wrapped as an ordinary kms-envelope message (text form `kmse1k.…`), unwrapped once per
 * FieldEncryptor and wiped on close. From it, per (path, context) keys (see keys.ts) drive
 *
 * - AES-256-SIV (RFC 5297, @noble/ciphers) for deterministic field values, and
 * - HMAC-SHA-256, truncated to 128 bits, for blind indexes.
 *
 * Both leak equality (and so frequency) of values within one (path, context) and nothing
 * across contexts.
 * @module
 */
import { backend } from '#crypto-backend'
import { encryptionMaterials } from '../core/materials.js'
import { decryptParsed } from '../core/reader.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { requireSettings } from '../core/settings.js'
import { newMessageId } from '../core/writer.js'
import { DataKey } from '../crypto/data-key.js'
import { sealMessage } from '../crypto/message.js'
import type { Envelope, RewrapOptions } from '../envelope.js'
import { FormatError, invalidArgument } from '../errors.js'
import { INDEX_KEY_PURPOSE, KEY_BYTES } from '../format/constants.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { canonicalContext, compareKeys } from '../format/context.js'
import { parseWholeMessage } from '../format/message.js'
import { blindKey, scopeOf, sivKey } from './keys.js'
import { fromText, PREFIX_INDEX_KEY, toText } from './text.js'

/** Most (kind, path, context) keys kept derived; a bulk load into one table and tenant needs one per deterministic field. */
const SCOPED_KEYS_MAX = 1024

/**
 * Keys derived from the index key per (kind, path, context), kept so a batch of records does
 * not repeat the derivation for every record. Evicted and cleared keys are zeroed. A key handed
 * out must be used at once (before the next `get`) and never wiped by the caller.
 */
export class ScopedKeys {
  /** Least recently used first (a Map keeps insertion order; a hit moves its entry to the end). */
  readonly #cache = new Map<string, Uint8Array>()

  get(kind: 'siv' | 'blind', indexKey: DataKey, path: string, context: CanonicalContext): Uint8Array {
    const id = JSON.stringify([kind, path, [...context]])
    let key = this.#cache.get(id)
    if (key !== undefined) {
      this.#cache.delete(id)
      this.#cache.set(id, key)
      return key
    }
    const scope = scopeOf(path, context)
    key = kind === 'siv' ? sivKey(indexKey.bytes, scope) : blindKey(indexKey.bytes, scope)
    this.#cache.set(id, key)
    if (this.#cache.size > SCOPED_KEYS_MAX) {
      const [oldest, evicted] = this.#cache.entries().next().value as [string, Uint8Array]
      this.#cache.delete(oldest)
      evicted.fill(0)
    }
    return key
  }

  clear(): void {
    for (const key of this.#cache.values()) key.fill(0)
    this.#cache.clear()
  }
}

/** Bytes of a blind index: 128 bits make accidental collisions negligible (2^-64 at 2^32 distinct values). */
export const BLIND_INDEX_BYTES = 16

type AesSiv = typeof import('@noble/ciphers/aes.js')['aessiv']
type Hmac = typeof import('@noble/hashes/hmac.js')['hmac']
type Sha256 = typeof import('@noble/hashes/sha2.js')['sha256']
let aessivImpl: AesSiv | undefined
let blindMac: { hmac: Hmac; sha256: Sha256 } | undefined

/**
 * Loads AES-SIV with the index key, the only thing that needs it. Importing @noble's AES
 * module builds its tables (about 6 MiB of RSS), which every other user of the core, on Node
 * in particular, would otherwise pay at import.
 */
async function loadSiv(): Promise<void> {
  // HMAC-SHA-256 for blind indexes comes along: also only used once an index key is open, and
  // @noble's SHA-2 module is the largest one the core would otherwise load at import.
  const [aes, mac, sha2] = await Promise.all([import('@noble/ciphers/aes.js'), import('@noble/hashes/hmac.js'), import('@noble/hashes/sha2.js')])
  aessivImpl ??= aes.aessiv
  blindMac ??= { hmac: mac.hmac, sha256: sha2.sha256 }
}

function aessiv(key: Uint8Array, aad: Uint8Array): ReturnType<AesSiv> {
  if (aessivImpl === undefined) throw new Error('internal error: AES-SIV used before the index key was opened')
  return aessivImpl(key, aad)
}

/** Deterministic authenticated encryption: SIV || ciphertext. */
export function sivSeal(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return aessiv(key, aad).encrypt(plaintext)
}

/** The plaintext, or undefined when the value is not authentic under this key and AAD. */
export function sivOpen(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 16) return undefined
  try {
    return aessiv(key, aad).decrypt(sealed)
  } catch {
    return undefined
  }
}

export function blindIndexBytes(key: Uint8Array, encodedValue: Uint8Array): Uint8Array {
  if (blindMac === undefined) throw new Error('internal error: a blind index computed before the index key was opened')
  const mac = blindMac.hmac(blindMac.sha256, key, encodedValue)
  const out = mac.slice(0, BLIND_INDEX_BYTES)
  mac.fill(0)
  return out
}

/** Options of {@link FieldEncryptor.createIndexKey}. */
export interface CreateIndexKeyOptions {
  /** Encryption context of the wrapped index key, e.g. `{ purpose: 'field-index', table: 'users' }`; give it again as `indexKeyContext`. */
  readonly context?: EncryptionContext
  readonly signal?: AbortSignal
}

/**
 * A new random index key, wrapped by `envelope` and returned as text (`kmse1k.…`). Its context
 * carries the reserved pair `kmse:purpose` = `field-index-key` (FORMAT.md §13.2), which the
 * public encrypt refuses and ordinary readers reject: no other message of the envelope can be
 * passed off as an index key, and an index key never opens as an ordinary message.
 */
export async function createIndexKey(envelope: Envelope, options: CreateIndexKeyOptions = {}): Promise<string> {
  const settings = requireSettings(envelope)
  const context = canonicalContext(options.context, 'context', true)
  const key = backend.randomBytes(KEY_BYTES)
  try {
    return await sealIndexKey(settings, context, key, options.signal)
  } finally {
    key.fill(0)
  }
}

/** Options of {@link FieldEncryptor.upgradeIndexKey}. */
export interface UpgradeIndexKeyOptions {
  /** The context the legacy index key was created with (required: it is what proves the message is the index key). */
  readonly expectContext: EncryptionContext
  /** Cancels key-service calls. */
  readonly signal?: AbortSignal
}

/**
 * Re-seals an index key made before index keys carried their purpose pair (kms-envelope 0.1)
 * as a current one holding the same 32 key bytes, so deterministic values and blind indexes
 * stay valid. Run it once, on the stored value you trust, and store the result in its place:
 * the legacy text is opened as an ordinary message, which is exactly what the purpose pair now
 * prevents for everyday use.
 */
export async function upgradeIndexKey(envelope: Envelope, legacyText: string, options: UpgradeIndexKeyOptions): Promise<string> {
  const settings = requireSettings(envelope)
  if (options === null || typeof options !== 'object' || options.expectContext === undefined) {
    throw invalidArgument('upgradeIndexKey needs { expectContext }: the context the index key was created with')
  }
  const expected = canonicalContext(options.expectContext, 'expectContext', false)
  if (expected.size === 0) throw invalidArgument('upgradeIndexKey needs a non-empty expectContext: the context the index key was created with')
  const message = typeof legacyText === 'string' ? fromText(PREFIX_INDEX_KEY, legacyText) : undefined
  if (message === undefined) throw invalidArgument(`the legacy index key must be "${PREFIX_INDEX_KEY}" text`)
  const opened = await envelope.decrypt(message, { expectContext: options.expectContext, ...(options.signal === undefined ? {} : { signal: options.signal }) })
  try {
    if (opened.plaintext.length !== KEY_BYTES) {
      throw new FormatError(`the legacy index key holds ${opened.plaintext.length} bytes, not ${KEY_BYTES}: it is not an index key`)
    }
    return await sealIndexKey(settings, canonicalContext(opened.context, 'context', false), opened.plaintext, options.signal)
  } finally {
    opened.plaintext.fill(0)
  }
}

/**
 * The index key given to other keys (`envelope.rewrap` of its message): the same 32 key bytes
 * and the same header, so every deterministic value and blind index stays valid. Only an
 * index key (its context carries the purpose pair) is accepted.
 */
export async function rewrapIndexKey(envelope: Envelope, text: string, options: RewrapOptions): Promise<string> {
  const settings = requireSettings(envelope)
  const message = typeof text === 'string' ? fromText(PREFIX_INDEX_KEY, text) : undefined
  if (message === undefined) throw invalidArgument(`indexKey must be the text FieldEncryptor.createIndexKey() returned ("${PREFIX_INDEX_KEY}" and base64url)`)
  const { head } = parseWholeMessage(message, { ...settings, reservedContext: INDEX_KEY_PURPOSE }, 'indexKey')
  const [purposeKey, purpose] = INDEX_KEY_PURPOSE
  if (head.header.context.get(purposeKey) !== purpose) {
    throw new FormatError(
      `indexKey is not an index key: its context lacks "${purposeKey}": "${purpose}"; convert a kms-envelope 0.1 index key with FieldEncryptor.upgradeIndexKey() first`,
    )
  }
  return toText(PREFIX_INDEX_KEY, await envelope.rewrap(message, options))
}

async function sealIndexKey(settings: EnvelopeSettings, callerContext: CanonicalContext, key: Uint8Array, signal: AbortSignal | undefined): Promise<string> {
  const context = withPurpose(callerContext)
  const materials = await encryptionMaterials(settings, context, signal, KEY_BYTES)
  try {
    const { dataKey, recipients } = materials
    const message = sealMessage(backend, { dataKey, recipients, context, frameSize: settings.frameSize, messageId: newMessageId() }, key)
    return toText(PREFIX_INDEX_KEY, message)
  } finally {
    materials.release()
  }
}

/** The caller's context plus the reserved purpose pair, in canonical order. */
function withPurpose(context: CanonicalContext): CanonicalContext {
  const entries = [...context, INDEX_KEY_PURPOSE as [string, string]]
  entries.sort((a, b) => compareKeys(a[0], b[0]))
  return new Map(entries)
}

/**
 * Unwraps an index key written by {@link createIndexKey}. The result wipes itself on `wipe()`
 * and never prints. The message must carry the purpose pair: an ordinary message of the same
 * envelope (whose plaintext an attacker may have chosen) is refused before any key service call.
 */
export async function openIndexKey(envelope: Envelope, text: string, expectContext: EncryptionContext | undefined, signal?: AbortSignal): Promise<DataKey> {
  const message = fromText(PREFIX_INDEX_KEY, text)
  if (message === undefined) {
    throw invalidArgument(`indexKey must be the text FieldEncryptor.createIndexKey() returned ("${PREFIX_INDEX_KEY}" and base64url)`)
  }
  const settings = requireSettings(envelope)
  const whole = parseWholeMessage(message, { ...settings, reservedContext: INDEX_KEY_PURPOSE }, 'indexKey')
  const { head } = whole
  const [purposeKey, purpose] = INDEX_KEY_PURPOSE
  if (head.header.context.get(purposeKey) !== purpose) {
    throw new FormatError(
      `indexKey is not an index key: its context lacks "${purposeKey}": "${purpose}", so it is some other message of this envelope (or an index key made by kms-envelope 0.1: convert it once with FieldEncryptor.upgradeIndexKey()); create index keys with FieldEncryptor.createIndexKey()`,
    )
  }
  const [{ plaintext }] = await Promise.all([decryptParsed(settings, whole, { expectContext, signal }), loadSiv()])
  if (plaintext.length !== KEY_BYTES) {
    plaintext.fill(0)
    throw new FormatError(`indexKey holds ${plaintext.length} bytes, not a ${KEY_BYTES}-byte index key: it was not made by FieldEncryptor.createIndexKey()`)
  }
  return new DataKey(plaintext)
}
