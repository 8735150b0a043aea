/**
 * Hostile ESDK messages: every single-byte change (three masks), every truncation and a few
 * extensions of small messages of each kind is rejected with a typed error, by the buffer and
 * the streaming reader, and the SDK itself rejects the same edits (reverse check). Runs on
 * both AES backends. The streaming reader never releases the final frame of a message whose
 * signature fails or that is followed by stray bytes.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { EsdkReadOptions } from '../src/esdk/index.js'
import { decryptEsdk, decryptEsdkStream } from '../src/esdk/index.js'
import { aesPair, sdkClient, sdkEncrypt, writeTestMessage } from './esdk-helpers.js'
import { assertExpectedBackend } from './helpers.js'
import { edits } from './mutations.js'

/** `npm run test:esdk` walks every edit through the stream and the SDK too; `npm test` samples them. */
const FULL = process.env.KMSE_ESDK_FULL === '1'
const STREAM_STRIDE = FULL ? 1 : 7
const SDK_STRIDE = FULL ? 1 : 11
const TYPED = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT', 'ERR_AUTH', 'ERR_NO_MATCHING_KEY', 'ERR_UNWRAP'])
const context = { tenant: 'acme' }

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ACCEPTED'
  } catch (error) {
    const code = (error as { code?: string }).code
    return code !== undefined && TYPED.has(code) ? code : `untyped ${String(error)}`
  }
}

async function streamed(message: Uint8Array, options: EsdkReadOptions): Promise<{ received: number; error: unknown }> {
  const t = decryptEsdkStream(options)
  const writer = t.writable.getWriter()
  const pump = (async () => {
    for (let at = 0; at < message.length; at += 5) await writer.write(message.slice(at, at + 5))
    await writer.close()
  })().catch(() => {})
  let received = 0
  let error: unknown
  try {
    const reader = t.readable.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length
  } catch (e) {
    error = e
  }
  await pump
  return { received, error }
}

describe('ESDK reader: every edit of small messages is rejected with a typed error, by us and by the SDK', () => {
  assertExpectedBackend()
  const pair = aesPair(32, 'tamper')
  const wrap = { key: pair.key, keyNamespace: 'esdk-test', keyName: 'tamper' }
  const cases: { label: string; make: () => Promise<Uint8Array>; suite: number; sdkCheck: boolean; options?: Partial<EsdkReadOptions> }[] = [
    { label: 'SDK 0x0478, frames of 7', suite: 0x0478, sdkCheck: true, make: () => sdkEncrypt(pair.sdk, new Uint8Array(randomBytes(15)), 0x0478, 7, context) },
    {
      label: 'SDK 0x0578 (signed), frames of 7',
      suite: 0x0578,
      sdkCheck: true,
      make: () => sdkEncrypt(pair.sdk, new Uint8Array(randomBytes(9)), 0x0578, 7, context),
    },
    {
      label: 'test encoder 0x0014, v1 non-framed',
      suite: 0x0014,
      sdkCheck: true,
      make: async () => writeTestMessage({ suiteId: 0x0014, frameLength: 0, plaintext: new Uint8Array(randomBytes(6)), wrap, context }),
    },
    {
      label: 'test encoder 0x0478 with required context',
      suite: 0x0478,
      sdkCheck: false,
      options: { reproducedContext: { region: 'eu' } },
      make: async () =>
        writeTestMessage({ suiteId: 0x0478, frameLength: 4, plaintext: new Uint8Array(randomBytes(6)), wrap, context, required: { region: 'eu' } }),
    },
  ]
  for (const c of cases) {
    it(c.label, async () => {
      const message = await c.make()
      const options: EsdkReadOptions = { keyring: pair.ours, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT', ...c.options }
      assert.ok((await decryptEsdk(message, options)).plaintext.length > 0)
      const sdk = sdkClient(c.suite)
      let n = 0
      let sdkAppendedAccepted = false
      // Signed messages cost a P-384 verification per footer edit: npm test takes every third.
      const stride = FULL || c.suite !== 0x0578 ? 1 : 3
      let i = 0
      for (const edit of edits(message)) {
        if (i++ % stride !== 0 && !edit.label.includes('appended')) continue
        const code = await codeOf(decryptEsdk(edit.message, options))
        assert.ok(TYPED.has(code), `${c.label}: ${edit.label}: ${code}`)
        if (n % STREAM_STRIDE === 0) {
          const s = await streamed(edit.message, options)
          const sc = (s.error as { code?: string } | undefined)?.code
          assert.ok(sc !== undefined && TYPED.has(sc), `${c.label} (stream): ${edit.label}: ${String(s.error)}`)
        }
        // Appended bytes are the one known difference: the JS SDK ignores bytes after an
        // unsigned message, the specification (client-apis/decrypt.md) says decrypt MUST fail.
        const appended = edit.label.includes('appended')
        if (c.sdkCheck && (n % SDK_STRIDE === 0 || appended)) {
          const sdkAccepted = await sdk.decrypt(pair.sdk, edit.message).then(
            () => true,
            () => false,
          )
          if (appended) sdkAppendedAccepted ||= sdkAccepted
          else assert.equal(sdkAccepted, false, `${c.label}: the SDK accepts ${edit.label}, which we reject (${code})`)
        }
        n++
      }
      assert.ok(n > (message.length * 3) / stride)
      // Signed messages: the SDK too refuses bytes after the footer. Unsigned: it ignores them.
      if (c.sdkCheck) assert.equal(sdkAppendedAccepted, c.suite !== 0x0578, `${c.label}: the SDK's handling of appended bytes changed`)
    })
  }
})

describe('ESDK reader: the stream withholds the final frame until the message is proven whole', () => {
  const pair = aesPair(32, 'withhold')
  it('signed suite, bad signature: the regular frames come out, the final frame never does, ERR_AUTH', async () => {
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(randomBytes(25)), 0x0578, 10, context)
    const bad = message.slice()
    bad[bad.length - 5]! ^= 1 // inside the DER signature
    const s = await streamed(bad, { keyring: pair.ours })
    assert.equal((s.error as { code?: string }).code, 'ERR_AUTH')
    assert.equal(s.received, 20)
    const good = await streamed(message, { keyring: pair.ours })
    assert.equal(good.error, undefined)
    assert.equal(good.received, 25)
  })
  it('unsigned suite followed by stray bytes: ERR_FORMAT and no final frame', async () => {
    const message = await sdkEncrypt(pair.sdk, new Uint8Array(randomBytes(25)), 0x0478, 10, context)
    const extended = new Uint8Array([...message, 0])
    const s = await streamed(extended, { keyring: pair.ours })
    assert.equal((s.error as { code?: string }).code, 'ERR_FORMAT')
    assert.equal(s.received, 20)
  })
  it('the header promise rejects with the same typed error when the header is bad', async () => {
    const t = decryptEsdkStream({ keyring: pair.ours })
    const writer = t.writable.getWriter()
    writer.write(new Uint8Array([9, 9, 9])).catch(() => {})
    writer.close().catch(() => {})
    await assert.rejects(t.header, { code: 'ERR_UNSUPPORTED' })
    await assert.rejects(t.readable.getReader().read(), { code: 'ERR_UNSUPPORTED' })
  })
})
