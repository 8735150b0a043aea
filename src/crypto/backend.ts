/**
 * The primitive operations the format needs, behind one small interface so the same format
 * code runs on node:crypto (fast, native AES-NI) and on @noble/ciphers (any runtime).
 * Which one a program gets is decided by the package's `#crypto-backend` import conditions:
 * Node resolves the `node` condition, bundlers for browsers and edge runtimes get `default`.
 *
 * AEAD calls come in two shapes because the cheapest shape differs by caller: a whole-buffer
 * encrypt writes into one preallocated output (`*Into`), a stream hands fresh chunks on
 * (`seal`/`open`), and node:crypto can only produce fresh buffers, so asking it for chunks
 * saves a copy of every frame.
 * @module
 */

/** AES-256-GCM and HKDF-SHA-512, synchronous; every implementation gives identical bytes. */
export interface CryptoBackend {
  readonly name: 'node' | 'portable'
  /** Writes ciphertext || 16-byte tag of `plaintext` into `out` at `offset`. */
  sealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): void
  /** Returns ciphertext || tag as one or more chunks, in order. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array[]
  /** Verifies and decrypts ciphertext || tag into `out` at `offset`; false (and nothing written) when the tag is wrong. */
  openInto(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): boolean
  /** Verifies and decrypts ciphertext || tag; undefined when the tag is wrong. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined
  /** HKDF-SHA-512 (RFC 5869). */
  hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array
  /** SHA-256, for cache entry keys. */
  sha256(data: Uint8Array): Uint8Array
  /** HMAC-SHA-512 (64 bytes). Lets callers run HKDF's extract once and expand many times (record fields). */
  hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array
  /** Bytes from the platform CSPRNG. */
  randomBytes(length: number): Uint8Array
  /** Constant-time equality (false for different lengths). */
  equal(a: Uint8Array, b: Uint8Array): boolean
  /**
   * scrypt (RFC 7914) with r = 8, p = 1 and N = 2^logN, 32 bytes out. Asynchronous so a
   * second-long derivation does not block the event loop (node:crypto runs it on the thread
   * pool; noble yields between blocks). The caller bounds `logN` first: memory is 1 KiB · N.
   */
  scrypt(password: Uint8Array, salt: Uint8Array, logN: number): Promise<Uint8Array>
}
