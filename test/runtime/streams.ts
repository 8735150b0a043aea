/** Web Streams (TransformStream) encrypt/decrypt on the runtime's own ReadableStream, and fields. */
import { Envelope, FieldEncryptor, inspect, LocalKeyring } from 'kms-envelope'
import { pattern } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, ok, rejectsWithCode } from './harness.js'

const env = (): Envelope => new Envelope({ keyring: new LocalKeyring({ keyId: 'rt-stream', key: pattern(32, 21) }), frameSize: 1024 })

function readableOf(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + chunk))
      at += chunk
    },
  })
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** Reads a stream to its end or error: what it released before failing, and the error. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ released: number; error: unknown }> {
  const reader = stream.getReader()
  let released = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { released, error: undefined }
      released += value.length
    }
  } catch (error) {
    return { released, error }
  }
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | undefined)?.code

export const streamCases: Case[] = [
  {
    name: 'Web streams: 10,000 bytes in chunks of 1, 333 and 4096 encrypt by stream and decrypt by stream and by buffer',
    async run() {
      const e = env()
      const plaintext = pattern(10_000, 5)
      for (const chunk of [1, 333, 4096]) {
        const message = await bytesOf(readableOf(plaintext, chunk).pipeThrough(e.encryptStream({ context: { chunk: String(chunk) } })))
        equal(inspect(message).frameSize, 1024, 'frame size')
        equal((await e.decrypt(message)).plaintext, plaintext, `buffer decrypt, chunks of ${chunk}`)
        const decrypting = e.decryptStream({ expectContext: { chunk: String(chunk) } })
        equal(await bytesOf(readableOf(message, chunk).pipeThrough(decrypting)), plaintext, `stream decrypt, chunks of ${chunk}`)
        equal((await decrypting.info).context, { chunk: String(chunk) }, 'info.context')
      }
    },
  },
  {
    name: 'Web streams: a message cut at a frame boundary is ERR_TRUNCATED after the authentic frames; a flipped frame byte is ERR_AUTH',
    async run() {
      const e = env()
      const message = await e.encrypt(pattern(5000, 6))
      const head = inspect(message).headerBytes
      // Frames are 1024 bytes + 16-byte tag; cut after two full frames.
      const cut = await drain(readableOf(message.subarray(0, head + 2 * (1024 + 16)), 700).pipeThrough(e.decryptStream()))
      equal(codeOf(cut.error), 'ERR_TRUNCATED', 'cut at a frame boundary')
      equal(cut.released, 2048, 'bytes released before the cut was found')
      const flipped = message.slice()
      flipped[head + 1024 + 16 + 5]! ^= 0x80
      const bad = await drain(readableOf(flipped, 512).pipeThrough(e.decryptStream()))
      equal(codeOf(bad.error), 'ERR_AUTH', 'a byte of frame 1')
      equal(bad.released, 1024, 'only frame 0 released')
      await rejectsWithCode(
        bytesOf(readableOf(message, 999).pipeThrough(e.decryptStream({ expectContext: { no: 'such' } }))),
        'ERR_CONTEXT_MISMATCH',
        'expectContext',
      )
    },
  },
  {
    name: 'fields: FieldEncryptor round trip of typed values; a tampered field is ERR_FIELD, a moved record ERR_CONTEXT_MISMATCH',
    async run() {
      const envelope = env()
      const indexKey = await FieldEncryptor.createIndexKey(envelope)
      const fields = new FieldEncryptor({
        envelope,
        indexKey,
        schema: { ssn: 'random', email: 'deterministic', 'profile.born': 'random', 'profile.tags': 'random' },
      })
      const record = { id: 7, ssn: '078-05-1120', email: 'ann@example.com', profile: { born: new Date(Date.UTC(1990, 1, 3)), tags: ['a', 1n, -0, null] } }
      const context = { table: 'users', tenant: 'acme' }
      const stored = await fields.encryptRecord(record, { context })
      ok(typeof stored.ssn === 'string' && stored.ssn.startsWith('kmse1r.'), `ssn is stored encrypted: ${String(stored.ssn)}`)
      ok(typeof stored.email === 'string' && stored.email.startsWith('kmse1d.'), 'email is stored deterministically')
      equal(stored.id, 7, 'fields outside the schema pass through')
      equal(await fields.decryptRecord(stored, { expectContext: context }), record, 'round trip')
      equal(await fields.deterministicValue('email', 'ann@example.com', { context }), stored.email, 'deterministic value matches the stored one')
      const ssn = stored.ssn as string
      const tampered = { ...stored, ssn: `${ssn.slice(0, -3)}${ssn.at(-3) === 'A' ? 'B' : 'A'}${ssn.slice(-2)}` }
      await rejectsWithCode(fields.decryptRecord(tampered, { expectContext: context }), 'ERR_FIELD', 'a changed ssn character')
      await rejectsWithCode(fields.decryptRecord({ ...stored, ssn: stored.email }, { expectContext: context }), 'ERR_FIELD', 'a value from another field')
      await rejectsWithCode(fields.decryptRecord(stored, { expectContext: { tenant: 'other' } }), 'ERR_CONTEXT_MISMATCH', 'another tenant')
      fields.close()
    },
  },
]
