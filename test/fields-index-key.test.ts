/**
 * The index key is bound to its purpose by the reserved context pair kmse:purpose =
 * field-index-key (FORMAT.md §13.2): an ordinary message of the same envelope is never taken
 * as an index key (its plaintext may be chosen by an attacker), and an index key never opens
 * as an ordinary message.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base64urlnopad } from '@scure/base'
import { backend } from '#crypto-backend'
import { encryptionMaterials } from '../src/core/materials.js'
import { requireSettings } from '../src/core/settings.js'
import { newMessageId } from '../src/core/writer.js'
import { sealMessage } from '../src/crypto/message.js'
import { parseHead } from '../src/format/message.js'
import { Envelope, FieldEncryptor, inspect, LocalKeyring } from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const keyring = new CountingKeyring(new LocalKeyring({ keyId: 'fields-index-key', key: pattern(32, 81) }))
const envelope = new Envelope({ keyring })
const schema = { email: 'deterministic' } as const
const bytesOf = (text: string): Uint8Array => base64urlnopad.decode(text.slice('kmse1k.'.length))

/** A message of this envelope with a chosen context, written below the public API (which refuses kmse: keys). */
async function sealWithContext(context: Map<string, string>, plaintext: Uint8Array): Promise<string> {
  const m = await encryptionMaterials(requireSettings(envelope), context, undefined)
  try {
    return (
      'kmse1k.' +
      base64urlnopad.encode(
        sealMessage(backend, { dataKey: m.dataKey, recipients: m.recipients, context, frameSize: 4096, messageId: newMessageId() }, plaintext),
      )
    )
  } finally {
    m.release()
  }
}

describe('index key purpose', () => {
  it('createIndexKey writes kmse:purpose = field-index-key next to the caller context, in canonical order', async () => {
    const text = await FieldEncryptor.createIndexKey(envelope, { context: { table: 'users' } })
    const parsed = parseHead(bytesOf(text), { reservedContext: ['kmse:purpose', 'field-index-key'] })
    assert.ok('head' in parsed)
    assert.deepEqual(
      [...parsed.head.header.context],
      [
        ['table', 'users'],
        ['kmse:purpose', 'field-index-key'],
      ],
    )
  })

  it('an ordinary message of the same envelope holding 32 chosen bytes is refused as an index key (ERR_FORMAT), before any key-service call', async () => {
    const chosen = new Uint8Array(32).fill(7) // the attacker knows these bytes
    const forged = `kmse1k.${base64urlnopad.encode(await envelope.encrypt(chosen))}`
    const fields = new FieldEncryptor({ envelope, schema, indexKey: forged })
    const before = { ...keyring.calls }
    const error = await rejectsWithCode(fields.deterministicValue('email', 'ann@example.com'), 'ERR_FORMAT')
    assert.match(error.message, /kmse:purpose/)
    await rejectsWithCode(fields.blindIndex('email', 'ann@example.com'), 'ERR_FORMAT')
    await rejectsWithCode(fields.encryptRecord({ email: 'ann@example.com' }), 'ERR_FORMAT')
    assert.deepEqual(keyring.calls, before, 'no key-service call for a forged index key')
  })

  it('the same holds with a context: an ordinary message carrying the expected indexKeyContext is refused', async () => {
    const forged = `kmse1k.${base64urlnopad.encode(await envelope.encrypt(new Uint8Array(32), { context: { purpose: 'index' } }))}`
    const fields = new FieldEncryptor({ envelope, schema, indexKey: forged, indexKeyContext: { purpose: 'index' } })
    await rejectsWithCode(fields.blindIndex('email', 'x'), 'ERR_FORMAT')
  })

  it('another value of kmse:purpose, or another kmse: key, is refused', async () => {
    for (const pair of [
      ['kmse:purpose', 'something-else'],
      ['kmse:other', 'field-index-key'],
    ] as const) {
      const forged = await sealWithContext(new Map([pair]), new Uint8Array(32))
      await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: forged }).blindIndex('email', 'x'), 'ERR_FORMAT')
    }
    // The genuine pair written below the API opens: the check is the pair, not the writer.
    const genuine = await sealWithContext(new Map([['kmse:purpose', 'field-index-key']]), new Uint8Array(32).fill(1))
    assert.match(await new FieldEncryptor({ envelope, schema, indexKey: genuine }).blindIndex('email', 'x'), /^kmse1b\./)
  })

  it('an index key does not open as an ordinary message: env.decrypt refuses it (ERR_FORMAT), and indexKeyContext still applies', async () => {
    const text = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'index' } })
    await rejectsWithCode(envelope.decrypt(bytesOf(text)), 'ERR_FORMAT')
    await rejectsWithCode(
      new FieldEncryptor({ envelope, schema, indexKey: text, indexKeyContext: { purpose: 'other' } }).blindIndex('email', 'x'),
      'ERR_CONTEXT_MISMATCH',
    )
    assert.match(await new FieldEncryptor({ envelope, schema, indexKey: text, indexKeyContext: { purpose: 'index' } }).blindIndex('email', 'x'), /^kmse1b\./)
  })

  it('the public encrypt and createIndexKey still refuse caller-supplied kmse: keys', async () => {
    await rejectsWithCode(envelope.encrypt(new Uint8Array(32), { context: { 'kmse:purpose': 'field-index-key' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(FieldEncryptor.createIndexKey(envelope, { context: { 'kmse:purpose': 'field-index-key' } }), 'ERR_INVALID_ARGUMENT')
  })

  it('inspect shows an index key and rewrap moves it to another key; the moved key opens under the new envelope to the same key', async () => {
    const text = await FieldEncryptor.createIndexKey(envelope, { context: { purpose: 'index' } })
    assert.deepEqual(inspect(bytesOf(text)).context, { purpose: 'index', 'kmse:purpose': 'field-index-key' })
    const next = new Envelope({ keyring: new LocalKeyring({ keyId: 'fields-index-key-2027', key: pattern(32, 99) }) })
    const moved =
      'kmse1k.' +
      base64urlnopad.encode(await envelope.rewrap(bytesOf(text), { to: new LocalKeyring({ keyId: 'fields-index-key-2027', key: pattern(32, 99) }) }))
    const before = await new FieldEncryptor({ envelope, schema, indexKey: text }).deterministicValue('email', 'ann@example.com')
    const after = await new FieldEncryptor({ envelope: next, schema, indexKey: moved }).deterministicValue('email', 'ann@example.com')
    assert.equal(after, before)
    await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: moved }).blindIndex('email', 'x'), 'ERR_NO_MATCHING_KEY')
  })

  it('upgradeIndexKey turns a 0.1 index key (an ordinary message) into a current one holding the same key bytes', async () => {
    const key = pattern(32, 5)
    const legacy = (): Promise<string> => envelope.encrypt(key, { context: { purpose: 'index' } }).then((m) => `kmse1k.${base64urlnopad.encode(m)}`)
    const [a, b] = [await legacy(), await legacy()]
    await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: a }).blindIndex('email', 'x'), 'ERR_FORMAT')
    await rejectsWithCode(FieldEncryptor.upgradeIndexKey(envelope, a, { expectContext: { purpose: 'other' } }), 'ERR_CONTEXT_MISMATCH')
    await rejectsWithCode(FieldEncryptor.upgradeIndexKey(envelope, a, { expectContext: {} }), 'ERR_INVALID_ARGUMENT')
    const [ua, ub] = [
      await FieldEncryptor.upgradeIndexKey(envelope, a, { expectContext: { purpose: 'index' } }),
      await FieldEncryptor.upgradeIndexKey(envelope, b, { expectContext: { purpose: 'index' } }),
    ]
    assert.notEqual(ua, ub, 'each upgrade is a fresh message')
    assert.deepEqual(inspect(bytesOf(ua)).context, { purpose: 'index', 'kmse:purpose': 'field-index-key' })
    const va = await new FieldEncryptor({ envelope, schema, indexKey: ua, indexKeyContext: { purpose: 'index' } }).deterministicValue(
      'email',
      'ann@example.com',
    )
    const vb = await new FieldEncryptor({ envelope, schema, indexKey: ub }).deterministicValue('email', 'ann@example.com')
    assert.equal(va, vb, 'both upgrades hold the same 32 bytes, so deterministic values still match')
    const short = `kmse1k.${base64urlnopad.encode(await envelope.encrypt(new Uint8Array(31), { context: { purpose: 'index' } }))}`
    await rejectsWithCode(FieldEncryptor.upgradeIndexKey(envelope, short, { expectContext: { purpose: 'index' } }), 'ERR_FORMAT')
  })
})
