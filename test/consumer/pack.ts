/**
 * The package as a user gets it: `npm pack` of the built tree (once per test run) and scratch
 * consumer projects that install that tarball, cached by (tarball hash, what else is
 * installed) so reruns reinstall nothing. Shared by test/consumer.test.ts and
 * test/kms-consumer.test.ts; scripts/test.js packs once and passes the result in
 * KMSE_TEST_PACK so the two stages share one tarball.
 *
 * Scratch projects live under os.tmpdir(), never inside the repository: Node and tsc resolve
 * packages by walking up directories, and the repo's own node_modules (which holds the AWS
 * SDK and cbor-extract's native build) would hide exactly what these tests look for.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
/** Where scratch projects and the tarball go (outside the repo, see above). */
export const CACHE = join(tmpdir(), 'kms-envelope-consumers')
/** The oldest `@aws-sdk/client-kms` the peer dependency allows: the one the consumer tests install. */
export const OLDEST_SDK = '3.709.0'

/** What `npm pack --json` reported, plus the tarball's path and hash. */
export interface Packed {
  readonly tarball: string
  readonly sha256: string
  /** Paths inside the package, e.g. `dist/src/index.js`. */
  readonly files: readonly string[]
  readonly size: number
  readonly unpackedSize: number
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * Packs the built tree once. `--ignore-scripts`: `prepack` would run the build again, and
 * the suite has built already (the caller checks that dist/ is in the tarball).
 */
export function pack(): Packed {
  const fromRunner = process.env.KMSE_TEST_PACK
  if (fromRunner !== undefined && fromRunner !== '' && existsSync(fromRunner)) return JSON.parse(readFileSync(fromRunner, 'utf8')) as Packed
  return JSON.parse(readFileSync(packToFile(), 'utf8')) as Packed
}

/** Packs the built tree and returns the path of a JSON file describing it ({@link Packed}): what scripts/test.js passes in KMSE_TEST_PACK. */
export function packToFile(): string {
  mkdirSync(CACHE, { recursive: true })
  const dest = mkdtempSync(join(CACHE, 'pack-'))
  const out = execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [info] = JSON.parse(out) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[]
  const tarball = join(dest, info!.filename)
  const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex')
  const packed: Packed = { tarball, sha256, files: info!.files.map((f) => f.path).sort(), size: info!.size, unpackedSize: info!.unpackedSize }
  writeFileSync(join(dest, 'pack.json'), JSON.stringify(packed))
  return join(dest, 'pack.json')
}

/** What to install beside the tarball: nothing, or an `@aws-sdk/client-kms` version (with @types/node for tsc). */
export type Extra = { readonly sdk?: string }

function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

/**
 * A scratch project with the tarball installed (and `extra`), reused while the tarball and
 * the extras are the same. Installs with `--prefer-offline` (the npm cache), `--ignore-scripts`
 * (cbor-extract's install script: the README says why it is not needed) and no audit or fund
 * calls; the first run may download what the cache lacks (an older SDK).
 */
export async function consumer(packed: Packed, extra: Extra = {}): Promise<string> {
  const label = extra.sdk === undefined ? 'no-sdk' : `sdk-${extra.sdk}`
  const dir = join(CACHE, `${packed.sha256.slice(0, 16)}-${label}`)
  if (existsSync(join(dir, '.complete'))) {
    utimesSync(dir, new Date(), new Date()) // in use: not pruned
    return dir
  }
  prune()
  const work = mkdtempSync(join(CACHE, 'install-'))
  writeFileSync(join(work, 'package.json'), `${JSON.stringify({ name: 'kmse-scratch-consumer', private: true, type: 'module' }, null, 2)}\n`)
  const specs = [packed.tarball, ...(extra.sdk === undefined ? [] : [`@aws-sdk/client-kms@${extra.sdk}`, `@types/node@${repoVersion('@types/node')}`])]
  await new Promise<void>((resolve, reject) => {
    execFile(
      NPM,
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...specs],
      { cwd: work, encoding: 'utf8', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => (error === null ? resolve() : reject(new Error(`npm install ${specs.join(' ')} failed in ${work}:\n${stdout}${stderr}`))),
    )
  })
  writeFileSync(join(work, '.complete'), '')
  try {
    renameSync(work, dir)
  } catch {
    rmSync(work, { recursive: true, force: true }) // another run installed the same project meanwhile
  }
  return dir
}

/** Drops scratch projects of older tarballs (a day unused), so the cache does not grow per build. */
function prune(): void {
  const dayAgo = Date.now() - 24 * 3600_000
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name)
    try {
      if (statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true })
    } catch {
      // raced with another run's prune
    }
  }
}

/** A fresh directory inside `project` (so its node_modules resolve) for one test's files. */
export function scratchIn(project: string): { dir: string; remove(): void } {
  mkdirSync(join(project, 'runs'), { recursive: true })
  const dir = mkdtempSync(join(project, 'runs', 'run-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A module resolve hook in `dir` (load it with `--import <register>`): `body` is the body of
 * `resolve(specifier, context, next)` and may append to the log with `log(url)`; `resolved()`
 * reads the URLs logged, in order.
 */
export function resolveHook(dir: string, body: string): { register: string; resolved(): string[] } {
  const logFile = join(dir, 'resolved.txt')
  writeFileSync(logFile, '')
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module'\nregister('./hook.mjs', import.meta.url)\n")
  writeFileSync(
    join(dir, 'hook.mjs'),
    `import { appendFileSync } from 'node:fs'\nconst log = (url) => appendFileSync(${JSON.stringify(logFile)}, url + '\\n')\nexport async function resolve(specifier, context, next) {\n${body}\n}\n`,
  )
  return {
    register: pathToFileURL(join(dir, 'register.mjs')).href,
    resolved: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
  }
}

/** Runs `node` with `args` in `cwd`; resolves with the exit code and output, never rejects. */
export function runNode(
  args: readonly string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const merged: Record<string, string | undefined> = { ...process.env, ...env }
    // A nested `node --test` must run as a runner of its own, not report to ours.
    delete merged.NODE_TEST_CONTEXT
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
    execFile(process.execPath, args, { cwd, env: merged, encoding: 'utf8', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}
