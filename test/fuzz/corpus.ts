/**
 * Valid messages to attack: the success test vectors as shipped, and the same plaintexts,
 * contexts and recipients sealed again with other frame sizes. Resealing is deterministic
 * (seeded data key, message id and wrap salts), so a failure names a reproducible message.
 */

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { hexToBytes, concatBytes as nobleConcat } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import type { Vector } from '../../scripts/gen-vectors.js'
import { DataKey } from '../../src/crypto/data-key.js'
import { sealMessage } from '../../src/crypto/message.js'
import { encodeCbor } from '../../src/format/cbor.js'
import { canonicalContext } from '../../src/format/context.js'
import { parseHead } from '../../src/format/message.js'
import type { KeyCache } from '../../src/index.js'
import { DEFAULT_MAX_WRAPPED_KEYS, Envelope, LocalKeyring } from '../../src/index.js'
import { wrapWithFixedSaltForVectors } from '../../src/keyrings/local.js'
import { CountingKeyring } from '../counting-keyring.js'
import { pattern, VECTORS_DIR } from '../helpers.js'
import type { Reader } from './oracle.js'

/** A local key: its id and 32 bytes. */
export interface KeySpec {
  readonly keyId: string
  readonly key: Uint8Array
}

/** An authentic message and everything needed to check what a reader makes of it. */
export interface Sample {
  readonly name: string
  readonly message: Uint8Array
  readonly plaintext: Uint8Array
  readonly context: Readonly<Record<string, string>>
  /** Every key the message is wrapped for, in message order. */
  readonly recipients: readonly KeySpec[]
  /** The keys the reader holds (a subset of `recipients`). */
  readonly holder: readonly KeySpec[]
  readonly frameSize: number
}

/** The success vectors of test/vectors/, as samples. */
export function vectorSamples(): Sample[] {
  const files = readdirSync(VECTORS_DIR)
    .filter((f) => f.startsWith('pos-') && f.endsWith('.json'))
    .sort()
  return files.map((file) => {
    const v = JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')) as Vector
    if (v.expect !== 'success') throw new Error(`${file}: expected a success vector`)
    const message = hexToBytes(v.message)
    const holder = v.keys.map((k) => ({ keyId: k.keyId, key: hexToBytes(k.key) }))
    const parsed = parseHead(message)
    if (!('head' in parsed)) throw new Error(`${file}: incomplete head`)
    // The vectors give only the reader's keys; the other recipients get stand-in keys, which
    // matters only for resealing (the vector message itself is used as shipped).
    const recipients = parsed.head.recipients.map((r, i) => holder.find((h) => h.keyId === r.keyId) ?? { keyId: r.keyId, key: pattern(32, 1000 + i) })
    return {
      name: v.name,
      message,
      plaintext: hexToBytes(v.plaintext!.hex),
      context: v.context ?? {},
      recipients,
      holder,
      frameSize: parsed.head.header.frameSize,
    }
  })
}

/** `sample` sealed again with `frameSize`, deterministically from `seed`. */
export function reseal(sample: Sample, frameSize: number, seed: number): Sample {
  const context = canonicalContext(sample.context, 'context', true)
  const dataKey = new DataKey(pattern(32, seed))
  const recipients = sample.recipients.map((k, i) => wrapWithFixedSaltForVectors(new LocalKeyring(k), dataKey, context, pattern(32, seed + 2 + i)))
  const message = sealMessage(backend, { dataKey, recipients, context, frameSize, messageId: pattern(32, seed + 1) }, sample.plaintext)
  dataKey.wipe()
  return { ...sample, name: `${sample.name} @ frame ${frameSize}`, message, frameSize }
}

/** The vectors as shipped plus each resealed with every one of `frameSizes`. */
export function tamperSamples(frameSizes: readonly number[] = [64, 100, 4096]): Sample[] {
  const out: Sample[] = []
  for (const [i, sample] of vectorSamples().entries()) {
    out.push(sample)
    for (const [j, frameSize] of frameSizes.entries()) out.push(reseal(sample, frameSize, 100 * i + 10 * j + 1))
  }
  return out
}

/** Byte ranges of a message, for deciding which edits the format lets through. */
export interface Layout {
  /** End of the authenticated part plus header tag: every byte before this is pinned. */
  readonly tagEnd: number
  /** [start, end) of each recipient entry, in message order. */
  readonly entries: ReadonlyArray<readonly [number, number]>
  readonly bodyOffset: number
}

export function layoutOf(message: Uint8Array): Layout {
  const parsed = parseHead(message)
  if (!('head' in parsed)) throw new Error('incomplete head')
  const { head } = parsed
  const tagEnd = head.authenticated.length + head.headerTag.length
  const sectionStart = tagEnd + 4
  const arrayHead = encodeCbor(head.recipients.map(() => 0)).length - head.recipients.length // the array head alone
  let at = sectionStart + arrayHead
  const entries = head.recipients.map((r) => {
    const start = at
    at += encodeCbor([r.type, r.keyId, r.wrapped]).length
    return [start, at] as const
  })
  if (at !== head.bodyOffset) throw new Error('recipient entries do not fill the recipients section')
  return { tagEnd, entries, bodyOffset: head.bodyOffset }
}

/** Index of the recipient a reader holding `holder` unwraps: the first it holds, in message order. */
export function usedRecipient(sample: Sample): number {
  const index = sample.recipients.findIndex((r) => sample.holder.some((h) => h.keyId === r.keyId))
  if (index < 0) throw new Error(`${sample.name}: the reader holds no recipient`)
  return index
}

/** A reader holding `holder`: an Envelope over counting wrappers of those keys. */
export function readerFor(holder: readonly KeySpec[], options: { maxWrappedKeys?: number; cache?: KeyCache } = {}): Reader {
  const counters = holder.map((k) => new CountingKeyring(new LocalKeyring(k)))
  const maxWrappedKeys = options.maxWrappedKeys ?? DEFAULT_MAX_WRAPPED_KEYS
  const env = new Envelope({ keyring: counters, maxWrappedKeys, ...(options.cache === undefined ? {} : { cache: options.cache }) })
  return { env, counters, maxWrappedKeys }
}

/** One byte string of `parts` in order (@noble's concatBytes, for a list). */
export const concatBytes = (parts: readonly Uint8Array[]): Uint8Array => nobleConcat(...parts)
