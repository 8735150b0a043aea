/**
 * A keyring wrapper for tests that assert how many key-service calls a surface makes: counts
 * calls, can delay them (so concurrent callers pile up) and fail the next N. Wraps any
 * keyring (LocalKeyring, KmsKeyring) and forwards its optional hooks, so wrapping changes
 * nothing but the counts. The one counting keyring of the tests: {@link countingKeyring} is the
 * stream tests' shorthand for a counted local keyring.
 */

import type { CanonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import type { DataKey, GeneratedDataKey, Keyring, KeyringCallOptions } from '../src/index.js'
import { KeyringError, LocalKeyring } from '../src/index.js'
import { pattern } from './pattern.js'

export interface KeyringCalls {
  generate: number
  wrap: number
  unwrap: number
  reEncrypt: number
}

export class CountingKeyring implements Keyring {
  readonly calls: KeyringCalls = { generate: 0, wrap: 0, unwrap: 0, reEncrypt: 0 }
  /** Milliseconds each call waits before answering. */
  delayMs = 0
  /** Fail this many upcoming calls with ERR_KEYRING. */
  failNext = 0
  /** Every data key this keyring handed out (the same objects the caller received). */
  readonly issued: DataKey[] = []
  readonly signals: Array<AbortSignal | undefined> = []

  constructor(readonly inner: Keyring) {}

  get description(): string {
    return this.inner.description
  }

  get cacheId(): string {
    return this.inner.cacheId
  }

  async #gate(options: KeyringCallOptions): Promise<void> {
    this.signals.push(options.signal)
    if (this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.delayMs)
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(new KeyringError('aborted by signal'))
        })
      })
    }
    if (this.failNext > 0) {
      this.failNext--
      throw new KeyringError('injected failure')
    }
  }

  async generateDataKey(context: CanonicalContext, options: KeyringCallOptions): Promise<GeneratedDataKey> {
    this.calls.generate++
    await this.#gate(options)
    const generated = await this.inner.generateDataKey(context, options)
    this.issued.push(generated.dataKey)
    return generated
  }

  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[]> {
    this.calls.wrap++
    await this.#gate(options)
    return this.inner.wrapDataKey(dataKey, context, options)
  }

  canUnwrap(recipient: Recipient): boolean {
    return this.inner.canUnwrap(recipient)
  }

  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<DataKey> {
    this.calls.unwrap++
    await this.#gate(options)
    const key = await this.inner.unwrapDataKey(recipient, context, options)
    this.issued.push(key)
    return key
  }

  /** Forwards the KMS keyring's alias resolution before unwrapping. */
  async prepareUnwrap(recipients: readonly Recipient[], options: KeyringCallOptions): Promise<void> {
    const inner = this.inner as { prepareUnwrap?: (r: readonly Recipient[], o: KeyringCallOptions) => Promise<void> }
    await inner.prepareUnwrap?.(recipients, options)
  }

  /** Forwards rewrap through ReEncrypt (as the source keyring), counting it. */
  async reEncrypt(
    recipient: Recipient,
    destination: Keyring,
    context: CanonicalContext,
    options: KeyringCallOptions,
  ): Promise<readonly Recipient[] | undefined> {
    if (this.inner.reEncrypt === undefined) return undefined
    this.calls.reEncrypt++
    const to = destination instanceof CountingKeyring ? destination.inner : destination
    return this.inner.reEncrypt(recipient, to, context, options)
  }

  reset(): void {
    this.calls.generate = 0
    this.calls.wrap = 0
    this.calls.unwrap = 0
    this.calls.reEncrypt = 0
  }
}

/** A counted local keyring from a fixed key (`pattern(32, seed)`), and its counts. */
export function countingKeyring(keyId = 'stream-key', seed = 11): { keyring: CountingKeyring; calls: KeyringCalls } {
  const keyring = new CountingKeyring(new LocalKeyring({ keyId, key: pattern(32, seed) }))
  return { keyring, calls: keyring.calls }
}
