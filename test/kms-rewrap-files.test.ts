/**
 * rewrapFiles against a real KMS server (moto), KMS calls counted at the SDK: 1,000 files from
 * a local key to a KMS key, and 1,000 from KMS key A to KMS key B (ReEncrypt once per distinct
 * wrapped key, the body never decrypted). Bodies compared byte for byte.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, KeyCache } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { rewrapFiles } from '../src/node/index.js'
import { countingKeyring } from './counting-keyring.js'
import { pattern, rejectsWithCode, tempDir } from './helpers.js'
import { createKey, motoClient, withoutRecipients } from './kms-helpers.js'

const COUNT = 1000
const PER_KEY = 250 // files per data key when written through a cache: 4 distinct data keys

async function writeMessages(dir: string, env: Envelope): Promise<{ paths: string[]; before: Buffer[] }> {
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  const before: Buffer[] = []
  for (let i = 0; i < COUNT; i++) {
    const path = join(dir, `r${String(i).padStart(4, '0')}.kmse`)
    const message = Buffer.from(await env.encrypt(pattern(i % 300, i + 7), { context: { tenant: 'acme' } }))
    await writeFile(path, message)
    paths.push(path)
    before.push(message)
  }
  return { paths, before }
}

const writerCache = () => new KeyCache({ maxEntries: 10, maxAge: 600_000, maxMessagesPerKey: PER_KEY })

describe('rewrapFiles on moto', () => {
  it('1,000 files from a local key to a KMS key: one Encrypt per file, one local unwrap per data key; the old key then fails', async (t) => {
    const dir = await tempDir(t)
    const { keyring: local, calls: localCalls } = countingKeyring('retiring-local', 21)
    const { paths, before } = await writeMessages(join(dir, 'a'), new Envelope({ keyring: local, cache: writerCache() }))
    localCalls.unwrap = 0
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const kms = new KmsKeyring({ keyIds: [arn], client })
    const started = performance.now()
    const summary = await rewrapFiles(paths, { envelope: new Envelope({ keyring: local, cache: new KeyCache({ maxEntries: 10, maxAge: 600_000 }) }), to: kms })
    t.diagnostic(`local -> KMS, ${COUNT} files: ${(performance.now() - started).toFixed(0)} ms`)
    assert.equal(summary.rewrapped, COUNT)
    assert.deepEqual(summary.failed, [])
    assert.deepEqual(calls.take(), { Encrypt: COUNT })
    assert.equal(localCalls.unwrap, COUNT / PER_KEY)
    const opener = new Envelope({ keyring: kms })
    for (const [i, path] of paths.entries()) {
      const after = await readFile(path)
      assert.deepEqual(withoutRecipients(after), withoutRecipients(before[i]!))
      await rejectsWithCode(new Envelope({ keyring: local }).decrypt(after), 'ERR_NO_MATCHING_KEY')
      assert.deepEqual((await opener.decrypt(after, { expectContext: { tenant: 'acme' } })).plaintext, pattern(i % 300, i + 7))
    }
    assert.deepEqual(calls.take(), { Decrypt: COUNT })
    assert.equal((await rewrapFiles(paths, { envelope: new Envelope({ keyring: local }), to: kms })).skipped, COUNT)
    assert.deepEqual(calls.take(), {})
  })

  it('1,000 files from KMS key A to KMS key B: one ReEncrypt per distinct wrapped key, no Decrypt; the body never decrypted', async (t) => {
    const dir = await tempDir(t)
    const [a, b] = [await createKey(), await createKey()]
    const writer = await motoClient()
    const { paths, before } = await writeMessages(
      join(dir, 'b'),
      new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client: writer.client }), cache: writerCache() }),
    )
    assert.deepEqual(writer.calls.take(), { GenerateDataKey: COUNT / PER_KEY })
    const { client, calls } = await motoClient()
    const keyringA = new KmsKeyring({ keyIds: [a], client })
    const keyringB = new KmsKeyring({ keyIds: [b], client })
    const started = performance.now()
    const summary = await rewrapFiles(paths, { envelope: new Envelope({ keyring: keyringA }), to: keyringB, concurrency: 8 })
    t.diagnostic(`KMS A -> KMS B, ${COUNT} files: ${(performance.now() - started).toFixed(0)} ms`)
    assert.equal(summary.rewrapped, COUNT)
    assert.deepEqual(calls.take(), { ReEncrypt: COUNT / PER_KEY })
    const cache = new KeyCache({ maxEntries: 10, maxAge: 600_000 })
    const opener = new Envelope({ keyring: keyringB, cache })
    for (const [i, path] of paths.entries()) {
      const after = await readFile(path)
      assert.deepEqual(withoutRecipients(after), withoutRecipients(before[i]!))
      await rejectsWithCode(new Envelope({ keyring: keyringA }).decrypt(after), 'ERR_NO_MATCHING_KEY')
      assert.deepEqual((await opener.decrypt(after)).plaintext, pattern(i % 300, i + 7))
    }
    // The rewrapped files still share their wrapped keys, so a cache opens them all with 4 Decrypts.
    assert.deepEqual(calls.take(), { Decrypt: COUNT / PER_KEY })
    // --verify takes the data-key path: Decrypt per distinct data key (through the cache), then Encrypt per file.
    const back = await rewrapFiles(paths.slice(0, 10), {
      envelope: new Envelope({ keyring: keyringB, cache: new KeyCache({ maxEntries: 10, maxAge: 600_000 }) }),
      to: keyringA,
      verify: true,
    })
    assert.equal(back.rewrapped, 10)
    assert.deepEqual(calls.take(), { Decrypt: 1, Encrypt: 10 })
  })
})
