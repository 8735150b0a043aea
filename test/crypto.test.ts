import assert from 'node:assert/strict'
import { createCipheriv, hkdfSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { DataKey } from '../src/crypto/data-key.js'
import { sealMessage } from '../src/crypto/message.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import { canonicalContext } from '../src/format/context.js'
import { LocalKeyring, wrapWithFixedSaltForVectors } from '../src/keyrings/local.js'
import { assertExpectedBackend, pattern } from './helpers.js'

assertExpectedBackend()

describe('crypto backends agree byte for byte', () => {
  const sizes = [0, 1, 15, 16, 17, 100, 4096, 65_537]
  for (const size of sizes) {
    it(`AES-256-GCM seal/open, ${size} bytes, against each other and raw node:crypto`, () => {
      const key = pattern(32, size + 1)
      const nonce = pattern(12, size + 2)
      const aad = pattern(41, size + 3)
      const plaintext = pattern(size, size + 4)
      const a = new Uint8Array(size + 16)
      const b = new Uint8Array(size + 16)
      nodeBackend.sealInto(key, nonce, plaintext, aad, a, 0)
      portableBackend.sealInto(key, nonce, plaintext, aad, b, 0)
      assert.deepEqual(a, b)
      assert.deepEqual(Buffer.concat(nodeBackend.seal(key, nonce, plaintext, aad)), Buffer.from(a))
      assert.deepEqual(Buffer.concat(portableBackend.seal(key, nonce, plaintext, aad)), Buffer.from(a))
      const c = createCipheriv('aes-256-gcm', key, nonce)
      c.setAAD(aad)
      const raw = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])
      assert.deepEqual(Buffer.from(a), raw)
      for (const be of [nodeBackend, portableBackend]) {
        assert.deepEqual(new Uint8Array(be.open(key, nonce, a, aad)!), plaintext)
        const out = new Uint8Array(size + 3)
        assert.equal(be.openInto(key, nonce, a, aad, out, 3), true)
        assert.deepEqual(out.subarray(3), plaintext)
        const bad = a.slice()
        bad[bad.length - 1]! ^= 1
        assert.equal(be.open(key, nonce, bad, aad), undefined)
        assert.equal(be.open(key, nonce, a.subarray(0, 15), aad), undefined)
        assert.equal(be.openInto(key, nonce, bad, aad, new Uint8Array(size), 0), false)
      }
    })
  }

  it('HKDF-SHA-512 matches node:crypto for several lengths', () => {
    for (const length of [16, 32, 64, 96]) {
      const ikm = pattern(32, length)
      const salt = pattern(32, length + 1)
      const info = pattern(22, length + 2)
      const expected = new Uint8Array(hkdfSync('sha512', ikm, salt, info, length))
      assert.deepEqual(nodeBackend.hkdfSha512(ikm, salt, info, length), expected)
      assert.deepEqual(portableBackend.hkdfSha512(ikm, salt, info, length), expected)
    }
  })

  it('RFC 5869 style check: HKDF-SHA-512 with empty salt and info', () => {
    const ikm = new Uint8Array(22).fill(0x0b)
    const a = nodeBackend.hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), 42)
    assert.deepEqual(portableBackend.hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), 42), a)
  })

  it('whole messages: identical bytes from both backends for the same inputs', () => {
    const keyring = new LocalKeyring({ keyId: 'k', key: pattern(32, 5) })
    const context = canonicalContext({ tenant: 't' }, 'context', true)
    for (const size of [0, 63, 64, 65, 1000]) {
      const messages = [nodeBackend, portableBackend].map((be) => {
        const dataKey = new DataKey(pattern(32, 9))
        const recipients = [wrapWithFixedSaltForVectors(keyring, dataKey, context, pattern(32, 10), be)]
        return sealMessage(be, { dataKey, recipients, context, frameSize: 64, messageId: pattern(32, 11) }, pattern(size, 12))
      })
      assert.deepEqual(messages[0], messages[1])
    }
  })

  it('equal() is exact and length-aware', () => {
    for (const be of [nodeBackend, portableBackend]) {
      assert.equal(be.equal(pattern(32), pattern(32)), true)
      assert.equal(be.equal(pattern(32), pattern(31)), false)
      const x = pattern(32)
      x[31]! ^= 1
      assert.equal(be.equal(pattern(32), x), false)
    }
  })

  it('randomBytes gives distinct values of the requested length', () => {
    for (const be of [nodeBackend, portableBackend]) {
      const seen = new Set<string>()
      for (let i = 0; i < 1000; i++) {
        const r = be.randomBytes(32)
        assert.equal(r.length, 32)
        seen.add(Buffer.from(r).toString('hex'))
      }
      assert.equal(seen.size, 1000)
      assert.equal(be.randomBytes(4096).length, 4096)
    }
  })
})

describe('local wrap: no caller can choose the salt (one GCM key per wrap)', () => {
  it('LocalKeyring has no salt-taking method and the package exports no fixed-salt hook', async () => {
    const keyring = new LocalKeyring({ keyId: 'k', key: pattern(32, 1) })
    const names = new Set<string>()
    for (let o: object | null = keyring; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const n of Object.getOwnPropertyNames(o)) names.add(n)
    }
    for (const n of names) assert.doesNotMatch(n, /salt/i, `LocalKeyring exposes ${n}`)
    const pkg = await import('../src/index.js')
    for (const n of Object.keys(pkg)) assert.doesNotMatch(n, /salt/i, `the package exports ${n}`)
  })

  it('every public wrap draws a fresh salt, so no two wrapped keys share a GCM key', async () => {
    const keyring = new LocalKeyring({ keyId: 'k', key: pattern(32, 1) })
    const context = canonicalContext({}, 'context', true)
    const a = new DataKey(pattern(32, 2))
    const b = new DataKey(pattern(32, 3))
    const [wa] = await keyring.wrapDataKey(a, context, {})
    const [wb] = await keyring.wrapDataKey(b, context, {})
    assert.notDeepEqual(wa!.wrapped.subarray(0, 32), wb!.wrapped.subarray(0, 32))
    // The reviewer's attack: with a shared salt, XOR of the sealed parts equals XOR of the keys.
    const x = (p: Uint8Array, q: Uint8Array) => p.map((v, i) => v ^ q[i]!)
    assert.notDeepEqual(x(wa!.wrapped.subarray(32, 64), wb!.wrapped.subarray(32, 64)), x(pattern(32, 2), pattern(32, 3)))
  })

  it('the vector hook refuses a salt of the wrong length', () => {
    const keyring = new LocalKeyring({ keyId: 'k', key: pattern(32, 1) })
    assert.throws(() => wrapWithFixedSaltForVectors(keyring, new DataKey(pattern(32, 2)), canonicalContext({}, 'context', true), pattern(16)), {
      code: 'ERR_INVALID_ARGUMENT',
    })
  })
})
