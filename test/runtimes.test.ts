/**
 * The runtime pins (scripts/runtimes/) stay exact and agree with their lockfile, and the
 * README's Runtimes section states the versions the suite actually runs under. The suite
 * itself (dist/test/runtime/main.js) runs in its own stage of scripts/test.js.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ROOT } from './helpers.js'

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const manifest = JSON.parse(read('scripts/runtimes/package.json')) as { dependencies: Record<string, string> }
const lock = JSON.parse(read('scripts/runtimes/package-lock.json')) as {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>
}
const deno = manifest.dependencies.deno!
const bun = manifest.dependencies['@oven/bun-linux-x64']!

describe('runtime pins', () => {
  it('pin exact versions of Deno and Bun, nothing else', () => {
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['@oven/bun-linux-x64', 'deno'])
    for (const version of [deno, bun]) assert.match(version, /^\d+\.\d+\.\d+$/)
  })

  it('the lockfile holds exactly those versions, with the linux x64 glibc binaries', () => {
    assert.deepEqual(lock.packages['']!.dependencies, manifest.dependencies)
    assert.equal(lock.packages['node_modules/deno']!.version, deno)
    assert.equal(lock.packages['node_modules/@deno/linux-x64-glibc']!.version, deno)
    assert.equal(lock.packages['node_modules/@oven/bun-linux-x64']!.version, bun)
  })

  it('the README states the tested versions, and .runtimes/ is git-ignored', () => {
    const readme = read('README.md')
    const section = readme.slice(readme.indexOf('\n## Runtimes\n'))
    assert.ok(section.length > 20 && readme.includes('\n## Runtimes\n'), 'README has a "## Runtimes" section')
    const body = section.slice(0, section.indexOf('\n## ', 5) === -1 ? undefined : section.indexOf('\n## ', 5))
    assert.ok(body.includes(`Deno ${deno}`), `the Runtimes section names Deno ${deno}`)
    assert.ok(body.includes(`Bun ${bun}`), `the Runtimes section names Bun ${bun}`)
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node
    assert.ok(body.includes(`Node ${engines.replace('>=', '')}+`), `the Runtimes section names Node ${engines}`)
    assert.match(read('.gitignore'), /^\.runtimes\/$/m)
  })
})
