/**
 * The footer signature of signed suites (data-format/message-footer.md): ECDSA over the
 * header and body with the suite's curve and hash, verified with the public key the writer
 * stored in the encryption context as `aws-crypto-public-key` (base64 of a compressed point).
 * The message is hashed as it is read, so nothing of it is kept for the check.
 * @module
 */

import { p256, p384 } from '@noble/curves/nist.js'
import { sha256, sha384 } from '@noble/hashes/sha2.js'
import { base64, base64urlnopad } from '@scure/base'
import { backend } from '#crypto-backend'
import { FormatError } from '../errors.js'
import type { EsdkSuite } from './suites.js'

/** The context key under which signed suites store the verification key. */
export const PUBLIC_KEY_CONTEXT_KEY = 'aws-crypto-public-key'

interface NodeVerify {
  update(data: Uint8Array): unknown
  verify(key: { key: object; format: 'jwk' }, signature: Uint8Array): boolean
}
interface NodeCryptoVerify {
  createVerify(algorithm: string): NodeVerify
}

/**
 * OpenSSL's hash and ECDSA where the library runs on its node:crypto backend: SHA-384 and a
 * P-384 verification are several times faster there than in JavaScript, and a signed 64 MiB
 * message is mostly hashing. Reached through `process.getBuiltinModule`, never imported, so
 * this module still loads in browsers; the portable backend (and its test stage) uses noble.
 */
function nodeVerifier(hash: 'SHA256' | 'SHA384'): NodeVerify | undefined {
  if (backend.name !== 'node') return undefined
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const nc = p?.getBuiltinModule?.('node:crypto') as NodeCryptoVerify | undefined
  return nc?.createVerify(hash)
}

/** @internal An incremental hash of the message and the check of its footer. */
export class SignatureVerifier {
  readonly #hash: { update(b: Uint8Array): unknown; digest(): Uint8Array } | undefined
  readonly #node: NodeVerify | undefined
  readonly #jwk: object | undefined
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
    this.#node = nodeVerifier(p256Suite ? 'SHA256' : 'SHA384')
    this.#hash = this.#node === undefined ? (p256Suite ? sha256.create() : sha384.create()) : undefined
    const encoded = context.get(PUBLIC_KEY_CONTEXT_KEY)
    if (encoded === undefined) {
      throw new FormatError(`the AWS Encryption SDK message uses the signed suite ${suite.name} but its encryption context has no ${PUBLIC_KEY_CONTEXT_KEY}`)
    }
    try {
      this.#publicKey = base64.decode(encoded)
      const point = this.#curve.Point.fromBytes(this.#publicKey)
      point.assertValidity()
      const xy = point.toBytes(false) // 04 || x || y
      const half = (xy.length - 1) / 2
      const x = base64urlnopad.encode(xy.subarray(1, 1 + half))
      this.#jwk = { kty: 'EC', crv: p256Suite ? 'P-256' : 'P-384', x, y: base64urlnopad.encode(xy.subarray(1 + half)) }
    } catch (error) {
      throw new FormatError(`the ${PUBLIC_KEY_CONTEXT_KEY} of the AWS Encryption SDK message is not a base64 point of the suite's curve`, { cause: error })
    }
  }

  /** Adds message bytes (header and body, in order). */
  update(bytes: Uint8Array): void {
    if (this.#node !== undefined) this.#node.update(bytes)
    else this.#hash!.update(bytes)
  }

  /** Whether `der` is a valid signature of everything added (high-S accepted, as the SDK's OpenSSL does). */
  verify(der: Uint8Array): boolean {
    try {
      if (this.#node !== undefined) return this.#node.verify({ key: this.#jwk!, format: 'jwk' }, der)
      const digest = this.#hash!.digest()
      return this.#curve.verify(der, digest, this.#publicKey, { prehash: false, lowS: false, format: 'der' })
    } catch {
      return false
    }
  }
}
