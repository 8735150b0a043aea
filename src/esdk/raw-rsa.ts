/**
 * The AWS Encryption SDK's raw RSA keyring (framework/raw-rsa-keyring.md), decrypt side: a
 * data key encrypted to an RSA public key. OAEP goes through WebCrypto (every runtime has
 * it; the OAEP hash is also the MGF1 hash, as in the SDK). PKCS #1 v1.5 has no WebCrypto
 * form: it needs `node:crypto`, reached at run time through `process.getBuiltinModule` so
 * the module still loads everywhere. Node 20 refuses PKCS #1 v1.5 private decryption
 * (CVE-2023-46809) unless started with `--security-revert=CVE-2023-46809`; Node 22+ decrypts it
 * with OpenSSL's implicit rejection, which answers a wrong key with random bytes instead of an
 * error, so the length check below and then the message's header tag are what refuse it.
 * @module
 */
import { base64 } from '@scure/base'
import { invalidArgument, UnsupportedError, UnwrapError } from '../errors.js'
import type { EsdkEncryptedDataKey } from './header.js'
import { checkName } from './raw-aes.js'

/** RSA padding schemes of the SDK's raw RSA keyring (its names). */
export type RsaPadding = 'PKCS1' | 'OAEP-SHA1-MGF1' | 'OAEP-SHA256-MGF1' | 'OAEP-SHA384-MGF1' | 'OAEP-SHA512-MGF1'

const PADDINGS: readonly RsaPadding[] = ['PKCS1', 'OAEP-SHA1-MGF1', 'OAEP-SHA256-MGF1', 'OAEP-SHA384-MGF1', 'OAEP-SHA512-MGF1']

/** Options of {@link RawRsaKeyring}. */
export interface RawRsaKeyringOptions {
  /** The SDK keyring's `keyNamespace` (the encrypted data key's provider id). */
  readonly keyNamespace: string
  /** The SDK keyring's `keyName` (the provider info). */
  readonly keyName: string
  /**
   * The private key: PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`), PKCS #8 DER bytes, or (OAEP
   * only) a WebCrypto `CryptoKey` imported for RSA-OAEP with the padding's hash and usage `decrypt`.
   */
  readonly privateKey: string | Uint8Array | CryptoKey
  /** The padding the SDK keyring was built with. */
  readonly padding: RsaPadding
}

const encoder = new TextEncoder()
const REDACTED = 'RawRsaKeyring <key redacted>'

function pkcs8Der(key: string | Uint8Array): Uint8Array {
  if (key instanceof Uint8Array) return new Uint8Array(key)
  const m = /^-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----\s*$/.exec(key.trim())
  if (m === null) {
    throw invalidArgument(
      'privateKey must be a PKCS #8 PEM private key (-----BEGIN PRIVATE KEY-----); convert a PKCS #1 key with `openssl pkcs8 -topk8 -nocrypt`',
    )
  }
  return base64.decode(m[1]!.replace(/\s+/g, ''))
}

interface NodeCryptoLike {
  privateDecrypt(key: { key: Uint8Array; format: 'der'; type: 'pkcs8'; padding: number }, data: Uint8Array): Uint8Array
  constants: { RSA_PKCS1_PADDING: number }
}

/** node:crypto when the runtime offers it (Node, Deno, Bun), without a static import. */
function nodeCrypto(): NodeCryptoLike | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  return p?.getBuiltinModule?.('node:crypto') as NodeCryptoLike | undefined
}

/**
 * Opens data keys an AWS Encryption SDK `RawRsaKeyringNode` / `RawRsaKeyringWebCrypto`
 * encrypted, given the same namespace, name, padding and the private key.
 *
 * @example
 * ```ts
 * import { decryptEsdk, RawRsaKeyring } from 'kms-envelope/esdk'
 * const keyring = new RawRsaKeyring({ keyNamespace: 'my-app', keyName: 'rsa-1', privateKey: pem, padding: 'OAEP-SHA256-MGF1' })
 * const { plaintext } = await decryptEsdk(message, { keyring })
 * ```
 * @throws TypeError `ERR_INVALID_ARGUMENT` for bad options. Opening a PKCS1 key rejects with
 *   `ERR_UNSUPPORTED` where the runtime has no node:crypto or refuses PKCS #1 v1.5 decryption.
 */
export class RawRsaKeyring {
  readonly keyNamespace: string
  readonly keyName: string
  readonly padding: RsaPadding
  readonly #name: Uint8Array
  readonly #der: Uint8Array | undefined
  #cryptoKey: Promise<CryptoKey> | undefined

  /**
   * Checks the options and copies the key; nothing is decrypted until a message is read.
   * @param options - Namespace, name, private key and padding ({@link RawRsaKeyringOptions}).
   */
  constructor(options: RawRsaKeyringOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('RawRsaKeyring needs options: { keyNamespace, keyName, privateKey, padding }')
    this.keyNamespace = checkName(options.keyNamespace, 'keyNamespace')
    this.keyName = checkName(options.keyName, 'keyName')
    if (!PADDINGS.includes(options.padding)) throw invalidArgument(`padding must be one of ${PADDINGS.join(', ')}`)
    this.padding = options.padding
    this.#name = encoder.encode(this.keyName)
    const key = options.privateKey
    if (typeof key === 'string' || key instanceof Uint8Array) {
      this.#der = pkcs8Der(key)
    } else if (typeof CryptoKey !== 'undefined' && key instanceof CryptoKey) {
      if (this.padding === 'PKCS1') throw invalidArgument('a PKCS1 RawRsaKeyring needs the private key as PKCS #8 PEM or DER, not a CryptoKey')
      if (key.type !== 'private' || key.algorithm.name !== 'RSA-OAEP') throw invalidArgument('privateKey must be an RSA-OAEP private CryptoKey')
      this.#der = undefined
      this.#cryptoKey = Promise.resolve(key)
    } else {
      throw invalidArgument('privateKey must be a PKCS #8 PEM string, PKCS #8 DER bytes or a CryptoKey')
    }
  }

  /** For messages and errors: `raw-rsa:NAMESPACE/NAME`. Never secret. */
  get description(): string {
    return `raw-rsa:${this.keyNamespace}/${this.keyName}`
  }

  /**
   * @internal Same provider id, provider info = the key name.
   * @param edk - An encrypted data key of the message.
   */
  holds(edk: EsdkEncryptedDataKey): boolean {
    const info = edk.providerInfo
    if (edk.providerId !== this.keyNamespace || info.length !== this.#name.length) return false
    for (let i = 0; i < info.length; i++) if (info[i] !== this.#name[i]) return false
    return true
  }

  /**
   * @internal RSA decryption of the wrapped key.
   * @param edk - An encrypted data key {@link RawRsaKeyring.holds} accepts.
   * @param _context - Unused: RSA wraps do not bind the context (the header tag does).
   * @param keyBytes - The suite's data key length.
   */
  async openKey(edk: EsdkEncryptedDataKey, _context: ReadonlyMap<string, string>, keyBytes: number): Promise<Uint8Array> {
    let key: Uint8Array | undefined
    try {
      key = this.padding === 'PKCS1' ? this.#pkcs1(edk.ciphertext) : await this.#oaep(edk.ciphertext)
    } catch (error) {
      if (error instanceof UnsupportedError) throw error
    }
    if (key === undefined || key.length !== keyBytes) {
      key?.fill(0)
      throw new UnwrapError([
        {
          type: this.keyNamespace,
          keyId: this.keyName,
          code: 'ERR_UNWRAP',
          message: `the raw RSA key ${this.description} could not decrypt the data key: another key under the same name, another padding, or an altered wrapped key`,
        },
      ])
    }
    return key
  }

  async #oaep(ciphertext: Uint8Array): Promise<Uint8Array> {
    const hash = `SHA-${this.padding.slice('OAEP-SHA'.length, -'-MGF1'.length)}`
    this.#cryptoKey ??= crypto.subtle.importKey('pkcs8', this.#der! as Uint8Array<ArrayBuffer>, { name: 'RSA-OAEP', hash }, false, ['decrypt'])
    const key = await this.#cryptoKey
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, key, ciphertext as Uint8Array<ArrayBuffer>))
  }

  #pkcs1(ciphertext: Uint8Array): Uint8Array {
    const nc = nodeCrypto()
    if (nc === undefined) throw new UnsupportedError('RSA PKCS #1 v1.5 decryption needs node:crypto, which this runtime does not have; use an OAEP key')
    try {
      return new Uint8Array(nc.privateDecrypt({ key: this.#der!, format: 'der', type: 'pkcs8', padding: nc.constants.RSA_PKCS1_PADDING }, ciphertext))
    } catch (error) {
      if (String((error as Error)?.message).includes('CVE-2023-46809')) {
        throw new UnsupportedError(
          'this Node refuses RSA PKCS #1 v1.5 private decryption (CVE-2023-46809, the Marvin attack); use Node 22 or later (implicit rejection) or start node with --security-revert=CVE-2023-46809 to read PKCS1-wrapped keys, and move them to OAEP',
        )
      }
      throw error
    }
  }

  /** Namespace, name and padding only. */
  toJSON(): object {
    return { type: 'raw-rsa', keyNamespace: this.keyNamespace, keyName: this.keyName, padding: this.padding }
  }

  /** Never the key. */
  toString(): string {
    return REDACTED
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED
  }
}
