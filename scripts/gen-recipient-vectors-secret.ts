/**
 * Test vectors for the passphrase (`scrypt`, FORMAT.md §17) and KMS RSA (`aws-kms-rsa`, §18)
 * recipients, in test/vectors/recipients/ (beside, not among, the local and aws-kms vectors,
 * whose tests read every file of test/vectors/). Run after a build:
 * `node dist/scripts/gen-recipient-vectors-secret.js` (also part of `npm run vectors`).
 *
 * Every value is reproducible: salts, data keys and secrets come from seeds, the RSA key pair
 * is a fixed test key generated once for these vectors (it stands in for the KMS key, and is
 * in each vector so a reader can check the recorded Decrypt), and RSA-OAEP's own random seed
 * is seeded too (OAEP padding built here, then raw RSA), so test/vectors-secret.test.ts can
 * require the files byte for byte.
 */
import { createPrivateKey, createPublicKey, publicEncrypt, constants as rsaConstants } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { CryptoBackend } from '../src/crypto/backend.js'
import { DataKey } from '../src/crypto/data-key.js'
import { deriveMessageKeys } from '../src/crypto/keys.js'
import { sealMessage } from '../src/crypto/message.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { sealOnce } from '../src/crypto/one-time-aead.js'
import { encodeCbor } from '../src/format/cbor.js'
import { SUITE_AES256GCM_HKDFSHA512_COMMIT } from '../src/format/constants.js'
import { canonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import { LocalKeyring, wrapWithFixedSaltForVectors } from '../src/keyrings/local.js'
import { PassphraseKeyring, wrapPassphraseWithFixedSaltForVectors } from '../src/keyrings/passphrase.js'
import type { KmsRecording, Vector } from './gen-vectors.js'

/** One request of an aws-kms-rsa vector: Decrypt with the algorithm named and no context. */
export interface KmsRsaRequest {
  readonly operation: 'Decrypt'
  readonly KeyId: string
  readonly CiphertextBlob: string
  readonly EncryptionAlgorithm: 'RSAES_OAEP_SHA_256'
}

/** A `scrypt` vector: the reader holds `passphrase` with limit `maxWorkFactor`. */
export interface ScryptVector extends Vector {
  readonly passphrase: { readonly utf8: string }
  readonly maxWorkFactor: number
  readonly scrypt?: { readonly logN: number; readonly salt: string; readonly wrapKey: string }
}

/** An `aws-kms-rsa` vector: §11.1's recording, plus the stand-in RSA key and the wrap's intermediates. */
export interface KmsRsaVector extends Vector {
  readonly kms: Omit<KmsRecording, 'requests'> & { readonly requests: readonly KmsRsaRequest[] }
  readonly rsaPrivateKey: string
  readonly rsaPublicKey: string
  readonly rsaWrap?: { readonly secret: string; readonly wrapKey: string }
}

function seeded(label: string, length: number): Uint8Array {
  return nodeBackend.hkdfSha512(utf8ToBytes('kms-envelope recipient vectors v1'), new Uint8Array(0), utf8ToBytes(label), length)
}

const FRAME = 64
const CTX = { tenant: 'acme', purpose: 'test vectors' }
const LOGN = 10
const PASSPHRASE = 'correct horse battery staple'
const KMS_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab'
const KMS_ARN_OTHER = 'arn:aws:kms:eu-west-1:111122223333:key/8765dcba-09fe-87dc-65ba-ab0987654321'
/** RSA-2048 PKCS#8 (DER, hex): a test key made once for these vectors. Never use it for anything else. */
const RSA_PRIVATE_PKCS8 =
  '308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100c70c083eceefef15ca1129ed15a2eb5539b6790bfa925f2984fdd585e7def08084ed261cbc6387f393f5369a6b5c915fc227663bb5a390328d5387dcbfd116d444696ff2a9815dc1e41d1237cc026f2acad844fd346cd0d1e9593a32214ebc3e9516d2f7de7d257e485f37856c352549c1dd899dbc07bcef8c659159372a234502d402d63eceb0271ba36d1aef706c662010872dc9accd4a59f8a28c03b14503a346be886a2261a6a8e035ddfc47f936240008ccb7b085645f07d8c43501c1088831afc12e4de2bee874772a3ac5d9382a8a26281a6e300b5cfaab5da14ad2f20ad528f5dffea27fb78582892d2e3e8134f15587b79ed30ff84293fd6b01f36f02030100010282010014365d93fb319426b34940e7a95dcce5efa15ef35f7383a454b3edfdd608e685367a5a776a8df4dd4036136064ec967a91ddac5cfdd9e927a90045789e25de5a99c3d7315e131bf13777d844c03bb30c3662f5c67c8f5c3924a801e7db4802879c5e1ff839a89da9103253120265f72e61385ce41e96ee91a8c11b9c62a4adc6032f05baa2fe8bf71019a50a8b9566af35efded88ea6fc1dcfd14861a58358e20c6428f47182ad981e8480d622092bd52c392ebc4167372cdeecb2010713247499a436e12aa32ae4f7d2796504cd91f6c4e4c05c5feb36c3dea41bdd8c67d9256fa8f7a6273fa0bc0ce366dc0ae7e2092a0b88316271049e7859f422350853a102818100f8af482155da84fba4239ce60ca8927138afdb373c6aeb807c5318a13cb32733339c9f01d85f111a08217b13d66da488cc5a91a78ec3a4f7660b709104c679059a277875b266868f240c73c1e7a4ad65fba63b86b24eaed9fc536dcc38e8c1bb89a28693df13011f3dce2959748cd8caeee358b81ceca7547e0f61c03b963bd102818100cce6f44453a7b279700267879ae3272314440f762acc733dc5375c56073bb9d28a956a17304837177d99b5e13bb0ca871a8becb90fb609da060b0700f2724ec0cd00ece268ed2fca434b002844dfbf4aab14cc779ed6e3f946cdd79ab4d7418454de2fc8b71c2d41a3a0d0f4e00ff462ae59e9b227025f73bca7bbcabd134b3f0281803f50f17e7b4b6dbc5c282d146d78a60069bc6c85fdbe0343ed6382cbda968a8e80bf89c4808083ec2ad1cb725b9002ea498d6db449a70a636af9d2a9399c06c8245d944ff3222374626b4135c772a82b650d07eedd8b26fd9d3ee89fac85a67dc727383881fd66b5bb98b7f26cb847a2337c72e43d890b7979b714de4acd8f61028180450624110451409911f76d62cbf56b50b0da008f60f98074b583e1b2053bc46c3d4cf9f117cdabe958e137d8c8dfd449d0d2840b0f54d65ac0a0645a9851935ff56f335d4dd560bcf51045dc4adf48b4618f5f1588c781028f2c764de24f84fd8c0d50f17f6599853c16c76d463179b4e860d78db10066a1395313bac718c1c702818100b0cc9d425a4fb0ca5c326fe7f7cecb322fb13558e543e454b3450312e46971c3d96faeb6f1e1394041f733b9f86f7b5e82758b83292fefefb70b29068faae3f56654d11216a9d8b4870298dab55de25bc424b23c6ee70658c528625015035a8ad48dff1f76e7fbe02c3c60bf3b5f1bb2b5aaa6ba5602ad37e997e4b8e7fa7cac'
const localKey = new LocalKeyring({ keyId: 'vector-local', key: seeded('local key', 32) })
const LOCAL = { keyId: 'vector-local', key: bytesToHex(seeded('local key', 32)) }

let backend: CryptoBackend = nodeBackend

interface Built {
  readonly message: Uint8Array
  readonly dataKey: Uint8Array
  readonly messageId: Uint8Array
}

function seal(name: string, plaintext: Uint8Array, context: Record<string, string>, recipients: Recipient[], dataKeyBytes: Uint8Array): Built {
  const messageId = seeded(`${name} message id`, 32)
  const message = sealMessage(
    backend,
    { dataKey: new DataKey(dataKeyBytes.slice()), recipients, context: canonicalContext(context, 'context', true), frameSize: FRAME, messageId },
    plaintext,
  )
  return { message, dataKey: dataKeyBytes, messageId }
}

function intermediate(b: Built): NonNullable<Vector['intermediate']> {
  const keys = deriveMessageKeys(backend, b.dataKey, b.messageId, SUITE_AES256GCM_HKDFSHA512_COMMIT)
  try {
    return {
      dataKey: bytesToHex(b.dataKey),
      messageId: bytesToHex(b.messageId),
      contentKey: bytesToHex(keys.contentKey),
      commitment: bytesToHex(keys.commitment),
    }
  } finally {
    keys.wipe()
  }
}

function outcome(b: Built, plaintext: Uint8Array, context: Record<string, string>, code: string | undefined) {
  if (code !== undefined) return { expect: 'failure' as const, code, message: bytesToHex(b.message) }
  return {
    expect: 'success' as const,
    message: bytesToHex(b.message),
    plaintext: { hex: bytesToHex(plaintext), utf8: new TextDecoder().decode(plaintext) },
    context,
    intermediate: intermediate(b),
  }
}

/** The `scrypt` vectors (FORMAT.md §17). */
export async function generateScryptVectors(using: CryptoBackend = nodeBackend): Promise<ScryptVector[]> {
  backend = using
  const ctx = canonicalContext(CTX, 'context', true)
  const writer = new PassphraseKeyring({ passphrase: PASSPHRASE, workFactor: LOGN })
  const dataKey = seeded('scrypt data key', 32)
  const salt = seeded('scrypt salt', 32)
  const entry = await wrapPassphraseWithFixedSaltForVectors(writer, new DataKey(dataKey.slice()), ctx, salt, using)
  const wrapKey = await using.scrypt(utf8ToBytes(PASSPHRASE), concatBytes(utf8ToBytes('KMSE v1 scrypt wrap'), salt), LOGN)
  const pt = utf8ToBytes('opened with a passphrase')
  const pos = seal('scrypt-pos', pt, CTX, [entry], dataKey)
  const hostile = new Uint8Array(entry.wrapped)
  hostile[0] = 40
  const otherCtx = { tenant: 'acme', purpose: 'test vectorz' }
  const local = wrapWithFixedSaltForVectors(localKey, new DataKey(dataKey.slice()), ctx, seeded('scrypt local salt', 32), using)
  const base = { keys: [], decrypt: {}, passphrase: { utf8: PASSPHRASE }, maxWorkFactor: 18 }
  const v = (name: string, comment: string, b: Built, code?: string, extra: Partial<ScryptVector> = {}): ScryptVector => ({
    name,
    comment,
    ...base,
    ...outcome(b, pt, name === 'scrypt-neg-wrong-context' ? otherCtx : CTX, code),
    ...extra,
  })
  return [
    v('scrypt-pos', 'one passphrase recipient, work factor 2^10', pos, undefined, {
      scrypt: { logN: LOGN, salt: bytesToHex(salt), wrapKey: bytesToHex(wrapKey) },
    }),
    v(
      'scrypt-neg-hostile-work-factor',
      'scrypt-pos with the work factor byte set to 40 (2^40: a terabyte and hours): refused before scrypt runs',
      seal('scrypt-pos', pt, CTX, [{ ...entry, wrapped: hostile }], dataKey),
      'ERR_LIMIT',
    ),
    v('scrypt-neg-wrong-passphrase', 'scrypt-pos opened with another passphrase', pos, 'ERR_UNWRAP', { passphrase: { utf8: 'Correct horse battery staple' } }),
    v(
      'scrypt-neg-wrong-context',
      'scrypt-pos\'s entry (wrapped for purpose "test vectors") in a header whose context says "test vectorz": the AAD does not match',
      seal('scrypt-pos', pt, otherCtx, [entry], dataKey),
      'ERR_UNWRAP',
    ),
    v(
      'scrypt-neg-not-alone',
      'a scrypt entry beside a local one (the reader holds the passphrase only): refused before scrypt, a passphrase must be the only recipient',
      seal('scrypt-neg-not-alone', pt, CTX, [entry, local], dataKey),
      'ERR_UNWRAP',
    ),
  ]
}

/** RSAES-OAEP-SHA-256 (RFC 8017 §7.1.1, MGF1-SHA-256, empty label) with a chosen seed, so vectors are reproducible. */
function oaepEncrypt(publicKey: ReturnType<typeof createPublicKey>, message: Uint8Array, seed: Uint8Array): Uint8Array {
  const k = 256
  const hLen = 32
  const mgf1 = (input: Uint8Array, length: number): Uint8Array => {
    const out = new Uint8Array(length)
    for (let counter = 0, at = 0; at < length; counter++, at += hLen) {
      const block = sha256(concatBytes(input, Uint8Array.of(counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255)))
      out.set(block.subarray(0, Math.min(hLen, length - at)), at)
    }
    return out
  }
  const db = new Uint8Array(k - hLen - 1)
  db.set(sha256(new Uint8Array(0)), 0)
  db[db.length - message.length - 1] = 1
  db.set(message, db.length - message.length)
  const dbMask = mgf1(seed, db.length)
  const maskedDb = db.map((b, i) => b ^ dbMask[i]!)
  const seedMask = mgf1(maskedDb, hLen)
  const maskedSeed = seed.map((b, i) => b ^ seedMask[i]!)
  const em = concatBytes(new Uint8Array(1), maskedSeed, maskedDb)
  return new Uint8Array(publicEncrypt({ key: publicKey, padding: rsaConstants.RSA_NO_PADDING }, em))
}

/** The `aws-kms-rsa` vectors (FORMAT.md §18). */
export function generateKmsRsaVectors(using: CryptoBackend = nodeBackend): KmsRsaVector[] {
  backend = using
  const privateKey = createPrivateKey({ key: Buffer.from(RSA_PRIVATE_PKCS8, 'hex'), format: 'der', type: 'pkcs8' })
  const publicKey = createPublicKey(privateKey)
  const spki = bytesToHex(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })))
  const wrap = (name: string, dataKey: Uint8Array, context: Record<string, string>) => {
    const secret = seeded(`${name} secret`, 32)
    const rsa = oaepEncrypt(publicKey, secret, seeded(`${name} oaep seed`, 32))
    const wrapKey = using.hkdfSha512(secret, new Uint8Array(0), utf8ToBytes('KMSE v1 aws-kms-rsa wrap'), 32)
    const wrapped = new Uint8Array(rsa.length + 48)
    wrapped.set(rsa, 0)
    sealOnce(using, wrapKey, dataKey, encodeCbor(['KMSE v1 aws-kms-rsa wrap', KMS_ARN, canonicalContext(context, 'context', true)]), wrapped, rsa.length)
    return { recipient: { type: 'aws-kms-rsa', keyId: KMS_ARN, wrapped } as Recipient, rsa, secret, wrapKey }
  }
  const request = (rsa: Uint8Array): KmsRsaRequest => ({
    operation: 'Decrypt',
    KeyId: KMS_ARN,
    CiphertextBlob: bytesToHex(rsa),
    EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
  })
  const region = 'eu-west-1'
  const pt = utf8ToBytes('encrypted offline to a KMS RSA key')
  const dataKey = seeded('rsa data key', 32)
  const single = wrap('aws-kms-rsa-single', dataKey, CTX)
  const singleMsg = seal('aws-kms-rsa-single', pt, CTX, [single.recipient], dataKey)
  const local = wrapWithFixedSaltForVectors(localKey, new DataKey(dataKey.slice()), canonicalContext(CTX, 'context', true), seeded('rsa local salt', 32), using)
  const mixedMsg = seal('aws-kms-rsa-and-local', pt, CTX, [single.recipient, local], dataKey)
  const otherCtx = { tenant: 'acme', purpose: 'test vectorz' }
  const moved = seal('aws-kms-rsa-single', pt, otherCtx, [single.recipient], dataKey)
  const answer = { KeyId: KMS_ARN, Plaintext: bytesToHex(single.secret) }
  const rsaWrap = { secret: bytesToHex(single.secret), wrapKey: bytesToHex(single.wrapKey) }
  const v = (
    name: string,
    comment: string,
    b: Built,
    kms: KmsRsaVector['kms'],
    code?: string,
    extra: { keys?: Vector['keys']; context?: Record<string, string> } = {},
  ): KmsRsaVector => ({
    name,
    comment,
    keys: extra.keys ?? [],
    decrypt: {},
    ...outcome(b, pt, extra.context ?? CTX, code),
    kms,
    rsaPrivateKey: RSA_PRIVATE_PKCS8,
    rsaPublicKey: spki,
    ...(code === undefined ? { rsaWrap } : {}),
  })
  return [
    v('aws-kms-rsa-single', 'one aws-kms-rsa recipient: one Decrypt naming the algorithm, pinned to the key ARN, without a context', singleMsg, {
      keyIds: [KMS_ARN],
      region,
      requests: [request(single.rsa)],
      responses: [answer],
    }),
    v('aws-kms-rsa-and-local-rsa-reader', 'an aws-kms-rsa and a local recipient; the reader holds only the RSA key', mixedMsg, {
      keyIds: [KMS_ARN],
      region,
      requests: [request(single.rsa)],
      responses: [answer],
    }),
    v(
      'aws-kms-rsa-and-local-local-reader',
      'the same message; the reader holds only the local key and must not call KMS',
      mixedMsg,
      { keyIds: [], region, requests: [], responses: [] },
      undefined,
      { keys: [LOCAL] },
    ),
    v(
      'aws-kms-rsa-neg-wrong-context',
      'aws-kms-rsa-single\'s entry in a header whose context says "test vectorz": KMS opens the RSA part (it sees no context), the sealed part\'s AAD does not match',
      moved,
      { keyIds: [KMS_ARN], region, requests: [request(single.rsa)], responses: [answer] },
      'ERR_UNWRAP',
    ),
    v(
      'aws-kms-rsa-neg-other-key-id',
      'KMS answers with the right secret but for another key ARN than the one requested: rejected',
      singleMsg,
      { keyIds: [KMS_ARN], region, requests: [request(single.rsa)], responses: [{ KeyId: KMS_ARN_OTHER, Plaintext: bytesToHex(single.secret) }] },
      'ERR_KMS',
    ),
  ]
}

/** Where these vectors live. */
export const RECIPIENT_VECTORS_SUBDIR = 'recipients'
const PREFIXES = ['scrypt-', 'aws-kms-rsa-']

const here = fileURLToPath(import.meta.url)
if (process.argv[1] === here) {
  const dir = fileURLToPath(new URL(`../../test/vectors/${RECIPIENT_VECTORS_SUBDIR}/`, import.meta.url))
  // Generated before the old files go: a generator that throws leaves the vectors as they were.
  const vectors: Vector[] = [...(await generateScryptVectors()), ...generateKmsRsaVectors()]
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && PREFIXES.some((p) => f.startsWith(p))) rmSync(join(dir, f))
  for (const v of vectors) writeFileSync(join(dir, `${v.name}.json`), `${JSON.stringify(v, null, 2)}\n`)
  console.log(`wrote ${vectors.length} vectors to ${dir}`)
}
