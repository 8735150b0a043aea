/**
 * What a cold import of the core loads (issue 20): only what a first `encrypt` with a
 * LocalKeyring needs. The public-key and post-quantum curves, the branch-key cache's LRU and
 * the hierarchical keyring's hashes load on first use, which must still work: through the
 * async path (a wrap or unwrap) and through the sync one (an identity's constructor).
 * Each case runs in a fresh Node process, as a cold import can only be seen once per process.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { URL_RECORDING_HOOK } from '../bench/import.js'
import { PostQuantumIdentity, X25519Identity } from '../src/index.js'

/**
 * Both builds: the one-file-per-module tree, and the Node build (dist/bundle) that the package
 * name resolves to under the node condition, where lazy parts must stay in their own chunks.
 */
const BUILDS = [
  { name: 'dist/src', url: pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.js')).href },
  { name: 'the Node build', url: import.meta.resolve('kms-envelope') },
]

/**
 * Packages the core's import must not load: none is on the path of a first encrypt. On Node
 * that includes @scure/base: base64 is native there, and age key strings load bech32 on first use.
 */
const LAZY = ['@noble/curves', '@noble/post-quantum', '@noble/hashes', '@scure/base', 'lru-cache', '@aws-sdk', '@smithy']

/** Runs `body` (an async function body with `core` the imported module) in a fresh process; returns what it returned. */
function inFreshProcess(core: string, body: string): { urlsAtImport: string[]; result: unknown } {
  const script = `
    const settle = () => new Promise((r) => setTimeout(r, 50))
    const core = await import(${JSON.stringify(core)})
    await settle()
    const urlsAtImport = [...globalThis.__kmseUrls]
    const result = await (async () => { ${body} })()
    process.stdout.write(JSON.stringify({ urlsAtImport, result }))
  `
  const r = spawnSync(process.execPath, ['--import', URL_RECORDING_HOOK, '--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as { urlsAtImport: string[]; result: unknown }
}

const packageOf = (url: string): string | undefined => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]

for (const { name, url: core } of BUILDS)
  describe(`cold import of the core (${name})`, () => {
    it(`does not load ${LAZY.join(', ')}`, () => {
      const { urlsAtImport } = inFreshProcess(core, 'return null')
      assert.ok(urlsAtImport.includes(core), 'the hook saw the import')
      const loaded = [...new Set(urlsAtImport.map(packageOf).filter((p) => p !== undefined))]
      const early = loaded.filter((p) => LAZY.some((l) => p === l || p.startsWith(`${l}/`)))
      assert.deepEqual(early, [], `loaded at import: ${early.join(', ')}`)
    })

    it('a first encrypt and decrypt with a LocalKeyring loads none of them either', () => {
      const { result } = inFreshProcess(
        core,
        `
      const env = new core.Envelope({ keyring: core.LocalKeyring.generate({ keyId: 'k' }) })
      const { plaintext } = await env.decrypt(await env.encrypt('hello'))
      await settle()
      return { text: new TextDecoder().decode(plaintext), urls: globalThis.__kmseUrls }
    `,
      )
      const { text, urls } = result as { text: string; urls: string[] }
      assert.equal(text, 'hello')
      const late = [...new Set(urls.map(packageOf).filter((p) => p !== undefined && LAZY.some((l) => p === l || p.startsWith(`${l}/`))))]
      assert.deepEqual(late, [])
    })

    it('public-key keyrings work when a wrap loads the curves first (async path)', () => {
      const x = X25519Identity.generate()
      const pq = PostQuantumIdentity.generate()
      const keys = JSON.stringify({ x: x.toSecretString(), xr: x.recipient.toString(), pq: pq.toSecretString(), pqr: pq.recipient.toString() })
      const { result } = inFreshProcess(
        core,
        `
      const keys = ${keys}
      // Parsing a recipient needs no curve arithmetic: the encrypt below is the first use.
      const recipients = [core.parsePublicKeyRecipient(keys.xr), core.parsePublicKeyRecipient(keys.pqr)]
      const message = await new core.Envelope({ keyring: recipients, allowClassicalRecipients: true }).encrypt('to both')
      const out = []
      for (const secret of [keys.x, keys.pq]) {
        const { plaintext } = await new core.Envelope({ keyring: core.parseIdentity(secret) }).decrypt(message)
        out.push(new TextDecoder().decode(plaintext))
      }
      return out
    `,
      )
      assert.deepEqual(result, ['to both', 'to both'])
    })

    it('public-key identities work when their constructor loads the curves first (sync path)', () => {
      const { result } = inFreshProcess(
        core,
        `
      const out = []
      for (const Identity of [core.X25519Identity, core.PostQuantumIdentity]) {
        const made = Identity.generate()
        const parsed = core.parseIdentity(made.toSecretString())
        const message = await new core.Envelope({ keyring: made.recipient }).encrypt('sync first')
        const { plaintext } = await new core.Envelope({ keyring: parsed }).decrypt(message)
        out.push([new TextDecoder().decode(plaintext), parsed.keyId === made.keyId])
      }
      return out
    `,
      )
      assert.deepEqual(result, [
        ['sync first', true],
        ['sync first', true],
      ])
    })
  })
