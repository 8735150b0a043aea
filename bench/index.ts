/**
 * `npm run bench`: every benchmark of the project, measured side by side in one run.
 * Figures are medians; the machine is noisy (about ±20% between runs), so compare ratios
 * taken in the same run rather than absolute numbers across runs.
 */
import { cpus } from 'node:os'
import { benchBuffers, printBuffers } from './buffer.js'
import { benchCached, printCached } from './cached.js'

console.log(`kms-envelope benchmarks: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, ${new Date().toISOString()}`)
printBuffers(await benchBuffers())
printCached(await benchCached())
