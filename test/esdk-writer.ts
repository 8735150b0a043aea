/**
 * AWS Encryption SDK messages written by the SDK itself (`@aws-crypto/client-node`) at test
 * time, for the migration tests: one message per call, or a directory of files of mixed
 * suites, frame lengths, sizes and keyrings, with what each file must decrypt to.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { KeyringNode } from '@aws-crypto/client-node'
import { buildClient, CommitmentPolicy, MultiKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode } from '@aws-crypto/client-node'
import { pattern } from './pattern.js'

/** The committing suites, written under the SDK's default policy. */
export const COMMITTING_SUITES = [0x0478, 0x0578] as const
/** Legacy suites, written with FORBID_ENCRYPT_ALLOW_DECRYPT (readable only with a policy that allows them). */
export const LEGACY_SUITES = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378] as const

const strict = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)

const WRAPPING: Record<number, (typeof RawAesWrappingSuiteIdentifier)[keyof typeof RawAesWrappingSuiteIdentifier]> = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

/** A raw AES wrapping key and the SDK keyring for it. */
export interface AesKey {
  readonly keyNamespace: string
  readonly keyName: string
  readonly key: Uint8Array
  readonly sdk: KeyringNode
}

/** A fresh raw AES key (16, 24 or 32 bytes) with its SDK keyring. */
export function aesKey(keyNamespace: string, keyName: string, bytes: 16 | 24 | 32 = 32): AesKey {
  const key = new Uint8Array(randomBytes(bytes))
  return {
    keyNamespace,
    keyName,
    key,
    sdk: new RawAesKeyringNode({ keyNamespace, keyName, unencryptedMasterKey: key.slice(), wrappingSuite: WRAPPING[bytes]! }),
  }
}

/** An RSA key pair (PKCS #8 PEM private key) with the SDK keyring for OAEP-SHA256. */
export async function rsaKey(keyNamespace: string, keyName: string): Promise<{ keyNamespace: string; keyName: string; privateKey: string; sdk: KeyringNode }> {
  const { generateKeyPairSync, constants } = await import('node:crypto')
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const sdk = new RawRsaKeyringNode({
    keyNamespace,
    keyName,
    rsaKey: { publicKey, privateKey },
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: 'sha256',
  })
  return { keyNamespace, keyName, privateKey, sdk }
}

/** Several SDK keyrings as one (the first generates). */
export function multi(generator: KeyringNode, ...children: KeyringNode[]): KeyringNode {
  return new MultiKeyringNode({ generator, children })
}

/** One ESDK message, written by the SDK. */
export async function esdkEncrypt(
  keyring: KeyringNode,
  plaintext: Uint8Array,
  options: { suiteId?: number; context?: Record<string, string>; frameLength?: number } = {},
): Promise<Uint8Array> {
  const suiteId = options.suiteId ?? 0x0478
  const client = (COMMITTING_SUITES as readonly number[]).includes(suiteId) ? strict : legacy
  const { result } = await client.encrypt(keyring, plaintext, {
    suiteId: suiteId as never,
    ...(options.context === undefined ? {} : { encryptionContext: options.context }),
    ...(options.frameLength === undefined ? {} : { frameLength: options.frameLength }),
  })
  return new Uint8Array(result.buffer, result.byteOffset, result.length)
}

/** One file of a corpus, and what it holds. */
export interface CorpusFile {
  readonly path: string
  readonly suiteId: number
  readonly context: Record<string, string>
  readonly plaintext: Uint8Array
}

/**
 * `count` ESDK message files in `dir` (some in a subdirectory), cycling through `suites`, frame
 * lengths (small, 4096, the SDK's default) and sizes around them, each wrapped by `keyring`.
 * Written `parallel` at a time, since the SDK's encrypt is asynchronous per message.
 */
export async function writeCorpus(
  dir: string,
  count: number,
  keyring: KeyringNode | ((i: number) => KeyringNode),
  suites: readonly number[],
  parallel = 16,
): Promise<CorpusFile[]> {
  const frames = [128, 4096, 4096]
  const files: CorpusFile[] = []
  await mkdir(join(dir, 'sub'), { recursive: true })
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, async (_, j) => {
      const i = start + j
      const suiteId = suites[i % suites.length]!
      const frameLength = frames[i % frames.length]!
      const size = [0, 1, frameLength - 1, frameLength, frameLength + 1, 3 * frameLength + 17, (i * 37) % 5000][i % 7]!
      const plaintext = pattern(size, i + 1)
      const context = i % 5 === 0 ? {} : { tenant: `t${i % 3}`, file: String(i) }
      const k = typeof keyring === 'function' ? keyring(i) : keyring
      const message = await esdkEncrypt(k, plaintext, { suiteId, context, frameLength })
      const path = join(dir, i % 4 === 0 ? 'sub' : '', `m${String(i).padStart(4, '0')}.esdk`)
      await writeFile(path, message, { mode: 0o640 })
      return { path, suiteId, context, plaintext }
    })
    files.push(...(await Promise.all(batch)))
  }
  return files
}
