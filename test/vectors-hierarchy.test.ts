/**
 * The aws-kms-hierarchy vectors (test/vectors/aws-kms-hierarchy-*.json, FORMAT.md §19): both
 * backends regenerate the same bytes, and a reader holding the vector's branch keys in an
 * in-memory store opens every success vector and rejects every failure vector with its code,
 * through the buffer and the stream reader. Runs on both backends (the name matches /vectors/).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hexToBytes } from '@noble/ciphers/utils.js'
import type { HierarchyVector } from '../scripts/gen-hierarchy-vectors.js'
import { generateHierarchyVectors } from '../scripts/gen-hierarchy-vectors.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { backend as portableBackend } from '../src/crypto/portable.js'
import type { BranchKeyMaterials, BranchKeySource, Keyring } from '../src/index.js'
import { Envelope, HierarchicalKeyring } from '../src/index.js'
import { assertExpectedBackend, rejectsWithCode, VECTORS_DIR } from './helpers.js'
import { concat, through } from './stream-helpers.js'

assertExpectedBackend()

const files = readdirSync(VECTORS_DIR)
  .filter((f) => f.startsWith('aws-kms-hierarchy-') && f.endsWith('.json'))
  .sort()
const vectors = files.map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as HierarchyVector)

/** The vector's branch keys as a store, counting reads. */
function vectorStore(v: HierarchyVector): BranchKeySource & { reads: number } {
  const find = (id: string, version?: string) => {
    const k = v.hierarchy.branchKeys.find((b) => b.branchKeyId === id && (version === undefined || b.version === version))
    if (k === undefined) throw new Error(`the vector's store has no branch key ${id}${version === undefined ? '' : ` version ${version}`}`)
    return { branchKeyId: id, branchKeyVersion: k.version, key: hexToBytes(k.key), encryptionContext: {} } satisfies BranchKeyMaterials
  }
  const store = {
    logicalKeyStoreName: v.hierarchy.storeName,
    reads: 0,
    async getActiveBranchKey(id: string) {
      store.reads++
      return find(id)
    },
    async getBranchKeyVersion(id: string, version: string) {
      store.reads++
      return find(id, version)
    },
  }
  return store
}

function reader(v: HierarchyVector): { keyring: Keyring; store: { reads: number } } {
  const store = vectorStore(v)
  const common = { store, cache: { maxAge: 60_000 } }
  const keyring =
    v.hierarchy.supplier === 'tenant'
      ? new HierarchicalKeyring({ ...common, branchKeyIdSupplier: (c) => `tenant-${c.tenant}` })
      : new HierarchicalKeyring({ ...common, branchKeyId: v.hierarchy.branchKeyId! })
  return { keyring, store }
}

describe('aws-kms-hierarchy vectors', () => {
  it('are present: positives and negatives', () => {
    assert.ok(vectors.filter((v) => v.expect === 'success').length >= 5)
    assert.ok(vectors.filter((v) => v.expect === 'failure').length >= 6)
  })

  it('regenerate byte for byte on both backends', () => {
    const byName = (a: HierarchyVector, b: HierarchyVector) => a.name.localeCompare(b.name)
    for (const using of [nodeBackend, portableBackend]) assert.deepEqual(generateHierarchyVectors(using).sort(byName), [...vectors].sort(byName), using.name)
  })

  for (const v of vectors) {
    it(`${v.name}: ${v.expect}${v.code === undefined ? '' : ` ${v.code}`}`, async () => {
      const message = hexToBytes(v.message)
      const { keyring, store } = reader(v)
      const env = new Envelope({ keyring })
      if (v.expect === 'success') {
        const result = await env.decrypt(message)
        assert.equal(Buffer.from(result.plaintext).toString('hex'), v.plaintext!.hex)
        assert.deepEqual(result.context, v.context)
        assert.equal(store.reads, 1)
        const streamed = concat((await through(message, 7, new Envelope({ keyring: reader(v).keyring }).decryptStream())).chunks)
        assert.equal(Buffer.from(streamed).toString('hex'), v.plaintext!.hex)
      } else {
        await rejectsWithCode(env.decrypt(message), v.code!)
        if (v.code === 'ERR_NO_MATCHING_KEY' || v.name.endsWith('other-tenant')) assert.equal(store.reads, 0, 'refused before any store call')
      }
    })
  }
})
