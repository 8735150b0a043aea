import assert from 'node:assert/strict'
import { scryptSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { inspect as utilInspect } from 'node:util'
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js'
import { backend } from '#crypto-backend'
import { backend as portable } from '../src/crypto/portable.js'
import { canonicalContext } from '../src/format/context.js'
import { DataKey, Envelope, EnvelopeError, LimitError, LocalKeyring, PassphraseKeyring, UnwrapError } from '../src/index.js'
import { wrapPassphraseWithFixedSaltForVectors } from '../src/keyrings/passphrase.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'
import { recipientsOf, withRecipients } from './kms-helpers.js'

assertExpectedBackend()

// 2^10 keeps each scrypt at about a millisecond; the default (2^18) is exercised once below.
const FAST = 10
const ctx = (c: Record<string, string>) => canonicalContext(c, 'context', true)
const pass = (passphrase: string | Uint8Array, extra: { workFactor?: number; maxWorkFactor?: number } = {}) =>
  new PassphraseKeyring({ passphrase, workFactor: FAST, ...extra })

describe('passphrase recipients: round trips', () => {
  it('encrypts and decrypts with one passphrase, binding the context', async () => {
    const env = new Envelope({ keyring: pass('correct horse battery staple') })
    const message = await env.encrypt('hello', { context: { tenant: 'acme' } })
    const [entry, ...others] = recipientsOf(message)
    assert.equal(others.length, 0)
    assert.equal(entry!.type, 'scrypt')
    assert.equal(entry!.keyId, 'passphrase')
    assert.equal(entry!.wrapped.length, 81)
    assert.equal(entry!.wrapped[0], FAST)
    const reader = new Envelope({ keyring: pass('correct horse battery staple') })
    const out = await reader.decrypt(message, { expectContext: { tenant: 'acme' } })
    assert.equal(new TextDecoder().decode(out.plaintext), 'hello')
    assert.deepEqual(out.keyIds, ['passphrase'])
  })

  it('streams', async () => {
    const env = new Envelope({ keyring: pass('stream me'), frameSize: 64 })
    const plaintext = pattern(1000, 3)
    const sealed = await new Response(new Blob([new Uint8Array(plaintext)]).stream().pipeThrough(env.encryptStream())).bytes()
    const back = await new Response(new Blob([new Uint8Array(sealed)]).stream().pipeThrough(env.decryptStream())).bytes()
    assert.deepEqual(back, plaintext)
  })

  it('NFC-normalises string passphrases; bytes are used as given', async () => {
    const composed = 'caf\u00e9'
    const decomposed = 'cafe\u0301'
    const message = await new Envelope({ keyring: pass(composed) }).encrypt('x')
    await new Envelope({ keyring: pass(decomposed) }).decrypt(message)
    await new Envelope({ keyring: pass(new TextEncoder().encode(composed)) }).decrypt(message)
    await rejectsWithCode(new Envelope({ keyring: pass(new TextEncoder().encode(decomposed)) }).decrypt(message), 'ERR_UNWRAP', UnwrapError)
  })

  it('the default work factor is 2^18 and the default reader accepts it', async () => {
    const keyring = new PassphraseKeyring({ passphrase: 'default cost' })
    assert.equal(keyring.workFactor, 18)
    assert.equal(keyring.maxWorkFactor, 18)
    const message = await new Envelope({ keyring }).encrypt('x')
    assert.equal(recipientsOf(message)[0]!.wrapped[0], 18)
    // One more second-long scrypt, on the default backend only (test time).
    if (backend.name === 'node') await new Envelope({ keyring: new PassphraseKeyring({ passphrase: 'default cost' }) }).decrypt(message)
  })

  it('rewraps from a local key to a passphrase and back', async () => {
    const local = LocalKeyring.generate({ keyId: 'k' })
    const message = await new Envelope({ keyring: local }).encrypt('moving')
    const toPass = await new Envelope({ keyring: local }).rewrap(message, { to: pass('p') })
    assert.deepEqual(
      recipientsOf(toPass).map((r) => r.type),
      ['scrypt'],
    )
    const back = await new Envelope({ keyring: pass('p') }).rewrap(toPass, { to: local })
    assert.equal(new TextDecoder().decode((await new Envelope({ keyring: local }).decrypt(back)).plaintext), 'moving')
  })
})

describe('passphrase recipients: failures', () => {
  it('a wrong passphrase is ERR_UNWRAP', async () => {
    const message = await new Envelope({ keyring: pass('right') }).encrypt('x')
    const error = await rejectsWithCode(new Envelope({ keyring: pass('wrong') }).decrypt(message), 'ERR_UNWRAP', UnwrapError)
    assert.match(error.message, /wrong passphrase/)
    assert.doesNotMatch(error.message, /right|wrong\b.*wrong/)
  })

  it('an entry moved to another context does not open (the AAD binds it)', async () => {
    const keyring = pass('ctx')
    const dataKey = new DataKey(pattern(32, 1))
    const [entry] = await keyring.wrapDataKey(dataKey, ctx({ a: '1' }))
    await rejectsWithCode(keyring.unwrapDataKey(entry!, ctx({ a: '2' })), 'ERR_UNWRAP')
    const opened = await keyring.unwrapDataKey(entry!, ctx({ a: '1' }))
    assert.deepEqual(opened.bytes, dataKey.bytes)
  })

  it('a work factor above the reader limit is ERR_LIMIT before scrypt runs', async () => {
    const writer = pass('hostile')
    const message = await new Envelope({ keyring: writer }).encrypt('x')
    const [entry] = recipientsOf(message)
    const hostile = new Uint8Array(entry!.wrapped)
    hostile[0] = 40 // 2^40: hours and a terabyte, if anyone ran it
    const edited = withRecipients(message, [{ ...entry!, wrapped: hostile }])
    const started = performance.now()
    const error = await rejectsWithCode(new Envelope({ keyring: pass('hostile') }).decrypt(edited), 'ERR_LIMIT', LimitError)
    assert.ok(performance.now() - started < 500, 'refused without running scrypt')
    assert.match(error.message, /2\^40.*at most 2\^18/)
    // Just above the default limit (2^19, 2-3 s) is refused the same way.
    hostile[0] = 19
    await rejectsWithCode(new Envelope({ keyring: pass('hostile') }).decrypt(withRecipients(message, [{ ...entry!, wrapped: hostile }])), 'ERR_LIMIT')
  })

  it('a reader may lower or raise its limit', async () => {
    const message = await new Envelope({ keyring: pass('p', { workFactor: 12 }) }).encrypt('x')
    await rejectsWithCode(new Envelope({ keyring: pass('p', { maxWorkFactor: 11 }) }).decrypt(message), 'ERR_LIMIT')
    await new Envelope({ keyring: pass('p', { maxWorkFactor: 12 }) }).decrypt(message)
  })

  it('refuses to write a passphrase beside another recipient, either order', async () => {
    const local = LocalKeyring.generate()
    for (const keyring of [
      [pass('p'), local],
      [local, pass('p')],
    ]) {
      const error = await rejectsWithCode(new Envelope({ keyring }).encrypt('x'), 'ERR_INVALID_ARGUMENT', TypeError)
      assert.match(error.message, /passphrase \(scrypt\) recipient must be the message's only recipient/)
    }
  })

  it('refuses a rewrap that would leave a passphrase beside another recipient', async () => {
    const local = LocalKeyring.generate()
    const message = await new Envelope({ keyring: local }).encrypt('x')
    await rejectsWithCode(new Envelope({ keyring: local }).rewrap(message, { to: pass('p'), keep: true }), 'ERR_INVALID_ARGUMENT')
    const passMessage = await new Envelope({ keyring: pass('p') }).encrypt('x')
    await rejectsWithCode(new Envelope({ keyring: pass('p') }).rewrap(passMessage, { to: local, keep: true }), 'ERR_INVALID_ARGUMENT')
  })

  it('refuses to open a passphrase entry in a message that lists other recipients', async () => {
    const local = LocalKeyring.generate({ keyId: 'other' })
    const passMessage = await new Envelope({ keyring: pass('p') }).encrypt('x')
    const [entry] = recipientsOf(passMessage)
    const [extra] = await local.wrapDataKey(new DataKey(pattern(32, 9)), ctx({}))
    const spliced = withRecipients(passMessage, [entry!, extra!])
    const error = await rejectsWithCode(new Envelope({ keyring: pass('p') }).decrypt(spliced), 'ERR_UNWRAP', UnwrapError)
    assert.match(error.message, /must be a message's only recipient/)
  })

  it('refuses bad options and wiped keyrings', async () => {
    assert.throws(() => new PassphraseKeyring({ passphrase: '' }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new PassphraseKeyring({ passphrase: 42 as never }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new PassphraseKeyring({ passphrase: 'p', workFactor: 9 }), RangeError)
    assert.throws(() => new PassphraseKeyring({ passphrase: 'p', workFactor: 21 }), RangeError)
    assert.throws(() => new PassphraseKeyring({ passphrase: 'p', maxWorkFactor: 18.5 }), RangeError)
    const keyring = pass('p')
    keyring.wipe()
    await rejectsWithCode(new Envelope({ keyring }).encrypt('x'), 'ERR_INVALID_ARGUMENT')
  })

  it('never shows the passphrase', () => {
    const keyring = pass('super secret words')
    const shown = [utilInspect(keyring), JSON.stringify(keyring), keyring.description, keyring.cacheId, String(keyring)].join('\n')
    assert.doesNotMatch(shown, /super|secret|words/)
  })
})

describe('passphrase recipients: bytes', () => {
  it('node:crypto and noble scrypt give the same bytes', async () => {
    const password = new TextEncoder().encode('same bytes')
    const salt = pattern(40, 2)
    const fromNode = new Uint8Array(scryptSync(password, salt, 32, { N: 2 ** 12, r: 8, p: 1 }))
    assert.deepEqual(await backend.scrypt(password, salt, 12), fromNode)
    assert.deepEqual(await portable.scrypt(password, salt, 12), fromNode)
    assert.deepEqual(nobleScrypt(password, salt, { N: 2 ** 12, r: 8, p: 1, dkLen: 32 }), fromNode)
  })

  it('a fixed-salt wrap is the same on both backends and opens on the other', async () => {
    const keyring = pass('vectors')
    const dataKey = new DataKey(pattern(32, 4))
    const context = ctx({ purpose: 'test' })
    const a = await wrapPassphraseWithFixedSaltForVectors(keyring, dataKey, context, pattern(32, 5), backend)
    const b = await wrapPassphraseWithFixedSaltForVectors(keyring, dataKey, context, pattern(32, 5), portable)
    assert.deepEqual(a.wrapped, b.wrapped)
    assert.deepEqual((await keyring.unwrapDataKey(b, context)).bytes, dataKey.bytes)
  })
})

describe('passphrase recipients: tampering', () => {
  it('every single-bit change of a passphrase message is a typed error, never plaintext', async () => {
    const env = new Envelope({ keyring: pass('tamper'), frameSize: 64 })
    const message = await env.encrypt('a short message', { context: { k: 'v' } })
    const codes = new Set<string>()
    for (let i = 0; i < message.length; i++) {
      for (const flip of [0x01]) {
        const edited = new Uint8Array(message)
        edited[i]! ^= flip
        const error = await env.decrypt(edited).then(
          () => assert.fail(`byte ${i} ^ ${flip} still decrypted`),
          (e: unknown) => e,
        )
        assert.ok(error instanceof EnvelopeError, `byte ${i} ^ ${flip}: ${String(error)}`)
        codes.add(error.code)
      }
    }
    // The entry's bytes fail at unwrap, the header and frames at authentication (ERR_LIMIT: the test above).
    assert.ok(codes.has('ERR_UNWRAP') && codes.has('ERR_AUTH'), [...codes].join(' '))
  })
})
