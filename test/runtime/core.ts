/** Buffer round trips, tamper codes and the data-key cache: only the 'kms-envelope' core, imported by its name as an app does (so the build the runtime's conditions select). */
import { armor, blobSource, bytesSource, closeWorkerPools, dearmor, Envelope, fromBase64url, inspect, KeyCache, LocalKeyring, toBase64url } from 'kms-envelope'
import { CountingKeyring } from '../counting-keyring.js'
import { pattern } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, ok, rejectsWithCode } from './harness.js'

const keyA = (): LocalKeyring => new LocalKeyring({ keyId: 'rt-a', key: pattern(32, 1) })
const keyB = (): LocalKeyring => new LocalKeyring({ keyId: 'rt-b', key: pattern(32, 2) })
const utf8 = new TextDecoder('utf-8', { fatal: true })

export const coreCases: Case[] = [
  {
    name: "parallelism 2 and 'auto': a 5 MiB buffer round trips both ways with a single-thread Envelope (worker threads where the runtime resolves node)",
    async run() {
      const plaintext = pattern(5 * 1024 * 1024 + 7, 4)
      const one = new Envelope({ keyring: keyA() })
      for (const parallelism of [2, 'auto'] as const) {
        const par = new Envelope({ keyring: keyA(), parallelism })
        equal((await one.decrypt(await par.encrypt(plaintext))).plaintext, plaintext, `${parallelism}: written in parallel`)
        equal((await par.decrypt(await one.encrypt(plaintext))).plaintext, plaintext, `${parallelism}: opened in parallel`)
      }
      await closeWorkerPools()
    },
  },
  {
    name: 'round trip: bytes of 0, 1, 63, 64, 65 and 1000 with 64-byte frames, and with the default frames',
    async run() {
      for (const frameSize of [64, undefined]) {
        const env = new Envelope({ keyring: keyA(), ...(frameSize === undefined ? {} : { frameSize }) })
        for (const size of [0, 1, 63, 64, 65, 1000]) {
          const plaintext = pattern(size, size + 7)
          const message = await env.encrypt(plaintext)
          equal((await env.decrypt(message)).plaintext, plaintext, `${size} bytes, frame ${frameSize ?? 'default'}`)
        }
      }
    },
  },
  {
    name: 'round trip: a UTF-8 string with a context; the context comes back, expectContext passes',
    async run() {
      const env = new Envelope({ keyring: keyA() })
      const text = 'naïve café 🔐 078-05-1120'
      const message = await env.encrypt(text, { context: { tenant: 'acme', table: 'users' } })
      const result = await env.decrypt(message, { expectContext: { tenant: 'acme' } })
      equal(utf8.decode(result.plaintext), text, 'plaintext')
      equal(result.context, { table: 'users', tenant: 'acme' }, 'context')
      equal(result.keyId, 'rt-a', 'keyId')
      equal(inspect(message).context, { table: 'users', tenant: 'acme' }, 'inspect().context')
    },
  },
  {
    name: 'two recipients: each key alone decrypts; another context is ERR_CONTEXT_MISMATCH',
    async run() {
      const message = await new Envelope({ keyring: [keyA(), keyB()] }).encrypt('for both', { context: { k: 'v' } })
      for (const keyring of [keyA(), keyB()]) equal(utf8.decode((await new Envelope({ keyring }).decrypt(message)).plaintext), 'for both', keyring.description)
      await rejectsWithCode(new Envelope({ keyring: keyB() }).decrypt(message, { expectContext: { k: 'w' } }), 'ERR_CONTEXT_MISMATCH', 'wrong context')
    },
  },
  {
    name: 'tamper codes: magic, header, header tag, a frame, the last byte, truncation, trailing bytes, other keys',
    async run() {
      const env = new Envelope({ keyring: keyA(), frameSize: 64 })
      const message = await env.encrypt(pattern(150, 9), { context: { tenant: 'vvvv' } })
      const flip = (at: number): Uint8Array => {
        const m = message.slice()
        m[at]! ^= 0x01
        return m
      }
      const headerLength = new DataView(message.buffer, message.byteOffset).getUint32(5)
      const value = new TextEncoder().encode('vvvv')
      const inContext = message.findIndex((_, i) => value.every((b, k) => message[i + k] === b)) + 3
      ok(inContext > 9 && inContext < 9 + headerLength, `the context value is in the header (at ${inContext})`)
      const headerEnd = inspect(message).headerBytes
      await rejectsWithCode(env.decrypt(flip(0)), 'ERR_FORMAT', 'magic')
      // 'vvvv' -> 'vvvw' keeps the CBOR canonical; the local wrap binds the context, so unwrapping fails first (FORMAT.md §9).
      await rejectsWithCode(env.decrypt(flip(inContext)), 'ERR_UNWRAP', 'a context byte')
      await rejectsWithCode(env.decrypt(flip(9 + headerLength)), 'ERR_AUTH', 'the header tag')
      await rejectsWithCode(env.decrypt(flip(headerEnd + 10)), 'ERR_AUTH', 'the first frame')
      await rejectsWithCode(env.decrypt(flip(message.length - 1)), 'ERR_AUTH', 'the final tag')
      await rejectsWithCode(env.decrypt(message.subarray(0, 20)), 'ERR_TRUNCATED', 'cut in the header')
      await rejectsWithCode(env.decrypt(message.subarray(0, message.length - 1)), 'ERR_AUTH', 'cut by one byte')
      await rejectsWithCode(env.decrypt(new Uint8Array([...message, 0])), 'ERR_AUTH', 'one trailing byte')
      await rejectsWithCode(new Envelope({ keyring: keyB() }).decrypt(message), 'ERR_NO_MATCHING_KEY', 'another key id')
      const impostor = new LocalKeyring({ keyId: 'rt-a', key: pattern(32, 3) })
      await rejectsWithCode(new Envelope({ keyring: impostor }).decrypt(message), 'ERR_UNWRAP', 'same key id, other key')
      equal((await env.decrypt(message)).plaintext, pattern(150, 9), 'the untouched message')
    },
  },
  {
    name: 'data-key cache: 50 encrypts make 1 generate; 50 decrypts of them make 1 unwrap, then hits',
    async run() {
      const keyring = new CountingKeyring(keyA())
      const cache = new KeyCache({ maxEntries: 10, maxAge: 60_000 })
      const env = new Envelope({ keyring, cache })
      const messages = await Promise.all(Array.from({ length: 50 }, (_, i) => env.encrypt(`record ${i}`, { context: { t: 'x' } })))
      equal(keyring.calls.generate, 1, 'generate calls')
      equal(new Set(messages.map((m) => inspect(m).messageId)).size, 50, 'distinct message ids')
      const reader = new CountingKeyring(keyA())
      const readEnv = new Envelope({ keyring: reader, cache: new KeyCache({ maxEntries: 10, maxAge: 60_000 }) })
      for (const [i, m] of messages.entries()) equal(utf8.decode((await readEnv.decrypt(m)).plaintext), `record ${i}`, `message ${i}`)
      equal(reader.calls.unwrap, 1, 'unwrap calls')
      const stats = cache.stats()
      equal(stats.entries, 1, 'entries in the writer cache')
      ok(stats.misses >= 1 && stats.hits + stats.joined === 49, `writer cache stats ${JSON.stringify(stats)}`)
    },
  },
  {
    name: 'text forms: decryptString (ERR_NOT_TEXT for bytes), base64url and ASCII armor round trips, strict decoders',
    async run() {
      const env = new Envelope({ keyring: keyA() })
      const message = await env.encrypt('naïve 🔐')
      equal(await env.decryptString(message), 'naïve 🔐', 'decryptString')
      await rejectsWithCode(env.decryptString(await env.encrypt(Uint8Array.of(0xff))), 'ERR_NOT_TEXT', 'decryptString of a non-UTF-8 plaintext')
      equal(fromBase64url(toBase64url(message)), message, 'base64url round trip')
      const armored = armor(message)
      ok(armored.startsWith('-----BEGIN KMS-ENVELOPE MESSAGE-----\n'), 'armor header line')
      equal(dearmor(armored), message, 'armor round trip')
      let code: unknown
      try {
        fromBase64url(`${toBase64url(message)}=`)
      } catch (error) {
        code = (error as { code?: unknown }).code
      }
      equal(code, 'ERR_FORMAT', 'padded base64url is refused')
    },
  },
  {
    name: 'random access: ranges across 64-byte frames from bytes and a Blob match; an altered frame is ERR_AUTH on the read that touches it',
    async run() {
      const env = new Envelope({ keyring: keyA(), frameSize: 64 })
      const plaintext = pattern(1000, 5)
      const message = await env.encrypt(plaintext)
      for (const source of [bytesSource(message), blobSource(new Blob([message as Uint8Array<ArrayBuffer>]))]) {
        const reader = await env.openRandomAccess(source)
        equal(reader.size, 1000, 'size')
        for (const [offset, length] of [
          [0, 1],
          [63, 2],
          [500, 300],
          [999, 5],
          [1000, 1],
        ] as const) {
          equal(await reader.read(offset, length), plaintext.slice(offset, offset + length), `read(${offset}, ${length})`)
        }
        reader.close()
      }
      const altered = message.slice()
      const at = altered.length - 200
      altered[at] = (altered[at] ?? 0) ^ 1
      const reader = await env.openRandomAccess(bytesSource(altered))
      equal(await reader.read(0, 64), plaintext.slice(0, 64), 'an intact frame still reads')
      await rejectsWithCode(reader.read(0, 1000), 'ERR_AUTH', 'a read over the altered frame')
      reader.close()
    },
  },
]
