/**
 * Replays the aws-kms vectors (test/vectors/aws-kms-*.json) through a real KMSClient whose
 * HTTP handler answers in process from the vector's recorded responses: the SDK serialises
 * and parses exactly as against AWS, and every request that reaches the HTTP layer is checked
 * against the recorded one. Needs no KMS server, so it runs in the normal stage (and on both
 * backends: the name matches scripts/test.js's /vectors/).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { KMSClient } from '@aws-sdk/client-kms'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { KmsRequest, KmsVector } from '../scripts/gen-vectors.js'
import { generateKmsVectors } from '../scripts/gen-vectors.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import type { Keyring } from '../src/index.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { assertExpectedBackend, VECTORS_DIR } from './helpers.js'
import { recordedKmsClient } from './recorded-kms.js'

assertExpectedBackend()

const files = readdirSync(VECTORS_DIR)
  .filter((f) => f.startsWith('aws-kms-') && !f.startsWith('aws-kms-hierarchy-') && f.endsWith('.json'))
  .sort()
const vectors = files.map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as KmsVector)

/** A client for `region` that answers from `v.kms.responses` in order and records each request as the vector spells it. */
function recordedKms(v: KmsVector): { client: KMSClient; sent: Array<KmsRequest & Record<string, unknown>> } {
  return recordedKmsClient(v.kms.region, v.kms.responses) as { client: KMSClient; sent: Array<KmsRequest & Record<string, unknown>> }
}

function envelopeFor(v: KmsVector, client: KMSClient): Envelope {
  const keyring: Keyring[] = v.keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) }))
  if (v.kms.keyIds.length > 0) keyring.push(new KmsKeyring({ keyIds: v.kms.keyIds, client }))
  return new Envelope({ keyring })
}

describe('aws-kms test vectors, replayed against their recorded KMS', () => {
  it('has the scenarios the format promises', () => {
    assert.ok(vectors.filter((v) => v.expect === 'success').length >= 4)
    assert.ok(vectors.filter((v) => v.expect === 'failure').length >= 4)
    for (const v of vectors) {
      assert.equal(`${v.name}.json`, files[vectors.indexOf(v)])
      assert.equal(v.kms.requests.length, v.kms.responses.length, `${v.name}: one response per request`)
    }
  })

  const readers = {
    buffer: (env: Envelope, message: Uint8Array) => env.decrypt(message).then((r) => ({ plaintext: r.plaintext, context: r.context })),
    stream: async (env: Envelope, message: Uint8Array) => {
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(message)
          controller.close()
        },
      })
      return { plaintext: new Uint8Array(await new Response(source.pipeThrough(env.decryptStream())).arrayBuffer()), context: undefined }
    },
  }

  for (const v of vectors) {
    for (const [how, read] of Object.entries(readers)) {
      it(`${v.name} (${how} reader): ${v.comment}`, async () => {
        const { client, sent } = recordedKms(v)
        const message = hexToBytes(v.message)
        const outcome = read(envelopeFor(v, client), message)
        if (v.expect === 'success') {
          const result = await outcome
          assert.equal(Buffer.from(result.plaintext).toString('hex'), v.plaintext!.hex)
          if (result.context !== undefined) assert.deepEqual(result.context, v.context)
          assert.equal(inspect(message).messageId, v.intermediate!.messageId)
        } else {
          await assert.rejects(outcome, (error: Error & { code?: string }) => {
            assert.equal(error.code, v.code, `${v.name}: expected ${v.code}, got ${error.code}: ${error.message}`)
            return true
          })
        }
        // Exactly the recorded requests: no other operation, field (GrantTokens, ...) or retry.
        assert.deepEqual(sent, v.kms.requests)
      })
    }
  }

  it('both backends generate identical aws-kms vectors', () => {
    assert.deepEqual(generateKmsVectors(portableBackend), generateKmsVectors(nodeBackend))
  })

  it('the generator reproduces every aws-kms file byte for byte', () => {
    const fresh = generateKmsVectors()
    assert.deepEqual(fresh.map((v) => `${v.name}.json`).sort(), files)
    for (const v of fresh) {
      const onDisk = readFileSync(join(VECTORS_DIR, `${v.name}.json`), 'utf8')
      assert.equal(`${JSON.stringify(v, null, 2)}\n`, onDisk, `${v.name} differs from the generator`)
    }
  })
})
