/**
 * kms-envelope/esdk against the AWS Encryption SDK itself (@aws-crypto/client-node writes
 * every message at test time): a bounded sample of the differential matrix (the full one is
 * `npm run test:esdk`), the test encoder checked against the SDK's decrypt, policies, limits,
 * required encryption context, and the keyrings' failure modes.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { decryptEsdk, openEsdk, RawAesKeyring, RawRsaKeyring } from '../src/esdk/index.js'
import {
  ALL_SUITES,
  aesPair,
  checkSame,
  LEGACY_SUITES,
  multiPair,
  rsaKeyPair,
  rsaPair,
  sdkClient,
  sdkEncrypt,
  sizesAround,
  viaStream,
  writeTestMessage,
} from './esdk-helpers.js'
import { pkcs1DecryptWorks } from './esdk-manifest.js'
import { ROOT, rejectsWithCode } from './helpers.js'

const context = { tenant: 'acme', 'ünïcødé': 'välüe ✓', purpose: 'esdk-test' }
const allow = 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' as const

describe('ESDK reader: same plaintext and context as the SDK (sample of the matrix)', () => {
  it('every suite, raw AES-256, frames of 4096 around the boundary', async () => {
    const pair = aesPair(32)
    for (const suite of ALL_SUITES) for (const size of [0, 4095, 4096, 4097]) await checkSame(pair, suite, 4096, size, context)
  })
  it('small frames (7) around the boundaries, committing and legacy suites, empty and non-empty contexts', async () => {
    const pair = aesPair(32)
    for (const suite of [0x0478, 0x0578, 0x0014, 0x0214]) for (const size of sizesAround(7)) await checkSame(pair, suite, 7, size, size % 2 ? context : {})
  })
  it('frames of 65536 with a multi-frame message', async () => {
    await checkSame(aesPair(32), 0x0578, 65536, 65536 * 2 + 1, context)
  })
  it('raw AES-128 and AES-192 wrapping keys, raw RSA OAEP-SHA1 and OAEP-SHA256, and a multi-keyring', async () => {
    for (const pair of [aesPair(16), aesPair(24), rsaPair('OAEP-SHA1-MGF1'), rsaPair('OAEP-SHA256-MGF1'), multiPair()]) {
      for (const suite of [0x0478, 0x0578, 0x0146]) await checkSame(pair, suite, 4096, 5000, context)
    }
  })
  it('a list of keyrings: the first that holds a key opens it', async () => {
    const a = aesPair(32, 'a')
    const b = aesPair(32, 'b')
    const message = await sdkEncrypt(b.sdk, new TextEncoder().encode('hello'), 0x0478, 4096, context)
    const r = await decryptEsdk(message, { keyring: [a.ours as RawAesKeyring, b.ours as RawAesKeyring] })
    assert.equal(new TextDecoder().decode(r.plaintext), 'hello')
  })
})

describe('ESDK reader: the test encoder (checked against the SDK) for what the SDK cannot write', () => {
  for (const suite of [0x0478, 0x0578, 0x0014, 0x0178, 0x0214, 0x0346]) {
    for (const frameLength of [0, 5]) {
      it(`suite 0x${suite.toString(16)}, ${frameLength === 0 ? 'non-framed' : 'framed'}: the SDK and we both decrypt it`, async () => {
        const pair = aesPair(32, 'enc')
        for (const size of [0, 1, 5, 11]) {
          const plaintext = new Uint8Array(randomBytes(size))
          const message = writeTestMessage({
            suiteId: suite,
            frameLength,
            plaintext,
            wrap: { key: pair.key, keyNamespace: 'esdk-test', keyName: 'enc' },
            context,
          })
          const sdk = await sdkClient(suite).decrypt(pair.sdk, message)
          assert.equal(Buffer.compare(sdk.plaintext, plaintext), 0, 'the SDK disagrees with the test encoder')
          const ours = await decryptEsdk(message, { keyring: pair.ours, commitmentPolicy: allow })
          assert.equal(Buffer.compare(Buffer.from(ours.plaintext), plaintext), 0)
          assert.equal(ours.header.contentType, frameLength === 0 ? 'non-framed' : 'framed')
          const streamed = await viaStream(message, { keyring: pair.ours, commitmentPolicy: allow }, 3)
          assert.equal(Buffer.compare(Buffer.from(streamed.plaintext), plaintext), 0)
        }
      })
    }
  }
})

describe('ESDK reader: commitment policy', () => {
  it('refuses legacy suites by default (ERR_UNSUPPORTED, no key opened) and opens them when allowed', async () => {
    const pair = aesPair(32)
    for (const suite of LEGACY_SUITES) {
      const message = await sdkEncrypt(pair.sdk, new Uint8Array(10), suite, 4096)
      await rejectsWithCode(decryptEsdk(message, { keyring: pair.ours }), 'ERR_UNSUPPORTED')
      await rejectsWithCode(decryptEsdk(message, { keyring: pair.ours, commitmentPolicy: 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' }), 'ERR_UNSUPPORTED')
      for (const commitmentPolicy of ['FORBID_ENCRYPT_ALLOW_DECRYPT', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT'] as const) {
        assert.equal((await decryptEsdk(message, { keyring: pair.ours, commitmentPolicy })).plaintext.length, 10)
      }
    }
  })
  it('rejects an unknown policy name as the caller’s mistake', async () => {
    const pair = aesPair(32)
    await rejectsWithCode(decryptEsdk(new Uint8Array(1), { keyring: pair.ours, commitmentPolicy: 'ALLOW' as never }), 'ERR_INVALID_ARGUMENT')
  })
  it('a wrong commitment key (the data key does not match the header) is ERR_AUTH', async () => {
    const pair = aesPair(32)
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(10), 0x0478, 4096)
    // The commitment key is the 32 bytes before the header tag; flipping it is caught before the header tag.
    const headerLength = (await decryptEsdk(message, { keyring: pair.ours })).header.headerLength
    const m = message.slice()
    m[headerLength - 16 - 1]! ^= 1
    await rejectsWithCode(decryptEsdk(m, { keyring: pair.ours }), 'ERR_AUTH')
  })
})

describe('ESDK reader: limits', () => {
  it('maxEncryptedDataKeys (default 16): more keys are refused before any is opened, as the SDK does', async () => {
    const keys = Array.from({ length: 3 }, (_, i) => aesPair(32, `k${i}`))
    const { MultiKeyringNode } = await import('@aws-crypto/client-node')
    const multi = new MultiKeyringNode({ generator: keys[0]!.sdk, children: keys.slice(1).map((k) => k.sdk) })
    const message = await sdkEncrypt(multi, new Uint8Array(5), 0x0478, 4096)
    await rejectsWithCode(decryptEsdk(message, { keyring: keys[2]!.ours, maxEncryptedDataKeys: 2 }), 'ERR_LIMIT')
    await assert.rejects(sdkClient(0x0478, 2).decrypt(keys[2]!.sdk, message))
    assert.equal((await decryptEsdk(message, { keyring: keys[2]!.ours, maxEncryptedDataKeys: 3 })).plaintext.length, 5)
    await rejectsWithCode(decryptEsdk(message, { keyring: keys[2]!.ours, maxEncryptedDataKeys: 0 }), 'ERR_INVALID_ARGUMENT')
  })
  it('a stream refuses frames larger than maxBodySize before buffering them', async () => {
    const pair = aesPair(32)
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(10), 0x0478, 65536)
    await rejectsWithCode(viaStream(message, { keyring: pair.ours, maxBodySize: 4096 }, 100), 'ERR_LIMIT')
    const nonFramed = writeTestMessage({
      suiteId: 0x0478,
      frameLength: 0,
      plaintext: new Uint8Array(5000),
      wrap: { key: pair.key, keyNamespace: 'esdk-test', keyName: 'aes-256' },
    })
    await rejectsWithCode(viaStream(nonFramed, { keyring: pair.ours, maxBodySize: 4096 }, 100), 'ERR_LIMIT')
    assert.equal((await viaStream(nonFramed, { keyring: pair.ours }, 100)).plaintext.length, 5000)
  })
})

describe('ESDK reader: required encryption context (reproducedContext)', () => {
  const pair = aesPair(32, 'req')
  const wrap = { key: pair.key, keyNamespace: 'esdk-test', keyName: 'req' }
  const message = writeTestMessage({
    suiteId: 0x0478,
    frameLength: 64,
    plaintext: new Uint8Array(100),
    wrap,
    context: { stored: 's' },
    required: { tenant: 'acme' },
  })
  it('opens with the required key given, and returns stored plus required context', async () => {
    const r = await decryptEsdk(message, { keyring: pair.ours, reproducedContext: { tenant: 'acme', stored: 's' } })
    assert.deepEqual(r.context, { stored: 's', tenant: 'acme' })
    assert.deepEqual(r.header.context, { stored: 's' })
  })
  it('without it, or with another value, the wrap and header do not authenticate', async () => {
    await rejectsWithCode(decryptEsdk(message, { keyring: pair.ours }), 'ERR_UNWRAP')
    await rejectsWithCode(decryptEsdk(message, { keyring: pair.ours, reproducedContext: { tenant: 'evil' } }), 'ERR_UNWRAP')
  })
  it('a stored key with another value is ERR_CONTEXT_MISMATCH before any key is opened', async () => {
    const e = await rejectsWithCode(decryptEsdk(message, { keyring: pair.ours, reproducedContext: { stored: 'x', tenant: 'acme' } }), 'ERR_CONTEXT_MISMATCH')
    assert.deepEqual((e as unknown as { keys: string[] }).keys, ['stored'])
  })
  it('a required key the writer did not require fails the header tag (ERR_AUTH) even though the wrap ignores it… when it binds', async () => {
    // RSA wraps do not bind the context: the header tag alone must catch an extra required key.
    const rsa = rsaPair('OAEP-SHA256-MGF1', 'req-rsa')
    const m = await sdkEncrypt(rsa.sdk, new Uint8Array(3), 0x0478, 4096, { a: 'b' })
    await rejectsWithCode(decryptEsdk(m, { keyring: rsa.ours, reproducedContext: { extra: 'x' } }), 'ERR_AUTH')
    assert.equal((await decryptEsdk(m, { keyring: rsa.ours, reproducedContext: { a: 'b' } })).plaintext.length, 3)
  })
})

describe('ESDK reader: keyrings', () => {
  it('no keyring holds a key: ERR_NO_MATCHING_KEY naming the keys; a wrong key under the same name: ERR_UNWRAP', async () => {
    const pair = aesPair(32, 'same')
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(3), 0x0478, 4096)
    await rejectsWithCode(
      decryptEsdk(message, { keyring: new RawAesKeyring({ keyNamespace: 'esdk-test', keyName: 'other', key: new Uint8Array(32) }) }),
      'ERR_NO_MATCHING_KEY',
    )
    await rejectsWithCode(
      decryptEsdk(message, { keyring: new RawAesKeyring({ keyNamespace: 'esdk-test', keyName: 'same', key: new Uint8Array(32) }) }),
      'ERR_UNWRAP',
    )
  })
  it('an RSA key with the wrong padding is ERR_UNWRAP', async () => {
    const sha1 = rsaPair('OAEP-SHA1-MGF1', 'pad')
    const sha256 = rsaPair('OAEP-SHA256-MGF1', 'pad')
    const message = await sdkEncrypt(sha1.sdk, new Uint8Array(3), 0x0478, 4096)
    await rejectsWithCode(decryptEsdk(message, { keyring: sha256.ours }), 'ERR_UNWRAP')
  })
  it('PKCS1: opens where Node decrypts PKCS #1 v1.5 (implicit rejection: Node 22+), where a wrong key is a typed error; ERR_UNSUPPORTED where Node refuses it (Node 20), which --security-revert=CVE-2023-46809 lifts', async () => {
    const pkcs1 = rsaPair('PKCS1', 'pkcs1')
    const message = await sdkEncrypt(pkcs1.sdk, new TextEncoder().encode('pkcs1 works'), 0x0478, 4096)
    if (pkcs1DecryptWorks()) {
      assert.equal(new TextDecoder().decode((await decryptEsdk(message, { keyring: pkcs1.ours })).plaintext), 'pkcs1 works')
      // Implicit rejection answers a wrong key with random bytes, not an error: the length check
      // or, when the length happens to fit, the header tag must still refuse it, typed.
      const stranger = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      })
      const wrong = new RawRsaKeyring({ keyNamespace: 'esdk-test', keyName: 'pkcs1', privateKey: stranger.privateKey, padding: 'PKCS1' })
      let caught: unknown
      try {
        await decryptEsdk(message, { keyring: wrong })
      } catch (error) {
        caught = error
      }
      assert.ok(['ERR_UNWRAP', 'ERR_AUTH'].includes((caught as { code?: string })?.code ?? ''), String(caught))
      return
    }
    await rejectsWithCode(decryptEsdk(message, { keyring: pkcs1.ours }), 'ERR_UNSUPPORTED')
    const script = `import { decryptEsdk, RawRsaKeyring } from ${JSON.stringify(`${ROOT}dist/src/esdk/index.js`)}
const [m, k] = JSON.parse(process.env.ESDK_INPUT)
const keyring = new RawRsaKeyring({ keyNamespace: 'esdk-test', keyName: 'pkcs1', privateKey: k, padding: 'PKCS1' })
const r = await decryptEsdk(Buffer.from(m, 'base64'), { keyring })
process.stdout.write(new TextDecoder().decode(r.plaintext))`
    const child = spawnSync(process.execPath, ['--security-revert=CVE-2023-46809', '--input-type=module', '-e', script], {
      env: { ...process.env, ESDK_INPUT: JSON.stringify([Buffer.from(message).toString('base64'), rsaKeyPair().privateKey]) },
      encoding: 'utf8',
    })
    assert.equal(child.status, 0, child.stderr)
    assert.ok(child.stdout.endsWith('pkcs1 works'), child.stdout)
  })
  it('keyrings keep their keys out of JSON and inspect', () => {
    const aes = new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', key: new Uint8Array(32).fill(7) })
    assert.equal(JSON.stringify(aes), '{"type":"raw-aes","keyNamespace":"n","keyName":"k"}')
    assert.equal(String(aes), 'RawAesKeyring <key redacted>')
    assert.throws(() => new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', key: new Uint8Array(20) }), { code: 'ERR_INVALID_ARGUMENT' })
  })
})

describe('ESDK reader: openEsdk (for the migration)', () => {
  it('returns the authenticated header, the data key (32-byte suites) and the EDK that opened it', async () => {
    const pair = aesPair(32)
    const plaintext = new Uint8Array(randomBytes(9000))
    const message = await sdkEncrypt(pair.sdk, plaintext, 0x0578, 4096, context)
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(message)
        c.close()
      },
    })
    const o = await openEsdk(source, { keyring: pair.ours })
    assert.equal(o.header.suiteId, 0x0578)
    assert.equal(o.openedWith.providerId, 'esdk-test')
    assert.equal(o.dataKey?.bytes.length, 32)
    o.dataKey?.wipe()
    const chunks: Uint8Array[] = []
    const reader = o.plaintext.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value)
    assert.equal(Buffer.compare(Buffer.concat(chunks), plaintext), 0)
    assert.equal(chunks.length, 3)
  })
  it('wiping dataKey right away leaves the plaintext stream working (identity-KDF suites keep their own frame key)', async () => {
    const pair = aesPair(32)
    for (const suite of [0x0078, 0x0014, 0x0046, 0x0478]) {
      const plaintext = new Uint8Array(randomBytes(5000))
      const message = await sdkEncrypt(pair.sdk, plaintext, suite, 4096)
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(message)
          c.close()
        },
      })
      const o = await openEsdk(source, { keyring: pair.ours, commitmentPolicy: allow })
      o.dataKey?.wipe()
      const chunks: Uint8Array[] = []
      const reader = o.plaintext.getReader()
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value)
      assert.equal(Buffer.compare(Buffer.concat(chunks), plaintext), 0, `suite 0x${suite.toString(16)}`)
    }
  })
  it('dataKey is undefined for the 128-bit legacy suites', async () => {
    const pair = aesPair(32)
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(1), 0x0014, 4096)
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(message)
        c.close()
      },
    })
    const o = await openEsdk(source, { keyring: pair.ours, commitmentPolicy: allow })
    assert.equal(o.dataKey, undefined)
    await o.plaintext.cancel()
  })
})
