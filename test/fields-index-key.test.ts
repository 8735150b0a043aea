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
import { Envelope, FieldEncryptor, LocalKeyring } from '../src/index.js'
import { newMessageId } from '../src/envelope.js'
import { sealMessage } from '../src/crypto/message.js'
import { encryptionMaterials, requireSettings } from '../src/materials.js'
import { parseHead } from '../src/format/message.js'
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
    return 'kmse1k.' + base64urlnopad.encode(sealMessage(backend, { dataKey: m.dataKey, recipients: m.recipients, context, frameSize: 4096, messageId: newMessageId() }, plaintext))
  } finally {
    m.release()
  }
}

describe('index key purpose', () => {
  it('createIndexKey writes kmse:purpose = field-index-key next to the caller context, in canonical order', async () => {
    const text = await FieldEncryptor.createIndexKey(envelope, { context: { table: 'users' } })
    const parsed = parseHead(bytesOf(text), { reservedContext: ['kmse:purpose', 'field-index-key'] })
    assert.ok('head' in parsed)
    assert.deepEqual([...parsed.head.header.context], [['table', 'users'], ['kmse:purpose', 'field-index-key']])
  })

  it('an ordinary message of the same envelope holding 32 chosen bytes is refused as an index key (ERR_FORMAT), before any key-service call', async () => {
    const chosen = new Uint8Array(32).fill(7) // the attacker knows these bytes
    const forged = 'kmse1k.' + base64urlnopad.encode(await envelope.encrypt(chosen))
    const fields = new FieldEncryptor({ envelope, schema, indexKey: forged })
    const before = { ...keyring.calls }
    const error = await rejectsWithCode(fields.deterministicValue('email', 'ann@example.com'), 'ERR_FORMAT')
    assert.match(error.message, /kmse:purpose/)
    await rejectsWithCode(fields.blindIndex('email', 'ann@example.com'), 'ERR_FORMAT')
    await rejectsWithCode(fields.encryptRecord({ email: 'ann@example.com' }), 'ERR_FORMAT')
    assert.deepEqual(keyring.calls, before, 'no key-service call for a forged index key')
  })

  it('the same holds with a context: an ordinary message carrying the expected indexKeyContext is refused', async () => {
    const forged = 'kmse1k.' + base64urlnopad.encode(await envelope.encrypt(new Uint8Array(32), { context: { purpose: 'index' } }))
    const fields = new FieldEncryptor({ envelope, schema, indexKey: forged, indexKeyContext: { purpose: 'index' } })
    await rejectsWithCode(fields.blindIndex('email', 'x'), 'ERR_FORMAT')
  })

  it('another value of kmse:purpose, or another kmse: key, is refused', async () => {
    for (const pair of [['kmse:purpose', 'something-else'], ['kmse:other', 'field-index-key']] as const) {
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
    await rejectsWithCode(new FieldEncryptor({ envelope, schema, indexKey: text, indexKeyContext: { purpose: 'other' } }).blindIndex('email', 'x'), 'ERR_CONTEXT_MISMATCH')
    assert.match(await new FieldEncryptor({ envelope, schema, indexKey: text, indexKeyContext: { purpose: 'index' } }).blindIndex('email', 'x'), /^kmse1b\./)
  })

  it('the public encrypt and createIndexKey still refuse caller-supplied kmse: keys', async () => {
    await rejectsWithCode(envelope.encrypt(new Uint8Array(32), { context: { 'kmse:purpose': 'field-index-key' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(FieldEncryptor.createIndexKey(envelope, { context: { 'kmse:purpose': 'field-index-key' } }), 'ERR_INVALID_ARGUMENT')
  })
})
