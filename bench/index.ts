/**
 * `npm run bench`: every benchmark, side by side with the alternatives users would pick, in
 * one run: kms-envelope, the AWS Encryption SDK for JavaScript (@aws-crypto/client-node,
 * committing suites, raw AES keyring, its caching materials manager), raw node:crypto
 * AES-256-GCM and `openssl speed`. Prints tables and a summary against the targets, and
 * writes bench/results.json.
 *
 * Figures are medians; the machine is noisy (about ±20% between runs), so compare ratios
 * taken in one run rather than absolute numbers across runs. KMSE_BENCH_QUICK=1 runs every
 * part with small sizes (the test suite does, so the benchmark cannot rot).
 */
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { benchBuffers, printBuffers } from './buffer.js'
import { benchCached, printCached } from './cached.js'
import { compareBuffers, compareCached, compareOverhead, opensslGcm16k } from './compare.js'
import { benchEsdkReader, printEsdkReader } from './esdk-reader.js'
import { benchHierarchy, printHierarchy } from './hierarchy.js'
import { benchImport } from './import.js'
import { benchKmsCalls } from './kms-calls.js'
import { table } from './lib.js'
import { benchParallel, printParallel, twoThreadCeiling } from './parallel.js'
import { benchRandomAccess, printRandomAccess } from './random-access.js'
import { benchRecipients, printRecipients } from './recipients.js'
import { benchSecretRecipients, printSecretRecipients } from './recipients-secret.js'
import { benchRewrap } from './rewrap.js'
import { benchSmall, printSmall } from './small.js'
import type { FileRow } from './stream.js'
import { fileBench, memoryDir } from './stream.js'

const quick = process.env.KMSE_BENCH_QUICK === '1'
/** The worker-pool option (`parallelism`) exists in this build: the parallel rows are measured. */
const parallel = typeof ((await import('../src/index.js')) as { closeWorkerPools?: unknown }).closeWorkerPools === 'function'
const MiB = 1024 * 1024
const sizes = quick
  ? { buffers: [1024, 64 * 1024], compare: 1 * MiB, file: 4 * MiB, encrypts: 200 }
  : { buffers: [1024, 64 * 1024, 16 * MiB], compare: 64 * MiB, file: 1024 * MiB, encrypts: 10_000 }
const machine = `Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}`
console.log(`kms-envelope benchmarks${quick ? ' (quick mode: small sizes, figures not meaningful)' : ''}\n${machine}\n${new Date().toISOString()}`)

const buffers = await benchBuffers(sizes.buffers)
printBuffers(buffers)

const openssl = opensslGcm16k()
const big = await compareBuffers(sizes.compare)
const f = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 })
console.log(`\nBuffer ${sizes.compare / MiB} MiB, MB/s, median of 5 (ESDK: raw AES keyring, default 4 KiB frames)`)
table(
  ['library', 'encrypt', 'decrypt'],
  [
    ['kms-envelope (64 KiB frames)', f(big.ours.encrypt), f(big.ours.decrypt)],
    [
      "kms-envelope, parallelism: 'auto'",
      big.oursParallel === undefined ? 'n/a' : f(big.oursParallel.encrypt),
      big.oursParallel === undefined ? '' : f(big.oursParallel.decrypt),
    ],
    ['AWS ESDK 0x0478 (commit, unsigned)', f(big.esdk.encrypt), f(big.esdk.decrypt)],
    ['AWS ESDK 0x0578 (commit + ECDSA, default)', f(big.esdkSigned.encrypt), f(big.esdkSigned.decrypt)],
    ['node:crypto GCM, 64 KiB updates, one nonce', f(big.nodeCrypto.encrypt), f(big.nodeCrypto.decrypt)],
    ['node:crypto GCM, 64 KiB updates, fresh output', f(big.nodeCryptoFresh.encrypt), f(big.nodeCryptoFresh.decrypt)],
    ['a fresh result filled by one copy, no crypto', f(big.ownedResultFloor.encrypt), f(big.ownedResultFloor.decrypt)],
    ['openssl speed -evp aes-256-gcm, 16 KiB', openssl === undefined ? 'n/a' : f(openssl), ''],
  ],
)

const cached = await benchCached()
printCached(cached)
const esdkCached = await compareCached()
console.log(
  'AWS ESDK caching materials manager, same payload: ' +
    `0x0478 ${f(esdkCached.esdk.encrypt)} / ${f(esdkCached.esdk.decrypt)} ops/s, 0x0578 ${f(esdkCached.esdkSigned.encrypt)} / ${f(esdkCached.esdkSigned.decrypt)} ops/s (encrypt / decrypt)`,
)

const small = await benchSmall(quick)
printSmall(small)

const files = await fileBench(sizes.file, true, parallel, quick ? 1 : 5)
/** The row named `name` in `rows`, else the first whose name starts with it (the ESDK rows carry their suite). */
const fileRowOf = (rows: readonly FileRow[], name: string): FileRow | undefined =>
  rows.find((r) => r.name === name) ?? rows.find((r) => r.name.startsWith(name))
const row = (name: string) => fileRowOf(files, name)!
// The same rows with no disk under them: what the library's file pipeline itself does.
// Quick runs skip them: the same code as the disk rows, only the directory differs.
const memory = quick ? { reason: 'skipped in a quick run' } : memoryDir(sizes.file)
const memoryFiles = 'dir' in memory ? await fileBench(sizes.file, true, parallel, quick ? 1 : 5, memory.dir) : undefined
if (memoryFiles === undefined) console.log(`\nNo file rows in memory: ${'reason' in memory ? memory.reason : ''}`)

const kms = await benchKmsCalls(sizes.encrypts, 100)
console.log(`\nKMS calls against moto, both libraries with their caches`)
table(
  ['scenario', 'kms-envelope', 'AWS ESDK'],
  [
    [`${f(kms.encrypts)} encrypts, one cache window: GenerateDataKey`, kms.ours.generateDataKey, kms.esdk.generateDataKey],
    ['100 concurrent cold decrypts sharing a data key: Decrypt', kms.ours.decrypt, kms.esdk.decrypt],
  ],
)

const overhead = await compareOverhead()
console.log(
  `\nSize overhead of a 100-byte message, one local/raw AES key: kms-envelope ${overhead.ours} B (${overhead.oursWithContext} B with a 2-pair context), AWS ESDK ${overhead.esdk} B (0x0478), ${overhead.esdkSigned} B (0x0578)`,
)

const imports = benchImport(quick ? 3 : 7)
console.log(
  `\nCold import (fresh process, median): kms-envelope core ${imports.coreMs.toFixed(0)} ms (${imports.coreModules} modules, AWS SDK loaded: ${imports.coreLoadsAwsSdk ? 'YES' : 'no'}), kms-envelope/kms ${imports.kmsEntryMs.toFixed(0)} ms, the core as one file per module (dist/src) ${imports.moduleTreeMs.toFixed(0)} ms, @aws-crypto/client-node ${imports.esdkMs.toFixed(0)} ms`,
)

const randomAccess = await benchRandomAccess(sizes.file, quick)
printRandomAccess(randomAccess)

const rewrap = await benchRewrap(quick ? 50 : 1000, 64 * 1024)
console.log(
  `\nBulk rewrap in place (rewrapFiles, local key to local key, 4 at a time): ${f(rewrap.filesPerSecond)} files/s of ${rewrap.fileBytes / 1024} KiB, ` +
    `${rewrap.readMBPerGB === undefined ? 'n/a' : f(rewrap.readMBPerGB)} MB read per GB (the body is copied into the new file, never decrypted)`,
)

// ---- more benchmarks ----
const recipients = await benchRecipients(quick)
printRecipients(recipients)
const secretRecipients = await benchSecretRecipients(quick)
printSecretRecipients(secretRecipients)
const esdkReader = await benchEsdkReader(quick)
printEsdkReader(esdkReader)
const parallelBuffers = await benchParallel(quick)
printParallel(parallelBuffers)
const hierarchy = await benchHierarchy(quick)
printHierarchy(hierarchy)

const ceiling = twoThreadCeiling(parallelBuffers)
const ceilingNote =
  ceiling === undefined
    ? ''
    : `; two threads here reach about ${ceiling.encrypt.toFixed(2)} / ${ceiling.decrypt.toFixed(2)} of it: bench:parallel, the fresh output times what a second thread adds to bare GCM, ${ceiling.scaling.toFixed(2)}x`
const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`
const r2 = (a: number, b: number): string => (a / b).toFixed(2)
/** Our row against the ESDK's row of the same table (disk or memory). */
const fileRatio = (name: string, esdkName: string, rows: readonly FileRow[] = files) => {
  const ours = fileRowOf(rows, name)
  const esdk = fileRowOf(rows, esdkName)
  return ours === undefined || esdk === undefined ? 'n/a' : ratio(esdk.seconds, ours.seconds)
}
const fileMBpsOf = (rows: readonly FileRow[], name: string) => {
  const r = fileRowOf(rows, name)
  return r === undefined ? 'n/a' : f(sizes.file / r.seconds / 1e6)
}
/** The issue's file row for one table: ours against the ESDK, the ESDK's and the copy's MB/s. */
const fileIssueRow = (label: string, rows: readonly FileRow[], target: string): string[] => [
  `${fileSize} file ${label} encrypt / decrypt vs ESDK streams`,
  `${fileRatio('encryptFile', 'AWS Encryption SDK encryptStream', rows)} / ${fileRatio('decryptFile', 'AWS Encryption SDK decryptUnsigned', rows)}`,
  `ESDK ${fileMBpsOf(rows, 'AWS Encryption SDK encryptStream')} / ${fileMBpsOf(rows, 'AWS Encryption SDK decryptUnsigned')} MB/s; ours ${fileMBpsOf(rows, 'encryptFile')} / ${fileMBpsOf(rows, 'decryptFile')}; copy, no crypto ${fileMBpsOf(rows, 'copy')}`,
  parallel
    ? `auto: ${fileRatio('encryptFile parallelism auto', 'AWS Encryption SDK encryptStream', rows)} / ${fileRatio('decryptFile parallelism auto', 'AWS Encryption SDK decryptUnsigned', rows)}`
    : '',
  target,
]
const bigMiB = sizes.compare / MiB
/** "; ours X / Y of it": each path against its format floor, measured interleaved in one pair (bench/small.ts). */
const ofFloor = (a: { ratio: number } | undefined, b: { ratio: number } | undefined): string =>
  a === undefined || b === undefined ? '' : `; ours at ${a.ratio.toFixed(2)} / ${b.ratio.toFixed(2)} of it`
const fileSize = sizes.file >= 1024 * MiB ? `${sizes.file / (1024 * MiB)} GiB` : `${sizes.file / MiB} MiB`
/**
 * The table of issue 20: each row's figures, its ratio against the reference measured in the
 * same run, and its target. The README's performance table is generated from these rows
 * (`npm run bench:readme`), so keep the shape: path, ours, reference, ratio, target.
 */
const issueRows: string[][] = [
  [
    `${bigMiB} MiB buffer encrypt / decrypt, MB/s`,
    `${f(big.ours.encrypt)} / ${f(big.ours.decrypt)}`,
    `node:crypto 64 KiB updates ${f(big.nodeCrypto.encrypt)} / ${f(big.nodeCrypto.decrypt)}; into a fresh output ${f(big.nodeCryptoFresh.encrypt)} / ${f(big.nodeCryptoFresh.decrypt)}`,
    `${r2(big.ours.encrypt, big.nodeCrypto.encrypt)} / ${r2(big.ours.decrypt, big.nodeCrypto.decrypt)}; vs fresh ${r2(big.ours.encrypt, big.nodeCryptoFresh.encrypt)} / ${r2(big.ours.decrypt, big.nodeCryptoFresh.decrypt)}`,
    '>= 0.8 (one thread: the fresh output is its floor)',
  ],
  [
    `${bigMiB} MiB buffer, parallelism 'auto', MB/s`,
    big.oursParallel === undefined ? 'n/a (no parallelism option in this build)' : `${f(big.oursParallel.encrypt)} / ${f(big.oursParallel.decrypt)}`,
    `node:crypto 64 KiB updates ${f(big.nodeCrypto.encrypt)} / ${f(big.nodeCrypto.decrypt)}; a fresh result filled by one copy, no crypto ${f(big.ownedResultFloor.encrypt)} / ${f(big.ownedResultFloor.decrypt)}`,
    big.oursParallel === undefined
      ? 'n/a'
      : `${r2(big.oursParallel.encrypt, big.nodeCrypto.encrypt)} / ${r2(big.oursParallel.decrypt, big.nodeCrypto.decrypt)}; vs the copy ${r2(big.oursParallel.encrypt, big.ownedResultFloor.encrypt)} / ${r2(big.oursParallel.decrypt, big.ownedResultFloor.decrypt)}`,
    `>= 0.8 (the copy is the floor of a result the caller owns: ${r2(big.ownedResultFloor.encrypt, big.nodeCrypto.encrypt)} / ${r2(big.ownedResultFloor.decrypt, big.nodeCrypto.decrypt)} of the reference${ceilingNote})`,
  ],
  [
    `${bigMiB} MiB buffer vs AWS ESDK 0x0478`,
    `${ratio(big.ours.encrypt, big.esdk.encrypt)} / ${ratio(big.ours.decrypt, big.esdk.decrypt)}`,
    `ESDK ${f(big.esdk.encrypt)} / ${f(big.esdk.decrypt)} MB/s`,
    big.oursParallel === undefined ? '' : `auto: ${ratio(big.oursParallel.encrypt, big.esdk.encrypt)} / ${ratio(big.oursParallel.decrypt, big.esdk.decrypt)}`,
    '>= 10x',
  ],
  fileIssueRow('on disk (fsync)', files, '>= 6x (the disk permitting: see the copy)'),
  ...(memoryFiles === undefined ? [] : [fileIssueRow('in memory (tmpfs, no disk)', memoryFiles, '>= 6x')]),
  [
    '100 B cached encrypt / decrypt, ops/s',
    `${f(small.cachedEncrypt100.ours)} / ${f(small.cachedDecrypt100.ours)}`,
    `node:crypto seal ${f(small.cachedEncrypt100.bare)} / open ${f(small.cachedDecrypt100.bare)}`,
    `${small.cachedEncrypt100.ratio.toFixed(2)} / ${small.cachedDecrypt100.ratio.toFixed(2)}`,
    `>= 0.5 (format floor ${small.formatFloor100.ratio.toFixed(2)} / ${small.formatFloorOpen100?.ratio.toFixed(2) ?? 'n/a'})${ofFloor(small.ofFloor?.cachedEncrypt100, small.ofFloor?.cachedDecrypt100)}`,
  ],
  [
    '1 KiB buffer, local keyring encrypt / decrypt, ops/s',
    `${f(small.localEncrypt1k.ours)} / ${f(small.localDecrypt1k.ours)}`,
    `node:crypto seal ${f(small.localEncrypt1k.bare)} / open ${f(small.localDecrypt1k.bare)}`,
    `${small.localEncrypt1k.ratio.toFixed(2)} / ${small.localDecrypt1k.ratio.toFixed(2)}`,
    `>= 0.35 (format floor ${small.localFloorSeal1k?.ratio.toFixed(2) ?? 'n/a'} / ${small.localFloorOpen1k?.ratio.toFixed(2) ?? 'n/a'})${ofFloor(small.ofFloor?.localEncrypt1k, small.ofFloor?.localDecrypt1k)}`,
  ],
  [
    'records, 3 random fields, round trips/s (no cache / cache)',
    `${f(small.records3.ours)} / ${f(small.records3Cached.ours)}`,
    `3 seals + 3 opens ${f(small.records3.bare)} / ${f(small.records3Cached.bare)}`,
    `${small.records3.ratio.toFixed(2)} / ${small.records3Cached.ratio.toFixed(2)}`,
    `>= 0.3 (format floor ${small.recordsFloor3?.ratio.toFixed(2) ?? 'n/a'} / ${small.recordsFloor3Cached?.ratio.toFixed(2) ?? 'n/a'})${ofFloor(small.ofFloor?.records3, small.ofFloor?.records3Cached)}`,
  ],
  [
    'cold import of the core, ms over `node -e 0`',
    `${f(imports.coreMs)} ms, ${imports.coreModules} modules`,
    `a fresh process, import() timed inside it; the same core as one file per module (dist/src): ${f(imports.moduleTreeMs)} ms`,
    '',
    '<= 40 ms',
  ],
]
console.log('\nIssue 20 table (ratios against the reference measured in the same run)')
table(['path', 'kms-envelope', 'reference, same run', 'ratio', 'target'], issueRows)

const summary = [
  ['64 MiB buffer encrypt vs OpenSSL 16 KiB', openssl === undefined ? 'n/a' : `${((100 * big.ours.encrypt) / openssl).toFixed(0)}%`, '>= 80%'],
  ['64 MiB buffer encrypt / decrypt vs ESDK 0x0478', `${ratio(big.ours.encrypt, big.esdk.encrypt)} / ${ratio(big.ours.decrypt, big.esdk.decrypt)}`, '>= 10x'],
  [
    '1 GiB file encrypt / decrypt vs ESDK streams, on disk',
    `${fileRatio('encryptFile', 'AWS Encryption SDK encryptStream')} / ${fileRatio('decryptFile', 'AWS Encryption SDK decryptUnsigned')}`,
    '>= 6x',
  ],
  ...(memoryFiles === undefined
    ? []
    : [
        [
          '1 GiB file encrypt / decrypt vs ESDK streams, in memory',
          `${fileRatio('encryptFile', 'AWS Encryption SDK encryptStream', memoryFiles)} / ${fileRatio('decryptFile', 'AWS Encryption SDK decryptUnsigned', memoryFiles)}`,
          '>= 6x',
        ],
      ]),
  [
    '1 GiB file peak RSS encrypt / decrypt (ESDK)',
    `${row('encryptFile').rss.toFixed(0)} / ${row('decryptFile').rss.toFixed(0)} MiB (${row('AWS Encryption SDK encryptStream').rss.toFixed(0)} / ${row('AWS Encryption SDK decryptUnsigned').rss.toFixed(0)} MiB)`,
    '< 64 MiB',
  ],
  ['100 B cached encrypt / decrypt, ops/s', `${f(cached.encryptOps)} / ${f(cached.decryptOps)}`, '>= 150,000'],
  [
    '100 B cached vs ESDK caching CMM 0x0478',
    `${ratio(cached.encryptOps, esdkCached.esdk.encrypt)} / ${ratio(cached.decryptOps, esdkCached.esdk.decrypt)}`,
    '>= 30x',
  ],
  [
    'KMS calls: 10k cached encrypts / 100 cold decrypts (ESDK)',
    `${kms.ours.generateDataKey} / ${kms.ours.decrypt} (${kms.esdk.generateDataKey} / ${kms.esdk.decrypt})`,
    '1 / 1',
  ],
  [
    '1 KiB random read of a 1 GiB file: ms / ciphertext read',
    `${randomAccess.readMs.median.toFixed(2)} ms / ${(randomAccess.readCiphertextBytes / 1024).toFixed(0)} KiB`,
    '< 5 ms / < 200 KiB',
  ],
]
console.log('\nSummary against the targets')
table(['measure', 'result', 'target'], summary)

const results = {
  machine,
  issue20: { header: ['path', 'kms-envelope', 'reference, same run', 'ratio', 'target'], rows: issueRows },
  small,
  parallel,
  date: new Date().toISOString(),
  quick,
  buffers,
  buffer64: { ...big, opensslGcm16kMBps: openssl ?? null },
  cached100: { ...cached, esdk: esdkCached },
  files: { bytes: sizes.file, rows: files.map((r) => ({ ...r, mbps: sizes.file / r.seconds / 1e6 })) },
  filesInMemory:
    memoryFiles === undefined
      ? { reason: 'reason' in memory ? memory.reason : '' }
      : { bytes: sizes.file, dir: 'dir' in memory ? memory.dir : '', rows: memoryFiles.map((r) => ({ ...r, mbps: sizes.file / r.seconds / 1e6 })) },
  kmsCalls: kms,
  overhead,
  imports,
  randomAccess,
  rewrap,
  recipients,
  secretRecipients,
  esdkReader,
  parallelBuffers,
  hierarchy,
}
const out = join(import.meta.dirname, '..', '..', 'bench', quick ? 'results.quick.json' : 'results.json')
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
console.log(`\nwrote ${out}`)
