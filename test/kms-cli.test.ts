/**
 * The CLI with kms: key specs against moto, and which runs load the AWS SDK at all.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CLI, pattern, ROOT, tempDir } from './helpers.js'
import { CREDENTIALS, createAlias, createKey, kmsEndpoint, REGION, recipientsOf, withoutRecipients } from './kms-helpers.js'

interface Run {
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: string
}

/** Runs the CLI with a clean AWS environment plus `env` (nothing inherited but PATH/HOME). */
function cli(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<Run> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...base, ...env }, encoding: 'buffer', cwd: ROOT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, stdout, stderr: stderr.toString('utf8') })
    })
  })
}

function ok(run: Run): Run {
  assert.equal(run.code, 0, run.stderr)
  return run
}

describe('CLI with kms: keys (moto)', () => {
  it('encrypts and decrypts with kms:ARN and --endpoint/--region; inspect shows the ARN and calls nothing', async (t) => {
    const dir = await tempDir(t)
    const endpoint = await kmsEndpoint()
    const arn = await createKey()
    const input = join(dir, 'plain.bin')
    await writeFile(input, pattern(70_000, 3))
    const flags = ['--endpoint', endpoint, '--region', REGION]
    ok(await cli(['encrypt', '--key', `kms:${arn}`, '-c', 'tenant=acme', ...flags, '-o', join(dir, 'msg'), input]))
    // inspect gets no endpoint and no credentials: it never calls KMS.
    const info = JSON.parse(ok(await cli(['inspect', join(dir, 'msg')], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' })).stdout.toString('utf8'))
    assert.deepEqual(
      info.recipients.map((r: { type: string; keyId: string }) => [r.type, r.keyId]),
      [['aws-kms', arn]],
    )
    assert.deepEqual(info.context, { tenant: 'acme' })
    ok(await cli(['decrypt', '--key', `kms:${arn}`, '-e', 'tenant=acme', ...flags, '-o', join(dir, 'out'), join(dir, 'msg')]))
    assert.deepEqual(await readFile(join(dir, 'out')), await readFile(input))
    const wrong = await cli(['decrypt', '--key', `kms:${arn}`, '-e', 'tenant=other', ...flags, join(dir, 'msg')])
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /ERR_CONTEXT_MISMATCH/)
  })

  it('kms:alias/NAME and kms:KEY-ID from the AWS environment (AWS_ENDPOINT_URL_KMS, AWS_REGION)', async (t) => {
    const dir = await tempDir(t)
    const env = { AWS_ENDPOINT_URL_KMS: await kmsEndpoint(), AWS_REGION: REGION }
    const arn = await createKey()
    const alias = await createAlias(arn)
    await writeFile(join(dir, 'plain'), 'by alias')
    ok(await cli(['encrypt', '--key', `kms:${alias}`, '-o', join(dir, 'msg'), join(dir, 'plain')], env))
    assert.equal(recipientsOf(await readFile(join(dir, 'msg')))[0]!.keyId, arn, 'the message names the ARN, not the alias')
    for (const spec of [`kms:${alias}`, `kms:${arn.split('/')[1]}`]) {
      assert.equal(ok(await cli(['decrypt', '--key', spec, join(dir, 'msg')], env)).stdout.toString('utf8'), 'by alias', spec)
    }
  })

  it('kms: plus file: keys on one message; each alone decrypts; a stranger gets exit 3', async (t) => {
    const dir = await tempDir(t)
    const env = { AWS_ENDPOINT_URL_KMS: await kmsEndpoint(), AWS_REGION: REGION }
    const [a, b, c] = [await createKey(), await createKey(), await createKey()]
    ok(await cli(['keygen', '-q', '-o', join(dir, 'local.key'), '--key-id', 'ops']))
    await writeFile(join(dir, 'plain'), 'mixed')
    ok(
      await cli(
        ['encrypt', '--key', `kms:${a}`, '--key', `kms:${b}`, '--key', `file:${join(dir, 'local.key')}`, '-o', join(dir, 'msg'), join(dir, 'plain')],
        env,
      ),
    )
    assert.deepEqual(
      recipientsOf(await readFile(join(dir, 'msg'))).map((r) => r.keyId),
      [a, b, 'ops'],
    )
    for (const spec of [`kms:${a}`, `kms:${b}`, `file:${join(dir, 'local.key')}`]) {
      assert.equal(ok(await cli(['decrypt', '--key', spec, join(dir, 'msg')], env)).stdout.toString('utf8'), 'mixed', spec)
    }
    const stranger = await cli(['decrypt', '--key', `kms:${c}`, join(dir, 'msg')], env)
    assert.equal(stranger.code, 3)
    assert.match(stranger.stderr, /ERR_NO_MATCHING_KEY/)
  })

  it('rewrap --key OLD --to NEW: body identical, NEW decrypts, OLD no longer listed; --keep keeps it; in place with --force', async (t) => {
    const dir = await tempDir(t)
    const env = { AWS_ENDPOINT_URL_KMS: await kmsEndpoint(), AWS_REGION: REGION }
    const [a, b] = [await createKey(), await createKey()]
    await writeFile(join(dir, 'plain'), 'rewrap me')
    ok(await cli(['encrypt', '--key', `kms:${a}`, '-c', 'k=v', '-o', join(dir, 'msg'), join(dir, 'plain')], env))
    assert.match(
      ok(await cli(['rewrap', '--key', `kms:${a}`, '--to', `kms:${b}`, '-o', join(dir, 'new'), join(dir, 'msg')], env)).stderr,
      /rewrapped inside KMS only \(ReEncrypt\): the message was not authenticated/,
    )
    assert.match(
      ok(await cli(['rewrap', '--verify', '--key', `kms:${a}`, '--to', `kms:${b}`, '-o', join(dir, 'checked'), join(dir, 'msg')], env)).stderr,
      /rewrapped: verified/,
    )
    const [before, after] = [await readFile(join(dir, 'msg')), await readFile(join(dir, 'new'))]
    assert.deepEqual(withoutRecipients(after), withoutRecipients(before))
    assert.deepEqual(
      recipientsOf(after).map((r) => r.keyId),
      [b],
    )
    assert.equal(ok(await cli(['decrypt', '--key', `kms:${b}`, join(dir, 'new')], env)).stdout.toString('utf8'), 'rewrap me')
    const old = await cli(['decrypt', '--key', `kms:${a}`, join(dir, 'new')], env)
    assert.equal(old.code, 3)
    assert.match(old.stderr, /ERR_NO_MATCHING_KEY/)
    ok(await cli(['rewrap', '-k', `kms:${a}`, '-t', `kms:${b}`, '--keep', '-o', join(dir, 'msg'), '--force', join(dir, 'msg')], env))
    assert.deepEqual(
      recipientsOf(await readFile(join(dir, 'msg'))).map((r) => r.keyId),
      [a, b],
    )
    const exists = await cli(['rewrap', '-k', `kms:${a}`, '-t', `kms:${b}`, '-o', join(dir, 'new'), join(dir, 'msg')], env)
    assert.equal(exists.code, 4)
    assert.match(exists.stderr, /ERR_OUTPUT_EXISTS/)
  })

  it('errors: unknown alias exits 3 naming it and ERR_KMS_NOT_FOUND; usage mistakes exit 2', async (t) => {
    const dir = await tempDir(t)
    const env = { AWS_ENDPOINT_URL_KMS: await kmsEndpoint(), AWS_REGION: REGION }
    await writeFile(join(dir, 'plain'), 'x')
    const missing = await cli(['encrypt', '--key', 'kms:alias/kmse-nope', join(dir, 'plain')], env)
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /alias\/kmse-nope.*NotFoundException.*\[ERR_KMS_NOT_FOUND\]/)
    for (const args of [
      ['encrypt', '--key', 'kms:', join(dir, 'plain')],
      ['encrypt', '--key', 'kms:not an id', join(dir, 'plain')],
      ['encrypt', '--key', 'kms:alias/x', '--endpoint', 'not a url', join(dir, 'plain')],
      ['rewrap', '--key', 'kms:alias/x', join(dir, 'plain')],
    ]) {
      const run = await cli(args, env)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    }
  })

  it("prints no AWS SDK Node-version warning (the CLI sets the SDK's documented switch)", async (t) => {
    const dir = await tempDir(t)
    const env = { AWS_ENDPOINT_URL_KMS: await kmsEndpoint(), AWS_REGION: REGION }
    const arn = await createKey()
    await writeFile(join(dir, 'plain'), 'x')
    const run = ok(await cli(['encrypt', '--key', `kms:${arn}`, '-o', join(dir, 'msg'), join(dir, 'plain')], env))
    assert.equal(run.stderr, '')
  })
})

// A resolve hook, registered in a child process, that logs every module URL it resolves.
const HOOK = `
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.KMSE_RESOLVE_LOG, result.url + '\\n')
  return result
}`
const REGISTER = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)})`)}`

async function resolvedBy(
  t: { after(fn: () => Promise<void>): void },
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ urls: string[]; code: number; stderr: string }> {
  const dir = await tempDir(t)
  const log = join(dir, 'resolved.txt')
  await writeFile(log, '')
  const code = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', REGISTER, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', KMSE_RESOLVE_LOG: log, ...env } },
      (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr })
      },
    )
  })
  return { urls: (await readFile(log, 'utf8')).split('\n').filter(Boolean), ...code }
}

const CREDENTIALS_ENV = { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey }
const AWS_SDK = /node_modules\/@(aws-sdk|smithy|aws-crypto)\//

describe('the AWS SDK is loaded only where KMS is used', () => {
  for (const entry of ['kms-envelope', 'kms-envelope/node']) {
    it(`importing ${entry} does not load @aws-sdk/*`, async (t) => {
      const { urls, code, stderr } = await resolvedBy(t, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entry)}); if (!m.Envelope && !m.loadLocalKeyring) process.exit(9)`,
      ])
      assert.equal(code, 0, stderr)
      assert.ok(
        // The package name under the node condition: the Node build (scripts/build-node.ts).
        urls.some((u) => u.endsWith('/dist/bundle/index.js') || u.endsWith('/dist/bundle/node.js')),
        'the hook saw the entry',
      )
      assert.deepEqual(
        urls.filter((u) => AWS_SDK.test(u)),
        [],
      )
    })
  }

  it('kms-envelope/kms loads @aws-sdk/client-kms on its first KMS call, not on import (the hook can see it)', async (t) => {
    const { urls, code, stderr } = await resolvedBy(
      t,
      [
        '--input-type=module',
        '-e',
        `const { KmsKeyring } = await import('kms-envelope/kms')
      const { appendFileSync } = await import('node:fs')
      appendFileSync(process.env.KMSE_RESOLVE_LOG, 'IMPORTED\\n')
      const keyring = new KmsKeyring({ keyIds: ['arn:aws:kms:${REGION}:111122223333:key/k'] })
      appendFileSync(process.env.KMSE_RESOLVE_LOG, 'CONSTRUCTED\\n')
      const error = await keyring.generateDataKey(new Map()).catch((e) => e)
      if (error.code !== 'ERR_KMS_UNAVAILABLE') { console.error(error); process.exit(9) }`,
      ],
      { AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '1', ...CREDENTIALS_ENV },
    )
    assert.equal(code, 0, stderr)
    const constructed = urls.indexOf('CONSTRUCTED')
    assert.ok(urls.indexOf('IMPORTED') >= 0 && constructed > urls.indexOf('IMPORTED'), urls.join('\n'))
    assert.deepEqual(
      urls.slice(0, constructed).filter((u) => AWS_SDK.test(u)),
      [],
    )
    assert.ok(
      urls.slice(constructed).some((u) => /node_modules\/@aws-sdk\/client-kms\//.test(u)),
      urls.join('\n'),
    )
  })

  it('the CLI loads it for kms: specs only (not for inspect or file: keys)', async (t) => {
    const dir = await tempDir(t)
    ok(await cli(['keygen', '-q', '-o', join(dir, 'k'), '--key-id', 'k']))
    await writeFile(join(dir, 'plain'), 'x')
    ok(await cli(['encrypt', '--key', `file:${join(dir, 'k')}`, '-o', join(dir, 'msg'), join(dir, 'plain')]))
    for (const args of [
      ['inspect', join(dir, 'msg')],
      ['decrypt', '--key', `file:${join(dir, 'k')}`, join(dir, 'msg')],
    ]) {
      const { urls, code, stderr } = await resolvedBy(t, [CLI, ...args])
      assert.equal(code, 0, stderr)
      assert.deepEqual(
        urls.filter((u) => AWS_SDK.test(u)),
        [],
        args[0],
      )
    }
    const kms = await resolvedBy(t, [CLI, 'decrypt', '--key', 'kms:alias/x', '--region', REGION, '--endpoint', 'http://127.0.0.1:1', join(dir, 'msg')])
    assert.equal(kms.code, 3, kms.stderr)
    assert.ok(kms.urls.some((u) => /node_modules\/@aws-sdk\/client-kms\//.test(u)))
  })
})
