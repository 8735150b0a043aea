/**
 * The published package, as a user installs it: `npm pack` of the built tree into scratch
 * projects (see test/consumer/pack.ts). The tarball's file list; TypeScript consumers in the
 * three ESM resolutions with skipLibCheck off; require() from CommonJS; and, with no AWS SDK
 * installed at all, the core, the node helpers and the CLI's local-key commands work while
 * the KMS entry fails with ERR_KMS_SDK_MISSING. The KMS side with an older SDK is
 * test/kms-consumer.test.ts (it needs the KMS server).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { consumer, OLDEST_SDK, type Packed, pack, ROOT, resolveHook, runNode, scratchIn } from './consumer/pack.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string
  types: string
  exports: Record<string, string | Record<string, string>>
  imports: Record<string, Record<string, string>>
  bin: Record<string, string>
  peerDependencies: Record<string, string>
}
const SDK_MISSING =
  "kms-envelope/kms needs the AWS SDK's KMS client, which is not installed: run `npm install @aws-sdk/client-kms` in your application " +
  "(supported versions: >=3.709.0 <4, the peer dependency range in kms-envelope's package.json)"

/** A message wrapped by KMS (a test vector): what a no-SDK install must refuse clearly but still inspect. */
const KMS_VECTOR = JSON.parse(readFileSync(join(ROOT, 'test', 'vectors', 'aws-kms-single.json'), 'utf8')) as { message: string; kms: { keyIds: string[] } }

let packed: Packed
before(() => {
  packed = pack()
})

describe('the tarball', () => {
  it('holds dist/src, the Node build dist/bundle, bin, docs, README, LICENSE, CHANGELOG, SECURITY and package.json, and nothing else', (t) => {
    const files = packed.files
    t.diagnostic(`tarball ${packed.size} B, unpacked ${packed.unpackedSize} B, ${files.length} files`)
    for (const required of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'bin/kms-envelope.js', 'docs/FORMAT.md']) {
      assert.ok(files.includes(required), `${required} is missing from the tarball`)
    }
    const top = new Set(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'bin/kms-envelope.js'])
    // Only compiled code and its declarations: no sources (.ts but .d.ts), tests, benches,
    // scripts or examples, and no .map (they would point at sources the tarball lacks).
    const unexpected = files.filter(
      (f) => !top.has(f) && !/^dist\/src\/[\w/.-]+\.(js|d\.ts)$/.test(f) && !/^dist\/bundle\/[\w-]+\.js$/.test(f) && !/^docs\/[\w.-]+\.md$/.test(f),
    )
    assert.deepEqual(unexpected, [])
    // The Node build: one file per entry and the worker, plus shared chunks (scripts/build-node.ts).
    for (const entry of ['index', 'kms', 'esdk', 'node', 'frame-worker'])
      assert.ok(files.includes(`dist/bundle/${entry}.js`), `dist/bundle/${entry}.js is missing`)
    assert.ok(files.filter((f) => f.startsWith('dist/src/')).length > 50, 'the tarball holds the build (dist/src)')
    for (const f of files.filter((f) => f.endsWith('.js') && f.startsWith('dist/src/'))) {
      assert.ok(files.includes(f.replace(/\.js$/, '.d.ts')), `${f} has no declaration file`)
      // tsc never deletes outputs: a file whose source is gone must not ship (prepack cleans dist/src).
      assert.ok(existsSync(join(ROOT, f.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${f} is stale: there is no ${f.slice(5, -3)}.ts`)
    }
  })

  it('every file package.json points at (main, types, exports, imports, bin) is in it', () => {
    const targets = new Set<string>([pkg.main, pkg.types, ...Object.values(pkg.bin)])
    const walk = (v: unknown): void => {
      if (typeof v === 'string') targets.add(v)
      else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x)
    }
    walk(pkg.exports)
    walk(pkg.imports)
    assert.ok(targets.size > 10)
    for (const target of targets) assert.ok(packed.files.includes(target.replace(/^\.\//, '')), `${target} is not in the tarball`)
  })
})

/** Runs `script` (ESM, .mjs) in a fresh directory of `project`; its stdout is one JSON line. */
async function runScript(
  project: string,
  name: string,
  script: string,
  env: Record<string, string> = {},
): Promise<{ out: unknown; log: string[]; dir: string }> {
  const run = scratchIn(project)
  try {
    const hook = resolveHook(run.dir, '  const r = await next(specifier, context)\n  log(r.url)\n  return r')
    writeFileSync(join(run.dir, name), script)
    const r = await runNode(['--import', hook.register, name], run.dir, env)
    assert.equal(r.code, 0, `${name} failed:\n${r.stdout}\n${r.stderr}`)
    const lines = hook.resolved()
    return { out: JSON.parse(r.stdout.trim().split('\n').pop()!), log: lines, dir: run.dir }
  } finally {
    run.remove()
  }
}

describe('a consumer with no AWS SDK installed', () => {
  let project: string
  before(async () => {
    project = await consumer(packed)
  })

  it('installs kms-envelope and its dependencies only: no @aws-sdk, no @smithy', () => {
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }
    const installed = Object.keys(lock.packages).filter((p) => p !== '')
    assert.ok(installed.includes('node_modules/kms-envelope'))
    assert.deepEqual(
      installed.filter((p) => /@aws-sdk|@smithy|@aws-crypto/.test(p)),
      [],
    )
  })

  it('ESM: round trip and file helpers run from the installed package; the kms entry says what to install', async () => {
    const { out, log } = await runScript(
      project,
      'main.mjs',
      `
      import { writeFile, readFile } from 'node:fs/promises'
      import { Envelope, LocalKeyring, inspect, KmsSdkMissingError } from 'kms-envelope'
      import { encryptFile, decryptFile, writeKeyFile, loadLocalKeyring } from 'kms-envelope/node'
      const keyring = LocalKeyring.generate({ keyId: 'consumer' })
      await writeKeyFile('key.json', keyring)
      const env = new Envelope({ keyring: await loadLocalKeyring('key.json') })
      const msg = await env.encrypt('hello from the tarball', { context: { app: 'scratch' } })
      const { plaintext } = await env.decrypt(msg, { expectContext: { app: 'scratch' } })
      await writeFile('plain.txt', 'file bytes')
      await encryptFile('plain.txt', 'plain.kmse', { envelope: env })
      await decryptFile('plain.kmse', 'back.txt', { envelope: env })
      const kms = await import('kms-envelope/kms')
      const failed = await new Envelope({ keyring: new kms.KmsKeyring({ keyIds: ['alias/x'] }) }).encrypt('x').catch((e) => e)
      const kmsMessage = Buffer.from(${JSON.stringify(KMS_VECTOR.message)}, 'hex')
      const opening = await new Envelope({ keyring: new kms.KmsKeyring({ keyIds: ${JSON.stringify(KMS_VECTOR.kms.keyIds)} }) }).decrypt(kmsMessage).catch((e) => e)
      const store = await new kms.BranchKeyStore({ tableName: 'branch-keys', kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k' }).getActiveBranchKey('t').catch((e) => e)
      console.log(JSON.stringify({
        opening: opening.code,
        store: { code: store.code, typed: store instanceof kms.DynamoDbSdkMissingError },
        kmsRecipients: inspect(kmsMessage).recipients.map((r) => r.type),
        text: new TextDecoder().decode(plaintext),
        file: await readFile('back.txt', 'utf8'),
        recipients: inspect(msg).recipients.map((r) => r.keyId),
        resolved: [import.meta.resolve('kms-envelope'), import.meta.resolve('kms-envelope/node'), import.meta.resolve('kms-envelope/kms')],
        kms: { code: failed.code, name: failed.name, message: failed.message, typed: failed instanceof KmsSdkMissingError, same: kms.KmsSdkMissingError === KmsSdkMissingError },
      }))
      `,
    )
    const o = out as {
      text: string
      file: string
      recipients: string[]
      resolved: string[]
      kms: Record<string, unknown>
      opening: string
      store: Record<string, unknown>
      kmsRecipients: string[]
    }
    // Decrypting a KMS message: the missing SDK itself, not an unwrap failure per recipient; inspect needs no SDK.
    assert.equal(o.opening, 'ERR_KMS_SDK_MISSING')
    // The branch key store without @aws-sdk/client-dynamodb: the typed error, on its first call only.
    assert.deepEqual(o.store, { code: 'ERR_DYNAMODB_SDK_MISSING', typed: true })
    assert.deepEqual(o.kmsRecipients, ['aws-kms'])
    assert.equal(o.text, 'hello from the tarball')
    assert.equal(o.file, 'file bytes')
    assert.deepEqual(o.recipients, ['consumer'])
    // Node resolves the `node` condition: the Node build, never the one-file-per-module tree.
    const installed = new URL(`file://${realpathSync(project)}/node_modules/kms-envelope/dist/bundle/`).href
    for (const url of o.resolved) assert.ok(url.startsWith(installed), `${url} is not the installed package`)
    assert.deepEqual(o.kms, { code: 'ERR_KMS_SDK_MISSING', name: 'KmsSdkMissingError', message: SDK_MISSING, typed: true, same: true })
    assert.ok(SDK_MISSING.includes(pkg.peerDependencies['@aws-sdk/client-kms']!), 'the message states the peer dependency range')
    // Every module of kms-envelope came from the scratch install, and cbor-x's native extractor was never loaded.
    const ours = log.filter((u) => u.includes('/kms-envelope/dist/'))
    assert.ok(ours.length > 5)
    assert.deepEqual(
      ours.filter((u) => !u.startsWith(installed)),
      [],
    )
    assert.deepEqual(
      log.filter((u) => /cbor-extract|node-gyp-build/.test(u)),
      [],
    )
  })

  it('CommonJS: require() of every entry works (no top-level await anywhere) and a round trip runs', async () => {
    const run = scratchIn(project)
    try {
      writeFileSync(
        join(run.dir, 'main.cjs'),
        `
        const { Envelope, LocalKeyring } = require('kms-envelope')
        const node = require('kms-envelope/node')
        const kms = require('kms-envelope/kms')
        ;(async () => {
          const env = new Envelope({ keyring: LocalKeyring.generate() })
          const { plaintext } = await env.decrypt(await env.encrypt('from require'))
          const failed = await new Envelope({ keyring: new kms.KmsKeyring({ keyIds: ['alias/x'] }) }).encrypt('x').catch((e) => e)
          console.log(JSON.stringify({ text: Buffer.from(plaintext).toString(), resolved: require.resolve('kms-envelope'), node: typeof node.encryptFile, code: failed.code }))
        })()
        `,
      )
      const r = await runNode(['main.cjs'], run.dir)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '', 'require(esm) of the package prints no warning')
      const o = JSON.parse(r.stdout) as Record<string, string>
      assert.equal(o.text, 'from require')
      assert.equal(o.resolved, join(realpathSync(project), 'node_modules', 'kms-envelope', 'dist', 'bundle', 'index.js'))
      assert.equal(o.node, 'function')
      assert.equal(o.code, 'ERR_KMS_SDK_MISSING')
    } finally {
      run.remove()
    }
  })

  it('the installed CLI: keygen, encrypt, decrypt, inspect with a local key; kms: keys say what to install (exit 3)', async () => {
    const run = scratchIn(project)
    const bin = join(project, 'node_modules', '.bin', 'kms-envelope')
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(bin, args, { cwd: run.dir, encoding: 'utf8' }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
        )
      })
    try {
      writeFileSync(join(run.dir, 'plain'), 'cli bytes')
      for (const args of [
        ['keygen', '-q', '-o', 'key', '--key-id', 'cli'],
        ['encrypt', '--key', 'file:key', '-o', 'msg', 'plain'],
        ['decrypt', '--key', 'file:key', '-o', 'back', 'msg'],
      ]) {
        const r = await cli(args)
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      }
      assert.equal(readFileSync(join(run.dir, 'back'), 'utf8'), 'cli bytes')
      const inspected = await cli(['inspect', 'msg'])
      assert.equal(inspected.code, 0, inspected.stderr)
      assert.match(inspected.stdout, /cli/)
      writeFileSync(join(run.dir, 'kms-msg'), Buffer.from(KMS_VECTOR.message, 'hex'))
      const kmsInspected = await cli(['inspect', 'kms-msg'])
      assert.equal(kmsInspected.code, 0, kmsInspected.stderr)
      for (const args of [
        ['encrypt', '--key', 'kms:alias/x', '-o', 'kmsg', 'plain'],
        ['decrypt', '--key', `kms:${KMS_VECTOR.kms.keyIds[0]}`, '-o', 'kback', 'kms-msg'],
      ]) {
        const kms = await cli(args)
        assert.equal(kms.code, 3, `${args.join(' ')}: ${kms.stderr}`)
        assert.ok(kms.stderr.includes('npm install @aws-sdk/client-kms'), kms.stderr)
        assert.match(kms.stderr, /\[ERR_KMS_SDK_MISSING\]/)
      }
    } finally {
      run.remove()
    }
  })
})

describe(`TypeScript consumers (skipLibCheck false, strict), with the app's own @aws-sdk/client-kms@${OLDEST_SDK}`, () => {
  it('type-check against all three entries with moduleResolution node16, nodenext and bundler', async (t) => {
    const project = await consumer(packed, { sdk: OLDEST_SDK })
    const run = scratchIn(project)
    const dir = run.dir
    try {
      writeFileSync(
        join(dir, 'index.ts'),
        `
        import { KMSClient } from '@aws-sdk/client-kms'
        import { Envelope, EnvelopeError, type DecryptResult, type ErrorCode, FieldEncryptor, inspect, KeyCache, LocalKeyring, type MessageInfo } from 'kms-envelope'
        import { KmsError, KmsKeyring, type KmsKeyringOptions } from 'kms-envelope/kms'
        import { createEncryptStream, decryptFile, encryptFile, loadLocalKeyring } from 'kms-envelope/node'

        // The app's own (older) SDK's client: the issue's TS2322 was a second SDK copy's KMSClient.
        const client = new KMSClient({ region: 'us-east-1' })
        const options: KmsKeyringOptions = { keyIds: ['alias/orders'], client }
        const env = new Envelope({ keyring: [new KmsKeyring(options), LocalKeyring.generate()], cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })

        export async function roundTrip(text: string): Promise<string> {
          const msg: Uint8Array = await env.encrypt(text, { context: { tenant: 'acme' } })
          const info: MessageInfo = inspect(msg)
          const result: DecryptResult = await env.decrypt(msg, { expectContext: { tenant: 'acme' } })
          return \`\${info.recipients.length}: \${new TextDecoder().decode(result.plaintext)}\`
        }
        export function codeOf(error: unknown): ErrorCode | string | undefined {
          if (error instanceof KmsError) return error.kmsErrorName
          return error instanceof EnvelopeError ? error.code : undefined
        }
        export const uses = [FieldEncryptor, createEncryptStream, decryptFile, encryptFile, loadLocalKeyring]
        // @ts-expect-error keyIds is an array: proves the declarations are really checked, not any
        export const wrong: KmsKeyringOptions = { keyIds: 'alias/orders' }
        `,
      )
      const resolutions = [
        { name: 'node16', module: 'node16', moduleResolution: 'node16' },
        { name: 'nodenext', module: 'nodenext', moduleResolution: 'nodenext' },
        { name: 'bundler', module: 'esnext', moduleResolution: 'bundler' },
      ]
      for (const r of resolutions) {
        writeFileSync(
          join(dir, `tsconfig.${r.name}.json`),
          JSON.stringify({
            compilerOptions: {
              module: r.module,
              moduleResolution: r.moduleResolution,
              target: 'ES2022',
              lib: ['ES2023'],
              types: ['node'],
              strict: true,
              skipLibCheck: false,
              noEmit: true,
            },
            files: ['index.ts'],
          }),
        )
      }
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
      const started = Date.now()
      // In parallel: each is a few seconds of one core (skipLibCheck off checks every SDK and @types/node declaration).
      const results = await Promise.all(resolutions.map((r) => runNode([tsc, '--project', `tsconfig.${r.name}.json`, '--pretty', 'false'], dir)))
      t.diagnostic(`3 type-checks in ${Date.now() - started} ms`)
      results.forEach((res, i) => {
        assert.equal(res.code, 0, `moduleResolution ${resolutions[i]!.name}:\n${res.stdout}${res.stderr}`)
      })
    } finally {
      run.remove()
    }
  })
})
