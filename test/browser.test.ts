/**
 * The core in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core,
 * never a downloaded browser) loads an esbuild bundle of test/browser/page.ts, built like a web
 * app would build it (browser conditions, so the @noble backend, no polyfills), from a local
 * server that also forbids eval by CSP. Every check in the page must pass, the page must have no
 * Buffer, messages must cross between Node and the browser in both directions, and the core
 * bundle must hold nothing Node-only. No chromium is a failure, in CI and locally: `.ci/run`
 * installs it.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { bytesToHex, hexToBytes } from '@noble/ciphers/utils.js'
import type { BrowserContext, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { bundle, checkBrowserBundle, coreSize } from '../scripts/bundle.js'
import type { RecipientVector } from '../scripts/gen-recipient-vectors.js'
import type { Vector } from '../scripts/gen-vectors.js'
import { Envelope, LocalKeyring } from '../src/index.js'
import type { PageInput, PageReport } from './browser/page.js'
import { pattern, VECTORS_DIR } from './helpers.js'
import { pqIdentity, xIdentity } from './recipients-helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

const vectors = readdirSync(VECTORS_DIR)
  .filter((f) => f.startsWith('pos-'))
  .map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as Vector)
const forNode = { keyId: 'node-reads-this', key: bytesToHex(pattern(32, 61)), plaintext: bytesToHex(pattern(333, 62)), context: { from: 'chromium' } }
const recipientVectors = readdirSync(VECTORS_DIR)
  .filter((f) => /^(x25519|mlkem768x25519)-(single|mixed)/.test(f))
  .map((f) => JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as RecipientVector)
const input: PageInput = {
  vectors: vectors.map((v) => ({ name: v.name, keys: v.keys, message: v.message, plaintext: v.plaintext!.hex, context: v.context ?? {} })),
  forNode,
  publicKeys: {
    vectors: recipientVectors.map((v) => ({ name: v.name, identities: v.identities, message: v.message, plaintext: v.plaintext!.hex })),
    recipientsForNode: [xIdentity.recipient.toString(), pqIdentity.recipient.toString()],
  },
}

describe('the core in headless Chromium', () => {
  let context: BrowserContext | undefined
  let page: Page
  let report: PageReport
  let userDataDir: string | undefined
  const pageErrors: string[] = []
  const server = createServer()

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: run .ci/run (it installs Debian's chromium package) or \`apt-get install -y chromium\`; this test never downloads a browser`,
      )
    }
    const pageBundle = await bundle('dist/test/browser/page.js', { minify: false })
    checkBrowserBundle(pageBundle)
    const html = '<!doctype html><meta charset="utf-8"><title>kms-envelope</title><script type="module" src="/page.js"></script>'
    server.on('request', (req, res) => {
      // Scripts from this origin only, and no eval: the core must not need it.
      res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'")
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
      else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(pageBundle.code)
      else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    userDataDir = mkdtempSync(join(tmpdir(), 'kmse-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    await page.waitForFunction(() => (globalThis as { kmseReady?: boolean }).kmseReady === true, undefined, { timeout: 30_000 })
    report = await page.evaluate((i) => (globalThis as unknown as { kmseRun(i: PageInput): Promise<PageReport> }).kmseRun(i), input)
  })

  after(async () => {
    await context?.close()
    await new Promise((resolve) => server.close(resolve))
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
  })

  it('ran every check in the page, with no uncaught error', () => {
    assert.ok(report.results.length >= 10, `only ${report.results.length} checks ran`)
    assert.deepEqual(pageErrors, [])
  })

  it('every check passed in the page', (t) => {
    for (const r of report.results) t.diagnostic(`${r.ok ? 'ok' : 'FAILED'}: ${r.name}: ${r.detail.split('\n')[0]}`)
    const failed = report.results.filter((r) => !r.ok)
    assert.deepEqual(failed, [], failed.map((r) => `${r.name}: ${r.detail}`).join('\n\n'))
  })

  it('random access over a Blob ran in the page', () => {
    const check = report.results.find((r) => r.name.startsWith('random access over a Blob'))
    assert.ok(check?.ok === true, check?.detail ?? 'the random-access check did not run')
  })

  it('the hierarchical keyring ran in the page with an in-page store', () => {
    const check = report.results.find((r) => r.name.startsWith('hierarchical keyring with an in-page branch key store'))
    assert.ok(check?.ok === true, check?.detail ?? 'the hierarchical keyring check did not run')
  })

  it('Node decrypts what the browser encrypted', async () => {
    const keyring = new LocalKeyring({ keyId: forNode.keyId, key: hexToBytes(forNode.key) })
    const result = await new Envelope({ keyring }).decrypt(hexToBytes(report.messageForNode), { expectContext: forNode.context })
    assert.equal(bytesToHex(result.plaintext), forNode.plaintext)
  })

  it('Node decrypts what the browser encrypted to x25519 and post-quantum recipients, with either identity', async () => {
    assert.ok(report.publicKeyMessageForNode !== undefined, 'the page made no public-key message')
    for (const keyring of [xIdentity, pqIdentity]) {
      const result = await new Envelope({ keyring }).decrypt(hexToBytes(report.publicKeyMessageForNode), { expectContext: { from: 'chromium' } })
      assert.equal(bytesToHex(result.plaintext), bytesToHex(pattern(1000, 63)))
    }
  })

  it('the core bundle for browsers holds nothing Node-only', async (t) => {
    const size = await coreSize()
    t.diagnostic(`core: ${size.minified} bytes minified, ${size.gzipped} gzipped`)
    assert.equal(size.gzippedWithoutNode, size.gzipped)
  })
})
