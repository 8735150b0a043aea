/**
 * Browser bundles of the core with esbuild, as a web app's bundler would make them: the
 * `browser`/`default` export conditions (so `#crypto-backend` is the portable @noble backend),
 * no Node polyfills. A `node:*` import anywhere in the graph fails the build, and
 * {@link checkBrowserBundle} also refuses any Node-only module or Buffer polyfill among the
 * inputs. Used by `npm run size` and the headless Chromium test.
 */

import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Metafile, Plugin } from 'esbuild'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The core entry, as the package's "." export names it. */
export const CORE_ENTRY = 'dist/src/index.js'

/** Modules that exist only for Node: the node:crypto backend, and files, streams and the CLI. */
const NODE_ONLY = /(^|\/)dist\/src\/(node\/|crypto\/node\.js$)/

export interface Bundle {
  readonly code: Uint8Array
  readonly metafile: Metafile
}

/** Bundles `entry` (a path under the repository root) for the browser as one ES module. */
export async function bundle(entry: string, options: { minify?: boolean; plugins?: Plugin[] } = {}): Promise<Bundle> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: options.plugins ?? [],
  })
  return { code: result.outputFiles[0]!.contents, metafile: result.metafile }
}

/** Throws when a browser bundle pulls in anything meant for Node only. */
export function checkBrowserBundle(b: Bundle): void {
  const inputs = Object.keys(b.metafile.inputs)
  const leaks = inputs.filter(
    (p) => NODE_ONLY.test(p) || p.startsWith('node:') || /node_modules\/(buffer|process|crypto-browserify|stream-browserify)\//.test(p),
  )
  if (leaks.length > 0) throw new Error(`Node-only modules reached the browser bundle: ${leaks.join(', ')}`)
  for (const output of Object.values(b.metafile.outputs)) {
    const external = output.imports.filter((i) => i.external)
    if (external.length > 0) throw new Error(`the browser bundle imports ${external.map((i) => i.path).join(', ')}`)
  }
}

/** The same build with every Node-only module replaced by an empty one and `node:*` left out. */
const stripNode: Plugin = {
  name: 'strip-node',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true }))
    b.onLoad({ filter: NODE_ONLY }, () => ({ contents: 'export {}', loader: 'js' }))
  },
}

export interface CoreSize {
  readonly minified: number
  readonly gzipped: number
  /** Gzipped size of the build with Node-only modules stubbed out: equal to `gzipped` when nothing Node leaks in. */
  readonly gzippedWithoutNode: number
  /** Minified bytes per package in the bundle (kms-envelope itself, @noble/*, cbor-x, lru-cache). */
  readonly byPackage: Readonly<Record<string, number>>
}

const gzip = (code: Uint8Array): number => gzipSync(code, { level: 9 }).length

/** Measures the core bundle for browsers, minified and gzipped. */
export async function coreSize(): Promise<CoreSize> {
  const core = await bundle(CORE_ENTRY)
  checkBrowserBundle(core)
  const stripped = await bundle(CORE_ENTRY, { plugins: [stripNode] })
  const byPackage: Record<string, number> = {}
  for (const output of Object.values(core.metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'kms-envelope'
      byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput
    }
  }
  return { minified: core.code.length, gzipped: gzip(core.code), gzippedWithoutNode: gzip(stripped.code), byPackage }
}
