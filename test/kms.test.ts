/**
 * The KMS keyring against a real KMS API server (moto, started by scripts/test.js), with
 * exact per-command call counts. What moto cannot do is in kms-fake.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DisableKeyCommand, KMSClient, UpdateAliasCommand } from '@aws-sdk/client-kms'
import { canonicalContext } from '../src/format/context.js'
import { parseHead } from '../src/format/message.js'
import { Envelope, inspect, KmsError, LocalKeyring, NoMatchingKeyError, UnwrapError } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'
import { pattern, rejectsWithCode } from './helpers.js'
import {
  adminClient,
  CREDENTIALS,
  createAlias,
  createKey,
  kmsEndpoint,
  MOTO_ACCOUNT,
  motoClient,
  REGION,
  recipientsOf,
  withoutRecipients,
  withRecipients,
} from './kms-helpers.js'

const context = { tenant: 'acme', purpose: 'kms-test' }
const local = new LocalKeyring({ keyId: 'third-party', key: pattern(32, 11) })

describe('KMS keyring on moto: round trips', () => {
  it('encrypts with 1 GenerateDataKey and decrypts with 1 Decrypt; the recipient is the key ARN', async () => {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) })
    const plaintext = pattern(100_000, 2)
    const message = await env.encrypt(plaintext, { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    assert.deepEqual(
      inspect(message).recipients.map((r) => [r.type, r.keyId]),
      [['aws-kms', arn]],
    )
    const result = await env.decrypt(message, { expectContext: { tenant: 'acme' } })
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    assert.deepEqual(result.plaintext, plaintext)
    assert.deepEqual(result.context, context)
    assert.equal(result.keyId, arn)
  })

  it('stores the ARN, not the alias: a message still opens after the alias moves', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const alias = await createAlias(a)
    const { client, calls } = await motoClient()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [alias], client }) }).encrypt('by alias', { context })
    assert.equal(recipientsOf(message)[0]!.keyId, a)
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    await (await adminClient()).send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: b }))
    const byArn = new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) })
    assert.equal(new TextDecoder().decode((await byArn.decrypt(message)).plaintext), 'by alias')
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    // The alias now means key b: a keyring configured by alias does not try key a.
    const byAlias = new Envelope({ keyring: new KmsKeyring({ keyIds: [alias], client }) })
    await rejectsWithCode(byAlias.decrypt(message), 'ERR_NO_MATCHING_KEY', NoMatchingKeyError)
    assert.deepEqual(calls.take(), { DescribeKey: 1 })
  })

  it('resolves a configured alias or key id with one DescribeKey per keyring, not per message', async () => {
    const arn = await createKey()
    const alias = await createAlias(arn)
    const keyId = arn.split('/')[1]!
    const { client, calls } = await motoClient()
    const messages = await Promise.all([1, 2, 3].map((i) => new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt(`m${i}`)))
    calls.take()
    for (const id of [alias, keyId]) {
      const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [id], client }) })
      for (const m of messages) await env.decrypt(m)
      assert.deepEqual(calls.take(), { DescribeKey: 1, Decrypt: 3 }, id)
    }
    // An encrypt teaches the keyring its ARN: no DescribeKey at all.
    const learned = new Envelope({ keyring: new KmsKeyring({ keyIds: [alias], client }) })
    const own = await learned.encrypt('x')
    await learned.decrypt(own)
    await learned.decrypt(messages[0]!)
    assert.deepEqual(calls.take(), { GenerateDataKey: 1, Decrypt: 2 })
  })

  it('sends the context to KMS: a Decrypt with another context fails at KMS (ERR_KMS_INVALID_CIPHERTEXT)', async () => {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const keyring = new KmsKeyring({ keyIds: [arn], client })
    const message = await new Envelope({ keyring }).encrypt('ctx', { context })
    calls.take()
    const [recipient] = recipientsOf(message)
    const other = canonicalContext({ tenant: 'evil', purpose: 'kms-test' }, 'context', true)
    const error = await rejectsWithCode(keyring.unwrapDataKey(recipient!, other, {}), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
    assert.equal((error as KmsError).keyId, arn)
    assert.equal((error as KmsError).kmsErrorName, 'InvalidCiphertextException')
    assert.match(error.message, new RegExp(`${arn}.*InvalidCiphertextException.*encryption context`))
    // The same through a message whose header context was edited (same length, so it parses).
    const bytes = Buffer.from(message)
    const at = bytes.indexOf('acme')
    bytes.write('acmf', at)
    await rejectsWithCode(new Envelope({ keyring }).decrypt(bytes), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
    assert.deepEqual(calls.take(), { Decrypt: 2 })
  })

  it('respects the abort signal: aborted before, no call; aborted while in flight, ERR_ABORTED', async () => {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) })
    await rejectsWithCode(env.encrypt('x', { signal: AbortSignal.abort() }), 'ERR_ABORTED')
    assert.deepEqual(calls.take(), {})
    const controller = new AbortController()
    const pending = env.encrypt('x', { signal: controller.signal })
    controller.abort()
    await rejectsWithCode(pending, 'ERR_ABORTED')
  })
})

describe('KMS keyring on moto: several recipients', () => {
  it('two KMS keys and one local key: 1 GenerateDataKey + 1 Encrypt; each key alone decrypts', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const env = new Envelope({ keyring: [new KmsKeyring({ keyIds: [a, b], client }), local] })
    const message = await env.encrypt('three ways', { context })
    assert.deepEqual(calls.take(), { GenerateDataKey: 1, Encrypt: 1 })
    assert.deepEqual(
      recipientsOf(message).map((r) => r.keyId),
      [a, b, 'third-party'],
    )
    for (const keyId of [a, b]) {
      const { keyId: used } = await new Envelope({ keyring: new KmsKeyring({ keyIds: [keyId], client }) }).decrypt(message)
      assert.equal(used, keyId)
      assert.deepEqual(calls.take(), { Decrypt: 1 }, `only ${keyId} is tried`)
    }
    assert.equal((await new Envelope({ keyring: local }).decrypt(message)).keyId, 'third-party')
    assert.deepEqual(calls.take(), {})
  })

  it('a keyring holding none of them: ERR_NO_MATCHING_KEY and no KMS call', async () => {
    const [a, b, c] = [await createKey(), await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const message = await new Envelope({ keyring: [new KmsKeyring({ keyIds: [a, b], client }), local] }).encrypt('x')
    calls.take()
    const stranger = new Envelope({ keyring: [new KmsKeyring({ keyIds: [c], client }), LocalKeyring.generate({ keyId: 'other' })] })
    const error = await rejectsWithCode(stranger.decrypt(message), 'ERR_NO_MATCHING_KEY', NoMatchingKeyError)
    assert.deepEqual(
      (error as NoMatchingKeyError).recipients.map((r) => r.keyId),
      [a, b, 'third-party'],
    )
    assert.deepEqual(calls.take(), {})
  })

  it('when every held key fails, the error says what each answered (in message order)', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const keyring = new KmsKeyring({ keyIds: [a, b], client })
    const message = await new Envelope({ keyring }).encrypt('x')
    calls.take()
    const altered = withRecipients(
      message,
      recipientsOf(message).map((r) => ({ ...r, wrapped: r.wrapped.map((x, i) => (i === r.wrapped.length - 5 ? x ^ 1 : x)) })),
    )
    const error = (await rejectsWithCode(new Envelope({ keyring }).decrypt(altered), 'ERR_UNWRAP', UnwrapError)) as UnwrapError
    assert.deepEqual(
      error.attempts.map((t) => [t.keyId, t.code]),
      [
        [a, 'ERR_KMS_INVALID_CIPHERTEXT'],
        [b, 'ERR_KMS_INVALID_CIPHERTEXT'],
      ],
    )
    assert.match(error.message, /2 matching keys.*InvalidCiphertextException.*InvalidCiphertextException/)
    assert.deepEqual(calls.take(), { Decrypt: 2 })
  })

  it('stops at the first recipient that opens', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const keyring = new KmsKeyring({ keyIds: [a, b], client })
    const message = await new Envelope({ keyring }).encrypt('x')
    calls.take()
    assert.equal((await new Envelope({ keyring }).decrypt(message)).keyId, a)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })
})

describe('KMS keyring on moto: typed errors', () => {
  it('an unknown alias: ERR_KMS_NOT_FOUND on encrypt (GenerateDataKey) and on decrypt (DescribeKey)', async () => {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const missing = new KmsKeyring({ keyIds: ['alias/kmse-does-not-exist'], client })
    const error = (await rejectsWithCode(new Envelope({ keyring: missing }).encrypt('x'), 'ERR_KMS_NOT_FOUND', KmsError)) as KmsError
    assert.equal(error.keyId, 'alias/kmse-does-not-exist')
    assert.equal(error.kmsErrorName, 'NotFoundException')
    assert.match(error.message, /GenerateDataKey with key alias\/kmse-does-not-exist failed: NotFoundException.*check the id, the alias, the Region/)
    assert.deepEqual(calls.take(), { GenerateDataKey: 1 })
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x')
    calls.take()
    await rejectsWithCode(new Envelope({ keyring: missing }).decrypt(message), 'ERR_KMS_NOT_FOUND', KmsError)
    assert.deepEqual(calls.take(), { DescribeKey: 1 })
  })

  it('a key ARN that does not exist: ERR_KMS_NOT_FOUND naming the ARN', async () => {
    const { client } = await motoClient()
    const arn = `arn:aws:kms:${REGION}:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-000000000000`
    const error = (await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x'),
      'ERR_KMS_NOT_FOUND',
      KmsError,
    )) as KmsError
    assert.equal(error.keyId, arn)
  })

  it('a wrapped key of another key under this key ARN (moto answers AccessDeniedException where AWS answers IncorrectKeyException; see kms-fake)', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const forA = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).encrypt('x')
    const forB = await new Envelope({ keyring: new KmsKeyring({ keyIds: [b], client }) }).encrypt('y')
    calls.take()
    const swapped = withRecipients(forA, [{ type: 'aws-kms', keyId: a, wrapped: recipientsOf(forB)[0]!.wrapped }])
    const error = (await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).decrypt(swapped),
      'ERR_KMS_ACCESS_DENIED',
      KmsError,
    )) as KmsError
    assert.equal(error.keyId, a)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })

  it('a disabled key on moto still works (moto gap: no DisabledException; covered in kms-fake)', async () => {
    const arn = await createKey()
    await (await adminClient()).send(new DisableKeyCommand({ KeyId: arn.split('/')[1]! })) // moto 5.2.5 fails (500) on an ARN here
    const { client } = await motoClient()
    // If a later moto enforces it, this fails and the fake-only coverage can move here.
    await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x')
  })

  it('KMS unreachable: ERR_KMS_UNAVAILABLE naming the key and the socket error', async () => {
    const arn = await createKey()
    const { client } = await motoClient(REGION, { endpoint: 'http://127.0.0.1:1', maxAttempts: 1 })
    const error = (await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x'),
      'ERR_KMS_UNAVAILABLE',
      KmsError,
    )) as KmsError
    assert.equal(error.kmsErrorName, 'ECONNREFUSED')
    assert.equal(error.keyId, arn)
  })
})

describe('KMS keyring on moto: hostile messages cost no KMS call', () => {
  async function victim(): Promise<{ message: Uint8Array; arn: string; keyring: KmsKeyring; calls: { take(): Record<string, number> } }> {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const keyring = new KmsKeyring({ keyIds: [arn], client })
    const message = await new Envelope({ keyring }).encrypt('x')
    calls.take()
    return { message, arn, keyring, calls }
  }
  const bogus = (n: number, account = '999999999999') =>
    Array.from({ length: n }, (_, i) => ({
      type: 'aws-kms',
      keyId: `arn:aws:kms:${REGION}:${account}:key/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      wrapped: pattern(96, i + 1),
    }))

  it('17 wrapped keys: ERR_LIMIT before any call, even when the keyring holds one of them', async () => {
    const { message, arn, keyring, calls } = await victim()
    const hostile = withRecipients(message, [...recipientsOf(message), ...bogus(16)])
    await rejectsWithCode(new Envelope({ keyring }).decrypt(hostile), 'ERR_LIMIT')
    await rejectsWithCode(new Envelope({ keyring }).rewrap(hostile, { to: local }), 'ERR_LIMIT')
    assert.ok(recipientsOf(hostile).some((r) => r.keyId === arn))
    assert.deepEqual(calls.take(), {})
  })

  it('10 bogus ARNs: ERR_NO_MATCHING_KEY and no call, also for a discovery keyring limited to other accounts', async () => {
    const { message, keyring, calls } = await victim()
    const hostile = withRecipients(message, bogus(10))
    await rejectsWithCode(new Envelope({ keyring }).decrypt(hostile), 'ERR_NO_MATCHING_KEY')
    const { client, calls: discoveryCalls } = await motoClient()
    const discovery = new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws' }, client })
    await rejectsWithCode(new Envelope({ keyring: discovery }).decrypt(hostile), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
    assert.deepEqual(discoveryCalls.take(), {})
  })

  it('16 junk wrapped keys naming the one configured ARN: 1 Decrypt per message, also on replay', async () => {
    const { message, arn, keyring, calls } = await victim()
    const junk = Array.from({ length: 16 }, (_, i) => ({ type: 'aws-kms', keyId: arn, wrapped: pattern(96, i + 1) }))
    const hostile = withRecipients(message, junk)
    for (let replay = 0; replay < 2; replay++) {
      await rejectsWithCode(new Envelope({ keyring }).decrypt(hostile), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
      assert.deepEqual(calls.take(), { Decrypt: 1 })
    }
    await rejectsWithCode(new Envelope({ keyring }).rewrap(hostile, { to: local }), 'ERR_KMS_INVALID_CIPHERTEXT', KmsError)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })

  it('a discovery keyring tries at most discovery.maxAttempts of 16 distinct junk ARNs in its account', async () => {
    const { message } = await victim()
    const { client, calls } = await motoClient()
    const hostile = withRecipients(message, bogus(16, MOTO_ACCOUNT))
    const discovery = new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws' }, client })
    await rejectsWithCode(new Envelope({ keyring: discovery }).decrypt(hostile), 'ERR_UNWRAP')
    assert.deepEqual(calls.take(), { Decrypt: 3 })
    const one = new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws', maxAttempts: 1 }, client })
    await rejectsWithCode(new Envelope({ keyring: one }).decrypt(hostile), 'ERR_KMS_NOT_FOUND', KmsError)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
  })

  it('recipients that are not key ARNs (aliases, junk) are never tried', async () => {
    const { message, keyring, calls } = await victim()
    const junk = ['alias/x', `arn:aws:kms:${REGION}:${MOTO_ACCOUNT}:alias/x`, 'not-an-arn', `arn:aws:s3:::bucket`].map((keyId) => ({
      type: 'aws-kms',
      keyId,
      wrapped: pattern(96),
    }))
    await rejectsWithCode(new Envelope({ keyring }).decrypt(withRecipients(message, junk)), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
  })
})

describe('KMS keyring on moto: discovery', () => {
  it('decrypts any key of an allowed account with Decrypt pinned to the message ARN, and cannot encrypt', async () => {
    const arn = await createKey()
    const { client, calls } = await motoClient()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('found', { context })
    calls.take()
    const discovery = new Envelope({ keyring: new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws' }, client }) })
    assert.equal((await discovery.decrypt(message)).keyId, arn)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    await rejectsWithCode(discovery.encrypt('x'), 'ERR_KEYRING')
    const otherPartition = new Envelope({ keyring: new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws-cn' }, client }) })
    await rejectsWithCode(otherPartition.decrypt(message), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
  })
})

describe('KMS keyring on moto: discovery Regions', () => {
  it('needs regions (or a client); a message naming other Regions or partitions makes no call and creates no client', async () => {
    assert.throws(() => new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws' } }), { code: 'ERR_INVALID_ARGUMENT' })
    const arn = await createKey()
    const { client } = await motoClient()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('regions', { context })
    // The keyring builds its own clients from the environment: point them at moto and count
    // every send of any KMSClient (a client is only ever created to send).
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: await kmsEndpoint(),
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    })
    const send = KMSClient.prototype.send
    const regions: string[] = []
    KMSClient.prototype.send = async function (this: KMSClient, ...args: unknown[]) {
      regions.push(await this.config.region())
      return (send as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof send
    try {
      const keyring = new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws', regions: [REGION] } })
      const elsewhere = Array.from({ length: 16 }, (_, i) => ({
        type: 'aws-kms',
        keyId: `arn:${i % 2 === 0 ? 'aws' : 'aws-cn'}:kms:zz-test-${i}:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        wrapped: pattern(96, i + 1),
      }))
      await rejectsWithCode(new Envelope({ keyring }).decrypt(withRecipients(message, elsewhere)), 'ERR_NO_MATCHING_KEY')
      assert.deepEqual(regions, [])
      assert.equal(new TextDecoder().decode((await new Envelope({ keyring }).decrypt(message)).plaintext), 'regions')
      assert.deepEqual(regions, [REGION])
      keyring.destroy()
    } finally {
      KMSClient.prototype.send = send
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })
})

describe('rewrap on moto', () => {
  it('KMS to KMS: 1 ReEncrypt, no Decrypt; header and body identical; the old key is gone, third parties stay', async () => {
    const [a, b] = [await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const keyringA = new KmsKeyring({ keyIds: [a], client })
    const keyringB = new KmsKeyring({ keyIds: [b], client })
    const plaintext = pattern(200_000, 5)
    const message = await new Envelope({ keyring: [keyringA, local] }).encrypt(plaintext, { context })
    calls.take()
    const rewrapped = await new Envelope({ keyring: keyringA }).rewrap(message, { to: keyringB })
    assert.deepEqual(calls.take(), { ReEncrypt: 1 })
    assert.deepEqual(withoutRecipients(rewrapped), withoutRecipients(message))
    assert.deepEqual(
      recipientsOf(rewrapped).map((r) => r.keyId),
      ['third-party', b],
    )
    const opened = await new Envelope({ keyring: keyringB }).decrypt(rewrapped, { expectContext: context })
    assert.deepEqual(opened.plaintext, plaintext)
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    await rejectsWithCode(new Envelope({ keyring: keyringA }).decrypt(rewrapped), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(calls.take(), {})
    assert.deepEqual((await new Envelope({ keyring: local }).decrypt(rewrapped)).plaintext, plaintext)
  })

  it("ReEncrypt goes through the source keyring's client, never the destination's; verified says which path it was", async () => {
    const [a, b] = [await createKey(), await createKey()]
    const source = await motoClient()
    const destination = await motoClient()
    const keyringA = new KmsKeyring({ keyIds: [a], client: source.client })
    const keyringB = new KmsKeyring({ keyIds: [b], client: destination.client })
    const message = await new Envelope({ keyring: keyringA }).encrypt('deputy', { context })
    source.calls.take()
    const env = new Envelope({ keyring: keyringA })
    const inKms = await env.rewrapDetailed(message, { to: keyringB })
    assert.equal(inKms.verified, false)
    assert.deepEqual(source.calls.take(), { ReEncrypt: 1 })
    assert.deepEqual(destination.calls.take(), {})
    const checked = await env.rewrapDetailed(message, { to: keyringB, verify: true })
    assert.equal(checked.verified, true)
    assert.deepEqual(source.calls.take(), { Decrypt: 1 })
    assert.deepEqual(destination.calls.take(), { Encrypt: 1 })
    for (const rewrapped of [inKms.message, checked.message]) {
      assert.equal(new TextDecoder().decode((await new Envelope({ keyring: keyringB }).decrypt(rewrapped)).plaintext), 'deputy')
    }
    destination.calls.take()
    // A forged header tag: ReEncrypt cannot see it, verify refuses it before any wrap.
    const forged = Uint8Array.from(message)
    const head = parseHead(message, { maxWrappedKeys: 64 })
    if ('need' in head) throw new Error('truncated')
    const tag = head.head.authenticated.length
    forged[tag] = forged[tag]! ^ 1
    assert.equal((await env.rewrapDetailed(forged, { to: keyringB })).verified, false)
    await rejectsWithCode(env.rewrapDetailed(forged, { to: keyringB, verify: true }), 'ERR_AUTH')
    source.calls.take()
    assert.deepEqual(destination.calls.take(), {})
    await rejectsWithCode(env.rewrapDetailed(message, { to: keyringB, verify: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT')
  })

  it('keep, and several destination keys: 1 ReEncrypt per new key', async () => {
    const [a, b, c] = [await createKey(), await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const keyringA = new KmsKeyring({ keyIds: [a], client })
    const message = await new Envelope({ keyring: keyringA }).encrypt('keep', { context })
    calls.take()
    const rewrapped = await new Envelope({ keyring: keyringA }).rewrap(message, { to: new KmsKeyring({ keyIds: [b, c], client }), keep: true })
    assert.deepEqual(calls.take(), { ReEncrypt: 2 })
    assert.deepEqual(
      recipientsOf(rewrapped).map((r) => r.keyId),
      [a, b, c],
    )
    for (const keyId of [a, b, c]) {
      assert.equal((await new Envelope({ keyring: new KmsKeyring({ keyIds: [keyId], client }) }).decrypt(rewrapped)).keyId, keyId)
    }
    assert.deepEqual(calls.take(), { Decrypt: 3 })
  })

  it('local to KMS: unwraps locally (commitment checked) and wraps with 1 Encrypt; KMS to local: 1 Decrypt', async () => {
    const b = await createKey()
    const { client, calls } = await motoClient()
    const keyringB = new KmsKeyring({ keyIds: [b], client })
    const message = await new Envelope({ keyring: local }).encrypt('local first', { context })
    const toKms = await new Envelope({ keyring: local }).rewrap(message, { to: keyringB })
    assert.deepEqual(calls.take(), { Encrypt: 1 })
    assert.deepEqual(
      recipientsOf(toKms).map((r) => r.keyId),
      [b],
    )
    const fresh = LocalKeyring.generate({ keyId: 'fresh' })
    const toLocal = await new Envelope({ keyring: keyringB }).rewrap(toKms, { to: fresh })
    assert.deepEqual(calls.take(), { Decrypt: 1 })
    assert.equal(new TextDecoder().decode((await new Envelope({ keyring: fresh }).decrypt(toLocal)).plaintext), 'local first')
    assert.deepEqual(withoutRecipients(toLocal), withoutRecipients(message))
  })

  it('a wrong-context ReEncrypt fails at KMS, typed; a rewrap the old keyring cannot open makes no call', async () => {
    const [a, b, c] = [await createKey(), await createKey(), await createKey()]
    const { client, calls } = await motoClient()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).encrypt('x', { context })
    const bytes = Buffer.from(message)
    bytes.write('acmf', bytes.indexOf('acme'))
    calls.take()
    await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).rewrap(bytes, { to: new KmsKeyring({ keyIds: [b], client }) }),
      'ERR_KMS_INVALID_CIPHERTEXT',
      KmsError,
    )
    assert.deepEqual(calls.take(), { ReEncrypt: 1 })
    await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [c], client }) }).rewrap(message, { to: new KmsKeyring({ keyIds: [b], client }) }),
      'ERR_NO_MATCHING_KEY',
    )
    assert.deepEqual(calls.take(), {})
  })
})
