/**
 * Public-key recipients (FORMAT.md §16) through the Envelope: X25519 and post-quantum X-Wing
 * round trips alone and mixed with a local key (each identity decrypting alone), the
 * post-quantum rule, exact error codes for forged entries (low-order shares, malformed KEM
 * ciphertexts, substituted entries, wrong context), and age key-string interoperability.
 * Runs on both AES backends. KMS + public keys in one message: test/kms-recipients.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect as nodeInspect } from 'node:util'
import {
  Envelope,
  identityFileText,
  inspect,
  KeyCache,
  LocalKeyring,
  PostQuantumIdentity,
  PostQuantumRecipient,
  parseIdentity,
  parseIdentityFile,
  parsePublicKeyRecipient,
  parseRecipientsFile,
  X25519Identity,
  X25519Recipient,
} from '../src/index.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'
import { editWrapped, flipWrapped, pqIdentity, pqOther, recipientsOf, setWrapped, withRecipients, xIdentity, xOther } from './recipients-helpers.js'
import { concat, through } from './stream-helpers.js'

assertExpectedBackend()

const local = new LocalKeyring({ keyId: 'team', key: pattern(32, 90) })
const context = { tenant: 'acme' }
const text = 'public-key recipients'

function throwsCode(fn: () => unknown, code: string, includes?: string): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message)
    if (includes !== undefined) assert.ok(e.message.includes(includes), e.message)
    return true
  })
}

describe('x25519 recipients', () => {
  it('a recipient encrypts without a secret, only its identity decrypts', async () => {
    const writer = new Envelope({ keyring: X25519Recipient.parse(xIdentity.recipient.toString()) })
    const message = await writer.encrypt(text, { context })
    const [entry] = recipientsOf(message)
    assert.equal(entry?.type, 'x25519')
    assert.equal(entry?.keyId, xIdentity.keyId)
    assert.equal(entry?.wrapped.length, 80)
    assert.equal(await new Envelope({ keyring: xIdentity }).decryptString(message, { expectContext: context }), text)
    await rejectsWithCode(writer.decrypt(message), 'ERR_NO_MATCHING_KEY')
    await rejectsWithCode(new Envelope({ keyring: xOther }).decrypt(message), 'ERR_NO_MATCHING_KEY')
  })

  it('every wrap draws a new ephemeral share', async () => {
    const env = new Envelope({ keyring: xIdentity.recipient })
    const a = recipientsOf(await env.encrypt(text))[0]!.wrapped
    const b = recipientsOf(await env.encrypt(text))[0]!.wrapped
    assert.notDeepEqual(a.subarray(0, 32), b.subarray(0, 32))
  })

  it('low-order and non-canonical low-order shares are ERR_UNWRAP before the scalar multiplication', async () => {
    const message = await new Envelope({ keyring: xIdentity }).encrypt(text)
    const [entry] = recipientsOf(message)
    const p = (1n << 255n) - 19n
    const le = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
    const order8 = 325606250916557431795983626356110631294008115727848805560023387167927233504n
    for (const u of [0n, 1n, p - 1n, p, p + 1n, order8, order8 | (1n << 255n)]) {
      const forged = withRecipients(message, [setWrapped(entry!, 0, le(u))])
      const e = await rejectsWithCode(new Envelope({ keyring: xIdentity }).decrypt(forged), 'ERR_UNWRAP')
      assert.match(e.message, /low-order/)
    }
  })

  it('a low-order recipient public key is refused when parsed', () => {
    throwsCode(() => new X25519Recipient(new Uint8Array(32)), 'ERR_INVALID_ARGUMENT', 'low-order')
  })

  it('a flipped bit in the share or the sealed key, a cut entry, another context: ERR_UNWRAP', async () => {
    const message = await new Envelope({ keyring: xIdentity }).encrypt(text, { context })
    const [entry] = recipientsOf(message)
    const env = new Envelope({ keyring: xIdentity })
    for (const at of [0, 31, 32, 63, 79]) {
      await rejectsWithCode(env.decrypt(withRecipients(message, [flipWrapped(entry!, at)])), 'ERR_UNWRAP')
    }
    await rejectsWithCode(env.decrypt(withRecipients(message, [editWrapped(entry!, (w) => w.subarray(0, 79))])), 'ERR_UNWRAP')
    const other = await new Envelope({ keyring: xIdentity }).encrypt(text, { context: { tenant: 'other' } })
    // The entry of a message with another context, spliced in: the AAD binds the context.
    await rejectsWithCode(env.decrypt(withRecipients(message, recipientsOf(other))), 'ERR_UNWRAP')
    // Same context, another message's data key: unwraps, then the commitment refuses it.
    const twin = await new Envelope({ keyring: xIdentity }).encrypt(text, { context })
    await rejectsWithCode(env.decrypt(withRecipients(message, recipientsOf(twin))), 'ERR_AUTH')
  })
})

describe('mlkem768x25519 (X-Wing) recipients', () => {
  it('a recipient encrypts, only its identity decrypts', async () => {
    const message = await new Envelope({ keyring: pqIdentity.recipient }).encrypt(text, { context })
    const [entry] = recipientsOf(message)
    assert.equal(entry?.type, 'mlkem768x25519')
    assert.equal(entry?.keyId, pqIdentity.keyId)
    assert.equal(entry?.wrapped.length, 1120 + 48)
    assert.equal(await new Envelope({ keyring: pqIdentity }).decryptString(message, { expectContext: context }), text)
    await rejectsWithCode(new Envelope({ keyring: pqOther }).decrypt(message), 'ERR_NO_MATCHING_KEY')
  })

  it('malformed KEM ciphertexts: wrong length and low-order X25519 share before decapsulation, garbage after it: ERR_UNWRAP', async () => {
    const message = await new Envelope({ keyring: pqIdentity }).encrypt(text, { context })
    const [entry] = recipientsOf(message)
    const env = new Envelope({ keyring: pqIdentity })
    const short = await rejectsWithCode(env.decrypt(withRecipients(message, [editWrapped(entry!, (w) => w.subarray(1))])), 'ERR_UNWRAP')
    assert.match(short.message, /1167 bytes, expected 1168/)
    const lowOrder = await rejectsWithCode(env.decrypt(withRecipients(message, [setWrapped(entry!, 1088, new Uint8Array(32))])), 'ERR_UNWRAP')
    assert.match(lowOrder.message, /low-order/)
    // ML-KEM's implicit rejection turns an altered ciphertext into a wrong secret: the seal fails.
    for (const at of [0, 1000, 1100, 1130]) {
      await rejectsWithCode(env.decrypt(withRecipients(message, [flipWrapped(entry!, at)])), 'ERR_UNWRAP')
    }
    const other = await new Envelope({ keyring: pqIdentity }).encrypt(text, { context: { tenant: 'other' } })
    await rejectsWithCode(env.decrypt(withRecipients(message, recipientsOf(other))), 'ERR_UNWRAP')
  })

  it('streams round-trip', async () => {
    const env = new Envelope({ keyring: pqIdentity, frameSize: 1024 })
    const plain = pattern(5000, 7)
    const sealed = await through(plain, 2000, env.encryptStream({ context }))
    assert.equal(sealed.error, undefined)
    const opened = await through(concat(sealed.chunks), 700, env.decryptStream())
    assert.equal(opened.error, undefined)
    assert.deepEqual(concat(opened.chunks), plain)
  })
})

describe('mixed recipients and the post-quantum rule', () => {
  it('local + x25519 + pq in one message (classical allowed): each key decrypts alone', async () => {
    const writer = new Envelope({ keyring: [local, pqIdentity.recipient, xIdentity.recipient], allowClassicalRecipients: true })
    const message = await writer.encrypt(text, { context })
    assert.deepEqual(
      inspect(message).recipients.map((r) => r.type),
      ['local', 'mlkem768x25519', 'x25519'],
    )
    for (const keyring of [local, pqIdentity, xIdentity]) {
      const opened = await new Envelope({ keyring }).decrypt(message, { expectContext: context })
      assert.equal(new TextDecoder().decode(opened.plaintext), text)
      assert.equal(opened.keyId, keyring instanceof LocalKeyring ? 'team' : keyring.keyId)
    }
  })

  it('pq + x25519 is refused by default, saying why; pq + local and x25519 + local are fine', async () => {
    const e = await rejectsWithCode(new Envelope({ keyring: [pqIdentity.recipient, xIdentity.recipient] }).encrypt(text), 'ERR_INVALID_ARGUMENT')
    assert.match(e.message, /quantum computer would open the classical entry/)
    assert.match(e.message, /allowClassicalRecipients/)
    await new Envelope({ keyring: [local, pqIdentity.recipient] }).encrypt(text)
    await new Envelope({ keyring: [xIdentity.recipient, local] }).encrypt(text)
    throwsCode(() => new Envelope({ keyring: local, allowClassicalRecipients: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT')
  })

  it('applies to rewrap, counting the entries it keeps', async () => {
    const message = await new Envelope({ keyring: [local, pqIdentity.recipient] }).encrypt(text, { context })
    const source = new Envelope({ keyring: local })
    await rejectsWithCode(source.rewrap(message, { to: xIdentity.recipient }), 'ERR_INVALID_ARGUMENT')
    const allowed = new Envelope({ keyring: local, allowClassicalRecipients: true })
    const rewrapped = await allowed.rewrap(message, { to: xIdentity.recipient })
    assert.deepEqual(
      inspect(rewrapped).recipients.map((r) => r.type),
      ['mlkem768x25519', 'x25519'],
    )
    assert.equal(await new Envelope({ keyring: xIdentity }).decryptString(rewrapped), text)
    assert.equal(await new Envelope({ keyring: pqIdentity }).decryptString(rewrapped), text)
    // Identities are rewrap sources too.
    const moved = await new Envelope({ keyring: pqIdentity }).rewrap(rewrapped, { to: local })
    assert.deepEqual(
      inspect(moved).recipients.map((r) => r.type),
      ['x25519', 'local'],
    )
  })

  it('the data-key cache serves public-key writers, never a recipient reading', async () => {
    const cache = new KeyCache({ maxAge: 60_000 })
    const writer = new Envelope({ keyring: pqIdentity.recipient, cache })
    const a = await writer.encrypt(text)
    const b = await writer.encrypt(text)
    assert.deepEqual(recipientsOf(a)[0]!.wrapped, recipientsOf(b)[0]!.wrapped)
    const reader = new Envelope({ keyring: pqIdentity, cache })
    assert.equal(await reader.decryptString(a), text)
    await rejectsWithCode(writer.decrypt(a), 'ERR_NO_MATCHING_KEY')
  })
})

describe('age key strings', () => {
  it("reads age's X25519 test key pair (identity to recipient)", () => {
    const identity = parseIdentity('AGE-SECRET-KEY-1RKH0DGHQ0FU6VLXX2VW6Y3W2TKK7KR4J36N9SNDXK75JHCJ3N6JQNZJF5J')
    assert.ok(identity instanceof X25519Identity)
    assert.equal(identity.recipient.toString(), 'age1tgyuvdlmpejqsdf847hevurz9szk7vf3j7ytfyqecgzvphvu2d8qrtaxl6')
    assert.equal(identity.toSecretString(), 'AGE-SECRET-KEY-1RKH0DGHQ0FU6VLXX2VW6Y3W2TKK7KR4J36N9SNDXK75JHCJ3N6JQNZJF5J')
  })

  it('post-quantum strings round-trip past the 90-character bech32 limit', () => {
    const recipient = pqIdentity.recipient.toString()
    assert.match(recipient, /^age1pq1[02-9ac-hj-np-z]+$/)
    assert.equal(recipient.length, 1959)
    const parsed = parsePublicKeyRecipient(recipient)
    assert.ok(parsed instanceof PostQuantumRecipient)
    assert.equal(parsed.keyId, pqIdentity.keyId)
    const secret = pqIdentity.toSecretString()
    assert.match(secret, /^AGE-SECRET-KEY-PQ-1[02-9AC-HJ-NP-Z]+$/)
    const identity = parseIdentity(secret)
    assert.ok(identity instanceof PostQuantumIdentity)
    assert.equal(identity.keyId, pqIdentity.keyId)
    assert.ok(parsePublicKeyRecipient(xIdentity.recipient.toString()) instanceof X25519Recipient)
  })

  it('parse errors name what is wrong and never echo a secret', () => {
    const secret = xIdentity.toSecretString()
    const typo = `${secret.slice(0, -1)}${secret.endsWith('Q') ? 'P' : 'Q'}`
    for (const [input, includes] of [
      [typo, 'checksum'],
      [secret.slice(0, -2), 'characters, expected'],
      [`${secret.slice(0, 20)}${secret.slice(20).toLowerCase()}`, 'mixes upper and lower case'],
      [xIdentity.recipient.toString(), 'is a recipient'],
      ['AGE-PLUGIN-FOO-1QQQ', 'must be an age secret key'],
    ] as const) {
      assert.throws(
        () => parseIdentity(input),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && e.message.includes(includes) && !e.message.includes(secret.slice(16, 30)),
      )
    }
    throwsCode(() => parsePublicKeyRecipient(secret), 'ERR_INVALID_ARGUMENT', 'is an identity')
    throwsCode(() => X25519Recipient.parse(pqIdentity.recipient.toString()), 'ERR_INVALID_ARGUMENT', 'is an age post-quantum recipient')
    throwsCode(() => PostQuantumRecipient.parse(`age1pq1${'q'.repeat(3000)}`), 'ERR_INVALID_ARGUMENT', 'no age key string is longer')
  })

  it('identities never show their secret in toString, JSON or inspect', () => {
    for (const identity of [xIdentity, pqIdentity]) {
      const secret = identity.toSecretString()
      for (const shown of [String(identity), JSON.stringify(identity), nodeInspect(identity), nodeInspect({ identity })]) {
        assert.ok(!shown.includes(secret.slice(16, 40)), shown)
      }
    }
  })

  it('identity and recipients files: comments, blank lines, several keys; errors name the line', () => {
    const file = `${identityFileText(xIdentity, new Date(Date.UTC(2026, 0, 2)))}\n${identityFileText(pqIdentity)}`
    assert.match(file, /^# created: 2026-01-02T00:00:00Z\n# public key: age1/)
    const identities = parseIdentityFile(file)
    assert.deepEqual(
      identities.map((i) => i.keyId),
      [xIdentity.keyId, pqIdentity.keyId],
    )
    const recipients = parseRecipientsFile(`# team\n${xIdentity.recipient}\n\n  ${pqIdentity.recipient}  \r\n`)
    assert.deepEqual(
      recipients.map((r) => r.keyId),
      [xIdentity.keyId, pqIdentity.keyId],
    )
    throwsCode(() => parseRecipientsFile(`# one\n${xIdentity.recipient}\nage1nope\n`), 'ERR_INVALID_ARGUMENT', 'line 3:')
    throwsCode(() => parseIdentityFile('# nothing\n\n'), 'ERR_INVALID_ARGUMENT', 'holds no key')
  })
})
