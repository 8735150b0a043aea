import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect as utilInspect } from 'node:util'
import { canonicalContext } from '../src/format/context.js'
import type { Keyring, Recipient } from '../src/index.js'
import {
  AuthenticationError,
  ContextMismatchError,
  Envelope,
  inspect,
  KeyringError,
  LimitError,
  LocalKeyring,
  NoMatchingKeyError,
  TruncatedError,
  UnwrapError,
} from '../src/index.js'
import { CountingKeyring } from './counting-keyring.js'
import { assertExpectedBackend, pattern, rejectsWithCode } from './helpers.js'

assertExpectedBackend()

const keyring = new LocalKeyring({ keyId: 'test-key', key: pattern(32, 7) })
const FRAME = 64

describe('round trips', () => {
  const env = new Envelope({ keyring, frameSize: FRAME })
  for (const size of [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 5]) {
    it(`${size} bytes, frame size ${FRAME}`, async () => {
      const plaintext = pattern(size, size + 1)
      const message = await env.encrypt(plaintext, { context: { purpose: 'test' } })
      const info = inspect(message)
      assert.equal(info.frames, Math.floor(size / FRAME) + 1)
      assert.equal(info.plaintextBytes, size)
      const result = await env.decrypt(message)
      assert.deepEqual(result.plaintext, plaintext)
      assert.deepEqual(result.context, { purpose: 'test' })
      assert.deepEqual(result.keyIds, ['test-key'])
      assert.equal(result.keyId, 'test-key')
    })
  }

  it('10 MiB with the default frame size', async () => {
    const big = new Envelope({ keyring })
    const plaintext = pattern(10 * 1024 * 1024, 3)
    const message = await big.encrypt(plaintext)
    assert.equal(inspect(message).frameSize, 64 * 1024)
    const { plaintext: back } = await big.decrypt(message)
    assert.ok(Buffer.from(back).equals(Buffer.from(plaintext)))
  })

  it('encrypts strings as UTF-8', async () => {
    const message = await env.encrypt('grüße, 世界 😀')
    const { plaintext } = await env.decrypt(message)
    assert.equal(new TextDecoder().decode(plaintext), 'grüße, 世界 😀')
  })

  it('gives every message a fresh message id', async () => {
    const a = inspect(await env.encrypt('same')).messageId
    const b = inspect(await env.encrypt('same')).messageId
    assert.notEqual(a, b)
  })

  it('orders the context canonically (shorter UTF-8 first, then bytewise) whatever the insertion order', () => {
    const context = canonicalContext({ bb: '1', a: '2', ccc: '3', '10': '4', '9': '5', é: '6' }, 'context', true)
    assert.deepEqual([...context.keys()], ['9', 'a', '10', 'bb', 'é', 'ccc'])
  })
})

describe('context', () => {
  const env = new Envelope({ keyring })

  it('expectContext: present pairs pass, a different or missing value fails with ERR_CONTEXT_MISMATCH', async () => {
    const message = await env.encrypt('secret', { context: { tenant: 'acme', table: 'users' } })
    await env.decrypt(message, { expectContext: { tenant: 'acme' } })
    const wrong = await rejectsWithCode(env.decrypt(message, { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH', ContextMismatchError)
    assert.deepEqual((wrong as ContextMismatchError).keys, ['tenant'])
    await rejectsWithCode(env.decrypt(message, { expectContext: { region: 'eu' } }), 'ERR_CONTEXT_MISMATCH')
  })

  it('refuses reserved, non-string and malformed contexts', async () => {
    await rejectsWithCode(env.encrypt('x', { context: { 'kmse:x': 'y' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.encrypt('x', { context: { a: 1 as unknown as string } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.encrypt('x', { context: { '': 'y' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.encrypt('x', { context: { a: '\ud800' } }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.encrypt('x', { context: new Map() as unknown as Record<string, string> }), 'ERR_INVALID_ARGUMENT')
    const big = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']))
    await rejectsWithCode(env.encrypt('x', { context: big }), 'ERR_LIMIT', LimitError)
    await rejectsWithCode(env.encrypt('x', { context: { a: 'v'.repeat(70_000) } }), 'ERR_LIMIT', LimitError)
  })

  it('keeps a "__proto__" key as data', async () => {
    const context = JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string>
    const message = await env.encrypt('x', { context })
    const result = await env.decrypt(message, { expectContext: context })
    assert.equal(Object.getOwnPropertyDescriptor(result.context, '__proto__')?.value, 'p')
  })
})

describe('keys', () => {
  it('a key with the same id but other key material fails with ERR_UNWRAP', async () => {
    const message = await new Envelope({ keyring }).encrypt('x')
    const impostor = new LocalKeyring({ keyId: 'test-key', key: pattern(32, 8) })
    const error = await rejectsWithCode(new Envelope({ keyring: impostor }).decrypt(message), 'ERR_UNWRAP', UnwrapError)
    assert.match(error.message, /test-key/)
  })

  it('a keyring without any of the message keys fails with ERR_NO_MATCHING_KEY and names the keys', async () => {
    const message = await new Envelope({ keyring }).encrypt('x')
    const other = LocalKeyring.generate({ keyId: 'other' })
    const error = await rejectsWithCode(new Envelope({ keyring: other }).decrypt(message), 'ERR_NO_MATCHING_KEY', NoMatchingKeyError)
    assert.match(error.message, /local:test-key/)
    assert.match(error.message, /local:other/)
  })

  it('several recipients: each alone decrypts; the message lists them in order', async () => {
    const a = LocalKeyring.generate({ keyId: 'a' })
    const b = LocalKeyring.generate({ keyId: 'b' })
    const c = LocalKeyring.generate({ keyId: 'c' })
    const message = await new Envelope({ keyring: [a, b, c] }).encrypt('shared', { context: { x: 'y' } })
    assert.deepEqual(
      inspect(message).recipients.map((r) => r.keyId),
      ['a', 'b', 'c'],
    )
    for (const k of [a, b, c]) {
      const { plaintext, keyId, keyIds } = await new Envelope({ keyring: k }).decrypt(message)
      assert.equal(new TextDecoder().decode(plaintext), 'shared')
      assert.equal(keyId, k.keyId)
      assert.deepEqual(keyIds, ['a', 'b', 'c'])
    }
  })

  it('tries only matching recipients, in message order, and reports every failure', async () => {
    const a = LocalKeyring.generate({ keyId: 'a' })
    const b = LocalKeyring.generate({ keyId: 'b' })
    const message = await new Envelope({ keyring: [a, b] }).encrypt('x')
    const wrongA = new LocalKeyring({ keyId: 'a', key: pattern(32, 1) })
    const wrongB = new LocalKeyring({ keyId: 'b', key: pattern(32, 2) })
    const error = (await rejectsWithCode(new Envelope({ keyring: [wrongB, wrongA] }).decrypt(message), 'ERR_UNWRAP', UnwrapError)) as UnwrapError
    assert.deepEqual(
      error.attempts.map((x) => x.keyId),
      ['a', 'b'],
    )
    // One right key among wrong ones still opens it.
    const ok = await new Envelope({ keyring: [wrongA, b] }).decrypt(message)
    assert.equal(ok.keyId, 'b')
  })

  it('a substituted wrapped key (another data key under the same key) fails the commitment: ERR_AUTH', async () => {
    const env = new Envelope({ keyring, frameSize: FRAME })
    const m1 = await env.encrypt('first')
    const m2 = await env.encrypt('second')
    const h1 = inspect(m1).headerBytes
    const h2 = inspect(m2).headerBytes
    // Same layout, so the recipients sections are the same length: swap m2's into m1.
    const r1 = h1 - 80
    const forged = Uint8Array.from([...m1.subarray(0, r1), ...m2.subarray(h2 - 80, h2), ...m1.subarray(h1)])
    await rejectsWithCode(env.decrypt(forged), 'ERR_AUTH', AuthenticationError)
  })
})

describe('hostile input is rejected before any key is used', () => {
  let calls = 0
  const counting = new LocalKeyring({ keyId: 'test-key', key: pattern(32, 7) })
  const original = counting.unwrapDataKey.bind(counting)
  counting.unwrapDataKey = async (...args) => {
    calls++
    return original(...args)
  }
  const env = new Envelope({ keyring: counting })

  function head(headerLength: number): Uint8Array {
    const m = new Uint8Array(9)
    m.set([0x4b, 0x4d, 0x53, 0x45, 1])
    new DataView(m.buffer).setUint32(5, headerLength)
    return m
  }

  it('a 1 GB header length: ERR_LIMIT from the first 9 bytes', async () => {
    await rejectsWithCode(env.decrypt(head(1_000_000_000)), 'ERR_LIMIT', LimitError)
    assert.equal(calls, 0)
  })

  it('10,000 wrapped keys: ERR_LIMIT from the array head, before decoding entries', async () => {
    const message = await env.encrypt('x')
    const h = inspect(message).headerBytes
    const parsed = new DataView(message.buffer, message.byteOffset)
    const headerLength = parsed.getUint32(5)
    const recipientsAt = 9 + headerLength + 16 + 4
    const forged = Uint8Array.from([...message.subarray(0, recipientsAt), 0x99, 0x27, 0x10, ...message.subarray(recipientsAt + 1, h)])
    calls = 0
    await rejectsWithCode(env.decrypt(forged), 'ERR_LIMIT')
    assert.equal(calls, 0)
  })

  it('17 wrapped keys with the default limit of 16: ERR_LIMIT, no unwrap', async () => {
    const many = Array.from({ length: 17 }, (_, i) => LocalKeyring.generate({ keyId: `k${i}` }))
    const message = await new Envelope({ keyring: many, maxWrappedKeys: 17 }).encrypt('x')
    calls = 0
    await rejectsWithCode(env.decrypt(message), 'ERR_LIMIT')
    assert.equal(calls, 0)
    await rejectsWithCode(new Envelope({ keyring: many }).encrypt('x'), 'ERR_LIMIT')
  })

  it('a message cut short in the body: ERR_TRUNCATED without calling the keyring', async () => {
    const message = await env.encrypt(pattern(100))
    calls = 0
    await rejectsWithCode(env.decrypt(message.subarray(0, inspect(message).headerBytes + 5)), 'ERR_TRUNCATED', TruncatedError)
    assert.equal(calls, 0)
  })
})

describe('argument checks', () => {
  it('names the bad argument', async () => {
    assert.throws(() => new Envelope({ keyring: {} as never }), { code: 'ERR_INVALID_ARGUMENT', message: /keyring/ })
    assert.throws(() => new Envelope({ keyring, frameSize: 10 }), { code: 'ERR_INVALID_ARGUMENT', message: /frameSize/ })
    assert.throws(() => new Envelope({ keyring, maxWrappedKeys: 0 }), { code: 'ERR_INVALID_ARGUMENT', message: /maxWrappedKeys/ })
    const env = new Envelope({ keyring })
    await rejectsWithCode(env.encrypt(42 as never), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.decrypt('text' as never), 'ERR_INVALID_ARGUMENT')
    assert.throws(() => new LocalKeyring({ keyId: 'bad id', key: pattern(32) }), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => new LocalKeyring({ keyId: 'ok', key: pattern(16) }), { code: 'ERR_INVALID_ARGUMENT' })
  })
})

describe('secret hygiene', () => {
  it('LocalKeyring copies its key, even from a Buffer (whose slice() is only a view)', async () => {
    const key = Buffer.from(pattern(32, 42))
    const local = new LocalKeyring({ keyId: 'copy-test', key })
    const message = await new Envelope({ keyring: local }).encrypt('x')
    key.fill(0)
    const { plaintext } = await new Envelope({ keyring: local }).decrypt(message)
    assert.equal(new TextDecoder().decode(plaintext), 'x')
  })

  it('keyrings and data keys never print or serialise key bytes', async () => {
    const key = pattern(32, 99)
    const hex = Buffer.from(key).toString('hex')
    const local = new LocalKeyring({ keyId: 'secret-test', key })
    const generated = await local.generateDataKey(new Map(), {})
    const dataHex = Buffer.from(generated.dataKey.bytes).toString('hex')
    for (const text of [
      utilInspect(local, { showHidden: true, depth: 10 }),
      JSON.stringify(local),
      String(generated.dataKey),
      utilInspect(generated, { showHidden: true, depth: 10 }),
      JSON.stringify(generated),
    ]) {
      assert.ok(!text.includes(hex), `master key leaked in: ${text}`)
      assert.ok(!text.includes(dataHex), `data key leaked in: ${text}`)
    }
    generated.dataKey.wipe()
    assert.throws(() => generated.dataKey.bytes, /wiped/)
  })

  it('errors never include key bytes', async () => {
    const message = await new Envelope({ keyring }).encrypt('x')
    const impostor = new LocalKeyring({ keyId: 'test-key', key: pattern(32, 8) })
    const error = await rejectsWithCode(new Envelope({ keyring: impostor }).decrypt(message), 'ERR_UNWRAP')
    const text = utilInspect(error, { showHidden: true, depth: 10 })
    assert.ok(!text.includes(Buffer.from(pattern(32, 8)).toString('hex')))
    assert.ok(!text.includes(Buffer.from(pattern(32, 7)).toString('hex')))
  })
})

describe('what a custom keyring returns is checked before anything is sealed (ERR_KEYRING)', () => {
  type Fix = (r: Recipient[]) => unknown
  /** The local keyring with its recipients rewritten by `fix`, on generate or on wrap. */
  function bent(fix: Fix, on: 'generate' | 'wrap', calls: { n: number }): Keyring {
    const inner = new LocalKeyring({ keyId: on === 'generate' ? 'bent-g' : 'bent-w', key: pattern(32, 8) })
    return {
      description: `custom:${on}`,
      cacheId: `custom:${on}`,
      async generateDataKey(context, options) {
        calls.n++
        const g = await inner.generateDataKey(context, options)
        return on === 'generate' ? { dataKey: g.dataKey, recipients: fix([...g.recipients]) as Recipient[] } : g
      },
      async wrapDataKey(dataKey, context, options) {
        calls.n++
        const r = await inner.wrapDataKey(dataKey, context, options)
        return on === 'wrap' ? (fix([...r]) as Recipient[]) : r
      },
      canUnwrap: (r) => inner.canUnwrap(r),
      unwrapDataKey: (r, c, o) => inner.unwrapDataKey(r, c, o),
    }
  }
  const cases: Array<[string, Fix]> = [
    ['an empty list', () => []],
    ['a type with an upper-case letter', (r) => r.map((x) => ({ ...x, type: 'Custom' }))],
    ['a type of 33 bytes', (r) => r.map((x) => ({ ...x, type: 'a'.repeat(33) }))],
    ['an empty key id', (r) => r.map((x) => ({ ...x, keyId: '' }))],
    ['a key id of 2,049 bytes', (r) => r.map((x) => ({ ...x, keyId: 'k'.repeat(2049) }))],
    ['an empty wrapped key', (r) => r.map((x) => ({ ...x, wrapped: new Uint8Array(0) }))],
    ['a wrapped key of 8,193 bytes', (r) => r.map((x) => ({ ...x, wrapped: new Uint8Array(8193) }))],
    ['a wrapped key that is a string', (r) => r.map((x) => ({ ...x, wrapped: 'abc' }))],
    ['a null entry', () => [null]],
    ['no list at all', () => undefined],
  ]
  for (const [what, fix] of cases) {
    for (const on of ['generate', 'wrap'] as const) {
      it(`${what}, from ${on === 'generate' ? 'generateDataKey' : 'wrapDataKey'}: encrypt and encryptStream fail, nothing is written`, async () => {
        const calls = { n: 0 }
        const keyrings = on === 'generate' ? [bent(fix, on, calls)] : [keyring, bent(fix, on, calls)]
        const env = new Envelope({ keyring: keyrings })
        await rejectsWithCode(env.encrypt('x'), 'ERR_KEYRING', KeyringError)
        const out = new Blob(['x']).stream().pipeThrough(env.encryptStream())
        await rejectsWithCode(new Response(out).arrayBuffer(), 'ERR_KEYRING', KeyringError)
        assert.equal(calls.n, 2)
      })
    }
  }

  it('valid custom output still encrypts, and the message opens', async () => {
    const calls = { n: 0 }
    const env = new Envelope({ keyring: bent((r) => r, 'generate', calls) })
    const { plaintext } = await env.decrypt(await env.encrypt('ok'))
    assert.equal(new TextDecoder().decode(plaintext), 'ok')
  })
})

describe('minFrameSize: the reader refuses small frames before any key service (ERR_LIMIT)', () => {
  const counting = new CountingKeyring(keyring)
  const writer = new Envelope({ keyring, frameSize: 64 })

  it('default 64 B: every message the writer can produce stays readable', async () => {
    const reader = new Envelope({ keyring })
    const { plaintext } = await reader.decrypt(await writer.encrypt(pattern(300, 1)))
    assert.deepEqual(plaintext, pattern(300, 1))
  })

  for (const [frameSize, min, ok] of [
    [64, 4096, false],
    [4095, 4096, false],
    [4096, 4096, true],
    [1024, 1024, true],
    [1023, 1024, false],
  ] as const) {
    it(`frame size ${frameSize} with minFrameSize ${min}: ${ok ? 'opens' : 'ERR_LIMIT, no unwrap call'}`, async () => {
      const message = await new Envelope({ keyring, frameSize }).encrypt(pattern(5000, 2))
      const reader = new Envelope({ keyring: counting, minFrameSize: min })
      const before = counting.calls.unwrap
      if (ok) {
        assert.deepEqual((await reader.decrypt(message)).plaintext, pattern(5000, 2))
      } else {
        await rejectsWithCode(reader.decrypt(message), 'ERR_LIMIT', LimitError)
        const out = new Blob([message as Uint8Array<ArrayBuffer>]).stream().pipeThrough(reader.decryptStream())
        await rejectsWithCode(new Response(out).arrayBuffer(), 'ERR_LIMIT', LimitError)
        assert.equal(counting.calls.unwrap, before)
      }
    })
  }

  it('is an integer from 64 to maxFrameSize', () => {
    for (const bad of [63, 1.5, '4096', 8193]) {
      assert.throws(() => new Envelope({ keyring, minFrameSize: bad as number, maxFrameSize: 8192 }), { code: 'ERR_INVALID_ARGUMENT' })
    }
    assert.doesNotThrow(() => new Envelope({ keyring, minFrameSize: 8192, maxFrameSize: 8192 }))
  })
})
