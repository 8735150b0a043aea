/**
 * KMS test helpers: the moto endpoint, KMS clients that count their calls, key setup, and an
 * SDK-level fake KMS for what moto cannot do. Imports the AWS SDK, so only kms* tests use it.
 */
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import type { KMSClientConfig } from '@aws-sdk/client-kms'
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import type { Recipient } from '../src/format/header.js'
import { encodeRecipientsSection, parseHead } from '../src/format/message.js'
import { ROOT } from './helpers.js'

export const REGION = 'us-east-1'
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' }
/** moto's account. */
export const MOTO_ACCOUNT = '123456789012'

let started: Promise<string> | undefined

/**
 * The moto endpoint: scripts/test.js passes it in KMSE_TEST_KMS_ENDPOINT; a file run on its
 * own starts its own server. Never skips: no server is a failure.
 */
export function kmsEndpoint(): Promise<string> {
  const fromRunner = process.env.KMSE_TEST_KMS_ENDPOINT
  if (fromRunner !== undefined && fromRunner !== '') return Promise.resolve(fromRunner)
  started ??= (async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const script = pathToFileURL(join(ROOT, 'scripts', 'kms-server.js')).href
    const { startKmsServer } = (await import(script)) as { startKmsServer(): Promise<{ endpoint: string }> }
    return (await startKmsServer()).endpoint
  })()
  return started
}

/** Per-command call counts of one client, e.g. `{ Decrypt: 1 }`. */
export interface CallCounter {
  /** Counts since the last take(), then resets. Commands not called are absent. */
  take(): Record<string, number>
}

/** Counts every command sent through `client` (once per send, whatever the SDK retries). */
export function countCalls(client: KMSClient | { readonly middlewareStack: unknown }): CallCounter {
  let counts: Record<string, number> = {}
  // Every AWS SDK v3 client has the same middleware stack: DynamoDB clients are counted alike.
  ;(client.middlewareStack as KMSClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '')
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    { step: 'initialize', name: 'kmseTestCallCounter' },
  )
  return {
    take() {
      const out = counts
      counts = {}
      return out
    },
  }
}

/** A client for moto with a call counter. */
export async function motoClient(region = REGION, extra: Partial<KMSClientConfig> = {}): Promise<{ client: KMSClient; calls: CallCounter }> {
  const client = new KMSClient({ region, endpoint: await kmsEndpoint(), credentials: CREDENTIALS, ...extra })
  return { client, calls: countCalls(client) }
}

/** Creates a key on moto (through its own, uncounted client) and returns its ARN. */
export async function createKey(region = REGION): Promise<string> {
  const admin = new KMSClient({ region, endpoint: await kmsEndpoint(), credentials: CREDENTIALS })
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Description: 'kms-envelope test' }))
  return KeyMetadata!.Arn!
}

/** Creates `alias/kmse-test-<random>` for `keyArn` and returns the alias name. */
export async function createAlias(keyArn: string, region = REGION): Promise<string> {
  const admin = new KMSClient({ region, endpoint: await kmsEndpoint(), credentials: CREDENTIALS })
  const name = `alias/kmse-test-${Math.random().toString(36).slice(2, 10)}`
  await admin.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keyArn }))
  return name
}

export async function adminClient(region = REGION): Promise<KMSClient> {
  return new KMSClient({ region, endpoint: await kmsEndpoint(), credentials: CREDENTIALS })
}

// ---------------------------------------------------------------------------------------
// SDK-level fake KMS. A real KMSClient whose HTTP handler answers KMS's JSON protocol in
// process: requests are serialised, signed and errors parsed by the SDK exactly as with
// AWS. Used only for what moto lacks (DisabledException, KMSInvalidStateException,
// IncorrectKeyException, multi-Region decrypt, grant enforcement) and for observing what
// reaches the HTTP layer (abort signals, Regions, retries). Ciphertext blobs are JSON, not
// encrypted: this fake checks semantics, not KMS's cryptography.
// ---------------------------------------------------------------------------------------

export type FakeKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion'

interface FakeKey {
  readonly arn: string
  /** Same for every replica of a multi-Region key. */
  readonly identity: string
  state: FakeKeyState
  /** When set, calls must present this grant token (the caller has no other permission). */
  grantToken?: string
}

/** One HTTP request the fake received. */
export interface FakeRequest {
  readonly operation: string
  readonly region: string
  readonly input: Record<string, unknown>
  readonly abortSignal: unknown
}

class FakeError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
  }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

export class FakeKms {
  readonly requests: FakeRequest[] = []
  readonly #keys = new Map<string, FakeKey>()
  readonly #aliases = new Map<string, string>()
  #next = 1
  /** Answer every request with this error type (e.g. ThrottlingException). */
  failWith: string | undefined
  /** Never answer; settle only when the request is aborted. */
  hang = false

  createKey(region: string, options: { multiRegion?: boolean; account?: string } = {}): string {
    const id = options.multiRegion
      ? `mrk-${(this.#next++).toString(16).padStart(32, '0')}`
      : `00000000-0000-4000-8000-${(this.#next++).toString(16).padStart(12, '0')}`
    const arn = `arn:aws:kms:${region}:${options.account ?? MOTO_ACCOUNT}:key/${id}`
    this.#keys.set(arn, { arn, identity: options.multiRegion ? `${options.account ?? MOTO_ACCOUNT}/${id}` : arn, state: 'Enabled' })
    return arn
  }

  /** A replica of multi-Region key `arn` in `region`. */
  replicate(arn: string, region: string): string {
    const key = this.#keys.get(arn)!
    const replica = arn.replace(/^(arn:[^:]+:kms:)[^:]+/, `$1${region}`)
    this.#keys.set(replica, { arn: replica, identity: key.identity, state: 'Enabled' })
    return replica
  }

  createAlias(name: string, arn: string): void {
    this.#aliases.set(`${arn.split(':')[3]}/${name}`, arn)
  }

  setState(arn: string, state: FakeKeyState): void {
    this.#keys.get(arn)!.state = state
  }

  requireGrant(arn: string, token: string): void {
    this.#keys.get(arn)!.grantToken = token
  }

  /** Requests per operation since the last call, then resets. */
  take(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const r of this.requests.splice(0)) out[r.operation] = (out[r.operation] ?? 0) + 1
    return out
  }

  client(region: string, extra: Partial<KMSClientConfig> = {}): KMSClient {
    return new KMSClient({
      region,
      credentials: CREDENTIALS,
      ...extra,
      requestHandler: {
        handle: async (request: { headers: Record<string, string>; body?: unknown }, options?: { abortSignal?: AbortSignal }) => {
          const operation = String(request.headers['x-amz-target']).replace('TrentService.', '')
          const raw = request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : String(request.body ?? '{}')
          const input = JSON.parse(raw) as Record<string, unknown>
          this.requests.push({ operation, region, input, abortSignal: options?.abortSignal })
          if (this.hang) {
            await new Promise((_, reject) => {
              const signal = options?.abortSignal
              const fail = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))
              if (signal?.aborted) fail()
              signal?.addEventListener('abort', fail, { once: true })
            })
          }
          let status = 200
          let body: unknown
          try {
            if (this.failWith !== undefined) throw new FakeError(this.failWith, `fake ${this.failWith}`)
            body = this.#answer(operation, region, input)
          } catch (error) {
            if (!(error instanceof FakeError)) throw error
            status = error.status
            body = { __type: error.type, message: error.message }
          }
          return {
            response: {
              statusCode: status,
              headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `fake-${this.requests.length}` },
              body: Readable.from([Buffer.from(JSON.stringify(body))]),
            },
          }
        },
      } as never,
    })
  }

  #resolve(keyId: string, region: string, account = MOTO_ACCOUNT): FakeKey {
    let arn = keyId
    if (keyId.startsWith('alias/')) arn = this.#aliases.get(`${region}/${keyId}`) ?? ''
    else if (!keyId.startsWith('arn:')) arn = `arn:aws:kms:${region}:${account}:key/${keyId}`
    const key = this.#keys.get(arn)
    if (key === undefined || arn.split(':')[3] !== region) throw new FakeError('NotFoundException', `Key '${keyId}' does not exist`)
    return key
  }

  #usable(key: FakeKey, input: Record<string, unknown>): void {
    if (key.state === 'Disabled') throw new FakeError('DisabledException', `${key.arn} is disabled.`)
    if (key.state === 'PendingDeletion') throw new FakeError('KMSInvalidStateException', `${key.arn} is pending deletion.`)
    if (key.grantToken !== undefined && !((input.GrantTokens as string[] | undefined) ?? []).includes(key.grantToken)) {
      throw new FakeError('AccessDeniedException', `User is not authorized to use ${key.arn}`)
    }
  }

  #seal(key: FakeKey, context: unknown, dataKey: Uint8Array): string {
    return b64(Buffer.from(JSON.stringify({ k: key.identity, c: context ?? {}, d: b64(dataKey) })))
  }

  #open(key: FakeKey, blob: unknown, context: unknown): Uint8Array {
    let sealed: { k: string; c: unknown; d: string }
    try {
      sealed = JSON.parse(Buffer.from(String(blob), 'base64').toString('utf8'))
    } catch {
      throw new FakeError('InvalidCiphertextException', '')
    }
    if (sealed.k !== key.identity)
      throw new FakeError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.')
    if (JSON.stringify(sealed.c) !== JSON.stringify(context ?? {})) throw new FakeError('InvalidCiphertextException', '')
    return Buffer.from(sealed.d, 'base64')
  }

  #answer(operation: string, region: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'GenerateDataKey': {
        const key = this.#resolve(String(input.KeyId), region)
        this.#usable(key, input)
        const dataKey = new Uint8Array(32).map(() => Math.floor(Math.random() * 256))
        return { KeyId: key.arn, Plaintext: b64(dataKey), CiphertextBlob: this.#seal(key, input.EncryptionContext, dataKey) }
      }
      case 'Encrypt': {
        const key = this.#resolve(String(input.KeyId), region)
        this.#usable(key, input)
        return { KeyId: key.arn, CiphertextBlob: this.#seal(key, input.EncryptionContext, Buffer.from(String(input.Plaintext), 'base64')) }
      }
      case 'Decrypt': {
        const key = this.#resolve(String(input.KeyId), region)
        this.#usable(key, input)
        return { KeyId: key.arn, Plaintext: b64(this.#open(key, input.CiphertextBlob, input.EncryptionContext)) }
      }
      case 'ReEncrypt': {
        const source = this.#resolve(String(input.SourceKeyId), region)
        const destination = this.#resolve(String(input.DestinationKeyId), region)
        this.#usable(source, input)
        this.#usable(destination, input)
        const dataKey = this.#open(source, input.CiphertextBlob, input.SourceEncryptionContext)
        return { SourceKeyId: source.arn, KeyId: destination.arn, CiphertextBlob: this.#seal(destination, input.DestinationEncryptionContext, dataKey) }
      }
      case 'DescribeKey': {
        const key = this.#resolve(String(input.KeyId), region)
        return { KeyMetadata: { Arn: key.arn, KeyId: key.arn.split('/')[1], KeyState: key.state } }
      }
      default:
        throw new FakeError('UnsupportedOperationException', `the fake does not implement ${operation}`)
    }
  }
}

/** `message` with its recipients section replaced (the same splice rewrap does; no checks). */
export function withRecipients(message: Uint8Array, recipients: readonly Recipient[]): Uint8Array {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  const prefixEnd = parsed.head.authenticated.length + 16
  const section = encodeRecipientsSection(recipients)
  return Uint8Array.from([...message.subarray(0, prefixEnd), ...section, ...message.subarray(parsed.head.bodyOffset)])
}

/** The recipients of `message`, parsed. */
export function recipientsOf(message: Uint8Array): Recipient[] {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  return [...parsed.head.recipients]
}

/** Header and body of `message`: everything but the recipients section. */
export function withoutRecipients(message: Uint8Array): { prefix: Buffer; body: Buffer } {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  return { prefix: Buffer.from(message.subarray(0, parsed.head.authenticated.length + 16)), body: Buffer.from(message.subarray(parsed.head.bodyOffset)) }
}

/**
 * KMS calls that named `keyArn` since the last query, counted by the server itself
 * (scripts/moto-kms-shim.py), e.g. `{ GetPublicKey: 1 }`; resets them.
 */
export async function serverCalls(keyArn: string): Promise<Record<string, number>> {
  const response = await fetch(await kmsEndpoint(), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.KmseTestCalls',
      authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/20260101/${REGION}/kms/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify({ KeyId: keyArn }),
  })
  if (!response.ok) throw new Error(`the KMS test server did not count calls (${response.status}): is it started through scripts/moto-kms-shim.py?`)
  return ((await response.json()) as { Calls: Record<string, number> }).Calls
}
