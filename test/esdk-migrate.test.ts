/**
 * migrateEsdkMessage on messages the AWS Encryption SDK wrote: every suite the policy allows
 * migrates to a kms-envelope message with the same plaintext and context; streams stay
 * streams; a tampered message or a bad signature yields a typed error and no complete output.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EsdkMigratedStream } from '../src/esdk/index.js'
import { decryptEsdk, migrateEsdkMessage, RawAesKeyring, RawRsaKeyring } from '../src/esdk/index.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { writeTestMessage } from './esdk-helpers.js'
import { aesKey, COMMITTING_SUITES, esdkEncrypt, LEGACY_SUITES, multi, rsaKey } from './esdk-writer.js'
import { pattern, rejectsWithCode } from './helpers.js'

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** A stream of `bytes` in pieces of `size`, counting how many pieces were pulled. */
function pieces(bytes: Uint8Array, size: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let offset = 0
  let pulled = 0
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.length) return controller.close()
        pulled++
        controller.enqueue(bytes.slice(offset, offset + size))
        offset += size
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, pulled: () => pulled }
}

describe('migrateEsdkMessage', () => {
  const old = aesKey('app', 'aes-256')
  const from = { keyring: new RawAesKeyring({ keyNamespace: old.keyNamespace, keyName: old.keyName, key: old.key }) }
  const local = LocalKeyring.generate({ keyId: 'new-key' })
  const to = new Envelope({ keyring: local, frameSize: 4096 })

  it('migrates committing suites (0x0478, 0x0578) to the same plaintext and context, under a fresh message id', async () => {
    for (const suiteId of COMMITTING_SUITES) {
      for (const size of [0, 1, 4095, 4096, 10_000]) {
        const plaintext = pattern(size, suiteId + size)
        const context = { tenant: 'acme', purpose: 'migration test' }
        const esdk = await esdkEncrypt(old.sdk, plaintext, { suiteId, context, frameLength: 1024 })
        const migrated = await migrateEsdkMessage(esdk, { from, to })
        assert.equal(migrated.header.suiteId, suiteId)
        assert.equal(migrated.carriedOver, false)
        assert.equal(migrated.openedWith.providerId, 'app')
        const info = inspect(migrated.message)
        assert.deepEqual(
          info.recipients.map((r) => r.keyId),
          ['new-key'],
        )
        assert.notEqual(info.messageId, Buffer.from(migrated.header.messageId).toString('hex'))
        const opened = await to.decrypt(migrated.message, { expectContext: context })
        assert.deepEqual(opened.plaintext, plaintext)
        // The signed suite's context holds the SDK's public key; 'keep' keeps all of it.
        assert.deepEqual(opened.context, migrated.context)
        assert.equal(opened.context.tenant, 'acme')
        assert.equal('aws-crypto-public-key' in opened.context, suiteId === 0x0578)
      }
    }
  })

  it('reads legacy suites only under a policy that allows them, and maps the context when asked', async () => {
    const plaintext = pattern(3000, 7)
    for (const suiteId of LEGACY_SUITES) {
      const esdk = await esdkEncrypt(old.sdk, plaintext, { suiteId, context: { a: '1' }, frameLength: 512 })
      await rejectsWithCode(migrateEsdkMessage(esdk, { from, to }), 'ERR_UNSUPPORTED')
      const migrated = await migrateEsdkMessage(esdk, {
        from: { ...from, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' },
        to,
        context: (c) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('aws-crypto-'))),
      })
      assert.equal(migrated.carriedOver, false)
      const opened = await to.decrypt(migrated.message)
      assert.deepEqual(opened.plaintext, plaintext)
      assert.deepEqual(opened.context, { a: '1' }, `suite ${suiteId.toString(16)}`)
    }
  })

  it('opens with any ESDK keyring of the message (raw RSA of a multi-keyring) and writes for every destination keyring', async () => {
    const rsa = await rsaKey('rsa-ns', 'rsa-1')
    const esdk = await esdkEncrypt(multi(old.sdk, rsa.sdk), pattern(5000, 3), { context: { k: 'v' } })
    const second = LocalKeyring.generate({ keyId: 'second' })
    const both = new Envelope({ keyring: [local, second] })
    const migrated = await migrateEsdkMessage(esdk, {
      from: { keyring: new RawRsaKeyring({ keyNamespace: rsa.keyNamespace, keyName: rsa.keyName, privateKey: rsa.privateKey, padding: 'OAEP-SHA256-MGF1' }) },
      to: both,
    })
    assert.equal(migrated.openedWith.providerId, 'rsa-ns')
    assert.deepEqual(
      inspect(migrated.message).recipients.map((r) => r.keyId),
      ['new-key', 'second'],
    )
    assert.deepEqual((await new Envelope({ keyring: second }).decrypt(migrated.message)).plaintext, pattern(5000, 3))
  })

  it('streams: a 3 MiB message goes through in pieces, the output already flowing before the input is all read', async () => {
    const plaintext = pattern(3 * 1024 * 1024 + 5, 11)
    const esdk = await esdkEncrypt(old.sdk, plaintext, { suiteId: 0x0578, frameLength: 65536 })
    const source = pieces(esdk, 64 * 1024)
    const migrated: EsdkMigratedStream = await migrateEsdkMessage(source.stream, { from, to })
    const reader = migrated.stream.getReader()
    const first = await reader.read()
    assert.equal(first.done, false)
    assert.ok(source.pulled() < esdk.length / (64 * 1024) / 2, `pulled ${source.pulled()} pieces before the first output`)
    const rest: Uint8Array[] = [first.value!]
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest.push(value)
    }
    const message = new Uint8Array(Buffer.concat(rest))
    assert.deepEqual((await to.decrypt(message)).plaintext, plaintext)
  })

  it('fails with a typed error, and never completes the output, for a changed byte, a cut message or a bad signature', async () => {
    const plaintext = pattern(9000, 5)
    for (const suiteId of COMMITTING_SUITES) {
      const esdk = await esdkEncrypt(old.sdk, plaintext, { suiteId, frameLength: 1024 })
      // The last byte: for 0x0578 inside the footer's signature, for 0x0478 the final frame's tag.
      for (const at of [esdk.length - 1, esdk.length - 200, Math.floor(esdk.length / 2)]) {
        const bad = esdk.slice()
        bad[at]! ^= 0x01
        await assert.rejects(decryptEsdk(bad, from)) // the reader refuses it too
        await rejectsWithCode(migrateEsdkMessage(bad, { from, to }), 'ERR_AUTH')
        const { stream } = await migrateEsdkMessage(pieces(bad, 1000).stream, { from, to })
        await rejectsWithCode(readAll(stream), 'ERR_AUTH')
      }
      const cut = esdk.subarray(0, esdk.length - 10)
      await assert.rejects(migrateEsdkMessage(cut, { from, to }), (e: { code?: string }) => e.code === 'ERR_TRUNCATED' || e.code === 'ERR_AUTH')
    }
    const wrongKey = aesKey('app', 'aes-256')
    const esdk = await esdkEncrypt(wrongKey.sdk, plaintext)
    await rejectsWithCode(migrateEsdkMessage(esdk, { from, to }), 'ERR_UNWRAP')
    await rejectsWithCode(migrateEsdkMessage(new Uint8Array([0x4b, 0x4d, 0x53, 0x45, 1]), { from, to }), 'ERR_UNSUPPORTED')
  })

  it('refuses bad options before reading anything', async () => {
    const esdk = await esdkEncrypt(old.sdk, pattern(10, 1))
    await rejectsWithCode(migrateEsdkMessage(esdk, { from, to: {} as Envelope }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(migrateEsdkMessage(esdk, { from, to: new Envelope({ keyring: [], decryptOnly: local }) }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(migrateEsdkMessage(esdk, { from, to, context: 'drop' as 'keep' }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(migrateEsdkMessage('text' as unknown as Uint8Array, { from, to }), 'ERR_INVALID_ARGUMENT')
    // A context kms-envelope cannot write (its reserved prefix) is refused, not written.
    await rejectsWithCode(migrateEsdkMessage(esdk, { from, to, context: () => ({ 'kmse:x': '1' }) }), 'ERR_INVALID_ARGUMENT')
  })

  it('migrates non-framed bodies and v2 required context (given as reproducedContext, then stored in the new header)', async () => {
    const wrap = { key: old.key, keyNamespace: old.keyNamespace, keyName: old.keyName }
    const plaintext = pattern(7000, 9)
    for (const suiteId of COMMITTING_SUITES) {
      const nonFramed = writeTestMessage({ suiteId, frameLength: 0, plaintext, wrap, context: { s: '1' } })
      const migrated = await migrateEsdkMessage(nonFramed, { from, to })
      assert.equal(migrated.header.contentType, 'non-framed')
      assert.deepEqual((await to.decrypt(migrated.message, { expectContext: { s: '1' } })).plaintext, plaintext)
    }
    const withRequired = writeTestMessage({ suiteId: 0x0478, frameLength: 512, plaintext, wrap, context: { s: '1' }, required: { tenant: 'acme' } })
    await assert.rejects(migrateEsdkMessage(withRequired, { from, to }))
    const migrated = await migrateEsdkMessage(withRequired, { from: { ...from, reproducedContext: { tenant: 'acme' } }, to })
    assert.deepEqual(migrated.context, { s: '1', tenant: 'acme' })
    assert.deepEqual((await to.decrypt(migrated.message, { expectContext: { tenant: 'acme' } })).plaintext, plaintext)
  })
})
