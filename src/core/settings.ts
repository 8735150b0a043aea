/**
 * The settings of one Envelope, shared by every surface built on it (buffers, streams, files,
 * records, rewrap, the CLI): validated once in the constructor, then looked up by the
 * internal modules. They are kept out of the Envelope's public type: a property, even one
 * marked internal, was a back door (anything with a `settings` field passed for an Envelope)
 * and showed in the published declarations.
 * @module
 */
import { KeyCache } from '../cache/key-cache.js'
import { invalidArgument } from '../errors.js'
import { DEFAULT_FRAME_SIZE, DEFAULT_MAX_WRAPPED_KEYS, MAX_FRAME_SIZE, MAX_WRAPPED_KEYS, MIN_FRAME_SIZE } from '../format/constants.js'
import { HeadMemo } from '../format/head-memo.js'
import type { Keyring } from '../keyrings/keyring.js'
import { integerOption } from '../validate.js'

/** Settings shared by every surface of one Envelope. */
export interface EnvelopeSettings {
  /**
   * Every keyring that may open a message, in the order they are tried: the writing keyrings,
   * then the decrypt-only ones. Decryption, streams, files, records and rewrap's source read
   * this list; nothing that wraps a new message does (that is {@link EnvelopeSettings.writers}).
   */
  readonly keyrings: readonly Keyring[]
  /** The keyrings new messages are wrapped for (the Envelope's `keyring`); the first generates the data key. Empty for a read-only Envelope. */
  readonly writers: readonly Keyring[]
  /** The keyrings that only decrypt (the Envelope's `decryptOnly`), possibly none. */
  readonly decryptOnly: readonly Keyring[]
  readonly frameSize: number
  readonly maxWrappedKeys: number
  readonly maxFrameSize: number
  /** Smallest frame size a decrypting surface accepts; see EnvelopeOptions.minFrameSize. */
  readonly minFrameSize: number
  readonly cache?: KeyCache | undefined
  /** Whether a post-quantum message may also carry classical public-key recipients (src/core/post-quantum-rule.ts). */
  readonly allowClassicalRecipients: boolean
  /** Threads that seal and open a large buffer's frames: 1 (the calling thread only), a count, or `'auto'`; see EnvelopeOptions.parallelism. */
  readonly parallelism: number | 'auto'
  /**
   * The last head this Envelope's readers parsed (format/head-memo.ts). Only with a cache: heads
   * repeat (all but the id, commitment and tag) only when data keys are reused.
   */
  readonly headMemo: HeadMemo | undefined
}

/** What the Envelope constructor accepts (EnvelopeOptions, unchecked). */
export interface SettingsInput {
  readonly keyring: unknown
  readonly decryptOnly?: unknown
  readonly frameSize?: unknown
  readonly maxWrappedKeys?: unknown
  readonly maxFrameSize?: unknown
  readonly minFrameSize?: unknown
  readonly cache?: unknown
  readonly allowClassicalRecipients?: unknown
  readonly parallelism?: unknown
}

/** Validates an Envelope's options into its settings. */
export function resolveSettings(options: SettingsInput): EnvelopeSettings {
  if (options === null || typeof options !== 'object') throw invalidArgument('Envelope needs options: { keyring }')
  const maxFrameSize = integerOption(options.maxFrameSize, 'maxFrameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, MAX_FRAME_SIZE)
  // `keyring: []` is a read-only Envelope, allowed only with decryptOnly keys to read with.
  const readOnly = Array.isArray(options.keyring) && options.keyring.length === 0 && options.decryptOnly !== undefined
  const writers = readOnly ? Object.freeze([]) : toKeyrings(options.keyring, 'keyring')
  const decryptOnly = toDecryptOnly(options.decryptOnly, writers)
  if (writers.length === 0 && decryptOnly.length === 0) {
    throw invalidArgument('keyring must be a keyring (LocalKeyring, KmsKeyring) or a non-empty array of keyrings; [] only with decryptOnly keyrings')
  }
  const cache = toCache(options.cache)
  return Object.freeze({
    keyrings: Object.freeze([...writers, ...decryptOnly]),
    writers,
    decryptOnly,
    frameSize: integerOption(options.frameSize, 'frameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, DEFAULT_FRAME_SIZE),
    maxWrappedKeys: integerOption(options.maxWrappedKeys, 'maxWrappedKeys', 1, MAX_WRAPPED_KEYS, DEFAULT_MAX_WRAPPED_KEYS),
    maxFrameSize,
    minFrameSize: integerOption(options.minFrameSize, 'minFrameSize', MIN_FRAME_SIZE, maxFrameSize, MIN_FRAME_SIZE),
    cache,
    allowClassicalRecipients: toFlag(options.allowClassicalRecipients, 'allowClassicalRecipients'),
    parallelism: toParallelism(options.parallelism),
    headMemo: cache === undefined ? undefined : new HeadMemo(),
  })
}

/**
 * `decryptOnly`: none, a keyring or an array (empty allowed, so a caller's list of retired
 * keys may be empty). A keyring also given as `keyring` is refused: it would both write and
 * not write, and whichever reading the caller meant, the other one would surprise them.
 */
function toDecryptOnly(value: unknown, writers: readonly Keyring[]): readonly Keyring[] {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return Object.freeze([])
  const list = toKeyrings(value, 'decryptOnly')
  for (const keyring of list) {
    if (writers.some((w) => w === keyring || w.cacheId === keyring.cacheId)) {
      throw invalidArgument(`keyring ${keyring.description} is given both as keyring and as decryptOnly: give a key in one of them (keyring writes and reads)`)
    }
  }
  return list
}

function toFlag(value: unknown, name: string): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true
  throw invalidArgument(`${name} must be true or false`)
}

/** Most threads `parallelism` may name: more than any machine's cores only adds switching. */
export const MAX_PARALLELISM = 64

function toParallelism(value: unknown): number | 'auto' {
  if (value === 'auto') return value
  return integerOption(value, "parallelism ('auto' or a thread count)", 1, MAX_PARALLELISM, 1)
}

function toCache(value: unknown): KeyCache | undefined {
  if (value === undefined || value instanceof KeyCache) return value
  throw invalidArgument('cache must be a KeyCache')
}

function isKeyring(value: unknown): value is Keyring {
  const k = value as Keyring
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof k.generateDataKey === 'function' &&
    typeof k.unwrapDataKey === 'function' &&
    typeof k.canUnwrap === 'function'
  )
}

/** A keyring or a non-empty list of them, passed by a caller as `name`. */
export function toKeyrings(value: unknown, name: string): readonly Keyring[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || !list.every(isKeyring)) {
    throw invalidArgument(`${name} must be a keyring (LocalKeyring, KmsKeyring) or a non-empty array of keyrings`)
  }
  return Object.freeze([...list])
}

const settingsByEnvelope = new WeakMap<object, EnvelopeSettings>()

/** Called once by the Envelope constructor. */
export function registerSettings(envelope: object, settings: EnvelopeSettings): void {
  settingsByEnvelope.set(envelope, settings)
}

/** The settings of an Envelope, or undefined for anything that is not one. */
export function settingsOf(envelope: unknown): EnvelopeSettings | undefined {
  return envelope !== null && typeof envelope === 'object' ? settingsByEnvelope.get(envelope) : undefined
}

/** The settings of an Envelope passed by a caller as `name`; a TypeError for anything else. */
export function requireSettings(envelope: unknown, name = 'envelope'): EnvelopeSettings {
  const settings = settingsOf(envelope)
  if (settings === undefined) throw invalidArgument(`${name} must be an Envelope (new Envelope({ keyring }))`)
  return settings
}
