/**
 * The Node build of the package (dist/bundle), which the `node` export condition points at:
 * tsc's output for each entry, bundled by esbuild into a few files with code splitting.
 *
 * Why: a cold import pays Node's ES module loader per file, not per byte. The core as ~70
 * files measured 82 ms and 11.6 MiB of RSS to import on this machine kind; as a dozen chunks
 * 43 ms and 8.7 MiB (issue 20, bench/import.ts). Code splitting keeps what loads lazily lazy
 * (`import()` of the worker pool, the hierarchy hashes, the curves) and puts every module that
 * two entries share in one chunk, so `kms-envelope` and `kms-envelope/node` share one copy of
 * every class (an error thrown by a file helper is `instanceof` the core's class).
 *
 * What is not bundled: dependencies and peer dependencies (the app's own copies and versions,
 * as with dist/src), and `node:` built-ins. The `#` imports are resolved here, with the node
 * condition, as Node resolves them for dist/src. dist/src stays the build for the other
 * runtimes and conditions, for the types, and for the tests of single modules.
 *
 *   node dist/scripts/build-node.js      (run by `npm run build`)
 */
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Where the Node build goes; package.json's exports name these files. */
export const NODE_BUILD = 'dist/bundle'

/** Output name to tsc output: the public entries, which share chunks. */
const ENTRIES: Record<string, string> = {
  index: 'dist/src/index.js',
  kms: 'dist/src/kms.js',
  esdk: 'dist/src/esdk/index.js',
  node: 'dist/src/node/index.js',
}

const common = {
  absWorkingDir: ROOT,
  outdir: NODE_BUILD,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
} as const

rmSync(new URL(`../../${NODE_BUILD}/`, import.meta.url), { recursive: true, force: true })
const entries = await build({ ...common, entryPoints: ENTRIES, splitting: true, chunkNames: 'chunk-[hash]' })
// The worker runs in its own isolate, so it needs no class shared with the entries: one file
// of its own keeps it from splitting the entries' chunks further (each file costs a cold import
// about 2 ms). Its name is flat because the pool starts `./frame-worker.js` relative to the
// chunk that holds the pool (src/crypto/pool-node.ts).
const worker = await build({ ...common, entryPoints: { 'frame-worker': 'dist/src/crypto/frame-worker.js' } })
// The CLI (`#cli`, bin/kms-envelope.js) runs as a process of its own and imports no entry, so it
// too is a build of its own: as a fifth entry it split the core's chunks further (14 files, not 12).
const cli = await build({ ...common, entryPoints: { cli: 'dist/src/node/cli/main.js' }, splitting: true, chunkNames: 'cli-chunk-[hash]' })

// Every import left in the output is a package, a built-in or another output file: a relative
// path into dist/src would load a second copy of its classes, a '#' import the unbundled backend.
const problems: string[] = []
for (const [file, output] of [entries, worker, cli].flatMap((r) => Object.entries(r.metafile.outputs))) {
  for (const { path, external } of output.imports) {
    const ok = external ? !path.startsWith('.') && !path.startsWith('/') && !path.startsWith('#') : path.startsWith(`${NODE_BUILD}/`)
    if (!ok) problems.push(`${file} imports ${path}`)
  }
}
if (problems.length > 0) throw new Error(`the Node build is not self-contained:\n  ${problems.join('\n  ')}`)
