import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { Vector } from '../scripts/gen-vectors.js'
import { generateVectors } from '../scripts/gen-vectors.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { assertExpectedBackend, VECTORS_DIR } from './helpers.js'
import { unevenStream } from './pattern.js'

assertExpectedBackend()

const files = readdirSync(VECTORS_DIR)
  // aws-kms-*.json need a KMS keyring and a recorded KMS: test/vectors-kms.test.ts replays them.
  // x25519-* and mlkem768x25519-* hold identities, not local keys: test/vectors-recipients.test.ts.
  .filter((f) => f.endsWith('.json') && !f.startsWith('aws-kms-') && !/^(x25519|mlkem768x25519)-/.test(f))
  .sort()
const vectors = files.map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as Vector)

function envelopeFor(v: Vector): Envelope {
  const keyring = v.keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) }))
  return new Envelope({ keyring, ...(v.decrypt.maxWrappedKeys === undefined ? {} : { maxWrappedKeys: v.decrypt.maxWrappedKeys }) })
}

describe('test vectors from test/vectors/', () => {
  it('has the scenarios the format promises', () => {
    assert.ok(vectors.filter((v) => v.expect === 'success').length >= 10)
    assert.ok(vectors.filter((v) => v.expect === 'failure').length >= 20)
    for (const v of vectors) assert.equal(`${v.name}.json`, files[vectors.indexOf(v)])
  })

  for (const v of vectors) {
    it(`${v.name}: ${v.comment}`, async () => {
      const env = envelopeFor(v)
      const message = hexToBytes(v.message)
      const options = v.decrypt.expectContext === undefined ? {} : { expectContext: v.decrypt.expectContext }
      if (v.expect === 'success') {
        const result = await env.decrypt(message, options)
        assert.equal(Buffer.from(result.plaintext).toString('hex'), v.plaintext!.hex)
        if (v.plaintext!.utf8 !== undefined) assert.equal(new TextDecoder().decode(result.plaintext), v.plaintext!.utf8)
        assert.deepEqual(result.context, v.context)
        assert.equal(inspect(message).messageId, v.intermediate!.messageId)
      } else {
        await assert.rejects(env.decrypt(message, options), (error: Error & { code?: string }) => {
          assert.equal(error.code, v.code, `${v.name}: expected ${v.code}, got ${error.code}: ${error.message}`)
          return true
        })
      }
    })
  }

  for (const v of vectors) {
    it(`${v.name}: the Web stream reader with uneven chunks gives what the buffer reader gives${v.streamCode === undefined ? '' : ` (or the allowed ${v.streamCode})`}`, async () => {
      const env = envelopeFor(v)
      const message = hexToBytes(v.message)
      const options = v.decrypt.expectContext === undefined ? {} : { expectContext: v.decrypt.expectContext }
      for (const shift of [0, 3, 5]) {
        const out = new Response(unevenStream(message, shift).pipeThrough(env.decryptStream(options))).arrayBuffer()
        if (v.expect === 'success') {
          assert.equal(Buffer.from(await out).toString('hex'), v.plaintext!.hex)
        } else {
          const want = v.streamCode ?? v.code
          await assert.rejects(out, (error: Error & { code?: string }) => {
            assert.equal(error.code, want, `${v.name} (stream, shift ${shift}): expected ${want}, got ${error.code}: ${error.message}`)
            return true
          })
        }
      }
    })
  }

  it('only vectors whose streamed code is fixed by the head before the body may differ, and they say so', () => {
    for (const v of vectors.filter((x) => x.streamCode !== undefined)) {
      assert.equal(v.code, 'ERR_TRUNCATED', v.name)
      assert.ok(['ERR_NO_MATCHING_KEY', 'ERR_UNWRAP', 'ERR_CONTEXT_MISMATCH', 'ERR_LIMIT'].includes(v.streamCode!), v.name)
    }
  })

  it('both backends generate identical vectors', () => {
    assert.deepEqual(generateVectors(portableBackend), generateVectors(nodeBackend))
  })

  it('the generator reproduces every file byte for byte (format and files cannot drift apart)', () => {
    const fresh = generateVectors()
    assert.deepEqual(fresh.map((v) => `${v.name}.json`).sort(), files)
    for (const v of fresh) {
      const onDisk = readFileSync(join(VECTORS_DIR, `${v.name}.json`), 'utf8')
      assert.equal(`${JSON.stringify(v, null, 2)}\n`, onDisk, `${v.name} differs from the generator`)
    }
  })
})
