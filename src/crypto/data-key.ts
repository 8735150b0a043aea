/**
 * A plaintext data key that keeps itself out of logs: it prints as `DataKey <redacted>`,
 * serialises to a redacted string, and can be wiped. Its bytes are reachable only through
 * `bytes`, which keyrings and the envelope use and nothing prints.
 * @module
 */
import { invalidArgument } from '../errors.js'
import { KEY_BYTES } from '../format/constants.js'

const REDACTED = 'DataKey <redacted>'

/** A 256-bit data key held in memory. */
export class DataKey {
  readonly #bytes: Uint8Array
  #wiped = false

  /**
   * Takes ownership of `bytes`; they are zeroed by {@link DataKey.wipe}.
   * @param bytes - The 32 key bytes (not copied).
   */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) {
      throw invalidArgument(`a data key must be a Uint8Array of ${KEY_BYTES} bytes`)
    }
    this.#bytes = bytes
  }

  /** The key bytes. Throws once the key has been wiped, so a use after wipe cannot go unnoticed. */
  get bytes(): Uint8Array {
    if (this.#wiped) throw new TypeError('this data key was wiped and can no longer be used')
    return this.#bytes
  }

  /** True after {@link DataKey.wipe}. */
  get wiped(): boolean {
    return this.#wiped
  }

  /** Overwrites the key bytes with zeros. */
  wipe(): void {
    this.#bytes.fill(0)
    this.#wiped = true
  }

  /** A copy that can be wiped independently (for caches that outlive one message). */
  clone(): DataKey {
    // new Uint8Array(typed array) is a plain copy (never a Buffer view) and, unlike copyBytes'
    // Uint8Array.from, is not an iteration: this runs on every cache hit.
    return new DataKey(new Uint8Array(this.bytes))
  }

  /** Always `<redacted>`: a data key never reaches JSON. */
  toJSON(): string {
    return REDACTED
  }

  /** Always `<redacted>`: a data key never reaches a template string or log line. */
  toString(): string {
    return REDACTED
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED
  }
}
