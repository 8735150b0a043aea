/**
 * One thread against two on buffers around the parallel threshold, through the internal sealers
 * of the one-file-per-module build (the Envelope picks by size, so it cannot show the
 * crossover). Loaded by bench/parallel.ts only in its parent process.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { backend } from '#crypto-backend'
import { sealMessage } from '../src/crypto/message.js'
import { sealMessageParallel } from '../src/crypto/parallel.js'
import { closeWorkerPools, framePool } from '../src/crypto/pool-node.js'
import { canonicalContext } from '../src/format/context.js'
import { LocalKeyring } from '../src/index.js'
import { mbps, measureInterleaved } from './lib.js'
import type { CrossoverRow } from './parallel.js'

const MIB = 1024 * 1024
const CHUNK = 64 * 1024
const KEY = new Uint8Array(32).fill(3)

/**
 * One thread against two on buffers around ONE_WORKER_MIN_BYTES, back to back, through the internal
 * sealers (the Envelope picks by size): below it a busy process's results mostly come from warm
 * heap, and one worker loses.
 */
export async function crossoverRows(quick: boolean, runs: { runs: number; minMs: number }): Promise<CrossoverRow[]> {
  const pool = await framePool(2)
  if (pool === undefined) return []
  const keyring = new LocalKeyring({ keyId: 'bench', key: KEY })
  const context = canonicalContext(undefined, 'context', true)
  const { dataKey, recipients } = await keyring.generateDataKey(context, {})
  const params = { dataKey, recipients, context, frameSize: CHUNK, messageId: randomBytes(32) }
  const rows: CrossoverRow[] = []
  for (const mib of quick ? [1] : [1, 4, 8, 16, 24, 32, 64]) {
    const data = randomBytes(mib * MIB)
    const [single, two] = await measureInterleaved([() => sealMessage(backend, params, data), () => sealMessageParallel(backend, pool, params, data)], runs)
    rows.push({ bytes: data.length, singleMBps: mbps(data.length, single!), twoThreadsMBps: mbps(data.length, two!) })
  }
  dataKey.wipe()
  await closeWorkerPools()
  return rows
}
