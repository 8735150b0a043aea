/**
 * The scrypt and aws-kms-rsa vectors (test/vectors/recipients/, FORMAT.md §17-18): each
 * replayed through the library (aws-kms-rsa through a real KMSClient answering from the
 * recording, as test/vectors-kms.test.ts does), the recorded KMS answers checked against the
 * stand-in RSA key, and the generator required to reproduce every file byte for byte, on
 * both backends (the name matches scripts/test.js's /vectors/).
 */
import assert from 'node:assert/strict'
import { constants, createPrivateKey, privateDecrypt } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { KMSClient } from '@aws-sdk/client-kms'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { KmsRsaVector, ScryptVector } from '../scripts/gen-recipient-vectors-secret.js'
import { generateKmsRsaVectors, generateScryptVectors, RECIPIENT_VECTORS_SUBDIR } from '../scripts/gen-recipient-vectors-secret.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import type { Keyring } from '../src/index.js'
import { Envelope, LocalKeyring, PassphraseKeyring } from '../src/index.js'
import { KmsRsaKeyring } from '../src/kms.js'
import { assertExpectedBackend, VECTORS_DIR } from './helpers.js'
import { recordedKmsClient } from './recorded-kms.js'

assertExpectedBackend()

const DIR = join(VECTORS_DIR, RECIPIENT_VECTORS_SUBDIR)
const files = readdirSync(DIR)
  .filter((f) => (f.startsWith('scrypt-') || f.startsWith('aws-kms-rsa-')) && f.endsWith('.json'))
  .sort()
const read = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as unknown
const scryptVectors = files.filter((f) => f.startsWith('scrypt-')).map((f) => read(f) as ScryptVector)
const rsaVectors = files.filter((f) => f.startsWith('aws-kms-rsa-')).map((f) => read(f) as KmsRsaVector)

async function check(v: { name: string; expect: string; code?: string; plaintext?: { hex: string } }, outcome: Promise<{ plaintext: Uint8Array }>) {
  if (v.expect === 'success') assert.equal(Buffer.from((await outcome).plaintext).toString('hex'), v.plaintext!.hex)
  else
    await assert.rejects(outcome, (error: Error & { code?: string }) => {
      assert.equal(error.code, v.code, `${v.name}: expected ${v.code}, got ${error.code}: ${error.message}`)
      return true
    })
}

function recordedKms(v: KmsRsaVector): { client: KMSClient; sent: Record<string, unknown>[] } {
  return recordedKmsClient(v.kms.region, v.kms.responses, { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })
}

describe('scrypt vectors (FORMAT.md §17)', () => {
  it('has the scenarios the format promises', () => {
    assert.deepEqual(
      scryptVectors.map((v) => v.name),
      ['scrypt-neg-hostile-work-factor', 'scrypt-neg-not-alone', 'scrypt-neg-wrong-context', 'scrypt-neg-wrong-passphrase', 'scrypt-pos'],
    )
  })
  for (const v of scryptVectors) {
    it(`${v.name}: ${v.comment}`, async () => {
      const keyring = new PassphraseKeyring({ passphrase: v.passphrase.utf8, maxWorkFactor: v.maxWorkFactor })
      const started = performance.now()
      await check(v, new Envelope({ keyring }).decrypt(hexToBytes(v.message)))
      if (v.code === 'ERR_LIMIT') assert.ok(performance.now() - started < 500, 'refused before scrypt')
    })
  }
  it('the intermediate wrap key is scrypt over the label and salt', async () => {
    const pos = scryptVectors.find((v) => v.name === 'scrypt-pos')!
    const salt = new Uint8Array([...new TextEncoder().encode('KMSE v1 scrypt wrap'), ...hexToBytes(pos.scrypt!.salt)])
    const key = await portableBackend.scrypt(new TextEncoder().encode(pos.passphrase.utf8), salt, pos.scrypt!.logN)
    assert.equal(Buffer.from(key).toString('hex'), pos.scrypt!.wrapKey)
  })
})

describe('aws-kms-rsa vectors (FORMAT.md §18), replayed against their recorded KMS', () => {
  it('has the scenarios the format promises', () => {
    assert.equal(rsaVectors.filter((v) => v.expect === 'success').length, 3)
    assert.equal(rsaVectors.filter((v) => v.expect === 'failure').length, 2)
  })
  for (const v of rsaVectors) {
    it(`${v.name}: ${v.comment}`, async () => {
      const { client, sent } = recordedKms(v)
      const keyring: Keyring[] = v.keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) }))
      for (const id of v.kms.keyIds) keyring.push(new KmsRsaKeyring({ keyId: id, client }))
      await check(v, new Envelope({ keyring }).decrypt(hexToBytes(v.message)))
      assert.deepEqual(sent, v.kms.requests, 'exactly the recorded requests: the algorithm named, no EncryptionContext, no retry')
      // The recorded answer is what KMS would say: the stand-in key's RSA-OAEP-SHA-256 decryption.
      const key = createPrivateKey({ key: Buffer.from(v.rsaPrivateKey, 'hex'), format: 'der', type: 'pkcs8' })
      for (const [i, request] of v.kms.requests.entries()) {
        const opened = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(request.CiphertextBlob, 'hex'))
        const answer = v.kms.responses[i]!
        if (!('error' in answer)) assert.equal(opened.toString('hex'), answer.Plaintext)
      }
    })
  }
})

describe('the generator reproduces every recipients/ file', () => {
  it('byte for byte, on both backends', async () => {
    for (const using of [nodeBackend, portableBackend]) {
      const fresh = [...(await generateScryptVectors(using)), ...generateKmsRsaVectors(using)]
      assert.deepEqual(fresh.map((v) => `${v.name}.json`).sort(), files)
      for (const v of fresh) assert.equal(`${JSON.stringify(v, null, 2)}\n`, readFileSync(join(DIR, `${v.name}.json`), 'utf8'), `${v.name} (${using.name})`)
    }
  })
})
