/**
 * The AWS Encryption SDK message header, versions 1 and 2 (data-format/message-header.md),
 * parsed field by field from a {@link ByteSource}. Every length is a 1-, 2- or 4-byte field,
 * so nothing read here allocates more than 64 KiB at a time, and the encrypted data key
 * count is checked against the caller's limit before any key is read.
 * @module
 */
import { FormatError, LimitError, UnsupportedError } from '../errors.js'
import { esdkContextBytes } from '../format/esdk-context.js'
import type { ByteSource } from './source.js'
import type { EsdkSuite } from './suites.js'
import { IV_BYTES, suiteFor, TAG_BYTES } from './suites.js'

/** One encrypted data key of a message: who wrapped it, and the wrapped bytes. */
export interface EsdkEncryptedDataKey {
  /** The key provider: `aws-kms`, or a raw keyring's key namespace. */
  readonly providerId: string
  /** Provider-specific: the KMS key ARN, or a raw keyring's key name (and, for AES, the wrap's IV). */
  readonly providerInfo: Uint8Array
  /** The wrapped data key. */
  readonly ciphertext: Uint8Array
}

/** The parsed header of an AWS Encryption SDK message; returned only once it is authenticated. */
export interface EsdkHeader {
  /** Message format version: 1 for legacy suites, 2 for key-committing ones. */
  readonly version: 1 | 2
  /** Algorithm suite id, e.g. `0x0478`. */
  readonly suiteId: number
  /** 16 bytes (version 1) or 32 bytes (version 2). */
  readonly messageId: Uint8Array
  /** The encryption context stored in the header (for signed suites it holds `aws-crypto-public-key`). */
  readonly context: Readonly<Record<string, string>>
  readonly encryptedDataKeys: readonly EsdkEncryptedDataKey[]
  readonly contentType: 'framed' | 'non-framed'
  /** Plaintext bytes per frame; 0 for non-framed messages. */
  readonly frameLength: number
  /** Bytes of the header including its authentication (IV and tag). */
  readonly headerLength: number
}

/** @internal The header as the reader needs it: fields plus what authenticates them. */
export interface ParsedHeader {
  readonly header: EsdkHeader
  readonly suite: EsdkSuite
  readonly storedContext: ReadonlyMap<string, string>
  /** The header body: the AAD of the header's authentication tag. */
  readonly body: Uint8Array
  /** Version 2: the commitment key. */
  readonly commitment: Uint8Array | undefined
  /** Version 1: the IV written in the header; version 2: twelve zero bytes. */
  readonly headerIv: Uint8Array
  readonly headerTag: Uint8Array
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** @internal UTF-8 text of a header field; ERR_FORMAT when it is not valid UTF-8. */
export function utf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new FormatError(`the ${what} of the AWS Encryption SDK header is not valid UTF-8`)
  }
}

const u16 = (b: Uint8Array, at = 0): number => (b[at]! << 8) | b[at + 1]!
const u32 = (b: Uint8Array, at = 0): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0

/** Collects the consumed header bytes: they are the AAD of its tag. */
class Recorder {
  readonly parts: Uint8Array[] = []
  length = 0
  constructor(readonly src: ByteSource) {}
  async read(n: number, what: string): Promise<Uint8Array> {
    const b = await this.src.read(n, what)
    this.parts.push(b)
    this.length += n
    return b
  }
  async u8(what: string): Promise<number> {
    return (await this.read(1, what))[0]!
  }
  async u16(what: string): Promise<number> {
    return u16(await this.read(2, what))
  }
  async u32(what: string): Promise<number> {
    return u32(await this.read(4, what))
  }
  joined(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}

/**
 * @internal The encryption context of the header's AAD field (message-header.md#aad): a
 * count, then length-prefixed UTF-8 keys and values. Zero bytes mean an empty context.
 */
export function parseContext(bytes: Uint8Array): Map<string, string> {
  const context = new Map<string, string>()
  if (bytes.length === 0) return context
  if (bytes.length < 2) throw new FormatError('the encryption context of the AWS Encryption SDK header is cut short')
  const count = u16(bytes)
  // An empty context is written as zero bytes, never as a count of zero.
  if (count === 0) throw new FormatError('the encryption context of the AWS Encryption SDK header has a count of 0 but a length of 2')
  let at = 2
  const field = (what: string): string => {
    if (at + 2 > bytes.length) throw new FormatError(`the encryption context of the AWS Encryption SDK header ends inside a ${what}`)
    const n = u16(bytes, at)
    at += 2
    if (at + n > bytes.length) throw new FormatError(`the encryption context of the AWS Encryption SDK header ends inside a ${what}`)
    const s = utf8(bytes.subarray(at, at + n), `encryption context ${what}`)
    at += n
    return s
  }
  for (let i = 0; i < count; i++) {
    const key = field('key')
    const value = field('value')
    if (context.has(key)) throw new FormatError(`the encryption context of the AWS Encryption SDK header repeats key ${JSON.stringify(key.slice(0, 64))}`)
    context.set(key, value)
  }
  if (at !== bytes.length) throw new FormatError('the encryption context of the AWS Encryption SDK header has bytes after its last entry')
  return context
}

/**
 * @internal The SDK's serialization of an encryption context (framework/structures.md): the raw
 * AES keyring's AAD and the required-context part of the header's AAD. One implementation with
 * the hierarchical keyring's (src/format/esdk-context.ts).
 */
export const serializeContext: (context: ReadonlyMap<string, string>) => Uint8Array = esdkContextBytes

/**
 * @internal Reads a header and its authentication fields (not yet verified: that needs the
 * data key). Version and suite are checked first, so a message of another kind fails fast.
 */
export async function readHeader(src: ByteSource, maxEncryptedDataKeys: number): Promise<ParsedHeader> {
  const r = new Recorder(src)
  const version = await r.u8('version')
  if (version !== 1 && version !== 2) {
    throw new (version === 0x41 ? FormatError : UnsupportedError)(
      version === 0x41
        ? 'this is not an AWS Encryption SDK message: it starts with "A", perhaps it is base64; decode it first'
        : `this is not an AWS Encryption SDK message of a known version: the first byte is 0x${version.toString(16).padStart(2, '0')} (versions 1 and 2 are known)`,
    )
  }
  if (version === 1) {
    const type = await r.u8('type')
    if (type !== 0x80) throw new FormatError(`the AWS Encryption SDK header has message type 0x${type.toString(16)}, expected 0x80`)
  }
  const suite = suiteFor(await r.u16('algorithm suite id'), version)
  const messageId = await r.read(version === 1 ? 16 : 32, 'message id')
  const context = parseContext(await r.read(await r.u16('encryption context length'), 'encryption context'))
  const count = await r.u16('encrypted data key count')
  if (count === 0) throw new FormatError('the AWS Encryption SDK header lists no encrypted data key')
  if (count > maxEncryptedDataKeys) {
    throw new LimitError(
      `the AWS Encryption SDK message has ${count} encrypted data keys, more than maxEncryptedDataKeys (${maxEncryptedDataKeys}); raise the limit only for messages you expect to have that many`,
    )
  }
  const keys: EsdkEncryptedDataKey[] = []
  for (let i = 0; i < count; i++) {
    const providerId = utf8(await r.read(await r.u16('key provider id length'), 'key provider id'), 'key provider id')
    const providerInfo = await r.read(await r.u16('key provider info length'), 'key provider info')
    const ciphertext = await r.read(await r.u16('encrypted data key length'), 'encrypted data key')
    keys.push({ providerId, providerInfo, ciphertext })
  }
  const contentTypeByte = await r.u8('content type')
  if (contentTypeByte !== 1 && contentTypeByte !== 2) {
    throw new FormatError(`the AWS Encryption SDK header has content type ${contentTypeByte}; 1 (non-framed) and 2 (framed) are defined`)
  }
  const contentType = contentTypeByte === 1 ? 'non-framed' : 'framed'
  if (version === 1) {
    if ((await r.u32('reserved field')) !== 0) throw new FormatError('the reserved field of the AWS Encryption SDK header is not zero')
    const ivLength = await r.u8('IV length')
    if (ivLength !== IV_BYTES) throw new FormatError(`the AWS Encryption SDK header declares ${ivLength}-byte IVs; its suite uses ${IV_BYTES}`)
  }
  const frameLength = await r.u32('frame length')
  if (contentType === 'non-framed' ? frameLength !== 0 : frameLength === 0) {
    throw new FormatError(`the AWS Encryption SDK header has frame length ${frameLength} for ${contentType} content`)
  }
  const commitment = version === 2 ? await r.read(32, 'commitment key') : undefined
  const body = r.joined()
  const headerIv = version === 1 ? await src.read(IV_BYTES, 'header IV') : new Uint8Array(IV_BYTES)
  const headerTag = await src.read(TAG_BYTES, 'header authentication tag')
  const header: EsdkHeader = {
    version,
    suiteId: suite.id,
    messageId: new Uint8Array(messageId),
    context: Object.fromEntries(context),
    encryptedDataKeys: keys.map((k) => ({ providerId: k.providerId, providerInfo: new Uint8Array(k.providerInfo), ciphertext: new Uint8Array(k.ciphertext) })),
    contentType,
    frameLength,
    headerLength: body.length + (version === 1 ? IV_BYTES : 0) + TAG_BYTES,
  }
  return {
    header,
    suite,
    storedContext: context,
    body,
    commitment: commitment === undefined ? undefined : new Uint8Array(commitment),
    headerIv: new Uint8Array(headerIv),
    headerTag: new Uint8Array(headerTag),
  }
}
