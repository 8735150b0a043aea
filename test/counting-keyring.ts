/** A keyring wrapper for tests: counts calls, can delay them and fail the next N. */
import type { CanonicalContext, DataKey, GeneratedDataKey, Keyring, KeyringCallOptions, Recipient } from '../src/index.js'
import { KeyringError } from '../src/index.js'

export class CountingKeyring implements Keyring {
  generate = 0
  wrap = 0
  unwrap = 0
  /** Milliseconds each call waits before answering (lets concurrent callers pile up). */
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
    this.generate++
    await this.#gate(options)
    const generated = await this.inner.generateDataKey(context, options)
    this.issued.push(generated.dataKey)
    return generated
  }

  async wrapDataKey(dataKey: DataKey, context: CanonicalContext, options: KeyringCallOptions): Promise<readonly Recipient[]> {
    this.wrap++
    await this.#gate(options)
    return this.inner.wrapDataKey(dataKey, context, options)
  }

  canUnwrap(recipient: Recipient): boolean {
    return this.inner.canUnwrap(recipient)
  }

  async unwrapDataKey(recipient: Recipient, context: CanonicalContext, options: KeyringCallOptions): Promise<DataKey> {
    this.unwrap++
    await this.#gate(options)
    const key = await this.inner.unwrapDataKey(recipient, context, options)
    this.issued.push(key)
    return key
  }
}
