#!/usr/bin/env node
// `npm run test:esdk`: the ESDK reader's long checks, on the built output: the full
// differential matrix against the AWS Encryption SDK (dist/test/esdk-matrix.js), the tamper
// walk with every edit through the stream and the SDK too (KMSE_ESDK_FULL=1), and a longer
// fuzz run (KMSE_ESDK_FUZZ_RUNS), then every raw-key scenario of the test-vector framework
// (dist/test/esdk-manifest.test.js), on Node 20 in a Node started with
// --security-revert=CVE-2023-46809 so the PKCS1 scenarios open too (Node 22+ decrypts PKCS #1
// v1.5 with OpenSSL's implicit rejection and knows no such revert). `npm test` runs bounded
// samples of each.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// The probe the manifest test itself uses to decide what PKCS1 must do on this Node.
import { pkcs1DecryptWorks } from '../dist/test/esdk-manifest.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const files = ['esdk-matrix.js', 'tamper-esdk.test.js', 'esdk-fuzz.test.js', 'esdk-sdk.test.js'].map((f) => join(root, 'dist', 'test', f))
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, KMSE_ESDK_FULL: '1', KMSE_ESDK_FUZZ_RUNS: process.env.KMSE_ESDK_FUZZ_RUNS ?? '20000' },
})
if (result.status !== 0) process.exit(result.status ?? 1)
// Run directly (not under --test, whose workers would not inherit the flag): where Node
// refuses PKCS #1 v1.5 decryption it does so for the SDK and for us, unless reverted.
const manifest = spawnSync(
  process.execPath,
  [...(pkcs1DecryptWorks() ? [] : ['--security-revert=CVE-2023-46809']), '--test-reporter=spec', join(root, 'dist', 'test', 'esdk-manifest.test.js')],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KMSE_ESDK_FULL: '1' } },
)
process.exit(manifest.status ?? 1)
