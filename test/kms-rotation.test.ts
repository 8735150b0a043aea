/**
 * decryptOnly with KMS keys on a real KMS server (moto), every call counted at the SDK:
 * messages under K1 open with `{ keyring: K2, decryptOnly: K1 }`, new messages go to K2 only,
 * K1 alone cannot open them, a cache never gives K1's data key to encryption, and rewrap
 * moves messages away from K1 (KMS to KMS: ReEncrypt).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { Envelope, inspect, KeyCache } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { CLI, ROOT, rejectsWithCode, tempDir } from './helpers.js'
import { CREDENTIALS, createAlias, createKey, kmsEndpoint, motoClient, REGION } from './kms-helpers.js'

/** The CLI against moto with test credentials and nothing else of the AWS environment. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  }
  const kms = ['--endpoint', await kmsEndpoint(), '--region', REGION]
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, ...kms], { env, encoding: 'buffer', cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr: stderr.toString('utf8') })
    })
  })
}

const context = { tenant: 'acme' }
let k1: string
let k2: string

before(async () => {
  ;[k1, k2] = await Promise.all([createKey(), createKey()])
})

describe('decryptOnly with KMS keys (moto)', () => {
  it('K1 messages open; new messages are wrapped for K2 only; K1 alone cannot open them', async () => {
    const old = await new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client: (await motoClient()).client }) }).encrypt('2025', { context })
    const { client, calls } = await motoClient()
    const rotated = new Envelope({ keyring: new KmsKeyring({ keyIds: [k2], client }), decryptOnly: new KmsKeyring({ keyIds: [k1], client }) })
    assert.equal(await rotated.decryptString(old, { expectContext: context }), '2025')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    const fresh = await rotated.encrypt('2026', { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 }) // no Encrypt for K1
    assert.deepEqual(
      inspect(fresh).recipients.map((r) => r.keyId),
      [k2],
    )
    const k1Only = new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client }) })
    await rejectsWithCode(k1Only.decrypt(fresh), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
    assert.deepEqual(await rotated.keyStatus(old), [{ type: 'aws-kms', keyId: k1, status: 'decrypt-only' }])
    assert.deepEqual(await rotated.keyStatus(fresh), [{ type: 'aws-kms', keyId: k2, status: 'write' }])
    assert.deepEqual(calls.take(), {}) // key status calls no KMS operation for keys given by ARN
  })

  it('with a cache: K1 is called once per old data key and never for writing; new messages get a K2 data key', async () => {
    const writer = await motoClient()
    const messages = await Promise.all(
      Array.from({ length: 20 }, () => new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client: writer.client }) }).encrypt('old', { context })),
    )
    const { client, calls } = await motoClient()
    const env = new Envelope({
      keyring: new KmsKeyring({ keyIds: [k2], client }),
      decryptOnly: new KmsKeyring({ keyIds: [k1], client }),
      cache: new KeyCache({ maxAge: 600_000 }),
    })
    for (const m of messages) await env.decrypt(m, { expectContext: context })
    assert.deepEqual(calls.take(), { Decrypt: 20 }) // 20 distinct data keys
    for (const m of messages) await env.decrypt(m, { expectContext: context })
    assert.deepEqual(calls.take(), {})
    const fresh = await Promise.all(Array.from({ length: 20 }, (_, i) => env.encrypt(`new ${i}`, { context })))
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    for (const m of fresh) {
      assert.deepEqual(
        inspect(m).recipients.map((r) => r.keyId),
        [k2],
      )
    }
    await rejectsWithCode(new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client }) }).decrypt(fresh[0]!), 'ERR_NO_MATCHING_KEY')
  })

  it('rewrap away from the retired key: ReEncrypt from K1 (decrypt-only, configured by alias) to K2', async () => {
    const old = await new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client: (await motoClient()).client }) }).encrypt('move me', { context })
    const alias = await createAlias(k1)
    const { client, calls } = await motoClient()
    const k2Ring = new KmsKeyring({ keyIds: [k2], client })
    const rotated = new Envelope({ keyring: k2Ring, decryptOnly: new KmsKeyring({ keyIds: [alias], client }) })
    assert.deepEqual(await rotated.keyStatus(old), [{ type: 'aws-kms', keyId: k1, status: 'decrypt-only' }])
    assert.deepEqual(calls.take(), { DescribeKey: 1 }) // the alias, resolved once
    const { message, verified } = await rotated.rewrapDetailed(old, { to: k2Ring })
    assert.equal(verified, false)
    assert.deepEqual(calls.take(), { ReEncrypt: 1 })
    assert.deepEqual(await rotated.keyStatus(message), [{ type: 'aws-kms', keyId: k2, status: 'write' }])
    await rejectsWithCode(new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client }) }).decrypt(message), 'ERR_NO_MATCHING_KEY')
    assert.equal(await new Envelope({ keyring: k2Ring }).decryptString(message, { expectContext: context }), 'move me')
  })

  it('CLI: inspect shows the status, rewrap --decrypt-key OLD --to NEW, then OLD alone fails', async (t) => {
    const dir = await tempDir(t)
    const old = join(dir, 'old.kmse')
    const { client } = await motoClient()
    await writeFile(old, await new Envelope({ keyring: new KmsKeyring({ keyIds: [k1], client }) }).encrypt('via the CLI'))
    const shown = await cli(['inspect', '-k', `kms:${k2}`, '--decrypt-key', `kms:${k1}`, old])
    assert.equal(shown.code, 0, shown.stderr)
    const info = JSON.parse(shown.stdout.toString()) as { recipients: Array<{ keyId: string; status: string }> }
    assert.deepEqual(
      info.recipients.map((r) => [r.keyId, r.status]),
      [[k1, 'decrypt-only']],
    )
    const moved = join(dir, 'new.kmse')
    const r = await cli(['rewrap', '-q', '-k', `kms:${k2}`, '--decrypt-key', `kms:${k1}`, '--to', `kms:${k2}`, '-o', moved, old])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      inspect(new Uint8Array(await readFile(moved))).recipients.map((x) => x.keyId),
      [k2],
    )
    const oldOnly = await cli(['decrypt', '-k', `kms:${k1}`, moved])
    assert.equal(oldOnly.code, 3)
    assert.match(oldOnly.stderr, /ERR_NO_MATCHING_KEY/)
    const opened = await cli(['decrypt', '-k', `kms:${k2}`, '-o', '-', moved])
    assert.equal(opened.code, 0, opened.stderr)
    assert.equal(opened.stdout.toString(), 'via the CLI')
  })
})
