/**
 * Shared by the ESDK reader's tests: the AWS Encryption SDK's own keyrings and client (which
 * write the messages at test time), the matching kms-envelope/esdk keyrings, and a small
 * test-only ESDK encoder for what the SDK's encrypt cannot write (non-framed bodies,
 * required encryption context, hand-chosen message ids), itself checked against the SDK's decrypt.
 */
import assert from 'node:assert/strict'
import { createCipheriv, createHash, createSign, generateKeyPairSync, hkdfSync, publicEncrypt, randomBytes } from 'node:crypto'
import type { KeyringNode } from '@aws-crypto/client-node'
import { buildClient, CommitmentPolicy, MultiKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode } from '@aws-crypto/client-node'
import type { EsdkKeyringInput, EsdkReadOptions, RsaPadding } from '../src/esdk/index.js'
import { decryptEsdk, decryptEsdkStream, RawAesKeyring, RawRsaKeyring } from '../src/esdk/index.js'

export const COMMITTING_SUITES = [0x0478, 0x0578] as const
export const LEGACY_SUITES = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378] as const
export const ALL_SUITES = [...LEGACY_SUITES, ...COMMITTING_SUITES] as const

/** The SDK client for a suite: committing suites under the default policy, legacy ones under FORBID_ENCRYPT. */
export function sdkClient(suiteId: number, maxEncryptedDataKeys?: number) {
  const commitmentPolicy = suiteId >= 0x0478 ? CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
  return buildClient({ commitmentPolicy, maxEncryptedDataKeys: maxEncryptedDataKeys ?? false })
}

/** The SDK encrypts: `frameLength` as given, the suite's own policy. */
export async function sdkEncrypt(
  keyring: KeyringNode,
  plaintext: Uint8Array,
  suiteId: number,
  frameLength: number,
  encryptionContext: Record<string, string> = {},
): Promise<Uint8Array> {
  const { result } = await sdkClient(suiteId).encrypt(keyring, plaintext, { suiteId: suiteId as never, frameLength, encryptionContext })
  return new Uint8Array(result)
}

/** One keyring on both sides: the SDK's (to write) and ours (to read). */
export interface KeyringPair {
  readonly label: string
  readonly sdk: KeyringNode
  readonly ours: EsdkKeyringInput | readonly EsdkKeyringInput[]
}

const AES_SUITES = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
} as const

/** A raw AES pair with a wrapping key of `bytes` (the SDK wipes the key it is given: it gets a copy). */
export function aesPair(bytes: 16 | 24 | 32, keyName = `aes-${bytes * 8}`, keyNamespace = 'esdk-test'): KeyringPair & { readonly key: Uint8Array } {
  const key = new Uint8Array(randomBytes(bytes))
  return {
    label: `raw AES-${bytes * 8}`,
    key,
    sdk: new RawAesKeyringNode({ keyName, keyNamespace, unencryptedMasterKey: key.slice(), wrappingSuite: AES_SUITES[bytes] }),
    ours: new RawAesKeyring({ keyName, keyNamespace, key }),
  }
}

let rsa: { publicKey: string; privateKey: string } | undefined
/** One 2048-bit RSA key for the whole run (PKCS #8 PEM). */
export function rsaKeyPair(): { publicKey: string; privateKey: string } {
  rsa ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return rsa
}

const NODE_PADDING = { PKCS1: 1, OAEP: 4 } as const

/** A raw RSA pair. */
export function rsaPair(padding: RsaPadding, keyName = `rsa-${padding}`, keyNamespace = 'esdk-test'): KeyringPair {
  const { publicKey, privateKey } = rsaKeyPair()
  const oaepHash = padding === 'PKCS1' ? undefined : (padding.slice(5, -5).toLowerCase() as 'sha1' | 'sha256')
  return {
    label: `raw RSA ${padding}`,
    sdk: new RawRsaKeyringNode({
      keyName,
      keyNamespace,
      // The private key too, so the SDK's own decrypt is the reference (Node refuses it for PKCS1).
      rsaKey: { publicKey, privateKey },
      padding: padding === 'PKCS1' ? NODE_PADDING.PKCS1 : NODE_PADDING.OAEP,
      ...(oaepHash === undefined ? {} : { oaepHash }),
    }),
    ours: new RawRsaKeyring({ keyName, keyNamespace, privateKey, padding }),
  }
}

/** An SDK multi-keyring (AES generator, RSA child); ours holds only the RSA key, so it must find the second EDK. */
export function multiPair(): KeyringPair {
  const aes = aesPair(32, 'multi-aes')
  const oaep = rsaPair('OAEP-SHA256-MGF1', 'multi-rsa')
  return { label: 'multi-keyring (AES + RSA), read with RSA', sdk: new MultiKeyringNode({ generator: aes.sdk, children: [oaep.sdk] }), ours: oaep.ours }
}

/** Plaintext sizes around the frame boundaries of `frameLength`. */
export function sizesAround(frameLength: number): number[] {
  const s = new Set([0, 1, frameLength - 1, frameLength, frameLength + 1, 2 * frameLength, 2 * frameLength + 1])
  return [...s].filter((n) => n >= 0).sort((a, b) => a - b)
}

// ---- the test-only encoder --------------------------------------------------------------

interface SuiteInfo {
  readonly keyBytes: number
  readonly kdf: 'identity' | 'sha256' | 'sha384' | 'commit'
  readonly curve: 'prime256v1' | 'secp384r1' | undefined
}

const SUITE_INFO: Record<number, SuiteInfo> = {
  20: { keyBytes: 16, kdf: 'identity', curve: undefined },
  70: { keyBytes: 24, kdf: 'identity', curve: undefined },
  120: { keyBytes: 32, kdf: 'identity', curve: undefined },
  276: { keyBytes: 16, kdf: 'sha256', curve: undefined },
  326: { keyBytes: 24, kdf: 'sha256', curve: undefined },
  376: { keyBytes: 32, kdf: 'sha256', curve: undefined },
  532: { keyBytes: 16, kdf: 'sha256', curve: 'prime256v1' },
  838: { keyBytes: 24, kdf: 'sha384', curve: 'secp384r1' },
  888: { keyBytes: 32, kdf: 'sha384', curve: 'secp384r1' },
  1144: { keyBytes: 32, kdf: 'commit', curve: undefined },
  1400: { keyBytes: 32, kdf: 'commit', curve: 'secp384r1' },
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

/** The SDK's context serialization: sorted by UTF-8 key bytes, count first; empty is zero bytes. */
export function serializeTestContext(context: Record<string, string>): Buffer {
  const entries = Object.entries(context)
    .map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]))
  if (entries.length === 0) return Buffer.alloc(0)
  return Buffer.concat([u16(entries.length), ...entries.flatMap(([k, v]) => [u16(k.length), k, u16(v.length), v])])
}

function gcmSeal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const algorithm = `aes-${key.length * 8}-gcm` as 'aes-256-gcm'
  const c = createCipheriv(algorithm, key, iv)
  c.setAAD(aad)
  const body = Buffer.concat([c.update(plaintext), c.final()])
  return Buffer.concat([body, c.getAuthTag()])
}

/** What {@link writeTestMessage} writes. */
export interface TestMessageOptions {
  readonly suiteId: number
  /** 0 writes a non-framed body. */
  readonly frameLength: number
  readonly plaintext: Uint8Array
  /** The raw AES wrapping key, namespace and name (as {@link aesPair}), or a raw RSA public key. */
  readonly wrap: TestWrap
  /** More encrypted data keys after the first, in order (an SDK multi-keyring's children). */
  readonly alsoWrap?: readonly TestWrap[]
  readonly context?: Record<string, string>
  /** Required (authenticate-only) context: not stored, bound by the header tag and the key wrap. */
  readonly required?: Record<string, string>
}

/** A raw AES wrapping key, or a raw RSA public key (PEM) with its padding, as the SDK's raw keyrings wrap. */
export type TestWrap =
  | { readonly key: Uint8Array; readonly keyNamespace: string; readonly keyName: string }
  | { readonly publicKey: string; readonly padding: RsaPadding; readonly keyNamespace: string; readonly keyName: string }

/** One serialized EDK: raw AES binds the full context as AAD; raw RSA stores the key name as provider info. */
function wrapEdk(w: TestWrap, dataKey: Uint8Array, fullContext: Record<string, string>): Buffer {
  let providerInfo: Buffer
  let edk: Buffer
  if ('key' in w) {
    const wrapIv = randomBytes(12)
    edk = gcmSeal(w.key, wrapIv, dataKey, serializeTestContext(fullContext))
    providerInfo = Buffer.concat([Buffer.from(w.keyName), u32(128), u32(12), wrapIv])
  } else {
    const oaepHash = w.padding === 'PKCS1' ? undefined : w.padding.slice(5, -5).toLowerCase()
    edk = publicEncrypt({ key: w.publicKey, padding: oaepHash === undefined ? 1 : 4, ...(oaepHash === undefined ? {} : { oaepHash }) }, dataKey)
    providerInfo = Buffer.from(w.keyName)
  }
  const ns = Buffer.from(w.keyNamespace)
  return Buffer.concat([u16(ns.length), ns, u16(providerInfo.length), providerInfo, u16(edk.length), edk])
}

/** An ESDK message written by this test encoder (raw AES or RSA EDKs). */
export function writeTestMessage(o: TestMessageOptions): Uint8Array {
  const info = SUITE_INFO[o.suiteId]!
  const v2 = info.kdf === 'commit'
  const messageId = randomBytes(v2 ? 32 : 16)
  const dataKey = randomBytes(info.keyBytes)
  const stored: Record<string, string> = { ...(o.context ?? {}) }
  let signer: ReturnType<typeof createSign> | undefined
  let signingKey: ReturnType<typeof generateKeyPairSync>['privateKey'] | undefined
  if (info.curve !== undefined) {
    const pair = generateKeyPairSync('ec', { namedCurve: info.curve })
    signingKey = pair.privateKey
    const jwk = pair.publicKey.export({ format: 'jwk' })
    const x = Buffer.from(jwk.x!, 'base64url')
    const y = Buffer.from(jwk.y!, 'base64url')
    stored['aws-crypto-public-key'] = Buffer.concat([Buffer.from([2 + (y[y.length - 1]! & 1)]), x]).toString('base64')
    signer = createSign(info.curve === 'prime256v1' ? 'sha256' : 'sha384')
  }
  const required = o.required ?? {}
  const full = { ...stored, ...required }
  const aad = serializeTestContext(stored)
  const wraps = [o.wrap, ...(o.alsoWrap ?? [])]
  const edks = Buffer.concat([u16(wraps.length), ...wraps.map((w) => wrapEdk(w, dataKey, full))])
  const id = u16(o.suiteId)
  let key: Buffer
  let commitment = Buffer.alloc(0)
  if (info.kdf === 'identity') key = dataKey
  else if (info.kdf === 'commit') {
    key = Buffer.from(hkdfSync('sha512', dataKey, messageId, Buffer.concat([id, Buffer.from('DERIVEKEY')]), 32))
    commitment = Buffer.from(hkdfSync('sha512', dataKey, messageId, Buffer.from('COMMITKEY'), 32))
  } else key = Buffer.from(hkdfSync(info.kdf, dataKey, Buffer.alloc(0), Buffer.concat([id, messageId]), info.keyBytes))
  const contentType = o.frameLength === 0 ? 1 : 2
  const body = v2
    ? Buffer.concat([Buffer.from([2]), id, messageId, u16(aad.length), aad, edks, Buffer.from([contentType]), u32(o.frameLength), commitment])
    : Buffer.concat([
        Buffer.from([1, 0x80]),
        id,
        messageId,
        u16(aad.length),
        aad,
        edks,
        Buffer.from([contentType]),
        u32(0),
        Buffer.from([12]),
        u32(o.frameLength),
      ])
  const headerIv = v2 ? Buffer.alloc(12) : randomBytes(12)
  const headerTag = gcmSeal(key, headerIv, new Uint8Array(0), Buffer.concat([body, serializeTestContext(required)]))
  const parts: Buffer[] = [body, ...(v2 ? [] : [headerIv]), headerTag]
  const bodyAad = (content: string, seq: number, length: number) => {
    const len = Buffer.alloc(8)
    len.writeBigUInt64BE(BigInt(length))
    return Buffer.concat([messageId, Buffer.from(`AWSKMSEncryptionClient ${content}`), u32(seq), len])
  }
  const seqIv = (seq: number) => Buffer.concat([Buffer.alloc(8), u32(seq)])
  const pt = Buffer.from(o.plaintext)
  if (o.frameLength === 0) {
    const iv = randomBytes(12)
    const len = Buffer.alloc(8)
    len.writeBigUInt64BE(BigInt(pt.length))
    parts.push(iv, len, gcmSeal(key, iv, pt, bodyAad('Single Block', 1, pt.length)))
  } else {
    let seq = 1
    let at = 0
    while (pt.length - at > o.frameLength) {
      const chunk = pt.subarray(at, at + o.frameLength)
      parts.push(u32(seq), seqIv(seq), gcmSeal(key, seqIv(seq), chunk, bodyAad('Frame', seq, chunk.length)))
      at += o.frameLength
      seq++
    }
    const rest = pt.subarray(at)
    parts.push(u32(0xffffffff), u32(seq), seqIv(seq), u32(rest.length), gcmSeal(key, seqIv(seq), rest, bodyAad('Final Frame', seq, rest.length)))
  }
  if (signer !== undefined) {
    for (const p of parts) signer.update(p)
    const sig = signer.sign({ key: signingKey!, dsaEncoding: 'der' })
    parts.push(u16(sig.length), sig)
  }
  return new Uint8Array(Buffer.concat(parts))
}

/** SHA-256 hex of bytes, for compact assertion messages. */
export const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16)

// ---- the differential check --------------------------------------------------------------

/** Feeds `message` to a stream in chunks of `chunk` bytes and collects the output. */
export async function viaStream(message: Uint8Array, options: EsdkReadOptions, chunk: number): Promise<{ plaintext: Uint8Array; suiteId: number }> {
  const t = decryptEsdkStream(options)
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (let at = 0; at < message.length; at += chunk) c.enqueue(message.slice(at, at + chunk))
      c.close()
    },
  })
  const out: Uint8Array[] = []
  const piped = source.pipeTo(t.writable).catch(() => {})
  const reader = t.readable.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value)
  await piped
  return { plaintext: new Uint8Array(Buffer.concat(out)), suiteId: (await t.header).suiteId }
}

/**
 * The SDK writes with `pair.sdk`; the SDK's own decrypt and ours (buffer and stream) must
 * give the same plaintext and context. Returns the message for further checks.
 */
export async function checkSame(pair: KeyringPair, suiteId: number, frameLength: number, size: number, context: Record<string, string>): Promise<Uint8Array> {
  const plaintext = new Uint8Array(randomBytes(size))
  const message = await sdkEncrypt(pair.sdk, plaintext, suiteId, frameLength, context)
  const where = `${pair.label}, suite 0x${suiteId.toString(16)}, frame ${frameLength}, ${size} bytes`
  // Node 20 refuses PKCS #1 v1.5 private decryption (CVE-2023-46809), the SDK's included.
  const sdk = pair.label.includes('PKCS1') ? undefined : await sdkClient(suiteId).decrypt(pair.sdk, message)
  const options: EsdkReadOptions = { keyring: pair.ours, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }
  const ours = await decryptEsdk(message, options)
  assert.equal(Buffer.compare(Buffer.from(ours.plaintext), plaintext), 0, `plaintext differs: ${where}`)
  if (sdk !== undefined) {
    assert.equal(Buffer.compare(Buffer.from(ours.plaintext), sdk.plaintext), 0, `plaintext differs from the SDK's: ${where}`)
    assert.deepEqual(ours.context, { ...sdk.messageHeader.encryptionContext }, `context differs: ${where}`)
  }
  for (const [k, v] of Object.entries(context)) assert.equal(ours.context[k], v, `context differs: ${where}`)
  assert.equal(ours.header.suiteId, suiteId)
  assert.equal(ours.header.frameLength, frameLength)
  assert.equal(ours.header.version, suiteId >= 0x0478 ? 2 : 1)
  const streamed = await viaStream(message, options, 1 + (size % 977))
  assert.equal(Buffer.compare(Buffer.from(streamed.plaintext), plaintext), 0, `streamed plaintext differs: ${where}`)
  return message
}
