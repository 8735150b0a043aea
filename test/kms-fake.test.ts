/**
 * The KMS keyring against an SDK-level fake KMS (test/kms-helpers.ts FakeKms): a real
 * KMSClient whose HTTP handler answers in process. Only for what moto cannot do: disabled
 * and pending-deletion keys, IncorrectKeyException, multi-Region keys, grant enforcement,
 * throttling and timeouts, and checking what reaches the HTTP layer.
 */
import assert from 'node:assert/strict'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { inspect as utilInspect } from 'node:util'
import { KMSClient } from '@aws-sdk/client-kms'
import { DataKey } from '../src/crypto/data-key.js'
import { canonicalContext } from '../src/format/context.js'
import { Envelope, KmsError, LocalKeyring } from '../src/index.js'
import { formatKmsArn, keyArnsMatch, parseKeyArn, parseKmsArn } from '../src/keyrings/kms-arn.js'
import { KmsKeyring } from '../src/kms.js'
import { pattern, rejectsWithCode } from './helpers.js'
import { CREDENTIALS, FakeKms, MOTO_ACCOUNT, recipientsOf } from './kms-helpers.js'

const context = { tenant: 'acme' }

describe('SDK-level fake KMS: key states moto does not model', () => {
  it('a disabled key: ERR_KMS_DISABLED on encrypt and decrypt', async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: kms.client('us-east-1') }) })
    const message = await env.encrypt('x', { context })
    kms.setState(arn, 'Disabled')
    for (const attempt of [env.encrypt('x'), env.decrypt(message)]) {
      const error = (await rejectsWithCode(attempt, 'ERR_KMS_DISABLED', KmsError)) as KmsError
      assert.equal(error.keyId, arn)
      assert.equal(error.kmsErrorName, 'DisabledException')
      assert.match(error.message, /enable it/)
    }
  })

  it('a key pending deletion: ERR_KMS_INVALID_STATE', async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: kms.client('us-east-1') }) })
    const message = await env.encrypt('x')
    kms.setState(arn, 'PendingDeletion')
    const error = (await rejectsWithCode(env.decrypt(message), 'ERR_KMS_INVALID_STATE', KmsError)) as KmsError
    assert.equal(error.kmsErrorName, 'KMSInvalidStateException')
    assert.match(error.message, /cancel-key-deletion/)
  })

  it('a wrapped key of another key listed under this ARN: ERR_KMS_INCORRECT_KEY (as AWS answers)', async () => {
    const kms = new FakeKms()
    const [a, b] = [kms.createKey('us-east-1'), kms.createKey('us-east-1')]
    const client = kms.client('us-east-1')
    const forB = await new Envelope({ keyring: new KmsKeyring({ keyIds: [b], client }) }).encrypt('x')
    const keyringA = new KmsKeyring({ keyIds: [a], client })
    const substituted = { type: 'aws-kms', keyId: a, wrapped: recipientsOf(forB)[0]!.wrapped }
    const error = (await rejectsWithCode(
      keyringA.unwrapDataKey(substituted, canonicalContext(undefined, 'c', false), {}),
      'ERR_KMS_INCORRECT_KEY',
      KmsError,
    )) as KmsError
    assert.equal(error.keyId, a)
  })
})

describe('SDK-level fake KMS: multi-Region keys (moto truncates MRK ids on decrypt)', () => {
  it('a message wrapped under the us-east-1 replica opens with a keyring for the eu-west-1 replica, calling eu-west-1', async () => {
    const kms = new FakeKms()
    const east = kms.createKey('us-east-1', { multiRegion: true })
    const west = kms.replicate(east, 'eu-west-1')
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [east], client: kms.client('us-east-1') }) }).encrypt('mrk', { context })
    assert.equal(recipientsOf(message)[0]!.keyId, east)
    kms.take()
    const { plaintext, keyId } = await new Envelope({ keyring: new KmsKeyring({ keyIds: [west], client: kms.client('eu-west-1') }) }).decrypt(message)
    assert.equal(new TextDecoder().decode(plaintext), 'mrk')
    assert.equal(keyId, east, 'keyId reports the recipient as listed in the message')
    assert.deepEqual(
      kms.requests.map((r) => [r.operation, r.region, r.input.KeyId]),
      [['Decrypt', 'eu-west-1', west]],
    )
  })

  it("a discovery keyring turns another Region's MRK ARN into its own Region's, and skips other-Region single-Region keys", async () => {
    const kms = new FakeKms()
    const east = kms.createKey('us-east-1', { multiRegion: true })
    const west = kms.replicate(east, 'eu-west-1')
    const plain = kms.createKey('us-east-1')
    const eastClient = kms.client('us-east-1')
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [east], client: eastClient }) }).encrypt('mrk')
    const single = await new Envelope({ keyring: new KmsKeyring({ keyIds: [plain], client: eastClient }) }).encrypt('single')
    kms.take()
    const discovery = new Envelope({
      keyring: new KmsKeyring({ discovery: { accountIds: [MOTO_ACCOUNT], partition: 'aws' }, client: kms.client('eu-west-1') }),
    })
    await discovery.decrypt(message)
    assert.deepEqual(
      kms.requests.map((r) => [r.region, r.input.KeyId]),
      [['eu-west-1', west]],
    )
    await rejectsWithCode(discovery.decrypt(single), 'ERR_NO_MATCHING_KEY')
    assert.deepEqual(kms.take(), { Decrypt: 1 })
  })

  it("without a client, each key ARN is called in its own Region (from the environment's endpoint and credentials)", async () => {
    // A local stand-in for the endpoint that records the SigV4 scope and answers NotFound.
    const scopes: string[] = []
    const server = createHttpServer((request, response) => {
      scopes.push(/Credential=[^/]+\/\d+\/([^/]+)\/kms\//.exec(request.headers.authorization ?? '')?.[1] ?? '?')
      request.resume()
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'NotFoundException', message: 'no such key' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
    }
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
    Object.assign(process.env, env)
    const south = `arn:aws:kms:ap-south-1:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-000000000001`
    const central = `arn:aws:kms:eu-central-1:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-000000000002`
    const keyring = new KmsKeyring({ keyIds: [south, central, 'alias/default-region'] })
    try {
      await rejectsWithCode(keyring.wrapDataKey(new DataKey(pattern(32)), canonicalContext(undefined, 'c', false), {}), 'ERR_KMS_NOT_FOUND', KmsError)
      assert.deepEqual(scopes.sort(), ['ap-south-1', 'eu-central-1', 'us-east-1'])
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      keyring.destroy()
      server.close()
    }
  })
})

describe('SDK-level fake KMS: grants (moto does not enforce them)', () => {
  it('grant tokens go with every call; without them the key refuses (ERR_KMS_ACCESS_DENIED)', async () => {
    const kms = new FakeKms()
    const [a, b] = [kms.createKey('us-east-1'), kms.createKey('us-east-1')]
    kms.createAlias('alias/granted', a)
    for (const arn of [a, b]) kms.requireGrant(arn, 'grant-token-1')
    const client = kms.client('us-east-1')
    const granted = new KmsKeyring({ keyIds: ['alias/granted', b], client, grantTokens: ['grant-token-1'] })
    const message = await new Envelope({ keyring: granted }).encrypt('x', { context })
    await new Envelope({ keyring: new KmsKeyring({ keyIds: ['alias/granted'], client, grantTokens: ['grant-token-1'] }) }).decrypt(message)
    await new Envelope({ keyring: granted }).rewrap(message, { to: new KmsKeyring({ keyIds: [b], client, grantTokens: ['grant-token-1'] }) })
    const operations = kms.requests.map((r) => r.operation)
    assert.deepEqual(operations.sort(), ['Decrypt', 'DescribeKey', 'Encrypt', 'GenerateDataKey', 'ReEncrypt'])
    for (const r of kms.requests) assert.deepEqual(r.input.GrantTokens, ['grant-token-1'], r.operation)
    const ungranted = new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) })
    const error = (await rejectsWithCode(ungranted.decrypt(message), 'ERR_KMS_ACCESS_DENIED', KmsError)) as KmsError
    assert.equal(error.kmsErrorName, 'AccessDeniedException')
    assert.match(error.message, /grant/)
  })

  it('no AWS credentials at all: ERR_KMS_CREDENTIALS saying what to set, not ERR_KMS_ACCESS_DENIED', async () => {
    const missing = async (): Promise<never> => {
      throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })
    }
    const client = new KMSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: missing, maxAttempts: 1 })
    const keyId = `arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-000000000001`
    const error = (await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [keyId], client }) }).encrypt('x'),
      'ERR_KMS_CREDENTIALS',
      KmsError,
    )) as KmsError
    assert.match(error.message, /No AWS credentials were found: set AWS_ACCESS_KEY_ID/)
  })

  it('grant tokens never appear in util.inspect, JSON or the description', () => {
    const keyring = new KmsKeyring({ keyIds: ['alias/x'], grantTokens: ['secret-grant-token'] })
    for (const text of [utilInspect(keyring), JSON.stringify(keyring), keyring.description, keyring.cacheId]) {
      assert.doesNotMatch(text, /secret-grant-token/)
    }
    assert.match(utilInspect(keyring), /grantTokens: <1 redacted>/)
  })
})

describe('SDK-level fake KMS: what reaches the HTTP layer', () => {
  it("the caller's AbortSignal reaches every call: GenerateDataKey, Encrypt, DescribeKey, Decrypt, ReEncrypt", async () => {
    const kms = new FakeKms()
    const [a, b] = [kms.createKey('us-east-1'), kms.createKey('us-east-1')]
    kms.createAlias('alias/a', a)
    const client = kms.client('us-east-1')
    const { signal } = new AbortController()
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a, b], client }) }).encrypt('x', { signal })
    await new Envelope({ keyring: new KmsKeyring({ keyIds: ['alias/a'], client }) }).decrypt(message, { signal })
    await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).rewrap(message, { to: new KmsKeyring({ keyIds: [b], client }), signal })
    assert.deepEqual(
      kms.requests.map((r) => r.operation),
      ['GenerateDataKey', 'Encrypt', 'DescribeKey', 'Decrypt', 'ReEncrypt'],
    )
    for (const r of kms.requests) assert.equal(r.abortSignal, signal, r.operation)
  })

  it('aborting a call in flight: ERR_ABORTED, and the request saw the abort', async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    kms.hang = true
    const controller = new AbortController()
    const pending = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: kms.client('us-east-1') }) }).encrypt('x', { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('user cancelled')), 20)
    const error = await rejectsWithCode(pending, 'ERR_ABORTED')
    assert.equal((error.cause as Error).message, 'user cancelled')
    assert.deepEqual(kms.take(), { GenerateDataKey: 1 })
  })

  it("throttling after the SDK's retries: ERR_KMS_THROTTLED (retries kept: 2 attempts with maxAttempts 2)", async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    kms.failWith = 'ThrottlingException'
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client: kms.client('us-east-1', { maxAttempts: 2 }) }) })
    const error = (await rejectsWithCode(env.encrypt('x'), 'ERR_KMS_THROTTLED', KmsError)) as KmsError
    assert.equal(error.kmsErrorName, 'ThrottlingException')
    assert.deepEqual(kms.take(), { GenerateDataKey: 2 })
  })

  it('a timeout: ERR_KMS_UNAVAILABLE', async () => {
    // A local socket that accepts and never answers.
    const sockets = new Set<Socket>()
    const server = createServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const client = new KMSClient({
        region: 'us-east-1',
        endpoint,
        credentials: CREDENTIALS,
        maxAttempts: 1,
        requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
      })
      const arn = `arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-000000000001`
      const error = (await rejectsWithCode(
        new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x'),
        'ERR_KMS_UNAVAILABLE',
        KmsError,
      )) as KmsError
      assert.equal(error.kmsErrorName, 'TimeoutError')
      client.destroy()
    } finally {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  })

  it('errors of a failed Encrypt hold no key bytes (message, properties, inspect, JSON)', async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    kms.setState(arn, 'Disabled')
    const bytes = pattern(32, 99)
    const hex = Buffer.from(bytes).toString('hex')
    const b64 = Buffer.from(bytes).toString('base64')
    const keyring = new KmsKeyring({ keyIds: [arn], client: kms.client('us-east-1') })
    const error = await rejectsWithCode(
      keyring.wrapDataKey(new DataKey(bytes.slice()), canonicalContext(undefined, 'c', false), {}),
      'ERR_KMS_DISABLED',
      KmsError,
    )
    assert.equal(error.cause, undefined, 'the SDK error (which may reference the request) is not kept')
    for (const text of [error.message, utilInspect(error, { depth: 10, showHidden: true }), JSON.stringify(error), JSON.stringify(Object.entries(error))]) {
      assert.ok(!text.includes(hex) && !text.includes(b64), text)
    }
  })

  it('a response for another key than the one asked is refused (ERR_KMS)', async () => {
    const kms = new FakeKms()
    const arn = kms.createKey('us-east-1')
    const client = kms.client('us-east-1')
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).encrypt('x')
    // A client whose middleware rewrites KMS's answer: an endpoint that is not honest KMS.
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args)
        ;(result.output as { KeyId?: string }).KeyId = `arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/00000000-0000-4000-8000-0000000000ff`
        return result
      },
      { step: 'initialize', name: 'liar' },
    )
    const error = (await rejectsWithCode(
      new Envelope({ keyring: new KmsKeyring({ keyIds: [arn], client }) }).decrypt(message),
      'ERR_KMS',
      KmsError,
    )) as KmsError
    assert.equal(error.kmsErrorName, 'InvalidResponse')
  })
})

describe('rewrap details (SDK-level fake KMS)', () => {
  it('ReEncrypt pins the source key and sends the header context on both sides', async () => {
    const kms = new FakeKms()
    const [a, b] = [kms.createKey('us-east-1'), kms.createKey('us-east-1')]
    const client = kms.client('us-east-1')
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).encrypt('x', { context: { tenant: 'acme', z: '1' } })
    kms.take()
    await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }) }).rewrap(message, { to: new KmsKeyring({ keyIds: [b], client }) })
    const [request] = kms.requests
    assert.equal(request!.operation, 'ReEncrypt')
    assert.equal(request!.input.SourceKeyId, a)
    assert.equal(request!.input.DestinationKeyId, b)
    assert.deepEqual(request!.input.SourceEncryptionContext, { z: '1', tenant: 'acme' })
    assert.deepEqual(request!.input.DestinationEncryptionContext, { z: '1', tenant: 'acme' })
  })

  it('to a key in another Region: no ReEncrypt (it cannot cross Regions); Decrypt + Encrypt instead', async () => {
    const kms = new FakeKms()
    const a = kms.createKey('us-east-1')
    const b = kms.createKey('eu-west-1')
    const message = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client: kms.client('us-east-1') }) }).encrypt('x')
    kms.take()
    const rewrapped = await new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client: kms.client('us-east-1') }) }).rewrap(message, {
      to: new KmsKeyring({ keyIds: [b], client: kms.client('eu-west-1') }),
    })
    assert.deepEqual(kms.take(), { Decrypt: 1, Encrypt: 1 })
    assert.deepEqual(
      recipientsOf(rewrapped).map((r) => r.keyId),
      [b],
    )
  })

  it('maxWrappedKeys bounds the result: ERR_LIMIT and nothing returned', async () => {
    const kms = new FakeKms()
    const [a, b] = [kms.createKey('us-east-1'), kms.createKey('us-east-1')]
    const client = kms.client('us-east-1')
    const message = await new Envelope({ keyring: [new KmsKeyring({ keyIds: [a], client }), LocalKeyring.generate()] }).encrypt('x')
    const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [a], client }), maxWrappedKeys: 2 })
    await rejectsWithCode(env.rewrap(message, { to: new KmsKeyring({ keyIds: [b], client }), keep: true }), 'ERR_LIMIT')
    assert.equal(recipientsOf(await env.rewrap(message, { to: new KmsKeyring({ keyIds: [b], client }) })).length, 2)
  })

  it('a forged message is not rewrapped through the data-key path (ERR_AUTH)', async () => {
    const source = LocalKeyring.generate({ keyId: 'src' })
    const message = Buffer.from(await new Envelope({ keyring: source }).encrypt('x', { context }))
    message.write('acmf', message.indexOf('acme'))
    await rejectsWithCode(new Envelope({ keyring: source }).rewrap(message, { to: LocalKeyring.generate() }), 'ERR_UNWRAP')
    // A header change that keeps the local wrap's AAD intact (frame size) is caught by the header tag.
    const clean = Buffer.from(await new Envelope({ keyring: source, frameSize: 1024 }).encrypt('x', { context }))
    const at = clean.indexOf(Buffer.from([0x19, 0x04, 0x00]), 9 + 1 + 1 + 34) // CBOR uint 1024, after suite and message id
    clean[at + 1] = 0x08 // 2048
    await rejectsWithCode(new Envelope({ keyring: source }).rewrap(clean, { to: LocalKeyring.generate() }), 'ERR_AUTH')
  })

  it('bad arguments: TypeError ERR_INVALID_ARGUMENT', async () => {
    const env = new Envelope({ keyring: LocalKeyring.generate() })
    const message = await env.encrypt('x')
    await rejectsWithCode(env.rewrap(message, { to: [] }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.rewrap(message, { to: LocalKeyring.generate(), keep: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(env.rewrap('x' as unknown as Uint8Array, { to: LocalKeyring.generate() }), 'ERR_INVALID_ARGUMENT')
  })
})

describe('KmsKeyring options and ARN rules', () => {
  it('refuses bad options with ERR_INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { keyIds: [] },
      { keyIds: ['kms:alias/x'] },
      { keyIds: ['alias/x', 'alias/x'] },
      { keyIds: [''] },
      { keyIds: ['alias/x'], grantTokens: [''] },
      { keyIds: ['alias/x'], grantTokens: Array(11).fill('t') },
      { discovery: { accountIds: ['123'], partition: 'aws' } },
      { discovery: { accountIds: [MOTO_ACCOUNT], partition: '' } },
      { keyIds: ['alias/x'], client: {} },
    ]
    for (const options of bad) {
      assert.throws(
        () => new KmsKeyring(options as never),
        (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARGUMENT',
        JSON.stringify(options),
      )
    }
    new KmsKeyring({ keyIds: ['alias/x', '1234abcd-12ab-34cd-56ef-1234567890ab', `arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:alias/x`] })
  })

  it('parses ARNs and matches multi-Region replicas only within one partition, account and key id', () => {
    const east = parseKeyArn(`arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef`)!
    const west = parseKeyArn(`arn:aws:kms:eu-west-1:${MOTO_ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef`)!
    assert.ok(keyArnsMatch(west, east) && keyArnsMatch(east, west) && keyArnsMatch(east, east))
    assert.equal(formatKmsArn(east, 'eu-west-1'), formatKmsArn(west))
    const otherAccount = parseKeyArn(formatKmsArn(east).replace(MOTO_ACCOUNT, '111122223333'))!
    const otherPartition = parseKeyArn(formatKmsArn(east).replace('arn:aws:', 'arn:aws-cn:'))!
    assert.ok(!keyArnsMatch(east, otherAccount) && !keyArnsMatch(east, otherPartition))
    const single = parseKeyArn(`arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`)!
    assert.ok(!keyArnsMatch(single, parseKeyArn(formatKmsArn(single, 'eu-west-1'))!))
    assert.equal(parseKeyArn(`arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:alias/x`), undefined)
    assert.equal(parseKmsArn(`arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:alias/x`)?.resourceType, 'alias')
    for (const junk of ['arn:aws:kms:us-east-1:12345:key/x', 'arn:aws:s3:us-east-1:123456789012:key/x', 'arn:aws:kms:us-east-1:123456789012:key/', ''])
      assert.equal(parseKmsArn(junk), undefined, junk)
  })
})
