/**
 * A writer that holds the key: re-seals a random-mode field of a stored record around chosen
 * CBOR bytes, so hostile field values are authentic and reach the value decoder (written with
 * node:crypto from the formulas of docs/FORMAT.md §13, independent of src/fields).
 */
import { createCipheriv, hkdfSync } from 'node:crypto'
import { parseHead } from '../src/format/message.js'
import type { Keyring } from '../src/index.js'

/** The content key of a stored record, from its key field (FORMAT.md §6.1). */
export async function recordContentKey(keyring: Keyring, stored: Record<string, unknown>, keyField = '_kmse'): Promise<Buffer> {
  const bytes = Buffer.from((stored[keyField] as string).slice('kmse1h.'.length), 'base64url')
  const parsed = parseHead(bytes)
  if (!('head' in parsed)) throw new Error('truncated key field')
  const { head } = parsed
  const dataKey = await keyring.unwrapDataKey(head.recipients[0]!, head.header.context, {})
  const info = Buffer.concat([Buffer.from('KMSE v1 key schedule'), Buffer.of(0, 1)])
  return Buffer.from(hkdfSync('sha512', dataKey.bytes, head.header.messageId, info, 64)).subarray(0, 32)
}

/** The text of a random-mode field at top-level `path` holding exactly `cbor` as its plaintext. */
export function sealRandomField(contentKey: Uint8Array, path: string, cbor: Uint8Array): string {
  const key = Buffer.from(hkdfSync('sha512', contentKey, new Uint8Array(0), Buffer.concat([Buffer.from('KMSE v1 field\0'), Buffer.from(path)]), 32))
  const c = createCipheriv('aes-256-gcm', key, Buffer.alloc(12))
  c.setAAD(Buffer.from(`kmse1r.${path}`))
  const box = Buffer.concat([c.update(cbor), c.final(), c.getAuthTag()])
  return `kmse1r.${box.toString('base64url')}`
}

/** CBOR head of major type `major` with argument `n`, in shortest form. */
export function cborHead(major: number, n: number): Buffer {
  const m = major << 5
  if (n < 24) return Buffer.of(m | n)
  if (n < 0x100) return Buffer.of(m | 24, n)
  if (n < 0x10000) return Buffer.of(m | 25, n >> 8, n & 0xff)
  const b = Buffer.alloc(5)
  b[0] = m | 26
  b.writeUInt32BE(n, 1)
  return b
}

/**
 * A value-sharing DAG (tags 28/29) of `depth` levels: each level is an array of the level
 * below and a reference to it, so a tree walk visits 2^depth nodes. About 6 bytes per level.
 */
export function sharedDag(depth: number): Buffer {
  const parts: Buffer[] = []
  // Level k is shareable value k: 28([level k+1, 29(k+1)]); the innermost is 28(0).
  for (let k = 0; k < depth; k++) parts.push(cborHead(6, 28), Buffer.of(0x82))
  parts.push(cborHead(6, 28), Buffer.of(0x00))
  const refs: Buffer[] = []
  for (let k = depth; k >= 1; k--) refs.push(cborHead(6, 29), cborHead(0, k))
  // Closing order: after level k+1 is complete, level k's array still needs its reference to k+1.
  return Buffer.concat([...parts, ...refs])
}
