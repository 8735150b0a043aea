/**
 * The ESDK reader against the AWS Encryption SDK's own decrypt (@aws-crypto/client-node), on
 * the same messages the SDK wrote: one 64 MiB message (MiB/s) and 100-byte messages (ops/s),
 * for the committing suite 0x0478 and the SDK's default, signed 0x0578. Both sides run in
 * one process, alternating, so the ratio is meaningful on a loaded machine; read the medians.
 *
 *   npm run bench:esdk-reader          (QUICK=1 for an 8 MiB message and fewer rounds)
 */
import { argv } from 'node:process'
import { pathToFileURL } from 'node:url'
import { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node'
import { decryptEsdk, RawAesKeyring } from 'kms-envelope/esdk'
import { median } from './lib.js'

/** One measured case: ours and the SDK's medians. */
export interface EsdkReaderRow {
  readonly name: string
  readonly unit: 'MiB/s' | 'ops/s'
  readonly ours: number
  readonly sdk: number
}

/** What {@link benchEsdkReader} measured. */
export interface EsdkReaderResult {
  readonly rounds: number
  readonly rows: readonly EsdkReaderRow[]
}

/**
 * Runs the comparison.
 * @param quick - An 8 MiB message instead of 64 MiB, fewer small messages and rounds.
 */
export async function benchEsdkReader(quick: boolean): Promise<EsdkReaderResult> {
  const key = new Uint8Array(32).fill(5)
  const sdkKeyring = new RawAesKeyringNode({
    keyNamespace: 'bench',
    keyName: 'aes',
    unencryptedMasterKey: key.slice(),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  })
  const ours = new RawAesKeyring({ keyNamespace: 'bench', keyName: 'aes', key })
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const rounds = quick ? 3 : 5
  const bigBytes = (quick ? 8 : 64) * 1024 * 1024
  const smallCount = quick ? 200 : 1000
  const context = { tenant: 'acme', purpose: 'bench' }
  const rows: EsdkReaderRow[] = []
  for (const suiteId of [0x0478, 0x0578] as const) {
    const big = (await encrypt(sdkKeyring, new Uint8Array(bigBytes).fill(1), { suiteId, encryptionContext: context })).result
    const small = (await encrypt(sdkKeyring, new Uint8Array(100).fill(2), { suiteId, encryptionContext: context })).result
    const bigOurs: number[] = []
    const bigSdk: number[] = []
    const smallOurs: number[] = []
    const smallSdk: number[] = []
    for (let r = 0; r < rounds; r++) {
      let t = performance.now()
      await decryptEsdk(big, { keyring: ours })
      bigOurs.push(bigBytes / 1048576 / ((performance.now() - t) / 1000))
      t = performance.now()
      await decrypt(sdkKeyring, big)
      bigSdk.push(bigBytes / 1048576 / ((performance.now() - t) / 1000))
      t = performance.now()
      for (let i = 0; i < smallCount; i++) await decryptEsdk(small, { keyring: ours })
      smallOurs.push(smallCount / ((performance.now() - t) / 1000))
      t = performance.now()
      for (let i = 0; i < smallCount; i++) await decrypt(sdkKeyring, small)
      smallSdk.push(smallCount / ((performance.now() - t) / 1000))
    }
    const name = `0x${suiteId.toString(16).padStart(4, '0')}${suiteId === 0x0578 ? ' (signed, SDK default)' : ''}`
    rows.push({ name: `${name}, ${bigBytes / 1048576} MiB message`, unit: 'MiB/s', ours: median(bigOurs), sdk: median(bigSdk) })
    rows.push({ name: `${name}, 100-byte messages`, unit: 'ops/s', ours: median(smallOurs), sdk: median(smallSdk) })
  }
  return { rounds, rows }
}

/**
 * Prints one line per case: ours, the SDK's, and the ratio.
 * @param result - What {@link benchEsdkReader} returned.
 */
export function printEsdkReader(result: EsdkReaderResult): void {
  console.log(`ESDK reader vs @aws-crypto/client-node decrypt, raw AES keyring, medians of ${result.rounds} rounds`)
  for (const row of result.rows) {
    console.log(
      `${row.name.padEnd(44)} ours ${row.ours.toFixed(0).padStart(7)} ${row.unit}   SDK ${row.sdk.toFixed(0).padStart(7)} ${row.unit}   ${(row.ours / row.sdk).toFixed(2)}x`,
    )
  }
}

if (argv[1] !== undefined && import.meta.url === pathToFileURL(argv[1]).href) {
  printEsdkReader(await benchEsdkReader(process.env.QUICK === '1'))
}
