/**
 * The benchmark in quick mode (small sizes, one run each): proves every part of `npm run bench`
 * still runs (both libraries, files, KMS calls against moto, import check) so it cannot rot.
 * The figures are not checked: speed targets live in the benchmark, not in tests.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import { ROOT } from './helpers.js'

it('npm run bench works end to end (quick mode)', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'index.js')], {
    encoding: 'utf8',
    env: { ...process.env, KMSE_BENCH_QUICK: '1' },
    timeout: 300_000,
  })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /Summary against the targets/)
  const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.quick.json'), 'utf8')) as {
    kmsCalls: { ours: { generateDataKey: number; decrypt: number }; esdk: { decrypt: number } }
    imports: { coreLoadsAwsSdk: boolean }
    files: { rows: Array<{ name: string; rss: number }> }
    recipients: { rows: unknown[] }
    secretRecipients: { rows: unknown[] }
    esdkReader: { rows: unknown[] }
    hierarchy: unknown
    parallelBuffers: unknown
    issue20: { rows: string[][] }
  }
  // Behaviour, not speed: the counts and the import check are exact.
  assert.deepEqual(results.kmsCalls.ours, { generateDataKey: 1, decrypt: 1 })
  assert.equal(results.kmsCalls.esdk.decrypt, 100)
  assert.equal(results.imports.coreLoadsAwsSdk, false)
  // kms-envelope, its parallel rows, raw GCM and the ESDK, each encrypt and decrypt, and the copy.
  assert.deepEqual(
    results.files.rows.map((r) => r.name),
    [
      'encryptFile',
      'decryptFile',
      'encryptFile parallelism auto',
      'decryptFile parallelism auto',
      'copy, no crypto (the floor)',
      'raw node:crypto GCM encrypt',
      'raw node:crypto GCM decrypt',
      'AWS Encryption SDK encryptStream (0x0478)',
      'AWS Encryption SDK decryptUnsignedMessageStream',
    ],
  )
  assert.ok(results.recipients.rows.length >= 3, 'recipient rows (local, x25519, pq)')
  assert.ok(results.secretRecipients.rows.length >= 2, 'passphrase and KMS RSA rows')
  assert.ok(results.esdkReader.rows.length >= 2, 'ESDK reader rows')
  assert.ok(results.hierarchy !== undefined && results.parallelBuffers !== undefined)
  // The 'auto' buffer row is set beside the floor of a result the caller owns, measured in the same run.
  const auto = results.issue20.rows.find((row) => row[0]?.includes("buffer, parallelism 'auto'"))
  assert.match(auto?.[2] ?? '', /a fresh result filled by one copy, no crypto [\d,]+ \/ [\d,]+/)
  assert.match(auto?.[3] ?? '', /vs the copy \d+\.\d\d \/ \d+\.\d\d/)
})
