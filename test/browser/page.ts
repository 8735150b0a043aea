/**
 * The checks that run inside headless Chromium (test/browser.test.ts bundles this file with
 * esbuild for the browser and serves it). No Node API is available here, and none is
 * polyfilled: the core must work on Uint8Array, WebCrypto's getRandomValues and @noble alone.
 *
 * Each entry of CHECKS is one named check; to test another surface in the browser (a stream,
 * say), add an entry: it receives the Node-side input and throws to fail.
 */
import { bytesToHex, hexToBytes } from '@noble/ciphers/utils.js'
import {
  AuthenticationError,
  blobSource,
  ContextMismatchError,
  Envelope,
  EnvelopeError,
  HierarchicalKeyring,
  inspect,
  KeyCache,
  LimitError,
  LocalKeyring,
  NoMatchingKeyError,
  PassphraseKeyring,
  PostQuantumIdentity,
  parseIdentity,
  parsePublicKeyRecipient,
  X25519Identity,
} from '../../src/index.js'
import { MemoryBranchKeyStore } from '../memory-branch-key-store.js'
import { pattern } from '../pattern.js'

/** What the Node side passes in: the success test vectors, and a key to encrypt a message for Node. */
export interface PageInput {
  readonly vectors: ReadonlyArray<{
    readonly name: string
    readonly keys: ReadonlyArray<{ readonly keyId: string; readonly key: string }>
    readonly message: string
    readonly plaintext: string
    readonly context: Readonly<Record<string, string>>
  }>
  readonly forNode: { readonly keyId: string; readonly key: string; readonly plaintext: string; readonly context: Readonly<Record<string, string>> }
  /** The positive public-key recipient vectors (FORMAT.md §16), and age recipients Node holds the identities of. */
  readonly publicKeys?: {
    readonly vectors: ReadonlyArray<{ readonly name: string; readonly identities: readonly string[]; readonly message: string; readonly plaintext: string }>
    readonly recipientsForNode: readonly string[]
  }
}

export interface CheckResult {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface PageReport {
  readonly results: readonly CheckResult[]
  /** A message the page encrypted with `forNode`, hex, for Node to decrypt. */
  readonly messageForNode: string
  /** A message the page encrypted to `publicKeys.recipientsForNode`, hex. */
  readonly publicKeyMessageForNode?: string
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what)
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** A context as text, independent of property order (JS puts integer-like keys first). */
const sortedEntries = (o: object): string => JSON.stringify(Object.entries(o).sort())

/** The code of the EnvelopeError `run` raises; anything else fails the check. */
async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run()
  } catch (error) {
    expect(error instanceof EnvelopeError, `expected an EnvelopeError, got ${String(error)}`)
    return error.code
  }
  throw new Error('expected a failure, but it succeeded')
}

const keyring = (keyId: string, seed: number): LocalKeyring => new LocalKeyring({ keyId, key: pattern(32, seed) })

type Check = (input: PageInput, report: { messageForNode: string; publicKeyMessageForNode?: string }) => Promise<string>

const CHECKS: Record<string, Check> = {
  'passphrase (scrypt) round trip, and a hostile work factor refused before scrypt': async () => {
    const env = new Envelope({ keyring: new PassphraseKeyring({ passphrase: 'browser pass', workFactor: 12 }) })
    const message = await env.encrypt('typed in a browser', { context: { where: 'chromium' } })
    const out = await env.decrypt(message, { expectContext: { where: 'chromium' } })
    expect(new TextDecoder().decode(out.plaintext) === 'typed in a browser', 'passphrase round trip differs')
    const low = new Envelope({ keyring: new PassphraseKeyring({ passphrase: 'browser pass', maxWorkFactor: 11 }) })
    const started = performance.now()
    const code = await codeOf(() => low.decrypt(message))
    expect(code === 'ERR_LIMIT', `a work factor above the limit gave ${code}`)
    return `ERR_LIMIT in ${(performance.now() - started).toFixed(0)} ms`
  },

  'no Buffer, process or require: nothing Node-only, no polyfill': async () => {
    expect(typeof (globalThis as { Buffer?: unknown }).Buffer === 'undefined', 'Buffer is defined in the page')
    expect(typeof (globalThis as { process?: unknown }).process === 'undefined', 'process is defined in the page')
    expect(typeof (globalThis as { require?: unknown }).require === 'undefined', 'require is defined in the page')
    expect(typeof globalThis.crypto.getRandomValues === 'function', 'no crypto.getRandomValues')
    return navigator.userAgent
  },

  'round trips at frame boundaries (frame sizes 64, 100, 4096) and 1 MiB + 3 at the default': async () => {
    let n = 0
    for (const frameSize of [64, 100, 4096]) {
      const env = new Envelope({ keyring: keyring('browser-a', 1), frameSize })
      for (const size of [0, 1, frameSize - 1, frameSize, frameSize + 1, 2 * frameSize, 3 * frameSize + 7]) {
        const plaintext = pattern(size, size + frameSize)
        const message = await env.encrypt(plaintext, { context: { size: String(size) } })
        const info = inspect(message)
        expect(info.plaintextBytes === size && info.frames === Math.floor(size / frameSize) + 1, `inspect disagrees at ${size}/${frameSize}`)
        const result = await env.decrypt(message, { expectContext: { size: String(size) } })
        expect(equalBytes(result.plaintext, plaintext), `round trip differs at ${size} bytes, frame size ${frameSize}`)
        n++
      }
    }
    const big = pattern(1024 * 1024 + 3, 5)
    const env = new Envelope({ keyring: keyring('browser-a', 1) })
    const started = performance.now()
    const out = await env.decrypt(await env.encrypt(big))
    expect(equalBytes(out.plaintext, big), '1 MiB + 3 round trip differs')
    return `${n} sizes, and 1 MiB + 3 bytes in ${(performance.now() - started).toFixed(0)} ms`
  },

  'strings as UTF-8, and contexts in any script': async () => {
    const env = new Envelope({ keyring: keyring('browser-a', 1), frameSize: 64 })
    const context = { 'é': 'ü', z: '世界', '10': 'ten', '9': 'nine', ['__proto__']: 'not a prototype', '🔑': '' }
    const message = await env.encrypt('grüße, 世界 🔐', { context })
    const result = await env.decrypt(message, { expectContext: { '🔑': '', z: '世界' } })
    expect(new TextDecoder().decode(result.plaintext) === 'grüße, 世界 🔐', 'string round trip differs')
    expect(JSON.stringify(result.context) === JSON.stringify(inspect(message).context), 'context differs between decrypt and inspect')
    expect(sortedEntries(result.context) === sortedEntries(context), `context differs: ${sortedEntries(result.context)}`)
    expect(
      Object.hasOwn(result.context, '__proto__') && Object.getPrototypeOf(result.context) === Object.prototype,
      'the "__proto__" key must stay an own property',
    )
    const mismatch = await env.decrypt(message, { expectContext: { z: 'other' } }).catch((e: unknown) => e)
    expect(mismatch instanceof ContextMismatchError && mismatch.code === 'ERR_CONTEXT_MISMATCH', 'expected ERR_CONTEXT_MISMATCH')
    return 'ok'
  },

  'three recipients: each decrypts alone, a stranger gets ERR_NO_MATCHING_KEY': async () => {
    const rings = [keyring('browser-a', 1), keyring('browser-b', 2), keyring('browser-c', 3)]
    const plaintext = pattern(300, 9)
    const message = await new Envelope({ keyring: rings, frameSize: 64 }).encrypt(plaintext)
    for (const ring of rings) {
      const result = await new Envelope({ keyring: ring }).decrypt(message)
      expect(equalBytes(result.plaintext, plaintext) && result.keyId === ring.keyId, `${ring.keyId} could not decrypt`)
      expect(result.keyIds.join(',') === 'browser-a,browser-b,browser-c', 'key ids out of order')
    }
    const stranger = await new Envelope({ keyring: keyring('stranger', 4) }).decrypt(message).catch((e: unknown) => e)
    expect(stranger instanceof NoMatchingKeyError && stranger.code === 'ERR_NO_MATCHING_KEY', 'expected ERR_NO_MATCHING_KEY')
    return 'ok'
  },

  'decryptStream: a streamed message decrypts; a flipped byte near the end gives ERR_AUTH': async () => {
    const env = new Envelope({ keyring: keyring('browser-a', 1), frameSize: 64 })
    const plaintext = pattern(1000, 21)
    const message = await env.encrypt(plaintext)
    const streamed = async (bytes: Uint8Array): Promise<Uint8Array> => {
      const input = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 37) controller.enqueue(bytes.slice(at, at + 37))
          controller.close()
        },
      })
      const reader = input.pipeThrough(env.decryptStream()).getReader()
      const chunks: Uint8Array[] = []
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value)
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
      let at = 0
      for (const c of chunks) {
        out.set(c, at)
        at += c.length
      }
      return out
    }
    const back = await streamed(message)
    expect(back.length === plaintext.length && back.every((b, i) => b === plaintext[i]), 'stream round trip differs')
    const encrypted = new Uint8Array(await new Response(new Blob([plaintext as BlobPart]).stream().pipeThrough(env.encryptStream())).arrayBuffer())
    expect((await env.decrypt(encrypted)).plaintext.length === plaintext.length, 'encryptStream output does not decrypt')
    const bad = message.slice()
    bad[bad.length - 3]! ^= 0x01
    expect((await codeOf(() => streamed(bad))) === 'ERR_AUTH', 'expected ERR_AUTH from the stream')
    return 'ok'
  },

  'tampering: every byte flipped and every truncation gives a typed error code': async () => {
    const env = new Envelope({ keyring: keyring('browser-a', 1), frameSize: 64 })
    const message = await env.encrypt(pattern(150, 3), { context: { k: 'v' } })
    const counts: Record<string, number> = {}
    for (let i = 0; i < message.length; i++) {
      const m = message.slice()
      m[i]! ^= 0x01
      const code = await codeOf(() => env.decrypt(m))
      counts[code] = (counts[code] ?? 0) + 1
    }
    for (let n = 0; n < message.length; n++) {
      const code = await codeOf(() => env.decrypt(message.subarray(0, n)))
      counts[code] = (counts[code] ?? 0) + 1
    }
    for (const code of ['ERR_FORMAT', 'ERR_UNSUPPORTED', 'ERR_TRUNCATED', 'ERR_AUTH', 'ERR_UNWRAP', 'ERR_NO_MATCHING_KEY'])
      expect(counts[code], `no ${code}: ${JSON.stringify(counts)}`)
    const body = message.slice()
    body[body.length - 20]! ^= 0x80
    const auth = await env.decrypt(body).catch((e: unknown) => e)
    expect(auth instanceof AuthenticationError && auth.code === 'ERR_AUTH', 'a flipped body byte must be ERR_AUTH')
    return JSON.stringify(counts)
  },

  'hostile heads: 4 GiB header length and nested packed tags are refused at once': async () => {
    const env = new Envelope({ keyring: keyring('browser-a', 1) })
    const huge = Uint8Array.of(0x4b, 0x4d, 0x53, 0x45, 1, 0xff, 0xff, 0xff, 0xff)
    const limit = await env.decrypt(huge).catch((e: unknown) => e)
    expect(limit instanceof LimitError, 'a 4 GiB header length must be ERR_LIMIT')
    const parts: number[] = []
    for (let i = 0; i < 4000; i++) parts.push(0xd8, 0x33, 0x84, 0x81, 0x01, 0xf6, 0xf6)
    const header = Uint8Array.from([...parts, 0x01])
    const m = new Uint8Array(9 + header.length + 40)
    m.set([0x4b, 0x4d, 0x53, 0x45, 1], 0)
    new DataView(m.buffer).setUint32(5, header.length)
    m.set(header, 9)
    const started = performance.now()
    expect((await codeOf(() => env.decrypt(m))) === 'ERR_FORMAT', 'packed tags must be ERR_FORMAT')
    return `refused in ${(performance.now() - started).toFixed(1)} ms`
  },

  'inspect describes a message without any key': async () => {
    const message = await new Envelope({ keyring: [keyring('browser-a', 1), keyring('browser-b', 2)], frameSize: 100 }).encrypt(pattern(250, 1), {
      context: { tenant: 'acme' },
    })
    const info = inspect(message)
    expect(info.version === 1 && info.suite.id === 1 && info.frameSize === 100 && info.frames === 3 && info.plaintextBytes === 250, JSON.stringify(info))
    expect(
      info.context.tenant === 'acme' && info.recipients.map((r) => r.keyId).join() === 'browser-a,browser-b' && info.authenticated === false,
      'inspect fields',
    )
    expect(info.totalBytes === message.length && info.messageId.length === 64, 'inspect sizes')
    return `${info.headerBytes}-byte head, ${info.bodyBytes}-byte body`
  },

  'a data-key cache (lru-cache) serves repeat encrypts and decrypts': async () => {
    const cache = new KeyCache({ maxEntries: 10, maxAge: 60_000 })
    const env = new Envelope({ keyring: keyring('browser-a', 1), cache })
    const a = await env.encrypt('one')
    const b = await env.encrypt('two')
    await env.decrypt(a)
    await env.decrypt(b)
    const stats = cache.stats()
    expect(stats.hits >= 2 && stats.misses === 2, `cache stats ${JSON.stringify(stats)}`)
    return JSON.stringify(stats)
  },

  'a generated key survives its key file': async () => {
    const ring = LocalKeyring.generate({ keyId: 'browser-gen' })
    const message = await new Envelope({ keyring: ring }).encrypt('kept')
    const again = LocalKeyring.fromKeyFile(ring.toKeyFile())
    expect(new TextDecoder().decode((await new Envelope({ keyring: again }).decrypt(message)).plaintext) === 'kept', 'key file round trip')
    expect(!JSON.stringify(ring).includes(ring.toKeyFile().slice(80, 100)), 'the key leaked into JSON')
    return 'ok'
  },

  'the test vectors written by Node decrypt here': async (input) => {
    for (const v of input.vectors) {
      const rings = v.keys.map((k) => new LocalKeyring({ keyId: k.keyId, key: hexToBytes(k.key) }))
      const result = await new Envelope({ keyring: rings }).decrypt(hexToBytes(v.message))
      expect(bytesToHex(result.plaintext) === v.plaintext, `${v.name}: plaintext differs`)
      expect(sortedEntries(result.context) === sortedEntries(v.context), `${v.name}: context differs`)
    }
    return `${input.vectors.length} vectors`
  },

  'random access over a Blob: random ranges match, a Blob slice per read, an altered frame fails': async () => {
    const frameSize = 4096
    const env = new Envelope({ keyring: keyring('browser-a', 1), frameSize })
    const plaintext = pattern(100 * frameSize + 123, 9)
    const message = await env.encrypt(plaintext, { context: { where: 'blob' } })
    const blob = new Blob([message as Uint8Array<ArrayBuffer>])
    let sliced = 0
    const counted = blobSource(blob)
    const read = (offset: number, length: number): Promise<Uint8Array> => {
      sliced += length
      return counted.read(offset, length)
    }
    const reader = await env.openRandomAccess({ size: counted.size, read }, { expectContext: { where: 'blob' } })
    expect(reader.size === plaintext.length, `size ${reader.size}`)
    const atOpen = sliced
    let x = 7
    for (let i = 0; i < 200; i++) {
      x = (x * 1103515245 + 12345) >>> 0
      const start = x % (plaintext.length + 1)
      const length = (x >>> 8) % (3 * frameSize)
      const got = await reader.read(start, length)
      expect(equalBytes(got, plaintext.subarray(start, start + length)), `range ${start}+${length} differs`)
    }
    const streamed = new Uint8Array(await new Response(reader.stream(5000, 50_000)).arrayBuffer())
    expect(equalBytes(streamed, plaintext.subarray(5000, 50_000)), 'stream(5000, 50000) differs')
    reader.close()
    const altered = message.slice()
    altered[message.length - 3 * (frameSize + 16)]! ^= 1
    const bad = await env.openRandomAccess(blobSource(new Blob([altered as Uint8Array<ArrayBuffer>])))
    expect((await codeOf(() => bad.read(plaintext.length - 2 * frameSize - 200, 10))) === 'ERR_AUTH', 'the altered frame was not refused')
    expect(equalBytes(await bad.read(0, 10), plaintext.subarray(0, 10)), 'an intact frame of the altered Blob did not read')
    return `200 ranges of ${plaintext.length} bytes; ${atOpen} bytes sliced at open, ${sliced - atOpen} for the reads`
  },

  'public-key recipients: x25519 and mlkem768x25519 (X-Wing) round trips, vectors, the post-quantum rule': async (input, report) => {
    const given = input.publicKeys
    expect(given !== undefined && given.vectors.length >= 2, 'no recipient vectors were passed in')
    for (const v of given.vectors) {
      const env = new Envelope({ keyring: v.identities.map((s) => parseIdentity(s)) })
      expect(bytesToHex((await env.decrypt(hexToBytes(v.message))).plaintext) === v.plaintext, `${v.name}: wrong plaintext`)
    }
    const x = X25519Identity.generate()
    const pq = PostQuantumIdentity.generate()
    const local = LocalKeyring.generate()
    const plaintext = pattern(1000, 63)
    const mixed = await new Envelope({ keyring: [pq.recipient, x.recipient, local], allowClassicalRecipients: true }).encrypt(plaintext)
    for (const keyring of [x, pq, local]) {
      expect(equalBytes((await new Envelope({ keyring }).decrypt(mixed)).plaintext, plaintext), `${keyring.description} did not decrypt`)
    }
    expect((await codeOf(() => new Envelope({ keyring: x.recipient }).decrypt(mixed))) === 'ERR_NO_MATCHING_KEY', 'a recipient decrypted')
    // Caller misuse is a TypeError with a code, not an EnvelopeError.
    const refused = await new Envelope({ keyring: [pq.recipient, x.recipient] }).encrypt(plaintext).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    )
    expect(refused instanceof TypeError && (refused as { code?: string }).code === 'ERR_INVALID_ARGUMENT', `the rule did not refuse: ${String(refused)}`)
    const forNode = await new Envelope({ keyring: given.recipientsForNode.map((r) => parsePublicKeyRecipient(r)), allowClassicalRecipients: true }).encrypt(
      plaintext,
      {
        context: { from: 'chromium' },
      },
    )
    report.publicKeyMessageForNode = bytesToHex(forNode)
    return `${given.vectors.length} vectors; a ${mixed.length}-byte message for local + x25519 + pq`
  },

  'parallelism is accepted and ignored (no worker pool in a browser): a 5 MiB buffer round trips, same as one thread': async () => {
    const keyring = new LocalKeyring({ keyId: 'par', key: pattern(32, 5) })
    const plaintext = pattern(5 * 1024 * 1024 + 1, 3)
    const message = await new Envelope({ keyring, parallelism: 'auto' }).encrypt(plaintext)
    expect(equalBytes((await new Envelope({ keyring }).decrypt(message)).plaintext, plaintext), 'the parallelism message did not open')
    expect(equalBytes((await new Envelope({ keyring, parallelism: 4 }).decrypt(message)).plaintext, plaintext), 'parallelism 4 did not open it')
    return `${message.length} bytes`
  },

  'hierarchical keyring with an in-page branch key store: 50 tenants, one store read each': async () => {
    // The store an app would proxy to its server; here it lives in the page.
    const store = new MemoryBranchKeyStore('page-store')
    for (let t = 0; t < 50; t++) store.createKey(`tenant-${t}`)
    const keyring = new HierarchicalKeyring({ store, branchKeyIdSupplier: (c) => `tenant-${c.tenant}`, cache: { maxAge: 60_000, maxEntries: 100 } })
    const env = new Envelope({ keyring })
    const jobs: Promise<Uint8Array>[] = []
    for (let i = 0; i < 5; i++) for (let t = 0; t < 50; t++) jobs.push(env.encrypt(`t${t} m${i}`, { context: { tenant: String(t) } }))
    const messages = await Promise.all(jobs)
    for (const [i, m] of messages.entries()) {
      const text = await env.decryptString(m, { expectContext: { tenant: String(i % 50) } })
      expect(text === `t${i % 50} m${Math.floor(i / 50)}`, `message ${i} opened as ${text}`)
    }
    expect(store.totalReads === 50, `${store.totalReads} store reads for 50 tenants`)
    expect(
      (await codeOf(() => env.decrypt(messages[0]!, { expectContext: { tenant: '1' } }))) === 'ERR_CONTEXT_MISMATCH',
      'another tenant’s context was not refused',
    )
    const other = new HierarchicalKeyring({ store, branchKeyId: 'tenant-1', cache: { maxAge: 1000 } })
    expect((await codeOf(() => new Envelope({ keyring: other }).decrypt(messages[0]!))) === 'ERR_NO_MATCHING_KEY', 'another tenant’s keyring opened it')
    return `${messages.length} messages, ${store.totalReads} store reads, cache ${JSON.stringify(keyring.cache.stats())}`
  },

  'a message for Node to decrypt': async (input, report) => {
    const { keyId, key, plaintext, context } = input.forNode
    const message = await new Envelope({ keyring: new LocalKeyring({ keyId, key: hexToBytes(key) }), frameSize: 64 }).encrypt(hexToBytes(plaintext), {
      context,
    })
    report.messageForNode = bytesToHex(message)
    return `${message.length} bytes`
  },
}

/** Runs every check; one failing does not stop the others. */
export async function run(input: PageInput): Promise<PageReport> {
  const results: CheckResult[] = []
  const report: { messageForNode: string; publicKeyMessageForNode?: string } = { messageForNode: '' }
  for (const [name, check] of Object.entries(CHECKS)) {
    try {
      results.push({ name, ok: true, detail: await check(input, report) })
    } catch (error) {
      const e = error as Error & { code?: string }
      results.push({ name, ok: false, detail: `${e.name}${e.code === undefined ? '' : ` ${e.code}`}: ${e.message}\n${e.stack ?? ''}` })
    }
  }
  return {
    results,
    messageForNode: report.messageForNode,
    ...(report.publicKeyMessageForNode === undefined ? {} : { publicKeyMessageForNode: report.publicKeyMessageForNode }),
  }
}

Object.assign(globalThis, { kmseRun: run, kmseReady: true })
