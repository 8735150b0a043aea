/**
 * Generates the test vectors in test/vectors/ (one scenario per file) from fixed seeds.
 * `npm run vectors` rewrites the files; the test suite regenerates them in memory and
 * requires byte-identical results, so neither the implementation nor the files can drift.
 *
 * Vectors are built with the internal sealing functions and a seeded generator for every
 * random value (data keys, message ids, wrap salts), so they are reproducible.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/ciphers/utils.js'
import type { CryptoBackend } from '../src/crypto/backend.js'
import { DataKey } from '../src/crypto/data-key.js'
import { deriveMessageKeys } from '../src/crypto/keys.js'
import { sealMessage } from '../src/crypto/message.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { encodeCbor } from '../src/format/cbor.js'
import { SUITE_AES256GCM_HKDFSHA512_COMMIT } from '../src/format/constants.js'
import { canonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import { decodeRecipients } from '../src/format/header.js'
import { LocalKeyring, wrapWithFixedSaltForVectors } from '../src/keyrings/local.js'
import { generateHierarchyVectors } from './gen-hierarchy-vectors.js'

/** One vector file. */
export interface Vector {
  readonly name: string
  readonly comment: string
  readonly expect: 'success' | 'failure'
  /** Error code a decryptor must raise (failure vectors). */
  readonly code?: string
  /**
   * Failure vectors where a streaming reader may differ (FORMAT.md §6.4): the code it must
   * raise instead. Absent: every reader raises `code`.
   */
  readonly streamCode?: string
  /** The local keys the decryptor holds. */
  readonly keys: ReadonlyArray<{ readonly keyId: string; readonly key: string }>
  readonly decrypt: { readonly expectContext?: Record<string, string>; readonly maxWrappedKeys?: number }
  readonly message: string
  /** Success vectors: what decryption must return. */
  readonly plaintext?: { readonly hex: string; readonly utf8?: string }
  readonly context?: Record<string, string>
  /** Success vectors: intermediate values, for implementers of other decoders. */
  readonly intermediate?: { readonly dataKey: string; readonly messageId: string; readonly contentKey: string; readonly commitment: string }
}

/** Deterministic bytes for one label: HKDF-SHA-512 of a fixed seed. Never use outside vectors. */
/** Plaintexts with C0 control bytes other than tab, newline and the like are shown as hex only. */
function hasControlBytes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c <= 0x08 || (c >= 0x0e && c <= 0x1f)) return true
  }
  return false
}

function seeded(label: string, length: number): Uint8Array {
  return nodeBackend.hkdfSha512(utf8ToBytes('kms-envelope test vectors v1'), new Uint8Array(0), utf8ToBytes(label), length)
}

const FRAME = 64
const text = (s: string): Uint8Array => utf8ToBytes(s)
const keyA = new LocalKeyring({ keyId: 'vector-key-a', key: seeded('master a', 32) })
const keyB = new LocalKeyring({ keyId: 'vector-key-b', key: seeded('master b', 32) })
const keyC = new LocalKeyring({ keyId: 'vector-key-c', key: seeded('master c', 32) })
const keyAWrong = new LocalKeyring({ keyId: 'vector-key-a', key: seeded('master a wrong', 32) })
const hexKey = (label: string) => bytesToHex(seeded(label, 32))
const KEY_A = { keyId: 'vector-key-a', key: hexKey('master a') }
const KEY_B = { keyId: 'vector-key-b', key: hexKey('master b') }
const KEY_C = { keyId: 'vector-key-c', key: hexKey('master c') }

interface Built {
  readonly message: Uint8Array
  readonly dataKey: Uint8Array
  readonly messageId: Uint8Array
}

function build(name: string, plaintext: Uint8Array, context: Record<string, string>, keyrings: LocalKeyring[], frameSize = FRAME): Built {
  const ctx = canonicalContext(context, 'context', true)
  const dataKeyBytes = seeded(`${name} data key`, 32)
  const messageId = seeded(`${name} message id`, 32)
  const dataKey = new DataKey(dataKeyBytes.slice())
  const recipients: Recipient[] = keyrings.map((k, i) => wrapWithFixedSaltForVectors(k, dataKey, ctx, seeded(`${name} salt ${i}`, 32), backend))
  const message = sealMessage(backend, { dataKey, recipients, context: ctx, frameSize, messageId }, plaintext)
  return { message, dataKey: dataKeyBytes, messageId }
}

function success(name: string, comment: string, plaintext: Uint8Array, context: Record<string, string>, keyrings: LocalKeyring[], holder = [KEY_A]): Vector {
  const b = build(name, plaintext, context, keyrings)
  const keys = deriveMessageKeys(backend, b.dataKey, b.messageId, SUITE_AES256GCM_HKDFSHA512_COMMIT)
  let utf8: string | undefined
  try {
    utf8 = new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
  } catch {
    utf8 = undefined
  }
  return {
    name,
    comment,
    expect: 'success',
    keys: holder,
    decrypt: {},
    message: bytesToHex(b.message),
    plaintext: utf8 === undefined || hasControlBytes(utf8) ? { hex: bytesToHex(plaintext) } : { hex: bytesToHex(plaintext), utf8 },
    context,
    intermediate: {
      dataKey: bytesToHex(b.dataKey),
      messageId: bytesToHex(b.messageId),
      contentKey: bytesToHex(keys.contentKey),
      commitment: bytesToHex(keys.commitment),
    },
  }
}

function failure(name: string, comment: string, code: string, message: Uint8Array, extra: Partial<Vector> = {}): Vector {
  return { name, comment, expect: 'failure', code, keys: [KEY_A], decrypt: {}, message: bytesToHex(message), ...extra }
}

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at)
/** Offsets inside a message built by `build`. */
function layout(m: Uint8Array) {
  const h = u32(m, 5)
  const tagAt = 9 + h
  const r = u32(m, tagAt + 16)
  const recipientsAt = tagAt + 20
  return { h, headerAt: 9, tagAt, recipientsAt, r, bodyAt: recipientsAt + r }
}
const flip = (m: Uint8Array, at: number, mask = 0x01): Uint8Array => {
  const c = m.slice()
  c[at]! ^= mask
  return c
}

/** The backend that seals vectors; the tests generate with each one and compare. */
let backend: CryptoBackend = nodeBackend

export function generateVectors(using: CryptoBackend = nodeBackend): Vector[] {
  backend = using
  const ctx = { tenant: 'acme', purpose: 'test vectors' }
  const vectors: Vector[] = [
    success('pos-empty', 'empty plaintext: one empty final frame', new Uint8Array(0), ctx, [keyA]),
    success('pos-one-byte', '1-byte plaintext', text('x'), ctx, [keyA]),
    success('pos-frame-minus-one', 'frame size - 1 bytes: one final frame, not full', seeded('pt 63', FRAME - 1), ctx, [keyA]),
    success('pos-frame-exact', 'exactly one frame size: one full frame then an empty final frame', seeded('pt 64', FRAME), ctx, [keyA]),
    success('pos-frame-plus-one', 'frame size + 1 bytes: one full frame, 1-byte final frame', seeded('pt 65', FRAME + 1), ctx, [keyA]),
    success('pos-several-frames', 'three full frames and a 7-byte final frame', seeded('pt 199', 3 * FRAME + 7), ctx, [keyA]),
    success('pos-no-context', 'empty encryption context (an empty CBOR map)', text('no context here'), {}, [keyA]),
    success(
      'pos-unicode-context',
      'context with non-ASCII keys and values, in canonical order',
      text('grüße'),
      { 'é': 'ü', z: '世界', aa: '', '10': 'ten', '9': 'nine' },
      [keyA],
    ),
    success(
      'pos-long-text-context',
      'context text whose UTF-8 length crosses the CBOR head sizes (23/24 and 255/256 bytes), with 2-, 3- and 4-byte characters',
      text('long text'),
      {
        'key of twenty-four bytes': `${'é'.repeat(11)}x`, // 23 bytes: a one-byte head
        'ünïcödé kéy': '😀'.repeat(6), // 24 bytes: the first two-byte head
        long: `${'世界'.repeat(42)}abc`, // 255 bytes
        longer: `${'𝄞'.repeat(64)}`, // 256 bytes: the first three-byte head
      },
      [keyA],
    ),
    success('pos-three-recipients-first', 'three recipients; the decryptor holds only the first', text('for a, b and c'), ctx, [keyA, keyB, keyC], [KEY_A]),
    success('pos-three-recipients-last', 'the same scenario; the decryptor holds only the third', text('for a, b and c'), ctx, [keyA, keyB, keyC], [KEY_C]),
  ]
  const base = build('neg-base', seeded('neg pt', 2 * FRAME + 5), ctx, [keyA])
  const m = base.message
  const L = layout(m)
  const step = FRAME + 16
  const frame = (i: number) => m.subarray(L.bodyAt + i * step, Math.min(m.length, L.bodyAt + (i + 1) * step))
  // The message id sits after the CBOR array head (1), suite (1) and byte-string head (2).
  const messageIdAt = L.headerAt + 4
  // The commitment is the last 32 bytes of the header.
  const commitmentAt = L.tagAt - 32
  const other = build('neg-other-data-key', new Uint8Array(0), ctx, [keyA])
  const otherL = layout(other.message)
  const seventeen = Array.from({ length: 17 }, (_, i) => new LocalKeyring({ keyId: `vector-key-${i}`, key: seeded(`master ${i}`, 32) }))
  const bigHeader = m.slice(0, 9)
  new DataView(bigHeader.buffer).setUint32(5, 0xffffffff)
  const badCbor = concatBytes(m.subarray(0, L.headerAt), Uint8Array.of(0xff), m.subarray(L.headerAt + 1))
  // frame size 64 re-encoded with a 2-byte integer head (0x19 0x00 0x40) instead of 0x18 0x40: same value, longer spelling.
  const frameSizeAt = messageIdAt + 32
  const nonCanonicalHeader = concatBytes(
    m.subarray(0, L.headerAt),
    m.subarray(L.headerAt, frameSizeAt),
    Uint8Array.of(0x19, 0x00, 0x40),
    m.subarray(frameSizeAt + 2, L.tagAt),
  )
  new DataView(nonCanonicalHeader.buffer).setUint32(5, L.h + 1)
  const nonCanonical = concatBytes(nonCanonicalHeader, m.subarray(L.tagAt))
  /** `m` with its header replaced by `header` (H adjusted); tag, recipients and body unchanged. */
  const withHeader = (header: Uint8Array): Uint8Array => {
    const pre = m.slice(0, 9)
    new DataView(pre.buffer).setUint32(5, header.length)
    return concatBytes(pre, header, m.subarray(L.tagAt))
  }
  /** `m` with its recipients section replaced by the CBOR of `entries` (R adjusted). */
  const withRecipients = (entries: unknown[]): Uint8Array => {
    const section = encodeCbor(entries)
    const r = new Uint8Array(4)
    new DataView(r.buffer).setUint32(0, section.length)
    return concatBytes(m.subarray(0, L.recipientsAt - 4), r, section, m.subarray(L.bodyAt))
  }
  const wrappedA = decodeRecipients(m.subarray(L.recipientsAt, L.bodyAt), 16)[0]!.wrapped
  vectors.push(
    success(
      'pos-negatives-base',
      "same plaintext, context and key as the negative vectors' base message, but its own encryption (another message id and data key): the negatives are derived from a different message (two full frames and a 5-byte final frame)",
      seeded('neg pt', 2 * FRAME + 5),
      ctx,
      [keyA],
    ),
    failure(
      'neg-header-byte',
      'one byte of the message id in the header changed: the derived commitment no longer matches',
      'ERR_AUTH',
      flip(m, messageIdAt + 3),
    ),
    failure(
      'neg-context-byte',
      'one byte of a context value changed: the local keyring binds the context, so unwrapping fails',
      'ERR_UNWRAP',
      flip(m, L.tagAt - 34 - 5),
    ),
    failure(
      'neg-wrapped-key-substituted',
      'the wrapped key replaced by a valid wrap of another data key under the same master key: commitment mismatch',
      'ERR_AUTH',
      concatBytes(m.subarray(0, L.recipientsAt), other.message.subarray(otherL.recipientsAt, otherL.bodyAt), m.subarray(L.bodyAt)),
    ),
    failure('neg-commitment', 'one bit of the commitment changed', 'ERR_AUTH', flip(m, commitmentAt + 7)),
    failure('neg-header-tag', 'one bit of the header tag changed', 'ERR_AUTH', flip(m, L.tagAt + 15, 0x80)),
    failure('neg-frame-tag', 'one bit of the first frame tag changed', 'ERR_AUTH', flip(m, L.bodyAt + FRAME + 3)),
    failure('neg-frame-ciphertext', 'one bit of the final frame ciphertext changed', 'ERR_AUTH', flip(m, L.bodyAt + 2 * step)),
    failure(
      'neg-truncated-in-frame',
      'cut inside the second frame: what remains is read as a final frame and fails authentication',
      'ERR_AUTH',
      m.subarray(0, L.bodyAt + step + 40),
    ),
    failure('neg-final-frame-dropped', 'the final frame removed: the body ends on a full frame', 'ERR_TRUNCATED', m.subarray(0, L.bodyAt + 2 * step)),
    failure('neg-truncated-in-header', 'cut inside the header', 'ERR_TRUNCATED', m.subarray(0, L.headerAt + 20)),
    failure('neg-truncated-short-tail', 'cut so that fewer than 16 bytes follow the last full frame', 'ERR_TRUNCATED', m.subarray(0, L.bodyAt + step + 10)),
    failure('neg-frames-reordered', 'the two full frames swapped', 'ERR_AUTH', concatBytes(m.subarray(0, L.bodyAt), frame(1), frame(0), frame(2))),
    failure('neg-trailing-bytes', 'one byte appended after the final frame', 'ERR_AUTH', concatBytes(m, Uint8Array.of(0))),
    failure('neg-trailing-frame', 'an extra copy of the final frame appended', 'ERR_AUTH', concatBytes(m, frame(2))),
    failure('neg-wrong-context', 'authentic message, but the decryptor expects another tenant', 'ERR_CONTEXT_MISMATCH', m, {
      decrypt: { expectContext: { tenant: 'other' } },
    }),
    failure('neg-wrong-master-key', 'the decryptor holds a key with the same id but other key material', 'ERR_UNWRAP', m, {
      keys: [{ keyId: 'vector-key-a', key: hexKey('master a wrong') }],
    }),
    failure('neg-no-matching-key', 'the decryptor holds none of the message keys', 'ERR_NO_MATCHING_KEY', m, { keys: [KEY_B] }),
    failure('neg-too-many-wrapped-keys', '17 wrapped keys; readers accept 16 by default', 'ERR_LIMIT', build('neg-17', text('x'), ctx, seventeen).message),
    failure('neg-oversized-header-length', 'the header length field claims 4 GiB', 'ERR_LIMIT', bigHeader),
    failure('neg-malformed-cbor', 'the header CBOR starts with a stray break byte', 'ERR_FORMAT', badCbor),
    failure('neg-non-canonical-cbor', 'the frame size written with a longer integer head than needed', 'ERR_FORMAT', nonCanonical),
    failure('neg-bad-magic', 'the first byte is not "K"', 'ERR_FORMAT', flip(m, 0, 0x20)),
    failure('neg-unsupported-version', 'format version 2', 'ERR_UNSUPPORTED', flip(m, 4, 0x03)),
    failure(
      'neg-cbor-depth-4',
      'the header is [[[[]]]]: 4 levels pass the CBOR subset check, then it is not a 5-item header',
      'ERR_FORMAT',
      withHeader(Uint8Array.of(0x81, 0x81, 0x81, 0x80)),
    ),
    failure(
      'neg-cbor-depth-5',
      'the header is [[[[[]]]]]: containers nest 5 deep, beyond the limit of 4 (checked before decoding)',
      'ERR_LIMIT',
      withHeader(Uint8Array.of(0x81, 0x81, 0x81, 0x81, 0x80)),
    ),
    failure(
      'neg-key-id-too-long',
      'the only recipient has a key id of 2,049 bytes: a malformed entry, not a limit',
      'ERR_FORMAT',
      withRecipients([['local', 'k'.repeat(2049), wrappedA]]),
    ),
    failure(
      'neg-keyring-type-too-long',
      'the only recipient has a keyring type of 33 bytes: a malformed entry',
      'ERR_FORMAT',
      withRecipients([['a'.repeat(33), 'vector-key-a', wrappedA]]),
    ),
    failure(
      'neg-wrapped-key-too-long',
      'the only recipient has a wrapped key of 8,193 bytes: a malformed entry',
      'ERR_FORMAT',
      withRecipients([['local', 'vector-key-a', new Uint8Array(8193)]]),
    ),
    failure(
      'neg-trailing-full-step',
      'bytes appended after the final frame so that the body ends exactly on a full step: the final frame is missing',
      'ERR_TRUNCATED',
      concatBytes(m, seeded('neg trailing full step', step - frame(2).length)),
    ),
    failure(
      'neg-cut-no-matching-key',
      'the final frame dropped and the reader holds none of the keys: a buffer reader sees the cut before any unwrap, a stream only after the head',
      'ERR_TRUNCATED',
      m.subarray(0, L.bodyAt + 2 * step),
      { keys: [KEY_B], streamCode: 'ERR_NO_MATCHING_KEY' },
    ),
  )
  void keyAWrong
  return vectors
}

/** One Decrypt request a reader sends for an `aws-kms` recipient, as the SDK serialises it. */
export interface KmsRequest {
  readonly operation: 'Decrypt'
  /** The key ARN the call is pinned to (the reader's own replica for a multi-Region key). */
  readonly KeyId: string
  /** The message's context; absent when it is empty (KMS has no empty context). */
  readonly EncryptionContext?: Record<string, string>
  /** Hex of the recipient's `wrapped` bytes. */
  readonly CiphertextBlob: string
}

/** What the recorded KMS answered to the request at the same index. */
export type KmsResponse = { readonly KeyId: string; readonly Plaintext: string } | { readonly error: string }

/**
 * The KMS side of an `aws-kms` vector. A real CiphertextBlob is opaque (only KMS can open it),
 * so the vector records one: seeded bytes standing in for KMS's blob, and KMS's answer to the
 * one Decrypt that may carry it. A reader replays the answers and checks its requests.
 */
export interface KmsRecording {
  /** The key ARNs the reader's KMS keyring is configured with (none: it holds no KMS key). */
  readonly keyIds: readonly string[]
  /** The Region of the reader's KMS client. */
  readonly region: string
  /** Exactly the requests the reader must send, in order (none: it must not call KMS). */
  readonly requests: readonly KmsRequest[]
  readonly responses: readonly KmsResponse[]
}

/** An `aws-kms` vector (test/vectors/aws-kms-*.json): a {@link Vector} with the recorded KMS exchange. */
export interface KmsVector extends Vector {
  readonly kms: KmsRecording
}

const KMS_ACCOUNT = '111122223333'
const KMS_ARN = `arn:aws:kms:eu-west-1:${KMS_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
const KMS_ARN_OTHER = `arn:aws:kms:eu-west-1:${KMS_ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`
const MRK_ID = 'mrk-1234abcd12ab34cd56ef1234567890ab'
const MRK_EAST = `arn:aws:kms:us-east-1:${KMS_ACCOUNT}:key/${MRK_ID}`
const MRK_WEST = `arn:aws:kms:eu-west-1:${KMS_ACCOUNT}:key/${MRK_ID}`
/** Symmetric KMS blobs for a 32-byte plaintext are about this long; the length is not checked. */
const KMS_BLOB_BYTES = 184

/** A message for `aws-kms` recipients (`{ arn, blob }`, blob = the recorded CiphertextBlob) and local keyrings, in order. */
function buildMixed(
  name: string,
  plaintext: Uint8Array,
  context: Record<string, string>,
  entries: ReadonlyArray<{ readonly arn: string; readonly blob: Uint8Array } | LocalKeyring>,
): Built {
  const ctx = canonicalContext(context, 'context', true)
  const dataKeyBytes = seeded(`${name} data key`, 32)
  const messageId = seeded(`${name} message id`, 32)
  const dataKey = new DataKey(dataKeyBytes.slice())
  const recipients: Recipient[] = entries.map((e, i) =>
    e instanceof LocalKeyring
      ? wrapWithFixedSaltForVectors(e, dataKey, ctx, seeded(`${name} salt ${i}`, 32), backend)
      : { type: 'aws-kms', keyId: e.arn, wrapped: e.blob },
  )
  const message = sealMessage(backend, { dataKey, recipients, context: ctx, frameSize: FRAME, messageId }, plaintext)
  return { message, dataKey: dataKeyBytes, messageId }
}

function kmsVector(
  name: string,
  comment: string,
  b: Built,
  plaintext: Uint8Array,
  context: Record<string, string>,
  kms: KmsRecording,
  outcome: { readonly code?: string; readonly keys?: Vector['keys'] } = {},
): KmsVector {
  const keys = outcome.keys ?? []
  if (outcome.code !== undefined) return { name, comment, expect: 'failure', code: outcome.code, keys, decrypt: {}, message: bytesToHex(b.message), kms }
  const derived = deriveMessageKeys(backend, b.dataKey, b.messageId, SUITE_AES256GCM_HKDFSHA512_COMMIT)
  return {
    name,
    comment,
    expect: 'success',
    keys,
    decrypt: {},
    message: bytesToHex(b.message),
    plaintext: { hex: bytesToHex(plaintext), utf8: new TextDecoder().decode(plaintext) },
    context,
    intermediate: {
      dataKey: bytesToHex(b.dataKey),
      messageId: bytesToHex(b.messageId),
      contentKey: bytesToHex(derived.contentKey),
      commitment: bytesToHex(derived.commitment),
    },
    kms,
  }
}

/** The `aws-kms` vectors (written beside the others as aws-kms-*.json; replayed by test/vectors-kms.test.ts). */
export function generateKmsVectors(using: CryptoBackend = nodeBackend): KmsVector[] {
  backend = using
  const ctx = { tenant: 'acme', purpose: 'test vectors' }
  const blob = seeded('aws-kms ciphertext blob', KMS_BLOB_BYTES)
  const decrypt = (KeyId: string, c: Record<string, string>, wrapped: Uint8Array): KmsRequest => ({
    operation: 'Decrypt',
    KeyId,
    ...(Object.keys(c).length === 0 ? {} : { EncryptionContext: c }),
    CiphertextBlob: bytesToHex(wrapped),
  })
  const pt = text('opened through KMS')
  const single = buildMixed('aws-kms-single', pt, ctx, [{ arn: KMS_ARN, blob }])
  const singleKey = bytesToHex(single.dataKey)
  const mixedPt = text('for KMS and a local key')
  const mixed = buildMixed('aws-kms-and-local', mixedPt, ctx, [{ arn: KMS_ARN, blob: seeded('aws-kms-and-local blob', KMS_BLOB_BYTES) }, keyA])
  const mrkBlob = seeded('aws-kms-mrk blob', KMS_BLOB_BYTES)
  const mrkPt = text('multi-Region key')
  const mrk = buildMixed('aws-kms-mrk-replica', mrkPt, ctx, [{ arn: MRK_EAST, blob: mrkBlob }])
  // Same data key and blob as aws-kms-single; only the header's context differs from the one KMS bound the blob to.
  const tamperedCtx = { tenant: 'acme', purpose: 'test vectorz' }
  const tampered = buildMixed('aws-kms-single', pt, tamperedCtx, [{ arn: KMS_ARN, blob }])
  const region = 'eu-west-1'
  return [
    kmsVector('aws-kms-single', 'one aws-kms recipient: one Decrypt pinned to its key ARN, with the header context', single, pt, ctx, {
      keyIds: [KMS_ARN],
      region,
      requests: [decrypt(KMS_ARN, ctx, blob)],
      responses: [{ KeyId: KMS_ARN, Plaintext: singleKey }],
    }),
    kmsVector('aws-kms-and-local-kms-reader', 'an aws-kms and a local recipient; the reader holds only the KMS key', mixed, mixedPt, ctx, {
      keyIds: [KMS_ARN],
      region,
      requests: [decrypt(KMS_ARN, ctx, seeded('aws-kms-and-local blob', KMS_BLOB_BYTES))],
      responses: [{ KeyId: KMS_ARN, Plaintext: bytesToHex(mixed.dataKey) }],
    }),
    kmsVector(
      'aws-kms-and-local-local-reader',
      'the same message; the reader holds only the local key and must not call KMS',
      mixed,
      mixedPt,
      ctx,
      { keyIds: [], region, requests: [], responses: [] },
      { keys: [KEY_A] },
    ),
    kmsVector(
      'aws-kms-mrk-replica',
      'wrapped under a us-east-1 multi-Region key; the reader holds its eu-west-1 replica and calls Decrypt there, pinned to the replica ARN',
      mrk,
      mrkPt,
      ctx,
      { keyIds: [MRK_WEST], region, requests: [decrypt(MRK_WEST, ctx, mrkBlob)], responses: [{ KeyId: MRK_WEST, Plaintext: bytesToHex(mrk.dataKey) }] },
    ),
    kmsVector(
      'aws-kms-neg-wrong-context',
      'aws-kms-single\'s blob (bound by KMS to purpose "test vectors") in a header whose context says "test vectorz": the reader sends the header\'s context and KMS refuses',
      tampered,
      pt,
      tamperedCtx,
      { keyIds: [KMS_ARN], region, requests: [decrypt(KMS_ARN, tamperedCtx, blob)], responses: [{ error: 'InvalidCiphertextException' }] },
      { code: 'ERR_KMS_INVALID_CIPHERTEXT' },
    ),
    kmsVector(
      'aws-kms-neg-unknown-key',
      'the only recipient names a key ARN the reader does not hold: no KMS call at all',
      single,
      pt,
      ctx,
      { keyIds: [KMS_ARN_OTHER], region, requests: [], responses: [] },
      { code: 'ERR_NO_MATCHING_KEY' },
    ),
    kmsVector(
      'aws-kms-neg-short-plaintext',
      'KMS answers with a 31-byte plaintext: not a data key, rejected before use',
      single,
      pt,
      ctx,
      { keyIds: [KMS_ARN], region, requests: [decrypt(KMS_ARN, ctx, blob)], responses: [{ KeyId: KMS_ARN, Plaintext: singleKey.slice(0, 62) }] },
      { code: 'ERR_KMS' },
    ),
    kmsVector(
      'aws-kms-neg-other-key-id',
      'KMS answers with the right data key but for another key ARN than the one requested: rejected',
      single,
      pt,
      ctx,
      { keyIds: [KMS_ARN], region, requests: [decrypt(KMS_ARN, ctx, blob)], responses: [{ KeyId: KMS_ARN_OTHER, Plaintext: singleKey }] },
      { code: 'ERR_KMS' },
    ),
  ]
}

const here = fileURLToPath(import.meta.url)
if (process.argv[1] === here) {
  const dir = join(fileURLToPath(new URL('../../test/vectors/', import.meta.url)))
  // Generated before the old files go: a generator that throws leaves the vectors as they were.
  const vectors: Vector[] = [...generateVectors(), ...generateKmsVectors(), ...generateHierarchyVectors()]
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(join(dir, f))
  for (const v of vectors) writeFileSync(join(dir, `${v.name}.json`), `${JSON.stringify(v, null, 2)}\n`)
  console.log(`wrote ${vectors.length} vectors to ${dir}`)
}
