/**
 * kms-envelope beside the AWS Encryption SDK (raw AES keyring, committing suites), raw
 * node:crypto AES-256-GCM and `openssl speed`, on the same data in the same run.
 */
import { execFileSync } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { ESDK_SUITE_SIGNED, ESDK_SUITE_UNSIGNED, esdk, esdkCachingManager, esdkKeyring } from './esdk.js'
import { mbps, measure, measureInterleaved, opsPerSecond } from './lib.js'

const MiB = 1024 * 1024

/** `openssl speed -evp aes-256-gcm` at 16 KiB blocks, in MB/s, or undefined without openssl. */
export function opensslGcm16k(): number | undefined {
  try {
    const out = execFileSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', '16384', '-seconds', process.env.KMSE_BENCH_QUICK === '1' ? '1' : '3'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const match = /AES-256-GCM\s+([\d.]+)k/.exec(out)
    return match === null ? undefined : (Number(match[1]) * 1000) / 1e6
  } catch {
    return undefined
  }
}

/** node:crypto AES-256-GCM over a buffer in 64 KiB updates (one key, one nonce): the primitive's own speed. */
function rawChunked(key: Buffer, iv: Buffer, data: Uint8Array, out: Uint8Array): void {
  const c = createCipheriv('aes-256-gcm', key, iv)
  for (let at = 0; at < data.length; at += 65536) out.set(c.update(data.subarray(at, at + 65536)), at)
  c.final()
}

export interface BufferComparison {
  readonly size: number
  readonly ours: { encrypt: number; decrypt: number }
  /** With `parallelism: 'auto'`; undefined when this build has no such option. */
  readonly oursParallel: { encrypt: number; decrypt: number } | undefined
  readonly esdk: { encrypt: number; decrypt: number }
  readonly esdkSigned: { encrypt: number; decrypt: number }
  readonly nodeCrypto: { encrypt: number; decrypt: number }
  /**
   * node:crypto the same way into a fresh output per call: what one thread pays for the page
   * faults of a new result. The single-thread path's floor; `parallelism` splits it over cores.
   */
  readonly nodeCryptoFresh: { encrypt: number; decrypt: number }
  /**
   * A fresh result of `size` filled by one copy of the input on one thread, no crypto (the
   * same for both directions, measured in each). A result the caller owns outright (an
   * ordinary ArrayBuffer, not shared memory) can be written only by the thread that owns it,
   * which faults in every page of it: with every other cost on other cores, this is the floor
   * of `parallelism` for a buffer.
   */
  readonly ownedResultFloor: { encrypt: number; decrypt: number }
}

export async function compareBuffers(size = 64 * MiB): Promise<BufferComparison> {
  const key = randomBytes(32)
  const data = randomBytes(size)
  const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench', key }) })
  const ring = esdkKeyring(key)
  const ours = await env.encrypt(data)
  const theirs = (await esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_UNSIGNED })).result
  const theirsSigned = (await esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_SIGNED })).result
  const iv = randomBytes(12)
  const out = new Uint8Array(size)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const sealed = c.update(data)
  c.final()
  const tag = c.getAuthTag()
  const opts = { runs: 5, minMs: 500 }
  const r = async (fn: () => unknown) => mbps(size, await measure(fn, opts))
  const rawOpen = (target: Uint8Array): Uint8Array => {
    const d = createDecipheriv('aes-256-gcm', key, iv)
    d.setAuthTag(tag)
    for (let at = 0; at < size; at += 65536) target.set(d.update(sealed.subarray(at, at + 65536)), at)
    d.final()
    return target
  }
  const lib = (await import('kms-envelope')) as { closeWorkerPools?: () => Promise<void> | void }
  // The worker-pool option (issue 20's other half); passed untyped so this file builds with or without it.
  const parallel =
    typeof lib.closeWorkerPools === 'function'
      ? new Envelope({ keyring: new LocalKeyring({ keyId: 'bench', key }), ...({ parallelism: 'auto' } as object) })
      : undefined
  // Ours, ours on all cores and the two node:crypto references interleaved: their ratios hold on a busy machine.
  const side = async (fns: (() => unknown)[]) => (await measureInterleaved(fns, opts)).map((m) => mbps(size, m))
  const owned = () => new Uint8Array(size).set(data)
  const enc = await side([
    () => env.encrypt(data),
    () => rawChunked(key, iv, data, out),
    () => rawChunked(key, iv, data, new Uint8Array(size)),
    owned,
    ...(parallel === undefined ? [] : [() => parallel.encrypt(data)]),
  ])
  const dec = await side([
    () => env.decrypt(ours),
    () => rawOpen(out),
    () => rawOpen(new Uint8Array(size)),
    owned,
    ...(parallel === undefined ? [] : [() => parallel.decrypt(ours)]),
  ])
  await lib.closeWorkerPools?.()
  return {
    size,
    ours: { encrypt: enc[0]!, decrypt: dec[0]! },
    oursParallel: parallel === undefined ? undefined : { encrypt: enc[4]!, decrypt: dec[4]! },
    esdk: { encrypt: await r(() => esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_UNSIGNED })), decrypt: await r(() => esdk.decrypt(ring, theirs)) },
    esdkSigned: { encrypt: await r(() => esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_SIGNED })), decrypt: await r(() => esdk.decrypt(ring, theirsSigned)) },
    nodeCrypto: { encrypt: enc[1]!, decrypt: dec[1]! },
    nodeCryptoFresh: { encrypt: enc[2]!, decrypt: dec[2]! },
    ownedResultFloor: { encrypt: enc[3]!, decrypt: dec[3]! },
  }
}

export interface CachedComparison {
  readonly esdk: { encrypt: number; decrypt: number }
  readonly esdkSigned: { encrypt: number; decrypt: number }
}

/** The AWS Encryption SDK's caching materials manager on 100-byte messages (kms-envelope's side is bench/cached.ts). */
export async function compareCached(size = 100): Promise<CachedComparison> {
  const key = randomBytes(32)
  const data = randomBytes(size)
  const context = { tenant: 'acme' }
  const cmm = esdkCachingManager(esdkKeyring(key), 600_000)
  // The SDK caches only when it knows the plaintext length: buffers give it.
  const theirs = (await esdk.encrypt(cmm, data, { suiteId: ESDK_SUITE_UNSIGNED, encryptionContext: context })).result
  const theirsSigned = (await esdk.encrypt(cmm, data, { suiteId: ESDK_SUITE_SIGNED, encryptionContext: context })).result
  const opts = { runs: 5, minMs: 300 }
  const r = async (fn: () => unknown) => opsPerSecond(await measure(fn, opts))
  return {
    esdk: {
      encrypt: await r(() => esdk.encrypt(cmm, data, { suiteId: ESDK_SUITE_UNSIGNED, encryptionContext: context })),
      decrypt: await r(() => esdk.decrypt(cmm, theirs)),
    },
    esdkSigned: {
      encrypt: await r(() => esdk.encrypt(cmm, data, { suiteId: ESDK_SUITE_SIGNED, encryptionContext: context })),
      decrypt: await r(() => esdk.decrypt(cmm, theirsSigned)),
    },
  }
}

export interface OverheadComparison {
  readonly plaintext: number
  readonly ours: number
  readonly oursWithContext: number
  readonly esdk: number
  readonly esdkSigned: number
}

/** Bytes added to a 100-byte plaintext, one local/raw AES key, no context and a two-pair context. */
export async function compareOverhead(size = 100): Promise<OverheadComparison> {
  const key = randomBytes(32)
  const data = randomBytes(size)
  const env = new Envelope({ keyring: new LocalKeyring({ keyId: 'bench', key }) })
  const ring = esdkKeyring(key)
  return {
    plaintext: size,
    ours: (await env.encrypt(data)).length - size,
    oursWithContext: (await env.encrypt(data, { context: { tenant: 'acme', table: 'users' } })).length - size,
    esdk: (await esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_UNSIGNED })).result.length - size,
    esdkSigned: (await esdk.encrypt(ring, data, { suiteId: ESDK_SUITE_SIGNED })).result.length - size,
  }
}
