/**
 * kms-envelope/node: the parts that need Node: key files, atomic file output, Node streams.
 * @module
 */
export { loadLocalKeyring, writeKeyFile } from './keyfile.js'
export { writeAtomically } from './atomic.js'
export type { AtomicWriteOptions } from './atomic.js'
