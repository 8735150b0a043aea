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
import { Envelope, LocalKeyring, OutputExistsError } from 'kms-envelope'
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile, loadLocalKeyring, writeKeyFile } from 'kms-envelope/node'
import { backend } from '#crypto-backend'
import * as relative from '../../src/index.js'
import { pattern } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, ok, rejectsWithCode } from './harness.js'

export const packagingCases: Case[] = [
  {
    name: "package self-reference: 'kms-envelope' and 'kms-envelope/node' resolve through the exports map to the build the conditions select",
    run() {
      // The node condition selects the Node build (dist/bundle, scripts/build-node.ts); the
      // portable one, like every runtime without the node condition, the one-file-per-module tree.
      const core = import.meta.resolve('kms-envelope')
      const node = import.meta.resolve('kms-envelope/node')
      if (backend.name === 'node') {
        ok(core.endsWith('/dist/bundle/index.js') && node.endsWith('/dist/bundle/node.js'), `the node condition gives the Node build: ${core}, ${node}`)
        ok(Envelope !== relative.Envelope, 'the Node build is its own module graph, not dist/src')
      } else {
        ok(core.endsWith('/dist/src/index.js') && node.endsWith('/dist/src/node/index.js'), `the portable condition gives dist/src: ${core}, ${node}`)
        ok(Envelope === relative.Envelope && LocalKeyring === relative.LocalKeyring, "'kms-envelope' is the same instance as dist/src/index.js")
      }
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
        const exists = encryptFile(join(dir, 'plain'), join(dir, 'c.kmse'), { envelope })
        await rejectsWithCode(exists, 'ERR_OUTPUT_EXISTS', 'encryptFile keeps an existing output')
        // One copy of each class across the entries: what kms-envelope/node throws is the core's class.
        ok((await exists.catch((e: unknown) => e)) instanceof OutputExistsError, "kms-envelope/node's error is instanceof the class 'kms-envelope' exports")
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
