/**
 * Generates the public-key recipient vectors (test/vectors/x25519-*.json and
 * mlkem768x25519-*.json, FORMAT.md §16) from fixed seeds: identities, data keys, message ids,
 * ephemeral X25519 secrets and X-Wing encapsulation randomness all come from one seeded
 * generator, through the internal wrap hooks. Positive vectors carry the intermediate values
 * (shared secret, wrap key) an implementer of another decoder needs; negative ones are forged
 * entries each reader must refuse with the code given.
 *
 * `npm run vectors` runs it after scripts/gen-vectors.ts (which clears test/vectors/ first);
 * test/vectors-recipients.test.ts regenerates them in memory on both backends and requires
 * byte-identical files.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import type { CryptoBackend } from '../src/crypto/backend.js'
import { DataKey } from '../src/crypto/data-key.js'
import { sealMessage } from '../src/crypto/message.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { canonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import { encodeRecipients } from '../src/format/header.js'
import { PostQuantumIdentity, wrapPostQuantumForVectors } from '../src/keyrings/mlkem768x25519.js'
import { wrapX25519ForVectors, X25519Identity } from '../src/keyrings/x25519.js'

/** One recipient vector file. */
export interface RecipientVector {
  readonly name: string
  readonly comment: string
  readonly expect: 'success' | 'failure'
  /** Error code a decryptor must raise (failure vectors). */
  readonly code?: string
  /** The identities the decryptor holds (age strings: AGE-SECRET-KEY-1… / AGE-SECRET-KEY-PQ-1…). */
  readonly identities: readonly string[]
  readonly message: string
  readonly plaintext?: { readonly hex: string; readonly utf8: string }
  readonly context?: Record<string, string>
  /** Success vectors: how each recipient entry was made. */
  readonly intermediate?: {
    readonly dataKey: string
    readonly recipients: ReadonlyArray<{
      readonly type: string
      readonly recipient: string
      readonly keyId: string
      /** x25519: the ephemeral secret; mlkem768x25519: the 64 bytes of encapsulation randomness. */
      readonly randomness: string
      readonly share: string
      readonly sharedSecret: string
      readonly wrapKey: string
    }>
  }
}

function seeded(using: CryptoBackend, label: string, length: number): Uint8Array {
  return using.hkdfSha512(utf8ToBytes('kms-envelope recipient vectors v1'), new Uint8Array(0), utf8ToBytes(label), length)
}

const FRAME = 64
const P = (1n << 255n) - 19n
const ORDER_8 = 325606250916557431795983626356110631294008115727848805560023387167927233504n
const le32 = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))

type AnyIdentity = X25519Identity | PostQuantumIdentity

/** The recipient vectors, sealed with `using`. */
export function generateRecipientVectors(using: CryptoBackend = nodeBackend): RecipientVector[] {
  const x = new X25519Identity(seeded(using, 'x25519 identity', 32))
  const xOther = new X25519Identity(seeded(using, 'x25519 other identity', 32))
  const pq = new PostQuantumIdentity(seeded(using, 'pq identity', 32))
  const pqOther = new PostQuantumIdentity(seeded(using, 'pq other identity', 32))
  const ctx = { tenant: 'acme', purpose: 'recipient vectors' }
  const otherCtx = { tenant: 'acme', purpose: 'another context' }

  type Trace = NonNullable<RecipientVector['intermediate']>['recipients'][number]
  function build(name: string, plaintext: string, context: Record<string, string>, to: readonly AnyIdentity[]) {
    const canonical = canonicalContext(context, 'context', true)
    const dataKeyBytes = seeded(using, `${name} data key`, 32)
    const dataKey = new DataKey(dataKeyBytes.slice())
    const traces: Trace[] = []
    const recipients: Recipient[] = to.map((identity, i) => {
      if (identity instanceof X25519Identity) {
        const randomness = seeded(using, `${name} ephemeral ${i}`, 32)
        let t: { sharedSecret: Uint8Array; wrapKey: Uint8Array } | undefined
        const r = wrapX25519ForVectors(identity.recipient, dataKey, canonical, randomness, using, (trace) => {
          t = trace
        })
        traces.push(traceOf(identity, r, randomness, t!))
        return r
      }
      const randomness = seeded(using, `${name} encapsulation ${i}`, 64)
      let t: { sharedSecret: Uint8Array; wrapKey: Uint8Array } | undefined
      const r = wrapPostQuantumForVectors(identity.recipient, dataKey, canonical, randomness, using, (trace) => {
        t = trace
      })
      traces.push(traceOf(identity, r, randomness, t!))
      return r
    })
    const message = sealMessage(
      using,
      { dataKey, recipients, context: canonical, frameSize: FRAME, messageId: seeded(using, `${name} message id`, 32) },
      utf8ToBytes(plaintext),
    )
    return { message, recipients, intermediate: { dataKey: bytesToHex(dataKeyBytes), recipients: traces } }
  }
  function traceOf(identity: AnyIdentity, r: Recipient, randomness: Uint8Array, t: { sharedSecret: Uint8Array; wrapKey: Uint8Array }): Trace {
    const share = r.wrapped.subarray(0, r.wrapped.length - 48)
    return {
      type: r.type,
      recipient: identity.recipient.toString(),
      keyId: r.keyId,
      randomness: bytesToHex(randomness),
      share: bytesToHex(share),
      sharedSecret: bytesToHex(t.sharedSecret),
      wrapKey: bytesToHex(t.wrapKey),
    }
  }
  const success = (name: string, comment: string, plaintext: string, to: readonly AnyIdentity[], holder: readonly AnyIdentity[]): RecipientVector => {
    const b = build(name, plaintext, ctx, to)
    return {
      name,
      comment,
      expect: 'success',
      identities: holder.map((h) => h.toSecretString()),
      message: bytesToHex(b.message),
      plaintext: { hex: bytesToHex(utf8ToBytes(plaintext)), utf8: plaintext },
      context: ctx,
      intermediate: b.intermediate,
    }
  }
  const failure = (name: string, comment: string, code: string, message: Uint8Array, holder: AnyIdentity): RecipientVector => ({
    name,
    comment,
    expect: 'failure',
    code,
    identities: [holder.toSecretString()],
    message: bytesToHex(message),
  })
  /** The message of `b` with its one recipient replaced (a writer that forged the entry; the header is untouched). */
  const forged = (name: string, identity: AnyIdentity, edit: (wrapped: Uint8Array) => Uint8Array, entryFrom?: Recipient) => {
    const b = build(name, `forged: ${name}`, ctx, [identity])
    const entry = entryFrom ?? b.recipients[0]!
    return spliceRecipients(b, name, [{ ...entry, wrapped: edit(entry.wrapped.slice()) }], identity)
  }

  const xBase = build('x25519-neg-base', 'x25519 negative base', ctx, [x])
  const pqBase = build('mlkem768x25519-neg-base', 'pq negative base', ctx, [pq])
  const xOtherCtx = build('x25519-other-context', 'other context', otherCtx, [x])
  const pqOtherCtx = build('mlkem768x25519-other-context', 'other context', otherCtx, [pq])
  const set = (at: number, bytes: Uint8Array) => (w: Uint8Array) => {
    w.set(bytes, at)
    return w
  }
  const flip = (at: number) => (w: Uint8Array) => {
    w[at] = w[at]! ^ 0x01
    return w
  }
  const same = (w: Uint8Array) => w
  return [
    success('x25519-single', 'one x25519 recipient (80-byte entry: ephemeral share || sealed data key)', 'to an X25519 recipient', [x], [x]),
    success(
      'mlkem768x25519-single',
      'one mlkem768x25519 (X-Wing) recipient (1168-byte entry: KEM ciphertext || sealed data key)',
      'to a post-quantum recipient',
      [pq],
      [pq],
    ),
    success(
      'x25519-mixed-x25519-reader',
      'an mlkem768x25519 and an x25519 recipient (written with allowClassicalRecipients); the reader holds only the x25519 identity',
      'to both',
      [pq, x],
      [x],
    ),
    success('mlkem768x25519-mixed-pq-reader', 'the same recipients; the reader holds only the post-quantum identity', 'to both', [pq, x], [pq]),
    failure(
      'x25519-neg-wrong-identity',
      'x25519-neg-base read with another X25519 identity: no entry has its key id',
      'ERR_NO_MATCHING_KEY',
      xBase.message,
      xOther,
    ),
    forged('x25519-neg-low-order-share', x, set(0, le32(ORDER_8))),
    forged('x25519-neg-zero-share', x, set(0, le32(0n))),
    forged('x25519-neg-noncanonical-zero-share', x, set(0, le32(P | (1n << 255n)))),
    forged('x25519-neg-sealed-byte', x, flip(40)),
    forged('x25519-neg-short-entry', x, (w) => w.subarray(0, 79)),
    forged('x25519-neg-entry-other-context', x, same, xOtherCtx.recipients[0]),
    forged('x25519-neg-substituted-entry', x, same, xBase.recipients[0]),
    failure(
      'mlkem768x25519-neg-wrong-identity',
      'mlkem768x25519-neg-base read with another post-quantum identity: no entry has its key id',
      'ERR_NO_MATCHING_KEY',
      pqBase.message,
      pqOther,
    ),
    forged('mlkem768x25519-neg-short-ciphertext', pq, (w) => w.subarray(1)),
    forged('mlkem768x25519-neg-low-order-x25519-share', pq, set(1088, le32(ORDER_8))),
    forged('mlkem768x25519-neg-ciphertext-byte', pq, flip(100)),
    forged('mlkem768x25519-neg-sealed-byte', pq, flip(1130)),
    forged('mlkem768x25519-neg-entry-other-context', pq, same, pqOtherCtx.recipients[0]),
    forged('mlkem768x25519-neg-substituted-entry', pq, same, pqBase.recipients[0]),
  ]
}

const FORGED: Record<string, readonly [string, string]> = {
  'x25519-neg-low-order-share': ['ERR_UNWRAP', 'the ephemeral share is a point of order 8: refused before the scalar multiplication'],
  'x25519-neg-zero-share': ['ERR_UNWRAP', 'the ephemeral share is u = 0, whose shared secret is all zero: refused before the scalar multiplication'],
  'x25519-neg-noncanonical-zero-share': ['ERR_UNWRAP', 'the share is p with bit 255 set, a non-canonical spelling of u = 0 (all-zero shared secret)'],
  'x25519-neg-sealed-byte': ['ERR_UNWRAP', 'one bit of the sealed data key flipped'],
  'x25519-neg-short-entry': ['ERR_UNWRAP', 'the entry is 79 bytes instead of 80: refused before any X25519 work'],
  'x25519-neg-entry-other-context': ['ERR_UNWRAP', "the entry of a message with another context, in this message's recipients: the AAD binds the context"],
  'x25519-neg-substituted-entry': ['ERR_AUTH', "another message's entry (same identity, same context): it unwraps, to a data key the commitment refuses"],
  'mlkem768x25519-neg-short-ciphertext': [
    'ERR_UNWRAP',
    'the entry is 1167 bytes instead of 1168 (a KEM ciphertext one byte short): refused before decapsulation',
  ],
  'mlkem768x25519-neg-low-order-x25519-share': [
    'ERR_UNWRAP',
    'the X25519 part of the KEM ciphertext (its last 32 bytes) is a point of order 8: refused before decapsulation',
  ],
  'mlkem768x25519-neg-ciphertext-byte': ['ERR_UNWRAP', 'one bit of the ML-KEM ciphertext flipped: implicit rejection gives another secret, the seal fails'],
  'mlkem768x25519-neg-sealed-byte': ['ERR_UNWRAP', 'one bit of the sealed data key flipped'],
  'mlkem768x25519-neg-entry-other-context': [
    'ERR_UNWRAP',
    "the entry of a message with another context, in this message's recipients: the AAD binds the context",
  ],
  'mlkem768x25519-neg-substituted-entry': [
    'ERR_AUTH',
    "another message's entry (same identity, same context): it unwraps, to a data key the commitment refuses",
  ],
}

/** `b`'s message with its recipients section replaced (the header and body untouched). */
function spliceRecipients(b: { message: Uint8Array }, name: string, recipients: Recipient[], holder: AnyIdentity): RecipientVector {
  const [code, comment] = FORGED[name]!
  const m = b.message
  const view = new DataView(m.buffer, m.byteOffset)
  const tagAt = 9 + view.getUint32(5)
  const recipientsAt = tagAt + 20
  const bodyAt = recipientsAt + view.getUint32(tagAt + 16)
  const section = encodeRecipients(recipients)
  const out = new Uint8Array(recipientsAt - 4 + 4 + section.length + (m.length - bodyAt))
  out.set(m.subarray(0, recipientsAt - 4), 0)
  new DataView(out.buffer).setUint32(recipientsAt - 4, section.length)
  out.set(section, recipientsAt)
  out.set(m.subarray(bodyAt), recipientsAt + section.length)
  return { name, comment, expect: 'failure', code, identities: [holder.toSecretString()], message: bytesToHex(out) }
}

const here = fileURLToPath(import.meta.url)
if (process.argv[1] === here) {
  const dir = fileURLToPath(new URL('../../test/vectors/', import.meta.url))
  const vectors = generateRecipientVectors()
  for (const v of vectors) writeFileSync(join(dir, `${v.name}.json`), `${JSON.stringify(v, null, 2)}\n`)
  console.log(`wrote ${vectors.length} recipient vectors to ${dir}`)
}
