/**
 * A keyring wrapper that counts calls, for tests that assert how many key-service calls a
 * surface makes (one per record without a cache, one per cache window with one). Wraps any
 * keyring: LocalKeyring today, KmsKeyring once it lands.
 */
import type { DataKey, GeneratedDataKey, Keyring, KeyringCallOptions } from '../src/index.js'
import type { CanonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'

export interface KeyringCalls {
  generate: number
  wrap: number
  unwrap: number
  reEncrypt: number
}

export class CountingKeyring implements Keyring {
  readonly calls: KeyringCalls = { generate: 0, wrap: 0, unwrap: 0, reEncrypt: 0 }
  constructor(readonly inner: Keyring) {}

  get description(): string {
    return this.inner.description
  }

  get cacheId(): string {
    return this.inner.cacheId
  }

  generateDataKey(context: CanonicalContext, options: KeyringCallOptions): Promise<GeneratedDataKey> {
    this.calls.generate++
    return this.inner.generateDataKey(context, options)
  }

  wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[]> {
    this.calls.wrap++
    return this.inner.wrapDataKey(dataKey, context, options)
  }

  canUnwrap(recipient: Recipient): boolean {
    return this.inner.canUnwrap(recipient)
  }

  unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<DataKey> {
    this.calls.unwrap++
    return this.inner.unwrapDataKey(recipient, context, options)
  }

  /**
   * Forwards the optional hooks a keyring may have (the KMS keyring resolves aliases in
   * `prepareUnwrap`; rewrap may use `reEncrypt`), so wrapping a keyring changes nothing but the counts.
   */
  async prepareUnwrap(recipients: readonly Recipient[], options: KeyringCallOptions): Promise<void> {
    const inner = this.inner as { prepareUnwrap?: (r: readonly Recipient[], o: KeyringCallOptions) => Promise<void> }
    await inner.prepareUnwrap?.(recipients, options)
  }

  async reEncrypt(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[] | undefined> {
    const inner = this.inner as { reEncrypt?: (r: Recipient, c: CanonicalContext, o: KeyringCallOptions) => Promise<readonly Recipient[] | undefined> }
    if (inner.reEncrypt === undefined) return undefined
    this.calls.reEncrypt++
    return inner.reEncrypt(recipient, context, options)
  }

  reset(): void {
    this.calls.reEncrypt = 0
    this.calls.generate = 0
    this.calls.wrap = 0
    this.calls.unwrap = 0
  }
}
