/**
 * The `aws-kms-hierarchy` vectors (docs/FORMAT.md §19), written by `npm run vectors` beside the
 * others (gen-vectors.ts calls {@link generateHierarchyVectors}) and regenerated in memory by
 * test/vectors-hierarchy.test.ts on both backends, which must give the same bytes. Every random
 * value (branch keys, versions, data keys, message ids, salts, IVs) comes from a fixed seed.
 */
import { bytesToHex, utf8ToBytes } from '@noble/ciphers/utils.js'
import type { CryptoBackend } from '../src/crypto/backend.js'
import { DataKey } from '../src/crypto/data-key.js'
import { deriveMessageKeys } from '../src/crypto/keys.js'
import { sealMessage } from '../src/crypto/message.js'
import { backend as nodeBackend } from '../src/crypto/node.js'
import { SUITE_AES256GCM_HKDFSHA512_COMMIT } from '../src/format/constants.js'
import { canonicalContext } from '../src/format/context.js'
import type { Recipient } from '../src/format/header.js'
import { encodeRecipientsSection } from '../src/format/message.js'
import { sealHierarchy } from '../src/keyrings/hierarchy-seal.js'
import { HIERARCHY_KEYRING_TYPE, IV_BYTES, SALT_BYTES, versionFromBytes } from '../src/keyrings/hierarchy-wrap.js'
import { LocalKeyring, wrapWithFixedSaltForVectors } from '../src/keyrings/local.js'
import type { Vector } from './gen-vectors.js'

/** The reader's branch keys and how it picks one (FORMAT.md §19). */
export interface HierarchyReader {
  readonly storeName: string
  /** A fixed branch key id, or null with `supplier`. */
  readonly branchKeyId: string | null
  /** `"tenant"`: the branch key is `tenant-<context.tenant>`. */
  readonly supplier: 'tenant' | null
  readonly branchKeys: ReadonlyArray<{ readonly branchKeyId: string; readonly version: string; readonly key: string }>
}

/** A vector with a hierarchical reader. */
export interface HierarchyVector extends Vector {
  readonly hierarchy: HierarchyReader
}

function seeded(label: string, length: number): Uint8Array {
  return nodeBackend.hkdfSha512(utf8ToBytes('kms-envelope hierarchy vectors v1'), new Uint8Array(0), utf8ToBytes(label), length)
}

/** A version UUID from a seed, with the v4 bits set as AWS's store writes them. */
function seededVersion(label: string): string {
  const b = seeded(`version ${label}`, 16)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  return versionFromBytes(b)
}

const STORE = 'vector-store'
interface BranchKey {
  readonly branchKeyId: string
  readonly version: string
  readonly key: Uint8Array
}
const branchKey = (id: string, n = 1): BranchKey => ({ branchKeyId: id, version: seededVersion(`${id} ${n}`), key: seeded(`branch key ${id} ${n}`, 32) })
const ACME = branchKey('tenant-acme')
const ACME_2 = branchKey('tenant-acme', 2)
const GLOBEX = branchKey('tenant-globex')
const LOCAL = new LocalKeyring({ keyId: 'vector-key-h', key: seeded('local key', 32) })
const FRAME = 64

const held = (...keys: BranchKey[]) => keys.map((k) => ({ branchKeyId: k.branchKeyId, version: k.version, key: bytesToHex(k.key) }))
const supplierReader = (...keys: BranchKey[]): HierarchyReader => ({ storeName: STORE, branchKeyId: null, supplier: 'tenant', branchKeys: held(...keys) })
const fixedReader = (id: string, ...keys: BranchKey[]): HierarchyReader => ({ storeName: STORE, branchKeyId: id, supplier: null, branchKeys: held(...keys) })

/** Generates every hierarchy vector with `using` (both backends must give the same bytes). */
export function generateHierarchyVectors(using: CryptoBackend = nodeBackend): HierarchyVector[] {
  const build = (name: string, text: string, context: Record<string, string>, wraps: ReadonlyArray<BranchKey | LocalKeyring>, wrapContext = context) => {
    const ctx = canonicalContext(context, 'context', true)
    const wctx = canonicalContext(wrapContext, 'context', true)
    const dataKeyBytes = seeded(`${name} data key`, 32)
    const messageId = seeded(`${name} message id`, 32)
    const dataKey = new DataKey(dataKeyBytes.slice())
    const recipients: Recipient[] = wraps.map((w, i) =>
      w instanceof LocalKeyring
        ? wrapWithFixedSaltForVectors(w, dataKey, ctx, seeded(`${name} local salt ${i}`, 32), using)
        : {
            type: HIERARCHY_KEYRING_TYPE,
            keyId: w.branchKeyId,
            wrapped: sealHierarchy(
              using,
              w.key,
              w.branchKeyId,
              w.version,
              dataKey.bytes,
              wctx,
              seeded(`${name} salt ${i}`, SALT_BYTES),
              seeded(`${name} iv ${i}`, IV_BYTES),
            ),
          },
    )
    const plaintext = utf8ToBytes(text)
    const message = sealMessage(using, { dataKey, recipients, context: ctx, frameSize: FRAME, messageId }, plaintext)
    return { message, dataKeyBytes, messageId, plaintext, recipients }
  }
  const success = (
    name: string,
    comment: string,
    text: string,
    context: Record<string, string>,
    wraps: ReadonlyArray<BranchKey | LocalKeyring>,
    hierarchy: HierarchyReader,
  ): HierarchyVector => {
    const b = build(name, text, context, wraps)
    const keys = deriveMessageKeys(using, b.dataKeyBytes, b.messageId, SUITE_AES256GCM_HKDFSHA512_COMMIT)
    return {
      name,
      comment,
      expect: 'success',
      keys: [],
      decrypt: {},
      message: bytesToHex(b.message),
      plaintext: { hex: bytesToHex(b.plaintext), utf8: text },
      context,
      intermediate: {
        dataKey: bytesToHex(b.dataKeyBytes),
        messageId: bytesToHex(b.messageId),
        contentKey: bytesToHex(keys.contentKey),
        commitment: bytesToHex(keys.commitment),
      },
      hierarchy,
    }
  }
  const failure = (name: string, comment: string, code: string, message: Uint8Array, hierarchy: HierarchyReader): HierarchyVector => ({
    name,
    comment,
    expect: 'failure',
    code,
    keys: [],
    decrypt: {},
    message: bytesToHex(message),
    hierarchy,
  })
  const acme = { tenant: 'acme' }
  const tampered = build('aws-kms-hierarchy-neg-tampered', 'x', acme, [ACME]).message
  // The body of "x" is one 17-byte frame; the 92-byte entry ends where it starts, and its sealed
  // data key begins 44 bytes in.
  const at = tampered.length - 17 - 92 + 44
  tampered[at]! ^= 0x01
  const short = build('aws-kms-hierarchy-neg-short', 'x', acme, [ACME])
  return [
    success(
      'aws-kms-hierarchy-one',
      'one aws-kms-hierarchy recipient; the reader names the branch key',
      'hello tenant',
      acme,
      [ACME],
      fixedReader('tenant-acme', ACME),
    ),
    success(
      'aws-kms-hierarchy-empty-context',
      'an empty context: the AAD ends with the version (no count bytes)',
      'no context',
      {},
      [ACME],
      fixedReader('tenant-acme', ACME),
    ),
    success(
      'aws-kms-hierarchy-utf8-order',
      'a context whose UTF-8 byte order (tenant, zz, é) differs from the header’s CBOR order (zz, é, tenant); the supplier picks the branch key from the tenant',
      'order matters',
      { tenant: 'acme', zz: 'y', é: 'x' },
      [ACME],
      supplierReader(ACME, GLOBEX),
    ),
    success(
      'aws-kms-hierarchy-old-version',
      'wrapped under version 1 of a branch key whose version 2 is now active: the reader reads version 1',
      'before rotation',
      acme,
      [ACME],
      supplierReader(ACME_2, ACME),
    ),
    success(
      'aws-kms-hierarchy-and-local',
      'an aws-kms-hierarchy and a local recipient; the reader holds only the branch key',
      'two recipients',
      acme,
      [ACME, LOCAL],
      fixedReader('tenant-acme', ACME),
    ),
    failure(
      'aws-kms-hierarchy-neg-other-tenant',
      'wrapped under tenant-acme’s branch key, but the context says tenant globex: the supplier selects tenant-globex, so the entry is refused before any store call',
      'ERR_UNWRAP',
      build('aws-kms-hierarchy-neg-other-tenant', 'x', { tenant: 'globex' }, [ACME]).message,
      supplierReader(ACME, GLOBEX),
    ),
    failure(
      'aws-kms-hierarchy-neg-context-splice',
      'the entry was sealed for context {tenant: acme, purpose: a} and put into a message with context {tenant: acme}: the AAD differs',
      'ERR_UNWRAP',
      build('aws-kms-hierarchy-neg-context-splice', 'x', acme, [ACME], { tenant: 'acme', purpose: 'a' }).message,
      fixedReader('tenant-acme', ACME),
    ),
    failure('aws-kms-hierarchy-neg-tampered', 'one bit of the sealed data key flipped', 'ERR_UNWRAP', tampered, fixedReader('tenant-acme', ACME)),
    failure(
      'aws-kms-hierarchy-neg-unknown-version',
      'wrapped under version 2, which the reader’s store does not hold: the store’s error (ERR_KEYRING from this in-memory store; ERR_BRANCH_KEY_NOT_FOUND from the DynamoDB store)',
      'ERR_KEYRING',
      build('aws-kms-hierarchy-neg-unknown-version', 'x', acme, [ACME_2]).message,
      fixedReader('tenant-acme', ACME),
    ),
    failure(
      'aws-kms-hierarchy-neg-short',
      'a 91-byte entry',
      'ERR_UNWRAP',
      withWrapped(short.message, short.recipients, (w) => w.subarray(0, 91)),
      fixedReader('tenant-acme', ACME),
    ),
    failure(
      'aws-kms-hierarchy-neg-other-branch-key',
      'the reader names another branch key: no entry is its, ERR_NO_MATCHING_KEY without a store call',
      'ERR_NO_MATCHING_KEY',
      build('aws-kms-hierarchy-neg-other-branch-key', 'x', acme, [ACME]).message,
      fixedReader('tenant-globex', GLOBEX),
    ),
  ]
}

/** The message with its recipients section rebuilt from edited entries (FORMAT.md §2: R and the section). */
function withWrapped(message: Uint8Array, recipients: readonly Recipient[], edit: (w: Uint8Array) => Uint8Array): Uint8Array {
  const view = new DataView(message.buffer, message.byteOffset)
  const h = view.getUint32(5)
  const tagEnd = 9 + h + 16
  const r = view.getUint32(tagEnd)
  const body = message.subarray(tagEnd + 4 + r)
  const section = encodeRecipientsSection(recipients.map((x) => ({ ...x, wrapped: edit(x.wrapped) })))
  const out = new Uint8Array(tagEnd + section.length + body.length)
  out.set(message.subarray(0, tagEnd), 0)
  out.set(section, tagEnd)
  out.set(body, tagEnd + section.length)
  return out
}
