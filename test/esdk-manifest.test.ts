/**
 * kms-envelope/esdk against the AWS crypto tools test-vector framework's raw-key cases (see
 * test/esdk-manifest.ts for the manifest, commit and files they come from): every scenario of
 * the raw-key encrypt manifest is written by `@aws-crypto/client-node` with keys generated at
 * test time and read back by the SDK and by our reader (buffer and stream) to the same bytes and
 * context; the framework's negative decrypt cases (truncate, mutate, half-sign, changed EDK
 * provider info) and a wrong key give our typed errors. `npm test` runs a bounded sample that
 * still covers every suite, frame size, context and provider set; `npm run test:esdk` runs all
 * (KMSE_ESDK_FULL=1), with PKCS1 under --security-revert=CVE-2023-46809.
 */
import assert from 'node:assert/strict'
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { EsdkReadOptions } from '../src/esdk/index.js'
import { decryptEsdk, RawAesKeyring } from '../src/esdk/index.js'
import { sdkClient, viaStream, writeTestMessage } from './esdk-helpers.js'
import type { EncryptScenario, KeysManifest } from './esdk-manifest.js'
import {
  FRAMEWORK_CONTEXTS,
  FRAMEWORK_FRAME_SIZES,
  FRAMEWORK_KMS_PROVIDER_SETS,
  FRAMEWORK_SUITES,
  frameworkEncryptManifest,
  generatedKeysManifest,
  ourKeyrings,
  parseEncryptManifest,
  pkcs1DecryptWorks,
  rawProviderSets,
  sdkKeyring,
  skipReason,
  testWraps,
} from './esdk-manifest.js'
import { rejectsWithCode } from './helpers.js'

const FULL = process.env.KMSE_ESDK_FULL === '1'
const allow = 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' as const

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return String((e as { code?: unknown }).code)
  }
  return 'resolved'
}

/** One scenario: written by the SDK (or, non-framed, the test encoder), read by the SDK and by us. */
async function runScenario(
  id: string,
  t: EncryptScenario,
  plaintexts: Readonly<Record<string, number>>,
  keys: KeysManifest,
): Promise<'sdk' | 'encoder' | string> {
  const suiteId = Number.parseInt(t.algorithm, 16)
  const frameLength = t['frame-size']
  const context = { ...t['encryption-context'] }
  const plaintext = new Uint8Array(randomBytes(plaintexts[t.plaintext]!))
  const where = `${id}: suite ${t.algorithm}, frame ${frameLength}, ${plaintext.length} bytes, ${t['master-keys'].map((k) => k.key).join(' + ')}`
  const skip = skipReason(t)
  if (skip?.startsWith('AWS KMS')) return skip
  const sdk = sdkKeyring(t['master-keys'], keys)
  const options: EsdkReadOptions = { keyring: ourKeyrings(t['master-keys'], keys), commitmentPolicy: allow }
  let message: Uint8Array
  let writer: 'sdk' | 'encoder'
  if (frameLength === 0) {
    const [wrap, ...alsoWrap] = testWraps(t['master-keys'], keys)
    message = writeTestMessage({ suiteId, frameLength: 0, plaintext, wrap: wrap!, alsoWrap, context })
    writer = 'encoder'
  } else {
    const { result } = await sdkClient(suiteId).encrypt(sdk, plaintext, { suiteId: suiteId as never, frameLength, encryptionContext: context })
    message = new Uint8Array(result)
    writer = 'sdk'
  }
  if (skip !== undefined) {
    // PKCS1 on a Node that refuses it: the refusal is ours to report, typed.
    await rejectsWithCode(decryptEsdk(message, options), 'ERR_UNSUPPORTED')
    return skip
  }
  const theirs = await sdkClient(suiteId).decrypt(sdk, message)
  assert.equal(Buffer.compare(theirs.plaintext, plaintext), 0, `the SDK does not read the message (${writer}): ${where}`)
  const ours = await decryptEsdk(message, options)
  assert.equal(Buffer.compare(Buffer.from(ours.plaintext), plaintext), 0, `plaintext differs: ${where}`)
  assert.deepEqual(ours.context, { ...theirs.messageHeader.encryptionContext }, `context differs from the SDK's: ${where}`)
  for (const [k, v] of Object.entries(context)) assert.equal(ours.context[k], v, `context entry ${JSON.stringify(k)} differs: ${where}`)
  assert.equal(ours.header.suiteId, suiteId, where)
  assert.equal(ours.header.frameLength, frameLength, where)
  assert.equal(ours.header.contentType, frameLength === 0 ? 'non-framed' : 'framed', where)
  assert.equal(ours.header.encryptedDataKeys.length, t['master-keys'].length, where)
  const streamed = await viaStream(message, options, 1 + (message.length % 613))
  assert.equal(Buffer.compare(Buffer.from(streamed.plaintext), plaintext), 0, `streamed plaintext differs: ${where}`)
  return writer
}

/** A sample that still has every suite, frame size, context, provider set and plaintext at least once, among the scenarios that run. */
function sampled(ids: readonly string[], manifest: ReturnType<typeof frameworkEncryptManifest>): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = 0; i < ids.length; i++) {
    // A stride coprime to the table's dimensions visits them spread out, not in table order.
    const id = ids[(i * 97) % ids.length]!
    const t = manifest.tests[id]!
    const skip = skipReason(t)
    if (skip !== undefined && !skip.startsWith('PKCS1')) continue
    const marks = [
      `s${t.algorithm}/f${t['frame-size']}`,
      `f${t['frame-size']}/${t['master-keys'].map((k) => (k.type === 'raw' ? k['encryption-algorithm'] : k.type)).join('+')}`,
      `s${t.algorithm}`,
      `f${t['frame-size']}`,
      `c${JSON.stringify(t['encryption-context'])}`,
      `k${JSON.stringify(t['master-keys'])}`,
      `p${t.plaintext}`,
    ]
    if (marks.some((m) => !seen.has(m))) {
      for (const m of marks) seen.add(m)
      out.push(id)
    }
  }
  return out
}

describe('ESDK reader: the test-vector framework raw-key encrypt manifest', () => {
  const keys = generatedKeysManifest()
  // Round-trip through JSON: what runs is what the manifest reader accepts.
  const manifest = parseEncryptManifest(JSON.parse(JSON.stringify(frameworkEncryptManifest(true))))
  const all = Object.keys(manifest.tests)
  const ids = FULL ? all : sampled(all, manifest)

  it('the table has the framework shape: suites × frame sizes × contexts × raw provider sets, two plaintexts', () => {
    const iterations = FRAMEWORK_SUITES.length * FRAMEWORK_FRAME_SIZES.length * FRAMEWORK_CONTEXTS.length
    assert.equal(rawProviderSets().length, 3 + 5 * 2)
    assert.equal(all.length, 2 * iterations * rawProviderSets().length)
    assert.throws(() => parseEncryptManifest({ ...manifest, tests: { x: { ...manifest.tests[all[0]!]!, 'frame-size': -1 } } }), /bad frame-size/)
    assert.throws(() => parseEncryptManifest({ ...manifest, manifest: { type: 'awses-encrypt', version: 9 } }), /version 2/)
  })

  it(`${FULL ? 'every' : 'a covering sample of the'} raw-key scenario${FULL ? '' : 's'}: the SDK writes, the SDK and we read the same bytes and context`, async () => {
    const started = performance.now()
    const counts = new Map<string, number>()
    for (const id of ids) {
      const outcome = await runScenario(id, manifest.tests[id]!, manifest.plaintexts, keys)
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
    }
    const ran = (counts.get('sdk') ?? 0) + (counts.get('encoder') ?? 0)
    const kms = 2 * FRAMEWORK_SUITES.length * FRAMEWORK_FRAME_SIZES.length * FRAMEWORK_CONTEXTS.length * FRAMEWORK_KMS_PROVIDER_SETS
    console.log(
      `framework raw-key manifest: ${ids.length} of ${all.length} scenarios in ${Math.round(performance.now() - started)} ms; ran ${ran} ` +
        `(${counts.get('sdk') ?? 0} written by the SDK, ${counts.get('encoder') ?? 0} non-framed by the test encoder); PKCS1 decrypt ${pkcs1DecryptWorks() ? 'on' : 'refused by Node'}`,
    )
    for (const [outcome, n] of counts) if (outcome !== 'sdk' && outcome !== 'encoder') console.log(`  skipped ${n}: ${outcome}`)
    console.log(`  not listed: ${kms} AWS KMS scenarios of the framework (its us-west-2 keys)`)
    assert.ok(ran > 0)
    if (FULL) assert.equal(ids.length, all.length)
    else assert.ok(ids.length >= 13 && ids.length < 90, `sample of ${ids.length}`)
  })
})

// ---- the framework's negative decrypt cases (0006 tampering) ---------------------------------

const UNPRINTABLE = FRAMEWORK_CONTEXTS[3]!

/** The 0006 tampering scenario: tiny plaintext, frame 512, the unprintable context, raw AES-128. */
async function tamperBase(suiteId: number) {
  const keys = generatedKeysManifest()
  const masterKeys = rawProviderSets()[0]!
  const sdk = sdkKeyring(masterKeys, keys)
  const plaintext = new Uint8Array(randomBytes(10))
  const { result } = await sdkClient(suiteId).encrypt(sdk, plaintext, { suiteId: suiteId as never, frameLength: 512, encryptionContext: { ...UNPRINTABLE } })
  const options: EsdkReadOptions = { keyring: ourKeyrings(masterKeys, keys), commitmentPolicy: allow }
  const ok = await decryptEsdk(result, options)
  assert.equal(Buffer.compare(Buffer.from(ok.plaintext), plaintext), 0)
  return { message: new Uint8Array(result), options, keys, sdk }
}

describe('ESDK reader: the test-vector framework negative decrypt cases', () => {
  it('truncate: the 0578 message cut at every length 1 … n-1 is a typed error (ERR_TRUNCATED, or ERR_FORMAT inside the header), and the SDK refuses them', async () => {
    const { message, options, sdk } = await tamperBase(0x0578)
    const codes = new Map<string, number>()
    for (let n = 1; n < message.length; n++) {
      const code = await errorCode(decryptEsdk(message.subarray(0, n), options))
      codes.set(code, (codes.get(code) ?? 0) + 1)
      if (FULL || n % 5 === 0) {
        const streamed = await errorCode(viaStream(message.subarray(0, n), options, 1 + (n % 17)))
        assert.equal(streamed === 'resolved', false, `stream accepted a message cut at ${n}`)
        // The reverse check: the SDK refuses the same cut.
        assert.notEqual(await errorCode(sdkClient(0x0578).decrypt(sdk, message.subarray(0, n))), 'resolved', `the SDK accepted a cut at ${n}`)
      }
    }
    assert.deepEqual(
      [...codes.keys()].filter((c) => c !== 'ERR_TRUNCATED' && c !== 'ERR_FORMAT'),
      [],
      `codes: ${JSON.stringify([...codes])}`,
    )
    assert.ok((codes.get('ERR_TRUNCATED') ?? 0) > message.length / 2, `codes: ${JSON.stringify([...codes])}`)
  })

  it(`mutate: ${FULL ? 'every' : 'every 3rd'} single-bit flip of the 0578 message is a typed error, none gives plaintext (the SDK refuses every 31st too)`, async () => {
    const { message, options, sdk } = await tamperBase(0x0578)
    const allowed = new Set([
      'ERR_FORMAT',
      'ERR_TRUNCATED',
      'ERR_UNSUPPORTED',
      'ERR_LIMIT',
      'ERR_AUTH',
      'ERR_NO_MATCHING_KEY',
      'ERR_UNWRAP',
      'ERR_CONTEXT_MISMATCH',
    ])
    const codes = new Map<string, number>()
    let flips = 0
    for (let bit = 0; bit < message.length * 8; bit += FULL ? 1 : 3) {
      const m = message.slice()
      m[bit >> 3]! ^= 1 << (bit & 7)
      const code = await errorCode(decryptEsdk(m, options))
      assert.ok(allowed.has(code), `bit ${bit}: ${code}`)
      if (bit % 31 === 0) assert.notEqual(await errorCode(sdkClient(0x0578).decrypt(sdk, m)), 'resolved', `the SDK accepted bit flip ${bit}`)
      codes.set(code, (codes.get(code) ?? 0) + 1)
      flips++
    }
    console.log(`framework mutate: ${flips} bit flips of a ${message.length}-byte 0578 message: ${JSON.stringify(Object.fromEntries(codes))}`)
    assert.ok((codes.get('ERR_AUTH') ?? 0) > 0)
  })

  it('half-sign: an unsigned suite (0478) header with a public key in its context and a signature appended is refused, signature or not (ERR_FORMAT), as by the SDK', async () => {
    const { keys } = await tamperBase(0x0478)
    const k = keys.keys['aes-128']!
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    const jwk = ec.publicKey.export({ format: 'jwk' })
    const y = Buffer.from(jwk.y!, 'base64url')
    const publicKey = Buffer.concat([Buffer.from([2 + (y[y.length - 1]! & 1)]), Buffer.from(jwk.x!, 'base64url')]).toString('base64')
    const body = writeTestMessage({
      suiteId: 0x0478,
      frameLength: 512,
      plaintext: new Uint8Array(randomBytes(10)),
      wrap: { key: new Uint8Array(Buffer.from(k.material!, 'base64')), keyNamespace: 'aws-raw-vectors-persistant', keyName: 'aes-128' },
      context: { ...UNPRINTABLE, 'aws-crypto-public-key': publicKey },
    })
    const signature = createSign('sha384').update(body).sign({ key: ec.privateKey, dsaEncoding: 'der' })
    const halfSigned = new Uint8Array(Buffer.concat([body, Buffer.from([signature.length >> 8, signature.length & 0xff]), signature]))
    const options: EsdkReadOptions = { keyring: ourKeyrings(rawProviderSets()[0]!, keys), commitmentPolicy: allow }
    // As the specification's default CMM: refused with or without the signature, and the SDK agrees.
    for (const m of [body, halfSigned]) {
      await rejectsWithCode(decryptEsdk(m, options), 'ERR_FORMAT')
      assert.notEqual(await errorCode(viaStream(m, options, 64)), 'resolved')
      await assert.rejects(sdkClient(0x0478).decrypt(sdkKeyring(rawProviderSets()[0]!, keys), m), /public verification key for unsigned/)
    }
  })

  it('change-edk-provider-info: the EDK provider info replaced by a KMS key ARN finds no key (ERR_NO_MATCHING_KEY)', async () => {
    const { message, options } = await tamperBase(0x0578)
    const b = Buffer.from(message)
    // Version 2 header: version, suite, 32-byte message id, context, then the EDK list.
    let at = 1 + 2 + 32
    at += 2 + b.readUInt16BE(at)
    assert.equal(b.readUInt16BE(at), 1)
    at += 2
    at += 2 + b.readUInt16BE(at)
    const infoLength = b.readUInt16BE(at)
    const arn = Buffer.from('arn:aws:kms:us-west-2:658956600833:alias/EncryptOnly')
    const len = Buffer.from([arn.length >> 8, arn.length & 0xff])
    const changed = new Uint8Array(Buffer.concat([b.subarray(0, at), len, arn, b.subarray(at + 2 + infoLength)]))
    await rejectsWithCode(decryptEsdk(changed, options), 'ERR_NO_MATCHING_KEY')
  })

  it('a key of the same name with other material (wrong key) is ERR_UNWRAP; the right key with another expected context is ERR_CONTEXT_MISMATCH', async () => {
    const { message, options } = await tamperBase(0x0578)
    await rejectsWithCode(decryptEsdk(message, { ...options, reproducedContext: { key1: 'other' } }), 'ERR_CONTEXT_MISMATCH')
    const wrong = new RawAesKeyring({ keyNamespace: 'aws-raw-vectors-persistant', keyName: 'aes-128', key: new Uint8Array(randomBytes(16)) })
    await rejectsWithCode(decryptEsdk(message, { keyring: wrong }), 'ERR_UNWRAP')
  })
})
