import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { inspect as utilInspect } from 'node:util'
import type { KMSClient } from '@aws-sdk/client-kms'
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms'
import { canonicalContext } from '../src/format/context.js'
import { DataKey, Envelope, KeyCache, LocalKeyring, PassphraseKeyring } from '../src/index.js'
import { KmsKeyring, KmsRsaKeyring } from '../src/kms.js'
import { cli } from './cli-helpers.js'
import { pattern, rejectsWithCode, tempDir } from './helpers.js'
import { adminClient, CREDENTIALS, createKey, kmsEndpoint, motoClient, REGION, recipientsOf, serverCalls, withRecipients } from './kms-helpers.js'

const ctx = (c: Record<string, string>) => canonicalContext(c, 'context', true)
let admin: KMSClient
let client: KMSClient
let rsaArn: string
let rsa2048Arn: string

async function rsaKey(spec: 'RSA_2048' | 'RSA_3072' | 'RSA_4096', usage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' = 'ENCRYPT_DECRYPT'): Promise<string> {
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage, Description: 'kms-envelope aws-kms-rsa test' }))
  return KeyMetadata!.Arn!
}

before(async () => {
  admin = await adminClient()
  client = (await motoClient()).client
  rsaArn = await rsaKey('RSA_3072')
  rsa2048Arn = await rsaKey('RSA_2048')
  await serverCalls(rsaArn)
})
after(() => {
  admin.destroy()
  client.destroy()
})

describe('the test server shim (scripts/moto-kms-shim.py) behaves as KMS', () => {
  it('Decrypt opens an RSA-OAEP-SHA-256 ciphertext made offline with GetPublicKey’s key', async () => {
    const answer = await admin.send(new GetPublicKeyCommand({ KeyId: rsaArn }))
    assert.equal(answer.KeyId, rsaArn)
    assert.equal(answer.KeySpec, 'RSA_3072')
    const key = await crypto.subtle.importKey('spki', new Uint8Array(answer.PublicKey!), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt'])
    const secret = pattern(32, 11)
    const blob = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, key, new Uint8Array(secret)))
    const opened = await admin.send(new DecryptCommand({ KeyId: rsaArn, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))
    assert.deepEqual(new Uint8Array(opened.Plaintext!), secret)
    assert.equal(opened.KeyId, rsaArn)
    // The wrong algorithm does not open it, as with KMS.
    await assert.rejects(admin.send(new DecryptCommand({ KeyId: rsaArn, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })), {
      name: 'InvalidCiphertextException',
    })
    // Another RSA key does not open it.
    await assert.rejects(admin.send(new DecryptCommand({ KeyId: rsa2048Arn, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), {
      name: 'InvalidCiphertextException',
    })
    // A symmetric key refuses an RSA algorithm; an asymmetric Decrypt refuses a context.
    const symmetric = await createKey()
    await assert.rejects(admin.send(new DecryptCommand({ KeyId: symmetric, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), {
      name: 'InvalidKeyUsageException',
    })
    await assert.rejects(
      admin.send(new DecryptCommand({ KeyId: rsaArn, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } })),
      { name: 'ValidationException' },
    )
    // Counted per key at the server: this key saw the good Decrypt, the SHA-1 one and the one with a context.
    assert.deepEqual(await serverCalls(rsaArn), { GetPublicKey: 1, Decrypt: 3 })
  })
})

describe('aws-kms-rsa recipients', () => {
  it('1,000 encrypts cost 1 GetPublicKey and no other KMS call; each decrypt costs 1 Decrypt', async () => {
    await serverCalls(rsaArn)
    const env = new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) })
    const messages: Uint8Array[] = []
    // Concurrent first callers share the one GetPublicKey.
    for (let batch = 0; batch < 10; batch++) {
      messages.push(...(await Promise.all(Array.from({ length: 100 }, (_, i) => env.encrypt(`message ${batch * 100 + i}`, { context: { n: String(i) } })))))
    }
    assert.deepEqual(await serverCalls(rsaArn), { GetPublicKey: 1 })
    const [entry] = recipientsOf(messages[0]!)
    assert.equal(entry!.type, 'aws-kms-rsa')
    assert.equal(entry!.keyId, rsaArn)
    assert.equal(entry!.wrapped.length, 384 + 48)
    const reader = new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) })
    for (const i of [0, 1, 2]) {
      const out = await reader.decrypt(messages[i]!, { expectContext: { n: String(i) } })
      assert.equal(new TextDecoder().decode(out.plaintext), `message ${i}`)
    }
    // The reader was given the key ARN: no GetPublicKey to decrypt.
    assert.deepEqual(await serverCalls(rsaArn), { Decrypt: 3 })
  })

  it('one caller aborting the shared GetPublicKey does not fail the others', async () => {
    const env = new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) })
    const controller = new AbortController()
    const first = env.encrypt('aborted', { signal: controller.signal })
    const second = env.encrypt('not aborted')
    controller.abort()
    await rejectsWithCode(first, 'ERR_ABORTED')
    assert.equal(recipientsOf(await second)[0]!.keyId, rsaArn)
  })

  it('with a KeyCache, one Decrypt per cached data key', async () => {
    const message = await new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) }).encrypt('cached')
    await serverCalls(rsaArn)
    const reader = new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }), cache: new KeyCache({ maxAge: 60_000 }) })
    for (let i = 0; i < 5; i++) await reader.decrypt(message)
    assert.deepEqual(await serverCalls(rsaArn), { Decrypt: 1 })
  })

  it('mixes with local and KMS keys; each key decrypts alone', async () => {
    const local = LocalKeyring.generate({ keyId: 'mixed-local' })
    const kmsArn = await createKey()
    const kms = new KmsKeyring({ keyIds: [kmsArn], client })
    const rsa = new KmsRsaKeyring({ keyId: rsa2048Arn, client })
    const message = await new Envelope({ keyring: [local, kms, rsa] }).encrypt('all three', { context: { app: 'mix' } })
    assert.deepEqual(
      recipientsOf(message).map((r) => r.type),
      ['local', 'aws-kms', 'aws-kms-rsa'],
    )
    assert.equal(recipientsOf(message)[2]!.wrapped.length, 256 + 48)
    for (const keyring of [local, kms, new KmsRsaKeyring({ keyId: rsa2048Arn, client })]) {
      const out = await new Envelope({ keyring }).decrypt(message, { expectContext: { app: 'mix' } })
      assert.equal(new TextDecoder().decode(out.plaintext), 'all three')
    }
    // RSA first, as the only generating keyring, wrapped for the others.
    const rsaFirst = await new Envelope({ keyring: [rsa, local] }).encrypt('rsa first')
    assert.equal(new TextDecoder().decode((await new Envelope({ keyring: local }).decrypt(rsaFirst)).plaintext), 'rsa first')
  })

  it('an alias is resolved by the one GetPublicKey, for encrypt and for decrypt', async () => {
    const alias = `alias/kmse-rsa-${Math.random().toString(36).slice(2, 10)}`
    await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: rsaArn }))
    const message = await new Envelope({ keyring: new KmsRsaKeyring({ keyId: alias, client }) }).encrypt('via alias')
    assert.equal(recipientsOf(message)[0]!.keyId, rsaArn, 'messages name the key ARN, never the alias')
    await serverCalls(rsaArn)
    const reader = new Envelope({ keyring: new KmsRsaKeyring({ keyId: alias, client }) })
    await reader.decrypt(message)
    await reader.decrypt(message)
    // Counted under the alias's key: the shim resolves names to key ARNs.
    assert.deepEqual(await serverCalls(rsaArn), { GetPublicKey: 1, Decrypt: 2 })
  })

  it('with the public key given, encrypting makes no KMS call at all', async () => {
    const { PublicKey } = await admin.send(new GetPublicKeyCommand({ KeyId: rsaArn }))
    await serverCalls(rsaArn)
    const offline = new KmsRsaKeyring({ keyId: rsaArn, publicKey: new Uint8Array(PublicKey!) })
    const message = await new Envelope({ keyring: offline }).encrypt('no credentials needed')
    assert.deepEqual(await serverCalls(rsaArn), {})
    const out = await new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) }).decrypt(message)
    assert.equal(new TextDecoder().decode(out.plaintext), 'no credentials needed')
  })

  it('binds the context: an entry moved to a message with another context does not open', async () => {
    const keyring = new KmsRsaKeyring({ keyId: rsaArn, client })
    const [entry] = await keyring.wrapDataKey(new DataKey(pattern(32, 3)), ctx({ tenant: 'a' }))
    const error = await rejectsWithCode(keyring.unwrapDataKey(entry!, ctx({ tenant: 'b' })), 'ERR_UNWRAP')
    assert.match(error.message, /context differs/)
    assert.deepEqual((await keyring.unwrapDataKey(entry!, ctx({ tenant: 'a' }))).bytes, pattern(32, 3))
  })

  it('tampered entries fail with typed errors, malformed ones before any KMS call', async () => {
    const keyring = new KmsRsaKeyring({ keyId: rsaArn, client })
    const message = await new Envelope({ keyring }).encrypt('tamper')
    const [entry] = recipientsOf(message)
    const reader = new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, client }) })
    const flipRsa = new Uint8Array(entry!.wrapped)
    flipRsa[10]! ^= 1
    await serverCalls(rsaArn)
    await rejectsWithCode(reader.decrypt(withRecipients(message, [{ ...entry!, wrapped: flipRsa }])), 'ERR_KMS_INVALID_CIPHERTEXT')
    const flipSealed = new Uint8Array(entry!.wrapped)
    flipSealed[flipSealed.length - 1]! ^= 1
    await rejectsWithCode(reader.decrypt(withRecipients(message, [{ ...entry!, wrapped: flipSealed }])), 'ERR_UNWRAP')
    assert.deepEqual(await serverCalls(rsaArn), { Decrypt: 2 })
    await rejectsWithCode(reader.decrypt(withRecipients(message, [{ ...entry!, wrapped: entry!.wrapped.subarray(1) }])), 'ERR_UNWRAP')
    assert.deepEqual(await serverCalls(rsaArn), {}, 'a wrong length costs no Decrypt')
    // A reader holding another key does not try at all.
    await rejectsWithCode(new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsa2048Arn, client }) }).decrypt(message), 'ERR_NO_MATCHING_KEY')
  })

  it('refuses keys that are not RSA encryption keys of 2048 bits or more', async () => {
    const signing = await rsaKey('RSA_2048', 'SIGN_VERIFY')
    const e1 = await rejectsWithCode(new Envelope({ keyring: new KmsRsaKeyring({ keyId: signing, client }) }).encrypt('x'), 'ERR_KEYRING')
    assert.match(e1.message, /key usage is SIGN_VERIFY/)
    const symmetric = await createKey()
    const e2 = await rejectsWithCode(new Envelope({ keyring: new KmsRsaKeyring({ keyId: symmetric, client }) }).encrypt('x'), 'ERR_KEYRING')
    assert.match(e2.message, /key spec is SYMMETRIC_DEFAULT/)
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' })
    const e3 = await rejectsWithCode(
      new Envelope({ keyring: new KmsRsaKeyring({ keyId: rsaArn, publicKey: new Uint8Array(small) }) }).encrypt('x'),
      'ERR_KEYRING',
    )
    assert.match(e3.message, /RSA-1024/)
    const missing = rsaArn.replace(/key\/.*/, 'key/00000000-0000-4000-8000-000000000000')
    await rejectsWithCode(new Envelope({ keyring: new KmsRsaKeyring({ keyId: missing, client }) }).encrypt('x'), 'ERR_KMS_NOT_FOUND')
  })

  it('refuses bad options and never shows the client or grant tokens', () => {
    assert.throws(() => new KmsRsaKeyring({ keyId: 'not a key' }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new KmsRsaKeyring({ keyId: 'alias/x', publicKey: new Uint8Array(10) }), { code: 'ERR_INVALID_ARGUMENT' })
    const keyring = new KmsRsaKeyring({ keyId: rsaArn, client, grantTokens: ['secret-token'] })
    assert.doesNotMatch(utilInspect(keyring) + JSON.stringify(keyring) + keyring.cacheId, /secret-token/)
  })

  it('a passphrase still refuses company, RSA included', async () => {
    await rejectsWithCode(
      new Envelope({ keyring: [new KmsRsaKeyring({ keyId: rsaArn, client }), new PassphraseKeyring({ passphrase: 'p', workFactor: 10 })] }).encrypt('x'),
      'ERR_INVALID_ARGUMENT',
    )
  })
})

describe('CLI --key aws-kms-rsa:ARN', () => {
  it('encrypts with one GetPublicKey and decrypts with one Decrypt, counted at the server', async (t) => {
    const dir = await tempDir(t)
    const env = {
      AWS_ENDPOINT_URL_KMS: await kmsEndpoint(),
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      KMS_ENVELOPE_KEY: undefined,
    }
    await serverCalls(rsaArn)
    const out = join(dir, 'm.kmse')
    const enc = await cli(['encrypt', '--key', `aws-kms-rsa:${rsaArn}`, '-c', 'app=cli', '-o', out], 'cli rsa', { env })
    assert.equal(enc.code, 0, enc.stderr)
    assert.deepEqual(await serverCalls(rsaArn), { GetPublicKey: 1 })
    assert.deepEqual(
      recipientsOf(new Uint8Array(readFileSync(out))).map((r) => [r.type, r.keyId]),
      [['aws-kms-rsa', rsaArn]],
    )
    const dec = await cli(['decrypt', '--key', `aws-kms-rsa:${rsaArn}`, '-e', 'app=cli', out], undefined, { env })
    assert.equal(dec.code, 0, dec.stderr)
    assert.equal(dec.stdout.toString(), 'cli rsa')
    assert.deepEqual(await serverCalls(rsaArn), { Decrypt: 1 })
    const bad = await cli(['encrypt', '--key', 'aws-kms-rsa:', '-o', join(dir, 'n')], 'x', { env })
    assert.equal(bad.code, 2)
  })
})
