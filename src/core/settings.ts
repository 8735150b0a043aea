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
import type { Keyring } from '../keyrings/keyring.js'
import { integerOption } from '../validate.js'

/** Settings shared by every surface of one Envelope. */
export interface EnvelopeSettings {
  readonly keyrings: readonly Keyring[]
  readonly frameSize: number
  readonly maxWrappedKeys: number
  readonly maxFrameSize: number
  /** Smallest frame size a decrypting surface accepts; see EnvelopeOptions.minFrameSize. */
  readonly minFrameSize: number
  readonly cache?: KeyCache | undefined
}

/** What the Envelope constructor accepts (EnvelopeOptions, unchecked). */
export interface SettingsInput {
  readonly keyring: unknown
  readonly frameSize?: unknown
  readonly maxWrappedKeys?: unknown
  readonly maxFrameSize?: unknown
  readonly minFrameSize?: unknown
  readonly cache?: unknown
}

/** Validates an Envelope's options into its settings. */
export function resolveSettings(options: SettingsInput): EnvelopeSettings {
  if (options === null || typeof options !== 'object') throw invalidArgument('Envelope needs options: { keyring }')
  const maxFrameSize = integerOption(options.maxFrameSize, 'maxFrameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, MAX_FRAME_SIZE)
  return Object.freeze({
    keyrings: toKeyrings(options.keyring, 'keyring'),
    frameSize: integerOption(options.frameSize, 'frameSize', MIN_FRAME_SIZE, MAX_FRAME_SIZE, DEFAULT_FRAME_SIZE),
    maxWrappedKeys: integerOption(options.maxWrappedKeys, 'maxWrappedKeys', 1, MAX_WRAPPED_KEYS, DEFAULT_MAX_WRAPPED_KEYS),
    maxFrameSize,
    minFrameSize: integerOption(options.minFrameSize, 'minFrameSize', MIN_FRAME_SIZE, maxFrameSize, MIN_FRAME_SIZE),
    cache: toCache(options.cache),
  })
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
