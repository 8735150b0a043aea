/**
 * Cold import time of the core entry in a fresh Node process (median of several), and
 * which modules it loads: the core must not load the AWS SDK, nor (issue 20) anything a first
 * `encrypt` with a LocalKeyring does not need. The AWS Encryption SDK's entry is measured the
 * same way for comparison.
 *
 * The time is taken in processes without the module-listing resolve hook: the hook answers each
 * resolution from another thread, which roughly doubled the figure (and grew with the module
 * count); one extra process with the hook lists the modules. `node dist/bench/import.js` prints
 * the result with the modules per package.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { median } from './lib.js'

export interface ImportResult {
  readonly coreMs: number
  readonly coreLoadsAwsSdk: boolean
  readonly coreModules: number
  /** Modules loaded per package (`own` for this package's files, `node:` for built-ins). */
  readonly corePackages: Readonly<Record<string, number>>
  readonly kmsEntryMs: number
  /** The same core as one file per module (dist/src: other runtimes, the portable condition), for comparison. */
  readonly moduleTreeMs: number
  readonly esdkMs: number
}

/**
 * A `--import` module that records every resolved module URL of the process in
 * `globalThis.__kmseUrls` (the resolve hook runs off-thread and posts each URL back). Shared
 * with test/import-weight.test.ts.
 */
export const URL_RECORDING_HOOK = `data:text/javascript,${encodeURIComponent(`
  import { register } from 'node:module'
  import { MessageChannel } from 'node:worker_threads'
  const { port1, port2 } = new MessageChannel()
  globalThis.__kmseUrls = []
  port1.on('message', (url) => globalThis.__kmseUrls.push(url)); port1.unref()
  register('data:text/javascript,' + encodeURIComponent(\`
    let port
    export function initialize(data) { port = data.port }
    export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r }
  \`), { data: { port: port2 }, transferList: [port2] })
`)}`

/** Imports `specifier` in a fresh process; with `listModules`, records every resolved module URL through a resolve hook. */
function measureImport(specifier: string, listModules = false): { ms: number; urls: string[] } {
  const script = `
    const t = performance.now()
    await import(${JSON.stringify(specifier)})
    const ms = performance.now() - t
    await new Promise((r) => setTimeout(r, 50))
    process.stdout.write(JSON.stringify({ ms, urls: globalThis.__kmseUrls ?? [] }))
  `
  const r = spawnSync(process.execPath, [...(listModules ? ['--import', URL_RECORDING_HOOK] : []), '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  })
  if (r.status !== 0) throw new Error(`import of ${specifier} failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as { ms: number; urls: string[] }
}

export function benchImport(runs = 7): ImportResult {
  // What an app on Node loads: the package name under the node condition, i.e. the Node build
  // (scripts/build-node.ts), resolved here because the package refers to itself by name.
  const core = import.meta.resolve('kms-envelope')
  const kms = import.meta.resolve('kms-envelope/kms')
  const tree = pathToFileURL(join(import.meta.dirname, '..', 'src', 'index.js')).href
  const samples = Array.from({ length: runs }, () => measureImport(core))
  const urls = [...new Set(measureImport(core, true).urls)]
  const corePackages: Record<string, number> = {}
  for (const url of urls) {
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? (url.startsWith('node:') ? 'node:' : 'own')
    corePackages[name] = (corePackages[name] ?? 0) + 1
  }
  return {
    coreMs: median(samples.map((s) => s.ms)),
    coreLoadsAwsSdk: urls.some((u) => /@aws-sdk|@smithy/.test(u)),
    coreModules: urls.length,
    corePackages,
    kmsEntryMs: median(Array.from({ length: runs }, () => measureImport(kms).ms)),
    moduleTreeMs: median(Array.from({ length: runs }, () => measureImport(tree).ms)),
    esdkMs: median(Array.from({ length: runs }, () => measureImport('@aws-crypto/client-node').ms)),
  }
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  console.log(JSON.stringify(benchImport(Number(process.argv[2] ?? 7)), null, 2))
}
