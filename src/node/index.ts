/**
 * kms-envelope/node: the parts that need Node: key files, atomic file output, Node streams.
 * @module
 */

export type { AtomicWriteOptions } from './atomic.js'
export { writeAtomically } from './atomic.js'
export type { EncryptedFile, OpenEncryptedFileOptions } from './encrypted-file.js'
export { openEncryptedFile } from './encrypted-file.js'
export type { DecryptFileOptions, EncryptFileOptions, FileOptions } from './files.js'
export { decryptFile, encryptFile } from './files.js'
export type { KeyDirectory } from './key-directory.js'
export { loadKeyDirectory } from './key-directory.js'
export type { LoadKeyFileOptions } from './keyfile.js'
export { loadLocalKeyring, writeKeyFile } from './keyfile.js'
export type { RewrapFileFailure, RewrapFileOutcome, RewrapFileProgress, RewrapFilesOptions, RewrapFilesSummary } from './rewrap-files.js'
export { rewrapFiles } from './rewrap-files.js'
export type { DecryptTransform } from './streams.js'
export { createDecryptStream, createEncryptStream } from './streams.js'
