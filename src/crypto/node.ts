/**
 * node:crypto backend: OpenSSL's AES-GCM (AES-NI, CLMUL) and HKDF.
 * Selected by the `node` condition of `#crypto-backend`; never reaches browser bundles.
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, hash, hkdfSync, randomFillSync, scrypt, timingSafeEqual } from 'node:crypto'
import type { CryptoBackend } from './backend.js'

/**
 * Random bytes come from a pooled buffer refilled in 4 KiB blocks: one CSPRNG call per 128
 * message ids instead of one each (the call, not the entropy, is the cost at 100-byte sizes).
 * Every byte handed out is copied out, wiped from the pool and never handed out again.
 */
const POOL_BYTES = 4096
const pool = new Uint8Array(POOL_BYTES)
let poolOffset = POOL_BYTES

function randomBytes(length: number): Uint8Array {
  if (length > POOL_BYTES / 8) return randomFillSync(new Uint8Array(length))
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const out = pool.slice(poolOffset, poolOffset + length)
  pool.fill(0, poolOffset, poolOffset + length)
  poolOffset += length
  return out
}

/** @internal AES-256-GCM open; the frame worker (frame-worker.ts) opens its frames with it too. */
export function decipher(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  const split = sealed.length - 16
  if (split < 0) return undefined
  const d = createDecipheriv('aes-256-gcm', key, nonce)
  d.setAAD(aad)
  d.setAuthTag(sealed.subarray(split))
  // OpenSSL decrypts before it verifies: `body` is unauthenticated until final() succeeds,
  // so it is only returned after, and wiped when the tag is wrong. A tag alone (the header
  // tag) skips the update call: one native call fewer per message, the same check.
  const body = split === 0 ? new Uint8Array(0) : d.update(sealed.subarray(0, split))
  try {
    d.final()
  } catch {
    body.fill(0)
    return undefined
  }
  return body
}

const ONE = Uint8Array.of(1)
/** The typed-array fill, not Buffer#fill and its argument checks: wiping runs several times per message. */
const wipe = (bytes: Uint8Array): void => {
  Uint8Array.prototype.fill.call(bytes, 0)
}

/**
 * HKDF-SHA-512 (RFC 5869) for outputs of at most one block (64 bytes: all the format needs)
 * as its two HMACs. Measured here, `hkdfSync` costs about 3x as much per call (it builds
 * KeyObjects and a job for every call), and this runs once or twice per message. The test
 * suite checks it against `hkdfSync` and @noble/hashes.
 */
function hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 64) return new Uint8Array(hkdfSync('sha512', ikm, salt, info, length))
  const prk = createHmac('sha512', salt).update(ikm).digest()
  const t1 = createHmac('sha512', prk).update(info).update(ONE).digest()
  wipe(prk)
  const okm = new Uint8Array(t1.subarray(0, length)) // a copy: Buffer#slice would be a view
  wipe(t1)
  return okm
}

export const backend: CryptoBackend = {
  name: 'node',
  sealInto(key, nonce, plaintext, aad, out, offset) {
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(aad)
    // An empty plaintext (the header tag, field tags) needs no update call: one native call fewer.
    if (plaintext.length > 0) out.set(c.update(plaintext), offset)
    c.final() // GCM emits nothing here, but the tag exists only after it
    out.set(c.getAuthTag(), offset + plaintext.length)
  },
  seal(key, nonce, plaintext, aad) {
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(aad)
    const body = c.update(plaintext)
    c.final()
    return [body, c.getAuthTag()]
  },
  openInto(key, nonce, sealed, aad, out, offset) {
    const body = decipher(key, nonce, sealed, aad)
    if (body === undefined) return false
    out.set(body, offset)
    return true
  },
  open: decipher,
  hkdfSha512,
  sha256(data) {
    // The one-shot form: no Hash object per call (cache keys are hashed once per cached message).
    return new Uint8Array(hash('sha256', data, 'buffer'))
  },
  hmacSha512(key, data) {
    const digest = createHmac('sha512', key).update(data).digest()
    const out = new Uint8Array(digest)
    wipe(digest) // callers use it as key material: leave no copy behind
    return out
  },
  randomBytes,
  equal(a, b) {
    return a.length === b.length && timingSafeEqual(a, b)
  },
  scrypt(password, salt, logN) {
    // OpenSSL's scrypt on the thread pool: about 1.5x noble's on this machine (2^18: 0.97 s vs 1.58 s).
    return new Promise((resolve, reject) => {
      scrypt(password, salt, 32, { N: 2 ** logN, r: 8, p: 1, maxmem: 1024 * 2 ** logN + 1024 * 1024 }, (error, key) => {
        if (error !== null) return reject(error)
        const out = new Uint8Array(key)
        key.fill(0)
        resolve(out)
      })
    })
  },
}
