/**
 * The index key of one FieldEncryptor: unwrapped on first use (once, shared by concurrent
 * callers), the keys derived from it per (kind, path, context), and wiping both on close.
 * @module
 */
import type { DataKey } from '../crypto/data-key.js'
import type { Envelope } from '../envelope.js'
import type { CanonicalContext, EncryptionContext } from '../format/context.js'
import { openIndexKey, ScopedKeys } from './deterministic.js'

export class IndexKeyHolder {
  readonly #envelope: Envelope
  readonly #text: string | undefined
  readonly #context: EncryptionContext | undefined
  #key: Promise<DataKey> | undefined
  readonly #scopedKeys = new ScopedKeys()

  /**
   * @param envelope - whose keyrings unwrap the index key
   * @param text - the wrapped index key (`kmse1k.`), or undefined when the encryptor has none
   * @param context - the context the index key must have been wrapped with
   */
  constructor(envelope: Envelope, text: string | undefined, context: EncryptionContext | undefined) {
    this.#envelope = envelope
    this.#text = text
    this.#context = context
  }

  /** Whether an index key was given at all. */
  get present(): boolean {
    return this.#text !== undefined
  }

  /** Unwraps the index key once; concurrent callers share the call, and a failure is retried by the next caller. */
  open(): Promise<DataKey> {
    if (this.#key === undefined) {
      const pending = openIndexKey(this.#envelope, this.#text!, this.#context)
      this.#key = pending
      pending.catch(() => {
        if (this.#key === pending) this.#key = undefined
      })
    }
    return this.#key
  }

  /** The SIV or blind-index key of `path` under `context`; use it at once and never wipe it (see ScopedKeys). */
  scoped(kind: 'siv' | 'blind', indexKey: DataKey, path: string, context: CanonicalContext): Uint8Array {
    return this.#scopedKeys.get(kind, indexKey, path, context)
  }

  /** Wipes the derived keys and, once its unwrap settles, the index key. */
  close(): void {
    this.#scopedKeys.clear()
    const pending = this.#key
    this.#key = undefined
    pending?.then(
      (key) => key.wipe(),
      () => {},
    )
  }
}
