#!/usr/bin/env node
// Runs the whole test suite on the built output (npm test builds first, which also type-checks).
//   0. (whole-suite runs only, once LINT_ENFORCED) `biome check`: lint + format check, no writes;
//      then TypeDoc with warnings as errors (every public symbol documented)
//   1. every dist/test/**/*.test.js on the default (node:crypto) backend
//   2. the backend-sensitive files again on the portable (@noble) backend
//   3. dist/test/runtime/main.js under Node, Deno and Bun on both backends (scripts/runtimes.js
//      installs the pinned Deno and Bun into .runtimes/ on first use; failing to install fails the run)
//   4. dist/test/**/kms*.test.js against a real KMS API: moto's server (scripts/kms-server.js),
//      installed on first use and started once; failing to install or start it fails the run
// Extra stages (examples) are added by the issues that need them.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureChromium } from './ensure-chromium.js'
import { startKmsServer } from './kms-server.js'
import { SUITE as RUNTIME_SUITE, runRuntimeSuite } from './runtimes.js'

// `npm test` keeps the tree formatted and linted: `npm run format` fixes the formatting.
const LINT_ENFORCED = true

const root = fileURLToPath(new URL('..', import.meta.url))
const testDir = join(root, 'dist', 'test')

function collect(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...collect(path))
    else if (name.endsWith('.test.js')) out.push(path)
  }
  return out
}

const only = process.argv.slice(2)
const all = collect(testDir).filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
// Files that talk to the KMS test server: their own stage, so the server runs only for them.
const kmsFiles = all.filter((f) => /[/\\]kms[^/\\]*\.test\.js$/.test(f))
// Files whose results depend on the AES/HKDF backend: run them on both.
const bothBackends = all.filter((f) => /[/\\](crypto|envelope|vectors|tamper|stream|fields)[^/\\]*\.test\.js$/.test(f))

function run(label, files, extraArgs, env) {
  if (files.length === 0) return true
  console.log(`\n== ${label}: ${files.length} file(s)`)
  const result = spawnSync(process.execPath, [...extraArgs, '--test', '--test-reporter=spec', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  })
  if (result.status !== 0) console.error(`\n== ${label}: FAILED (exit ${result.status ?? result.signal})`)
  return result.status === 0
}

// The consumer tests (node and KMS stages) share one `npm pack` of this build.
if (all.some((f) => /consumer[^/\\]*\.test\.js$/.test(f))) {
  const { packToFile } = await import('../dist/test/consumer/pack.js')
  process.env.KMSE_TEST_PACK = packToFile()
}
const started = Date.now()
let ok = true
if (LINT_ENFORCED && only.length === 0) {
  console.log('\n== lint and format check (biome check)')
  const lint = spawnSync(process.execPath, [join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'check', '.'], { cwd: root, stdio: 'inherit' })
  if (lint.status !== 0)
    console.error(`\n== lint: FAILED (exit ${lint.status ?? lint.signal}): run \`npm run format\` for formatting, fix the lint findings by hand`)
  ok = lint.status === 0
  // Every public symbol, parameter and link documented: TypeDoc with warnings as errors.
  console.log('\n== API docs check (typedoc --emit none --treatWarningsAsErrors)')
  const docs = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none', '--treatWarningsAsErrors'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (docs.status !== 0) console.error(`\n== docs: FAILED (exit ${docs.status ?? docs.signal}): document what TypeDoc names above (TSDoc on the public API)`)
  ok = docs.status === 0 && ok
}
// The browser test needs Debian's chromium: install it like the KMS server, never skip.
if (all.some((f) => /[/\\]browser\.test\.js$/.test(f))) {
  try {
    ensureChromium()
  } catch (error) {
    console.error(`\n== browser test: chromium is not available: ${error instanceof Error ? error.message : error}`)
  }
}
ok =
  run(
    'tests (node:crypto backend)',
    all.filter((f) => !kmsFiles.includes(f)),
    [],
    { KMSE_EXPECT_BACKEND: 'node' },
  ) && ok
ok = run('tests (portable @noble backend)', bothBackends, ['--conditions=kms-envelope-portable'], { KMSE_EXPECT_BACKEND: 'portable' }) && ok
// The runtime-neutral suite under Node, Deno and Bun (pinned, installed into .runtimes/ on first use), both backends.
if (only.length === 0 || only.some((o) => RUNTIME_SUITE.includes(o))) {
  const stage = Date.now()
  ok = (await runRuntimeSuite()) && ok
  console.log(`== runtime-neutral suite took ${((Date.now() - stage) / 1000).toFixed(1)} s`)
}
if (kmsFiles.length > 0) {
  let server
  try {
    server = await startKmsServer()
  } catch (error) {
    console.error(`\n== KMS tests: FAILED: the KMS test server could not be installed or started\n${error instanceof Error ? error.message : error}`)
    ok = false
  }
  if (server !== undefined) {
    const stage = Date.now()
    try {
      ok =
        run(`KMS tests (moto at ${server.endpoint})`, kmsFiles, [], { KMSE_EXPECT_BACKEND: 'node', KMSE_TEST_KMS_ENDPOINT: server.endpoint, ...server.env }) &&
        ok
    } finally {
      await server.stop()
    }
    console.log(`== KMS tests took ${((Date.now() - stage) / 1000).toFixed(1)} s`)
  }
}
console.log(`\n== ${ok ? 'all passed' : 'FAILURES'} in ${((Date.now() - started) / 1000).toFixed(1)} s (${all.map((f) => relative(root, f)).length} files)`)
process.exit(ok ? 0 : 1)
