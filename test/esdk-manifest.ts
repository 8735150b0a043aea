/**
 * The AWS crypto tools test-vector framework's raw-key cases, for the ESDK reader: a typed
 * reader for its manifest shapes (keys manifest version 3, `awses-encrypt` manifest version 2,
 * the `tampering` of `awses-decrypt-generate` version 2), a table of the raw-key case
 * parameters written here, keys generated at test time, and the runner that has
 * `@aws-crypto/client-node` write each case and our reader open it.
 *
 * The parameters were taken from github:awslabs/aws-crypto-tools-test-vector-framework at
 * commit c3d73fae260fd9e9cc9e746f09a7ffbab83576e2: features/awses_message_encryption_utils.py
 * (ALGORITHM_SUITES, PLAINTEXTS, FRAME_SIZES, ENCRYPTION_CONTEXTS, RAW_RSA_PADDING_ALGORITHMS,
 * RAW_RSA_BLACKHOLE_ARGUMENTS_OVERRIDE, _raw_aes_providers, _raw_rsa_providers), which
 * generates features/CANONICAL-GENERATED-MANIFESTS/0003-awses-message-encryption.v2.json,
 * with the keys of 0002-keys.v3.json (names, sizes, which may decrypt; not their material),
 * and features/0006-awses-message-decryption-generation-generate.py (the "zero" plaintext
 * repeat of every scenario and the negative cases). Nothing of those files is copied: the
 * keys here are random, made per run.
 */
import { createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto'
import type { KeyringNode } from '@aws-crypto/client-node'
import { MultiKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode } from '@aws-crypto/client-node'
import type { EsdkKeyringInput, RsaPadding } from '../src/esdk/index.js'
import { RawAesKeyring, RawRsaKeyring } from '../src/esdk/index.js'
import type { TestWrap } from './esdk-helpers.js'

// ---- the manifest shapes ------------------------------------------------------------------

/** One key of a keys manifest (0002-keys). */
export interface ManifestKey {
  readonly 'key-id': string
  readonly type: 'symmetric' | 'private' | 'public' | 'aws-kms'
  readonly encrypt: boolean
  readonly decrypt: boolean
  readonly algorithm?: 'aes' | 'rsa'
  readonly bits?: number
  readonly encoding?: 'base64' | 'pem'
  readonly material?: string
}

/** A keys manifest (0002-keys, version 3). */
export interface KeysManifest {
  readonly manifest: { readonly type: 'keys'; readonly version: 3 }
  readonly keys: Readonly<Record<string, ManifestKey>>
}

/** A master key description (0005-awses-master-key): raw AES / RSA, or AWS KMS. */
export type ManifestMasterKey =
  | {
      readonly type: 'raw'
      readonly key: string
      readonly 'provider-id': string
      readonly 'encryption-algorithm': 'aes' | 'rsa'
      readonly 'padding-algorithm'?: 'pkcs1' | 'oaep-mgf1'
      readonly 'padding-hash'?: 'sha1' | 'sha256' | 'sha384' | 'sha512'
    }
  | { readonly type: 'aws-kms'; readonly key: string }

/** One encrypt scenario (0003-awses-message-encryption `tests` entry). */
export interface EncryptScenario {
  readonly plaintext: string
  readonly algorithm: string
  readonly 'frame-size': number
  readonly 'encryption-context': Readonly<Record<string, string>>
  readonly 'master-keys': readonly ManifestMasterKey[]
}

/** An `awses-encrypt` manifest (version 2). */
export interface EncryptManifest {
  readonly manifest: { readonly type: 'awses-encrypt'; readonly version: 2 }
  readonly keys: string
  readonly plaintexts: Readonly<Record<string, number>>
  readonly tests: Readonly<Record<string, EncryptScenario>>
}

/** The tampering of an `awses-decrypt-generate` test (0006), as far as it is expressible here. */
export type Tampering = 'truncate' | 'mutate' | 'half-sign' | { readonly 'change-edk-provider-info': readonly string[] }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(where: string, what: string): never {
  throw new Error(`manifest ${where}: ${what}`)
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (!isObject(v)) fail(where, 'not an object')
  for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') fail(`${where}.${k}`, 'not a string')
  return v as Record<string, string>
}

function masterKey(v: unknown, where: string): ManifestMasterKey {
  if (!isObject(v) || typeof v.key !== 'string') fail(where, 'not a master key')
  if (v.type === 'aws-kms') return { type: 'aws-kms', key: v.key }
  if (v.type !== 'raw') fail(where, `unknown type ${String(v.type)}`)
  const algorithm = v['encryption-algorithm']
  if (algorithm !== 'aes' && algorithm !== 'rsa') fail(where, `unknown encryption-algorithm ${String(algorithm)}`)
  if (typeof v['provider-id'] !== 'string') fail(where, 'no provider-id')
  const padding = v['padding-algorithm']
  const hash = v['padding-hash']
  if (algorithm === 'rsa') {
    if (padding !== 'pkcs1' && padding !== 'oaep-mgf1') fail(where, `unknown padding-algorithm ${String(padding)}`)
    if (padding === 'oaep-mgf1' && hash !== 'sha1' && hash !== 'sha256' && hash !== 'sha384' && hash !== 'sha512')
      fail(where, `unknown padding-hash ${String(hash)}`)
  }
  return v as ManifestMasterKey
}

/** Reads a keys manifest, checking the shape this file relies on. */
export function parseKeysManifest(json: unknown): KeysManifest {
  if (!isObject(json) || !isObject(json.manifest) || json.manifest.type !== 'keys' || json.manifest.version !== 3) fail('keys', 'not a keys manifest version 3')
  if (!isObject(json.keys)) fail('keys', 'no keys')
  for (const [name, k] of Object.entries(json.keys)) {
    if (!isObject(k) || typeof k.encrypt !== 'boolean' || typeof k.decrypt !== 'boolean' || typeof k['key-id'] !== 'string') fail(`keys.${name}`, 'not a key')
    if (k.type !== 'aws-kms' && (typeof k.material !== 'string' || typeof k.bits !== 'number')) fail(`keys.${name}`, 'no material')
  }
  return json as unknown as KeysManifest
}

/** Reads an `awses-encrypt` manifest, checking the shape this file relies on. */
export function parseEncryptManifest(json: unknown): EncryptManifest {
  if (!isObject(json) || !isObject(json.manifest) || json.manifest.type !== 'awses-encrypt' || json.manifest.version !== 2)
    fail('encrypt', 'not an awses-encrypt manifest version 2')
  if (typeof json.keys !== 'string' || !isObject(json.plaintexts) || !isObject(json.tests)) fail('encrypt', 'no keys, plaintexts or tests')
  for (const [name, size] of Object.entries(json.plaintexts)) if (!Number.isSafeInteger(size) || (size as number) < 0) fail(`plaintexts.${name}`, 'not a size')
  for (const [id, t] of Object.entries(json.tests)) {
    const where = `tests.${id}`
    if (!isObject(t)) fail(where, 'not a test')
    if (typeof t.plaintext !== 'string' || !(t.plaintext in json.plaintexts)) fail(where, `unknown plaintext ${String(t.plaintext)}`)
    if (typeof t.algorithm !== 'string' || !/^[0-9a-f]{4}$/i.test(t.algorithm)) fail(where, `bad algorithm ${String(t.algorithm)}`)
    const frame = t['frame-size']
    if (!Number.isSafeInteger(frame) || (frame as number) < 0) fail(where, 'bad frame-size')
    stringMap(t['encryption-context'], `${where}.encryption-context`)
    const keys = t['master-keys']
    if (!Array.isArray(keys) || keys.length === 0) fail(where, 'no master-keys')
    keys.forEach((k, i) => {
      masterKey(k, `${where}.master-keys[${i}]`)
    })
  }
  return json as unknown as EncryptManifest
}

// ---- the table (parameters only; see the header comment for where they come from) ---------

/** The framework's ALGORITHM_SUITES. */
export const FRAMEWORK_SUITES = ['0014', '0046', '0078', '0114', '0146', '0178', '0214', '0346', '0378', '0478', '0578'] as const
/** The framework's PLAINTEXTS. */
export const FRAMEWORK_PLAINTEXTS = { zero: 0, tiny: 10, small: 10 * 1024 } as const
/** The framework's FRAME_SIZES: non-framed, >10 frames, smaller than, equal to, larger than the plaintext. */
export const FRAMEWORK_FRAME_SIZES = [0, 512, 4096, 10240, 20480] as const
/** The framework's ENCRYPTION_CONTEXTS: empty, ASCII, Unicode, unprintable. */
export const FRAMEWORK_CONTEXTS: readonly Readonly<Record<string, string>>[] = [
  {},
  { key1: 'val1', key2: 'val2' },
  { key1: 'val1', unicode_key_ловие: 'unicode_value_Предисл' },
  { key1: 'val1', '\x01\x02\x03': '\x20\x22\x44' },
]
const PROVIDER_ID = 'aws-raw-vectors-persistant'
const RSA_PADDINGS = [
  { 'padding-algorithm': 'pkcs1' },
  { 'padding-algorithm': 'oaep-mgf1', 'padding-hash': 'sha1' },
  { 'padding-algorithm': 'oaep-mgf1', 'padding-hash': 'sha256' },
  { 'padding-algorithm': 'oaep-mgf1', 'padding-hash': 'sha384' },
  { 'padding-algorithm': 'oaep-mgf1', 'padding-hash': 'sha512' },
] as const
const RSA_BLACKHOLE = { 'padding-algorithm': 'oaep-mgf1', 'padding-hash': 'sha256' } as const

/** The framework's raw-key provider sets: each AES key alone; each RSA padding alone and with the encrypt-only public key. */
export function rawProviderSets(): ManifestMasterKey[][] {
  const aes = (key: string): ManifestMasterKey => ({ type: 'raw', key, 'provider-id': PROVIDER_ID, 'encryption-algorithm': 'aes' })
  const rsa = (key: string, padding: (typeof RSA_PADDINGS)[number]): ManifestMasterKey => ({
    type: 'raw',
    key,
    'provider-id': PROVIDER_ID,
    'encryption-algorithm': 'rsa',
    ...padding,
  })
  return [
    [aes('aes-128')],
    [aes('aes-192')],
    [aes('aes-256')],
    ...RSA_PADDINGS.flatMap((p) => [[rsa('rsa-4096-private', p)], [rsa('rsa-4096-private', p), rsa('rsa-4096-public', RSA_BLACKHOLE)]]),
  ]
}

/** The framework's AWS KMS provider sets (not run here: they need its us-west-2 keys), for the count. */
export const FRAMEWORK_KMS_PROVIDER_SETS = 2

/**
 * The raw-key part of the framework's encrypt manifest, with the "zero" plaintext repeat of
 * 0006 when `withZero`: suites × frame sizes × contexts × raw provider sets.
 */
export function frameworkEncryptManifest(withZero: boolean): EncryptManifest {
  const tests: Record<string, EncryptScenario> = {}
  let n = 0
  for (const plaintext of withZero ? ['small', 'zero'] : ['small']) {
    for (const algorithm of FRAMEWORK_SUITES) {
      for (const frame of FRAMEWORK_FRAME_SIZES) {
        for (const context of FRAMEWORK_CONTEXTS) {
          for (const keys of rawProviderSets()) {
            tests[`raw-${String(n++).padStart(5, '0')}`] = { plaintext, algorithm, 'frame-size': frame, 'encryption-context': context, 'master-keys': keys }
          }
        }
      }
    }
  }
  return { manifest: { type: 'awses-encrypt', version: 2 }, keys: 'generated:', plaintexts: FRAMEWORK_PLAINTEXTS, tests }
}

let rsa4096: { publicKey: string; privateKey: string } | undefined

/** A keys manifest with the framework's key names and sizes, and fresh random material. */
export function generatedKeysManifest(): KeysManifest {
  rsa4096 ??= generateKeyPairSync('rsa', {
    modulusLength: 4096,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const aes = (bits: number): ManifestKey => ({
    'key-id': `aes-${bits}`,
    type: 'symmetric',
    encrypt: true,
    decrypt: true,
    algorithm: 'aes',
    bits,
    encoding: 'base64',
    material: randomBytes(bits / 8).toString('base64'),
  })
  const rsa = (which: 'private' | 'public'): ManifestKey => ({
    'key-id': `rsa-4096-${which}`,
    type: which,
    encrypt: true,
    decrypt: which === 'private',
    algorithm: 'rsa',
    bits: 4096,
    encoding: 'pem',
    material: which === 'private' ? rsa4096!.privateKey : rsa4096!.publicKey,
  })
  return parseKeysManifest({
    manifest: { type: 'keys', version: 3 },
    keys: { 'aes-128': aes(128), 'aes-192': aes(192), 'aes-256': aes(256), 'rsa-4096-private': rsa('private'), 'rsa-4096-public': rsa('public') },
  })
}

// ---- keyrings from the manifests ----------------------------------------------------------------

const AES_WRAPPING = {
  128: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  192: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  256: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
} as const

/** Our padding name for a raw RSA master key. */
export function rsaPadding(k: ManifestMasterKey): RsaPadding {
  if (k.type !== 'raw' || k['encryption-algorithm'] !== 'rsa') throw new TypeError('not a raw RSA master key')
  return k['padding-algorithm'] === 'pkcs1' ? 'PKCS1' : (`OAEP-${(k['padding-hash'] ?? 'sha1').toUpperCase()}-MGF1` as RsaPadding)
}

function keyOf(keys: KeysManifest, name: string): ManifestKey {
  const k = keys.keys[name]
  if (k === undefined || k.material === undefined) throw new Error(`keys manifest has no material for ${name}`)
  return k
}

/** The SDK keyring for a case: the first master key generates, the others are children. */
export function sdkKeyring(masterKeys: readonly ManifestMasterKey[], keys: KeysManifest): KeyringNode {
  const rings = masterKeys.map((mk): KeyringNode => {
    if (mk.type !== 'raw') throw new Error('only raw master keys run locally')
    const k = keyOf(keys, mk.key)
    if (mk['encryption-algorithm'] === 'aes') {
      return new RawAesKeyringNode({
        keyName: k['key-id'],
        keyNamespace: mk['provider-id'],
        unencryptedMasterKey: new Uint8Array(Buffer.from(k.material!, 'base64')),
        wrappingSuite: AES_WRAPPING[k.bits as 128 | 192 | 256],
      })
    }
    const padding = rsaPadding(mk)
    const rsaKey = k.type === 'private' ? { privateKey: k.material!, publicKey: publicPem(k.material!) } : { publicKey: k.material! }
    return new RawRsaKeyringNode({
      keyName: k['key-id'],
      keyNamespace: mk['provider-id'],
      rsaKey,
      padding: padding === 'PKCS1' ? 1 : 4,
      ...(padding === 'PKCS1' ? {} : { oaepHash: mk['padding-hash'] as 'sha1' }),
    })
  })
  const [generator, ...children] = rings
  return children.length === 0 ? generator! : new MultiKeyringNode({ generator: generator!, children })
}

const publicPem = (privatePem: string): string => createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString()

/** The test encoder's wraps for a case (what the SDK's keyring would write, for the non-framed bodies it cannot). */
export function testWraps(masterKeys: readonly ManifestMasterKey[], keys: KeysManifest): TestWrap[] {
  return masterKeys.map((mk): TestWrap => {
    if (mk.type !== 'raw') throw new Error('only raw master keys run locally')
    const k = keyOf(keys, mk.key)
    const named = { keyNamespace: mk['provider-id'], keyName: k['key-id'] }
    if (mk['encryption-algorithm'] === 'aes') return { ...named, key: new Uint8Array(Buffer.from(k.material!, 'base64')) }
    return { ...named, publicKey: k.type === 'private' ? publicPem(k.material!) : k.material!, padding: rsaPadding(mk) }
  })
}

/** Our keyrings for a case: one per master key the keys manifest lets decrypt, in order. */
export function ourKeyrings(masterKeys: readonly ManifestMasterKey[], keys: KeysManifest): EsdkKeyringInput[] {
  const out: EsdkKeyringInput[] = []
  for (const mk of masterKeys) {
    if (mk.type !== 'raw') continue
    const k = keyOf(keys, mk.key)
    if (!k.decrypt) continue
    if (mk['encryption-algorithm'] === 'aes') {
      out.push(new RawAesKeyring({ keyNamespace: mk['provider-id'], keyName: k['key-id'], key: new Uint8Array(Buffer.from(k.material!, 'base64')) }))
    } else out.push(new RawRsaKeyring({ keyNamespace: mk['provider-id'], keyName: k['key-id'], privateKey: k.material!, padding: rsaPadding(mk) }))
  }
  return out
}

let pkcs1: boolean | undefined
/** Whether this Node decrypts PKCS #1 v1.5 (refused since CVE-2023-46809 unless started with --security-revert). */
export function pkcs1DecryptWorks(): boolean {
  if (pkcs1 === undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    try {
      privateDecrypt({ key: privateKey, padding: 1 }, publicEncrypt({ key: publicKey, padding: 1 }, Buffer.from('x')))
      pkcs1 = true
    } catch {
      pkcs1 = false
    }
  }
  return pkcs1
}

// ---- the runner ---------------------------------------------------------------------------------

/** What became of one scenario. */
export type ScenarioOutcome = { readonly ran: 'sdk' | 'encoder' } | { readonly skipped: string }

/** Why a scenario is not a round trip here, or undefined when it runs. */
export function skipReason(t: EncryptScenario): string | undefined {
  if (t['master-keys'].some((k) => k.type !== 'raw'))
    return 'AWS KMS master keys (the framework account us-west-2 keys; kms-esdk.test.ts covers KMS on the test server)'
  if (t['master-keys'].some((k) => k.type === 'raw' && k['padding-algorithm'] === 'pkcs1') && !pkcs1DecryptWorks()) {
    return 'PKCS1: this Node refuses PKCS #1 v1.5 decryption (CVE-2023-46809); our reader gives ERR_UNSUPPORTED (checked); npm run test:esdk runs them with --security-revert'
  }
  return undefined
}
