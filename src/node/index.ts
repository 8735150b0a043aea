/**
 * kms-envelope/node: the parts that need Node: key files, atomic file output, Node streams.
 * @module
 */
export { loadLocalKeyring, writeKeyFile } from './keyfile.js'
export { writeAtomically } from './atomic.js'
export type { AtomicWriteOptions } from './atomic.js'
export { encryptFile, decryptFile } from './files.js'
export type { FileOptions, EncryptFileOptions, DecryptFileOptions } from './files.js'
export { createEncryptStream, createDecryptStream } from './streams.js'
export type { DecryptTransform } from './streams.js'
