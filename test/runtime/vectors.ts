/**
 * Every vector of test/vectors/*.json (the local-key ones; aws-kms-* need a recorded KMS) and
 * test/vectors/fields/*.json, on the buffer reader and on the Web stream reader: the same
 * files test/vectors.test.ts and test/fields-vectors.test.ts check under Node.
 */
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { hexToBytes } from '@noble/ciphers/utils.js'
import { Envelope, FieldEncryptor, inspect, LocalKeyring, parseIdentity } from 'kms-envelope'
import type { FieldVector } from '../../scripts/gen-field-vectors.js'
import { fromTyped } from '../../scripts/gen-field-vectors.js'
import type { RecipientVector } from '../../scripts/gen-recipient-vectors.js'
import type { Vector } from '../../scripts/gen-vectors.js'
import { openIndexKey } from '../../src/fields/deterministic.js'
import { Envelope as ModuleEnvelope } from '../../src/index.js'
import { unevenStream } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, hex, ok, rejectsWithCode } from './harness.js'

const VECTORS = new URL('../../../test/vectors/', import.meta.url)

async function load<T>(dir: URL, keep: (name: string) => boolean): Promise<T[]> {
  const names = (await readdir(fileURLToPath(dir))).filter((f) => f.endsWith('.json') && keep(f)).sort()
  return Promise.all(names.map(async (f) => JSON.parse(await readFile(fileURLToPath(new URL(f, dir)), 'utf8')) as T))
}

/** x25519-* and mlkem768x25519-* vectors hold identities, not local keys (FORMAT.md §16). */
const PUBLIC_KEY_VECTOR = /^(x25519|mlkem768x25519)-/

async function publicKeyVectors(): Promise<void> {
  const vectors = await load<RecipientVector>(VECTORS, (f) => PUBLIC_KEY_VECTOR.test(f))
  ok(vectors.filter((v) => v.expect === 'failure').length >= 12, 'at least 12 negative public-key vectors')
  for (const v of vectors) {
    const env = new Envelope({ keyring: v.identities.map((s) => parseIdentity(s)) })
    const message = hexToBytes(v.message)
    if (v.expect === 'success') equal(hex((await env.decrypt(message)).plaintext), v.plaintext!.hex, `${v.name}: plaintext`)
    else await rejectsWithCode(env.decrypt(message), v.code!, v.name)
  }
}

const keyringOf = (keys: Vector['keys']): LocalKeyring[] => keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) }))

async function messageVectors(): Promise<void> {
  const vectors = await load<Vector>(VECTORS, (f) => !f.startsWith('aws-kms-') && !PUBLIC_KEY_VECTOR.test(f))
  ok(vectors.filter((v) => v.expect === 'success').length >= 10, 'at least 10 positive vectors')
  ok(vectors.filter((v) => v.expect === 'failure').length >= 20, 'at least 20 negative vectors')
  for (const v of vectors) {
    const env = new Envelope({ keyring: keyringOf(v.keys), ...(v.decrypt.maxWrappedKeys === undefined ? {} : { maxWrappedKeys: v.decrypt.maxWrappedKeys }) })
    const message = hexToBytes(v.message)
    const options = v.decrypt.expectContext === undefined ? {} : { expectContext: v.decrypt.expectContext }
    const streamed = (): Promise<ArrayBuffer> => new Response(unevenStream(message).pipeThrough(env.decryptStream(options))).arrayBuffer()
    if (v.expect === 'success') {
      const result = await env.decrypt(message, options)
      equal(hex(result.plaintext), v.plaintext!.hex, `${v.name}: plaintext`)
      equal(result.context, v.context, `${v.name}: context`)
      equal(inspect(message).messageId, v.intermediate!.messageId, `${v.name}: messageId`)
      equal(hex(new Uint8Array(await streamed())), v.plaintext!.hex, `${v.name}: streamed plaintext`)
    } else {
      await rejectsWithCode(env.decrypt(message, options), v.code!, v.name)
      await rejectsWithCode(streamed(), v.streamCode ?? v.code!, `${v.name} (stream)`)
    }
  }
}

async function fieldVectors(): Promise<void> {
  const vectors = await load<FieldVector>(new URL('fields/', VECTORS), () => true)
  ok(vectors.filter((v) => v.expect === 'failure').length >= 6, 'at least 6 negative field vectors')
  ok(vectors.some((v) => (v.deterministic?.length ?? 0) > 0) && vectors.some((v) => (v.blind?.length ?? 0) > 0), 'deterministic and blind vectors')
  for (const v of vectors) {
    const envelope = new Envelope({ keyring: keyringOf(v.keys) })
    const fields = new FieldEncryptor({
      envelope,
      schema: v.schema,
      ...(v.indexKey !== undefined && { indexKey: v.indexKey }),
      ...(v.indexKeyContext !== undefined && { indexKeyContext: v.indexKeyContext }),
    })
    const options = v.expectContext === undefined ? {} : { expectContext: v.expectContext }
    if (v.expect === 'failure') {
      await rejectsWithCode(fields.decryptRecord(v.stored!, options), v.code!, v.name)
      continue
    }
    if (v.stored !== undefined) {
      const back = await fields.decryptRecord(v.stored, options)
      for (const [path, typed] of Object.entries(v.values!)) equal(back[path], fromTyped(typed), `${v.name}: ${path}`)
    }
    if (v.indexKeyBytes !== undefined)
      equal(
        hex((await openIndexKey(new ModuleEnvelope({ keyring: keyringOf(v.keys) }), v.indexKey!, v.indexKeyContext)).bytes),
        v.indexKeyBytes,
        `${v.name}: index key`,
      )
    for (const s of v.deterministic ?? [])
      equal(await fields.deterministicValue(s.path, fromTyped(s.value), { context: s.context }), s.text, `${v.name}: deterministic ${s.path}`)
    for (const s of v.blind ?? []) equal(await fields.blindIndex(s.path, fromTyped(s.value), { context: s.context }), s.text, `${v.name}: blind ${s.path}`)
    fields.close()
  }
}

export const vectorCases: Case[] = [
  { name: 'every message vector: its plaintext or its exact code, buffer and Web stream readers', run: messageVectors },
  { name: 'every field vector: typed values, index key, deterministic values, blind indexes, or its exact code', run: fieldVectors },
  { name: 'every public-key recipient vector (x25519, mlkem768x25519): its plaintext or its exact code', run: publicKeyVectors },
]
