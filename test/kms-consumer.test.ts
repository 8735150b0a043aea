/**
 * The case: an application that pins an older @aws-sdk/client-kms installs the
 * packed kms-envelope, gets ONE copy of the SDK (the peer dependency), and its own KMSClient
 * encrypts, decrypts and rewraps against the KMS server (moto). In the KMS stage for the
 * server; the install is cached (see test/consumer/pack.ts).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { consumer, OLDEST_SDK, pack, ROOT, resolveHook, runNode, scratchIn } from './consumer/pack.js'
import { CREDENTIALS, kmsEndpoint, REGION } from './kms-helpers.js'

describe(`an application with its own @aws-sdk/client-kms@${OLDEST_SDK} (the oldest the peer range allows)`, () => {
  it('npm ls shows exactly one copy of the SDK: the application’s, deduped for kms-envelope', async () => {
    const project = await consumer(pack(), { sdk: OLDEST_SDK })
    const out = await new Promise<string>((resolve, reject) => {
      execFile('npm', ['ls', '@aws-sdk/client-kms', '--all', '--json'], { cwd: project, encoding: 'utf8' }, (error, stdout, stderr) =>
        error === null ? resolve(stdout) : reject(new Error(`npm ls failed: ${stdout}${stderr}`)),
      )
    })
    const copies: string[] = []
    const walk = (deps: Record<string, { version?: string; dependencies?: object }> | undefined, path: string): void => {
      for (const [name, dep] of Object.entries(deps ?? {})) {
        if (name === '@aws-sdk/client-kms') copies.push(`${path}${name}@${dep.version}`)
        walk(dep.dependencies as never, `${path}${name} > `)
      }
    }
    walk((JSON.parse(out) as { dependencies: never }).dependencies, '')
    // npm ls lists the deduped use under kms-envelope too, with the same version: one install.
    assert.deepEqual(copies.sort(), [`@aws-sdk/client-kms@${OLDEST_SDK}`, `kms-envelope > @aws-sdk/client-kms@${OLDEST_SDK}`])
    assert.equal(existsSync(join(project, 'node_modules', 'kms-envelope', 'node_modules', '@aws-sdk')), false, 'no nested SDK under kms-envelope')
    assert.ok(readdirSync(join(project, 'node_modules', '@aws-sdk')).includes('client-kms'))
  })

  it('its own KMSClient encrypts, decrypts and rewraps against the KMS server; errors stay typed', async () => {
    const project = await consumer(pack(), { sdk: OLDEST_SDK })
    const run = scratchIn(project)
    try {
      writeFileSync(
        join(run.dir, 'main.mjs'),
        `
        import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
        import { Envelope, NoMatchingKeyError } from 'kms-envelope'
        import { KmsError, KmsKeyring } from 'kms-envelope/kms'
        import { createRequire } from 'node:module'
        const client = new KMSClient({ region: ${JSON.stringify(REGION)}, endpoint: process.env.KMSE_TEST_KMS_ENDPOINT, credentials: ${JSON.stringify(CREDENTIALS)} })
        const sent = []
        client.middlewareStack.add((next, context) => async (args) => { sent.push(context.commandName); return next(args) }, { step: 'initialize', name: 'count' })
        const newKey = async () => (await client.send(new CreateKeyCommand({ Description: 'kms-envelope consumer test' }))).KeyMetadata.Arn
        const [first, second] = [await newKey(), await newKey()]
        sent.length = 0
        const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [first], client }) })
        const msg = await env.encrypt('from an older SDK', { context: { app: 'scratch' } })
        const { plaintext } = await env.decrypt(msg, { expectContext: { app: 'scratch' } })
        const moved = await env.rewrap(msg, { to: new KmsKeyring({ keyIds: [second], client }) })
        const reopened = await new Envelope({ keyring: new KmsKeyring({ keyIds: [second], client }) }).decrypt(moved)
        const stranger = await env.decrypt(moved).catch((e) => e)
        const missing = await new Envelope({ keyring: new KmsKeyring({ keyIds: ['alias/kmse-consumer-nope'], client }) }).encrypt('x').catch((e) => e)
        const require = createRequire(import.meta.url)
        console.log(JSON.stringify({
          text: new TextDecoder().decode(plaintext),
          reopened: new TextDecoder().decode(reopened.plaintext),
          sent,
          stranger: { code: stranger.code, typed: stranger instanceof NoMatchingKeyError },
          missing: { code: missing.code, typed: missing instanceof KmsError, name: missing.kmsErrorName },
          sdk: require('@aws-sdk/client-kms/package.json').version,
        }))
        `,
      )
      const r = await runNode(['main.mjs'], run.dir, {
        KMSE_TEST_KMS_ENDPOINT: await kmsEndpoint(),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      })
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      const o = JSON.parse(r.stdout) as Record<string, unknown>
      assert.equal(o.sdk, OLDEST_SDK)
      assert.equal(o.text, 'from an older SDK')
      assert.equal(o.reopened, 'from an older SDK')
      // Every command went through the application's client: KMS-to-KMS rewrap is one ReEncrypt.
      assert.deepEqual(o.sent, ['GenerateDataKeyCommand', 'DecryptCommand', 'ReEncryptCommand', 'DecryptCommand', 'GenerateDataKeyCommand'])
      assert.deepEqual(o.stranger, { code: 'ERR_NO_MATCHING_KEY', typed: true })
      assert.deepEqual(o.missing, { code: 'ERR_KMS_NOT_FOUND', typed: true, name: 'NotFoundException' })
    } finally {
      run.remove()
    }
  })

  it('the KMS keyring suites (kms, kms-fake) pass with that SDK as the one the library and the tests load', async () => {
    const project = await consumer(pack(), { sdk: OLDEST_SDK })
    const run = scratchIn(project)
    try {
      // Every import of the SDK, the library's lazy one included, resolves as the application's would.
      const hook = resolveHook(
        run.dir,
        `  if (specifier !== '@aws-sdk/client-kms') return next(specifier, context)
  const result = await next(specifier, { ...context, parentURL: ${JSON.stringify(pathToFileURL(join(project, 'package.json')).href)} })
  log(result.url)
  return result`,
      )
      const files = ['kms.test.js', 'kms-fake.test.js'].map((f) => join(ROOT, 'dist', 'test', f))
      const r = await runNode(['--import', hook.register, '--test', '--test-reporter=dot', ...files], ROOT, {
        KMSE_TEST_KMS_ENDPOINT: await kmsEndpoint(),
      })
      assert.equal(r.code, 0, `${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`)
      const urls = hook.resolved()
      // Both test processes, each loading it for the tests and for the library (one module instance).
      assert.ok(urls.length >= 2, urls.join('\n'))
      const scratchSdk = pathToFileURL(join(project, 'node_modules', '@aws-sdk', 'client-kms')).href
      assert.deepEqual(
        urls.filter((u) => !u.startsWith(`${scratchSdk}/`)),
        [],
      )
    } finally {
      run.remove()
    }
  })
})
