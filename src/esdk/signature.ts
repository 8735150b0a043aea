/**
 * The footer signature of signed suites (data-format/message-footer.md): ECDSA over the
 * header and body with the suite's curve and hash, verified with the public key the writer
 * stored in the encryption context as `aws-crypto-public-key` (base64 of a compressed point).
 * The message is hashed as it is read, so nothing of it is kept for the check.
 * @module
 */
import { p256, p384 } from '@noble/curves/nist.js'
import { sha256, sha384 } from '@noble/hashes/sha2.js'
import { base64 } from '@scure/base'
import { FormatError } from '../errors.js'
import type { EsdkSuite } from './suites.js'

/** The context key under which signed suites store the verification key. */
export const PUBLIC_KEY_CONTEXT_KEY = 'aws-crypto-public-key'

/** @internal An incremental hash of the message and the check of its footer. */
export class SignatureVerifier {
  readonly #hash: { update(b: Uint8Array): unknown; digest(): Uint8Array }
  readonly #curve: typeof p384
  readonly #publicKey: Uint8Array

  /**
   * @param suite - A signed suite.
   * @param context - The stored encryption context holding the public key.
   * @throws {@link FormatError} when the key is missing or is not a point of the suite's curve.
   */
  constructor(suite: EsdkSuite, context: ReadonlyMap<string, string>) {
    const p256Suite = suite.signature === 'ecdsa-p256-sha256'
    this.#curve = p256Suite ? p256 : p384
    this.#hash = p256Suite ? sha256.create() : sha384.create()
    const encoded = context.get(PUBLIC_KEY_CONTEXT_KEY)
    if (encoded === undefined) {
      throw new FormatError(`the AWS Encryption SDK message uses the signed suite ${suite.name} but its encryption context has no ${PUBLIC_KEY_CONTEXT_KEY}`)
    }
    try {
      this.#publicKey = base64.decode(encoded)
      this.#curve.Point.fromBytes(this.#publicKey).assertValidity()
    } catch (error) {
      throw new FormatError(`the ${PUBLIC_KEY_CONTEXT_KEY} of the AWS Encryption SDK message is not a base64 point of the suite's curve`, { cause: error })
    }
  }

  /** Adds message bytes (header and body, in order). */
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes)
  }

  /** Whether `der` is a valid signature of everything added (high-S accepted, as the SDK's OpenSSL does). */
  verify(der: Uint8Array): boolean {
    const digest = this.#hash.digest()
    try {
      return this.#curve.verify(der, digest, this.#publicKey, { prehash: false, lowS: false, format: 'der' })
    } catch {
      return false
    }
  }
}
