/**
 * The full differential matrix of the ESDK reader against the AWS Encryption SDK (run by
 * `npm run test:esdk`, not by `npm test`, which runs the sample in esdk-sdk.test.ts):
 * every suite × frame lengths {7, 4096, 65536} × plaintext sizes around the frame boundaries
 * × keyrings {raw AES-128/192/256, raw RSA OAEP-SHA1/OAEP-SHA256, multi-keyring} × contexts
 * {empty, three entries}, each written by the SDK and read by the SDK, our buffer reader and
 * our stream; plus non-framed messages of every suite from the test encoder, read by the SDK and us.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { decryptEsdk } from '../src/esdk/index.js'
import { ALL_SUITES, aesPair, checkSame, multiPair, rsaPair, sdkClient, sizesAround, writeTestMessage } from './esdk-helpers.js'

const CONTEXTS = [{}, { tenant: 'acme', 'ünïcødé': 'välüe ✓', purpose: 'matrix' }]
let cases = 0

describe('ESDK reader: the full differential matrix against the SDK', () => {
  const pairs = [aesPair(16), aesPair(24), aesPair(32), rsaPair('OAEP-SHA1-MGF1'), rsaPair('OAEP-SHA256-MGF1'), multiPair()]
  for (const pair of pairs) {
    it(`${pair.label}: every suite, frames 7 / 4096 / 65536, sizes around the boundaries, two contexts`, async () => {
      for (const suite of ALL_SUITES) {
        for (const frameLength of [7, 4096, 65536]) {
          for (const size of sizesAround(frameLength)) {
            for (const context of CONTEXTS) {
              await checkSame(pair, suite, frameLength, size, context)
              cases++
            }
          }
        }
      }
    })
  }
  it('non-framed messages (test encoder) of every suite, sizes 0 … 65537: the SDK and we agree', async () => {
    const pair = aesPair(32, 'nf')
    for (const suite of ALL_SUITES) {
      for (const size of [0, 1, 4095, 4096, 4097, 65537]) {
        for (const context of CONTEXTS) {
          const plaintext = new Uint8Array(randomBytes(size))
          const message = writeTestMessage({
            suiteId: suite,
            frameLength: 0,
            plaintext,
            wrap: { key: pair.key, keyNamespace: 'esdk-test', keyName: 'nf' },
            context,
          })
          const sdk = await sdkClient(suite).decrypt(pair.sdk, message)
          const ours = await decryptEsdk(message, { keyring: pair.ours, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })
          assert.equal(Buffer.compare(Buffer.from(ours.plaintext), sdk.plaintext), 0)
          assert.equal(Buffer.compare(sdk.plaintext, plaintext), 0)
          cases++
        }
      }
    }
  })
  it('counts the cases', () => {
    console.log(`ESDK differential matrix: ${cases} messages, each read by the SDK, our buffer reader and our stream`)
    assert.ok(cases > 2000)
  })
})
