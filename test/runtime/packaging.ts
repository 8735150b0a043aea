/**
 * The package as a user of each runtime imports it (the exports map, by its own name), and
 * `kms-envelope/node` (files, key files, node:stream) on the runtime's Node compatibility layer.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { concatBytes } from '@noble/ciphers/utils.js'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile, loadLocalKeyring, writeKeyFile } from 'kms-envelope/node'
import * as relative from '../../src/index.js'
import { pattern } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, ok, rejectsWithCode } from './harness.js'

export const packagingCases: Case[] = [
  {
    name: "package self-reference: 'kms-envelope' and 'kms-envelope/node' resolve through the exports map to the built modules",
    run() {
      // One module instance: the exports map points at the same files the relative imports load.
      ok(Envelope === relative.Envelope && LocalKeyring === relative.LocalKeyring, "'kms-envelope' is dist/src/index.js")
      equal(typeof encryptFile, 'function', 'kms-envelope/node encryptFile')
    },
  },
  {
    name: 'kms-envelope/node: writeKeyFile/loadLocalKeyring, encryptFile/decryptFile (atomic, no temp files left), Node Transform streams',
    async run() {
      const dir = await mkdtemp(join(tmpdir(), 'kmse-rt-node-'))
      try {
        const keyPath = join(dir, 'app.key')
        await writeKeyFile(keyPath, LocalKeyring.generate({ keyId: 'rt-node' }))
        await rejectsWithCode(writeKeyFile(keyPath, LocalKeyring.generate()), 'ERR_KEY_FILE', 'writeKeyFile never overwrites')
        const envelope = new Envelope({ keyring: await loadLocalKeyring(keyPath), frameSize: 4096 })
        const plaintext = pattern(50_000, 8)
        await writeFile(join(dir, 'plain'), plaintext)
        await encryptFile(join(dir, 'plain'), join(dir, 'c.kmse'), { envelope, context: { f: '1' } })
        await rejectsWithCode(encryptFile(join(dir, 'plain'), join(dir, 'c.kmse'), { envelope }), 'ERR_OUTPUT_EXISTS', 'encryptFile keeps an existing output')
        const info = await decryptFile(join(dir, 'c.kmse'), join(dir, 'back'), { envelope, expectContext: { f: '1' } })
        equal(info.context, { f: '1' }, 'decryptFile info')
        equal(new Uint8Array(await readFile(join(dir, 'back'))), plaintext, 'decryptFile output')
        const tampered = new Uint8Array(await readFile(join(dir, 'c.kmse')))
        tampered[tampered.length - 100]! ^= 1
        await writeFile(join(dir, 'bad.kmse'), tampered)
        await rejectsWithCode(decryptFile(join(dir, 'bad.kmse'), join(dir, 'never'), { envelope }), 'ERR_AUTH', 'decryptFile of a tampered file')
        equal((await readdir(dir)).sort(), ['app.key', 'back', 'bad.kmse', 'c.kmse', 'plain'], 'files left: no partial output, no temp file')

        const chunks: Uint8Array[] = []
        const sink = new Writable({
          write(chunk: Uint8Array, _encoding, done) {
            chunks.push(new Uint8Array(chunk))
            done()
          },
        })
        await pipeline(Readable.from([plaintext.subarray(0, 777), plaintext.subarray(777)]), createEncryptStream(envelope), createDecryptStream(envelope), sink)
        equal(concatBytes(...chunks), plaintext, 'node:stream pipeline round trip')
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  },
]
