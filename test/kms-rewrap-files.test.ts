/**
 * rewrapFiles against a real KMS server (moto), KMS calls counted at the SDK: 1,000 files from a
 * local key to a KMS key (about 15 s of moto calls, the count), 1,000 from KMS key
 * A to KMS key B (ReEncrypt once per distinct wrapped key, the body never decrypted), and the
 * CLI in place on both paths. Bodies compared byte for byte.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, KeyCache } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { rewrapFiles } from '../src/node/index.js'
import { keyFile } from './cli-helpers.js'
import { countingKeyring } from './counting-keyring.js'
import { CLI, pattern, rejectsWithCode, tempDir } from './helpers.js'
import { CREDENTIALS, createKey, kmsEndpoint, motoClient, REGION, withoutRecipients } from './kms-helpers.js'

const COUNT = 1000
/** Local to KMS costs one Encrypt per file and one Decrypt per file to check it: 1,000 took 7-9.5 s of moto time alone. */
const LOCAL_COUNT = 1000
const PER_KEY = 250 // files per data key when written through a cache: 4 distinct data keys

async function writeMessages(dir: string, env: Envelope, count = COUNT): Promise<{ paths: string[]; before: Buffer[] }> {
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  const before: Buffer[] = []
  for (let i = 0; i < count; i++) {
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
  it(`${LOCAL_COUNT} files from a local key to a KMS key: one Encrypt per file, one local unwrap per data key; the old key then fails`, async (t) => {
    const dir = await tempDir(t)
    const { keyring: local, calls: localCalls } = countingKeyring('retiring-local', 21)
    const { paths, before } = await writeMessages(join(dir, 'a'), new Envelope({ keyring: local, cache: writerCache() }), LOCAL_COUNT)
    localCalls.unwrap = 0
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const kms = new KmsKeyring({ keyIds: [arn], client })
    const started = performance.now()
    const summary = await rewrapFiles(paths, {
      envelope: new Envelope({ keyring: local, cache: new KeyCache({ maxEntries: 10, maxAge: 600_000 }) }),
      to: kms,
      concurrency: 8,
    })
    t.diagnostic(`local -> KMS, ${LOCAL_COUNT} files: ${(performance.now() - started).toFixed(0)} ms`)
    assert.equal(summary.rewrapped, LOCAL_COUNT)
    assert.deepEqual(summary.failed, [])
    assert.deepEqual(calls.take(), { Encrypt: LOCAL_COUNT })
    assert.equal(localCalls.unwrap, LOCAL_COUNT / PER_KEY)
    const opener = new Envelope({ keyring: kms })
    // Opened 20 at a time: 1,000 Decrypts in sequence would be most of this test's time.
    for (let start = 0; start < LOCAL_COUNT; start += 20) {
      await Promise.all(
        paths.slice(start, start + 20).map(async (path, k) => {
          const i = start + k
          const after = await readFile(path)
          assert.deepEqual(withoutRecipients(after), withoutRecipients(before[i]!))
          await rejectsWithCode(new Envelope({ keyring: local }).decrypt(after), 'ERR_NO_MATCHING_KEY')
          assert.deepEqual((await opener.decrypt(after, { expectContext: { tenant: 'acme' } })).plaintext, pattern(i % 300, i + 7))
        }),
      )
    }
    assert.deepEqual(calls.take(), { Decrypt: LOCAL_COUNT })
    assert.equal((await rewrapFiles(paths, { envelope: new Envelope({ keyring: local }), to: kms })).skipped, LOCAL_COUNT)
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

  it('the CLI in place: a local key to kms:, then kms: to kms: (ReEncrypt), every file opening with the last key only', async (t) => {
    const dir = await tempDir(t)
    const old = keyFile(dir, 'cli-old', 'old.key')
    const data = join(dir, 'data')
    const env = new Envelope({ keyring: old.keyring })
    await mkdir(data)
    for (let i = 0; i < 20; i++) await writeFile(join(data, `f${i}`), await env.encrypt(pattern(i, i + 1)))
    const [a, b] = [await createKey(), await createKey()]
    const flags = ['--endpoint', await kmsEndpoint(), '--region', REGION, '-r', data]
    const run = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        const aws = { PATH: process.env.PATH ?? '', AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey }
        execFile(process.execPath, [CLI, 'rewrap', ...args, ...flags], { env: aws }, (error, _stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code), stderr }),
        )
      })
    const toA = await run(['--key', old.spec, '--to', `kms:${a}`])
    assert.equal(toA.code, 0, toA.stderr)
    assert.match(toA.stderr, /^rewrapped 20 .*failed 0/)
    const toB = await run(['--key', `kms:${a}`, '--to', `kms:${b}`, '--jobs', '8'])
    assert.equal(toB.code, 0, toB.stderr)
    assert.match(toB.stderr, /^rewrapped 20 .*failed 0/)
    const { client } = await motoClient()
    const opener = new Envelope({ keyring: new KmsKeyring({ keyIds: [b], client }) })
    for (let i = 0; i < 20; i++) {
      const bytes = await readFile(join(data, `f${i}`))
      assert.deepEqual((await opener.decrypt(bytes)).plaintext, pattern(i, i + 1))
      await rejectsWithCode(new Envelope({ keyring: old.keyring }).decrypt(bytes), 'ERR_NO_MATCHING_KEY')
    }
    const again = await run(['--key', `kms:${a}`, '--to', `kms:${b}`])
    assert.match(again.stderr, /^rewrapped 0 .*skipped 20 /)
  })
})
