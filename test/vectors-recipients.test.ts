/**
 * The public-key recipient vectors (test/vectors/x25519-*.json, mlkem768x25519-*.json;
 * FORMAT.md §16): every reader path must give the recorded plaintext or the recorded code,
 * the intermediate values must follow from the spec's formulas, and the generator must
 * reproduce the files byte for byte on both backends.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hexToBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js'
import { backend } from '#crypto-backend'
import type { RecipientVector } from '../scripts/gen-recipient-vectors.js'
import { generateRecipientVectors } from '../scripts/gen-recipient-vectors.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import { Envelope, parseIdentity, parsePublicKeyRecipient } from '../src/index.js'
import { assertExpectedBackend, VECTORS_DIR } from './helpers.js'
import { unevenStream } from './pattern.js'

assertExpectedBackend()

const files = readdirSync(VECTORS_DIR)
  .filter((f) => /^(x25519|mlkem768x25519)-.*\.json$/.test(f))
  .sort()
const vectors = files.map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as RecipientVector)
const envelopeFor = (v: RecipientVector) => new Envelope({ keyring: v.identities.map((s) => parseIdentity(s)) })

describe('public-key recipient vectors', () => {
  it('has positive and negative vectors for both types', () => {
    for (const type of ['x25519', 'mlkem768x25519']) {
      assert.ok(vectors.filter((v) => v.name.startsWith(`${type}-`) && v.expect === 'success').length >= 2, type)
      assert.ok(vectors.filter((v) => v.name.startsWith(`${type}-neg-`)).length >= 6, type)
    }
  })

  for (const v of vectors) {
    it(`${v.name}: ${v.comment}`, async () => {
      const message = hexToBytes(v.message)
      if (v.expect === 'success') {
        const result = await envelopeFor(v).decrypt(message, { expectContext: v.context! })
        assert.equal(Buffer.from(result.plaintext).toString('hex'), v.plaintext!.hex)
        const streamed = await new Response(unevenStream(message, 3).pipeThrough(envelopeFor(v).decryptStream())).arrayBuffer()
        assert.equal(Buffer.from(streamed).toString('hex'), v.plaintext!.hex)
      } else {
        for (const attempt of [
          () => envelopeFor(v).decrypt(message),
          () => new Response(unevenStream(message, 5).pipeThrough(envelopeFor(v).decryptStream())).arrayBuffer(),
        ]) {
          await assert.rejects(attempt(), (error: Error & { code?: string }) => {
            assert.equal(error.code, v.code, `${v.name}: expected ${v.code}, got ${error.code}: ${error.message}`)
            return true
          })
        }
      }
    })
  }

  it('intermediate values follow from FORMAT.md §16 (shared secret, key id, wrap key)', () => {
    for (const v of vectors.filter((x) => x.intermediate !== undefined)) {
      for (const r of v.intermediate!.recipients) {
        const recipient = parsePublicKeyRecipient(r.recipient)
        assert.equal(recipient.keyId, r.keyId)
        const publicKey = recipient.publicKey
        const share = hexToBytes(r.share)
        let sharedSecret: Uint8Array
        if (r.type === 'x25519') {
          assert.deepEqual(x25519.getPublicKey(hexToBytes(r.randomness)), share)
          sharedSecret = x25519.getSharedSecret(hexToBytes(r.randomness), publicKey)
        } else {
          const encapsulated = ml_kem768_x25519.encapsulate(publicKey, hexToBytes(r.randomness))
          assert.deepEqual(encapsulated.cipherText, share)
          sharedSecret = encapsulated.sharedSecret
        }
        assert.equal(Buffer.from(sharedSecret).toString('hex'), r.sharedSecret)
        const salt = new Uint8Array([...share, ...publicKey])
        const wrapKey = backend.hkdfSha512(sharedSecret, salt, utf8ToBytes(`KMSE v1 ${r.type} wrap`), 32)
        assert.equal(Buffer.from(wrapKey).toString('hex'), r.wrapKey)
      }
    }
  })

  it('both backends generate identical vectors', () => {
    assert.deepEqual(generateRecipientVectors(portableBackend), generateRecipientVectors(nodeBackend))
  })

  it('the generator reproduces every file byte for byte', () => {
    const fresh = generateRecipientVectors()
    assert.deepEqual(fresh.map((v) => `${v.name}.json`).sort(), files)
    for (const v of fresh) assert.equal(`${JSON.stringify(v, null, 2)}\n`, readFileSync(join(VECTORS_DIR, `${v.name}.json`), 'utf8'), v.name)
  })
})
