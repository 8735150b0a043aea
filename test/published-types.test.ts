/**
 * The published declarations: they must type-check for a consumer (skipLibCheck off, so every
 * .d.ts under dist/src is checked) and must not show internals such as an Envelope's settings.
 * Runs on the build output, so it tests what `npm pack` ships.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = fileURLToPath(new URL('../..', import.meta.url))
const distSrc = join(root, 'dist', 'src')

function compile(source: string): string[] {
  const dir = join(root, 'dist', 'test', 'consumer')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `consumer-${process.pid}-${Math.random().toString(36).slice(2)}.ts`)
  writeFileSync(file, source)
  const program = ts.createProgram([file], {
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  })
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
}

const entry = (name: string) => JSON.stringify(join(distSrc, name))

describe('published type declarations', () => {
  it('a consumer of every entry point type-checks with skipLibCheck false', () => {
    const errors = compile(`
      import { Envelope, LocalKeyring, inspect, FieldEncryptor } from ${entry('index.js')}
      import { KmsKeyring } from ${entry('kms.js')}
      import { encryptFile, loadLocalKeyring } from ${entry('node/index.js')}
      import { decryptEsdk, RawAesKeyring } from ${entry('esdk/index.js')}
      export const esdk = decryptEsdk(new Uint8Array(0), { keyring: [new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', key: new Uint8Array(32) }), new KmsKeyring({ keyIds: [] , discovery: { partition: 'aws', accountIds: ['111122223333'] } })] })
      const env = new Envelope({ keyring: LocalKeyring.generate(), maxFrameSize: 65536 })
      export const uses = [env.encrypt('x'), env.decryptStream().info, inspect, FieldEncryptor, KmsKeyring, encryptFile, loadLocalKeyring]
    `)
    assert.deepEqual(errors, [])
  })

  it('internals are absent: Envelope has no settings, LocalKeyring no salt-taking wrap', () => {
    const errors = compile(`
      import { Envelope, LocalKeyring } from ${entry('index.js')}
      const env = new Envelope({ keyring: LocalKeyring.generate() })
      export const a = env.settings
      export const b = LocalKeyring.generate().wrapWithSalt
    `)
    assert.equal(errors.length, 2, errors.join('\n'))
    assert.match(errors[0]!, /Property 'settings' does not exist/)
    assert.match(errors[1]!, /Property 'wrapWithSalt' does not exist/)
  })

  it('no declaration file under dist/src carries an @internal member', () => {
    const files: string[] = []
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n)
        if (statSync(p).isDirectory()) walk(p)
        else if (n.endsWith('.d.ts')) files.push(p)
      }
    }
    walk(distSrc)
    assert.ok(files.length > 20)
    for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), /@internal/, f)
    assert.doesNotMatch(readFileSync(join(distSrc, 'envelope.d.ts'), 'utf8'), /settings/)
  })
})
