/**
 * `npm run size`: the core's size in a browser bundle (esbuild, minified, gzip -9), per package,
 * and the same build with every Node-only module stubbed out, which must be no smaller: the
 * proof that nothing Node-only reaches browsers.
 */
import { coreSize } from './bundle.js'

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`
const size = await coreSize()
console.log(`kms-envelope core for browsers (dist/src/index.js, esbuild --minify, platform browser):`)
console.log(`  minified            ${kib(size.minified).padStart(10)}  (${size.minified} bytes)`)
console.log(`  minified + gzip -9  ${kib(size.gzipped).padStart(10)}  (${size.gzipped} bytes)`)
console.log(
  `  same, Node-only modules stubbed out: ${size.gzippedWithoutNode} bytes gzipped ${size.gzippedWithoutNode === size.gzipped ? '(identical: nothing Node-only is in the bundle)' : '(DIFFERENT: something Node-only leaks in)'}`,
)
console.log('  by package (minified bytes):')
for (const [pkg, bytes] of Object.entries(size.byPackage).sort((a, b) => b[1] - a[1])) console.log(`    ${pkg.padEnd(18)} ${kib(bytes).padStart(10)}`)
if (size.gzippedWithoutNode !== size.gzipped) process.exitCode = 1
