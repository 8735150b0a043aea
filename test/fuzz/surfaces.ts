/**
 * The surfaces hostile input is fed to. Each one reads a message the way its users would and
 * reports every plaintext byte it hands out, so one oracle (oracle.ts) judges them all.
 *
 * To put another reader under the tamper walk and the fuzzer, add a Surface here and list it
 * in SURFACES: for example a streaming decryptor feeds the message in chunks, pushes each chunk
 * it yields to `released`, and sets `partial` (it may release verified frames before failing).
 */
import type { EsdkReadOptions } from '../../src/esdk/index.js'
import { decryptEsdk, decryptEsdkStream } from '../../src/esdk/index.js'
import type { Envelope } from '../../src/index.js'
import { bytesSource, inspect } from '../../src/index.js'
import { concatBytes } from './corpus.js'

/** Error codes a reader may raise for a message that is damaged, hostile or not for it. */
export const READ_CODES: ReadonlySet<string> = new Set([
  'ERR_FORMAT',
  'ERR_TRUNCATED',
  'ERR_UNSUPPORTED',
  'ERR_LIMIT',
  'ERR_AUTH',
  'ERR_UNWRAP',
  'ERR_NO_MATCHING_KEY',
])
/** Codes raised while parsing, before any key is looked at: no keyring may have been called. */
export const PARSE_CODES: ReadonlySet<string> = new Set(['ERR_FORMAT', 'ERR_TRUNCATED', 'ERR_UNSUPPORTED', 'ERR_LIMIT'])

export interface Surface {
  readonly name: string
  /** Codes it may raise on hostile input; anything else is a finding. */
  readonly codes: ReadonlySet<string>
  /** True when it may hand out authenticated frames before failing (streams); buffers release nothing on failure. */
  readonly partial: boolean
  /** True when it decrypts (so success is a claim about the plaintext); false for inspect. */
  readonly decrypts: boolean
  /** Reads `message`; pushes every plaintext chunk handed to the caller to `released` and resolves with the whole plaintext. */
  run(env: Envelope, message: Uint8Array, released: Uint8Array[]): Promise<Uint8Array | undefined>
}

export const decryptSurface: Surface = {
  name: 'decrypt',
  codes: READ_CODES,
  partial: false,
  decrypts: true,
  async run(env, message, released) {
    const { plaintext } = await env.decrypt(message)
    released.push(plaintext)
    return concatBytes(released)
  },
}

export const inspectSurface: Surface = {
  name: 'inspect',
  codes: PARSE_CODES,
  partial: false,
  decrypts: false,
  async run(_env, message) {
    inspect(message)
    return undefined
  },
}

/** The Web-stream decryptor, fed in uneven chunks (1 byte up to ~1 KiB) so frame and head boundaries fall anywhere. */
export const decryptStreamSurface: Surface = {
  name: 'decryptStream',
  codes: READ_CODES,
  partial: true,
  decrypts: true,
  async run(env, message, released) {
    let at = 0
    let step = 1
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= message.length) return controller.close()
        controller.enqueue(message.slice(at, at + step))
        at += step
        step = ((step * 7 + 3) % 997) + 1
      },
    })
    const reader = input.pipeThrough(env.decryptStream()).getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value)
    return concatBytes(released)
  },
}

/**
 * Random access over the bytes: open (head and final frame authenticated), then reads in
 * uneven ranges from the start, so frame runs, the frame cache and the final frame are all
 * crossed. A read releases nothing unless every frame it touches verified; reads before a bad
 * frame may have released theirs, so it is partial like a stream.
 */
export const randomAccessSurface: Surface = {
  name: 'openRandomAccess',
  codes: READ_CODES,
  partial: true,
  decrypts: true,
  async run(env, message, released) {
    const reader = await env.openRandomAccess(bytesSource(message), { cacheFrames: 2 })
    try {
      let step = 1
      for (let at = 0; at < reader.size; at += step, step = ((step * 5 + 11) % 4093) + 1) released.push(await reader.read(at, step))
      return concatBytes(released)
    } finally {
      reader.close()
    }
  },
}

/** Every surface the tamper walk and the fuzzer exercise. */
export const SURFACES: readonly Surface[] = [decryptSurface, decryptStreamSurface, randomAccessSurface, inspectSurface]
/** The surfaces that decrypt (the tamper walk's targets). */
export const DECRYPT_SURFACES: readonly Surface[] = SURFACES.filter((s) => s.decrypts)

/**
 * The AWS Encryption SDK reader (kms-envelope/esdk): hostile ESDK messages are not
 * kms-envelope messages, so its surfaces take a keyring instead of an Envelope; the campaign
 * with its seed corpus of ESDK messages is test/fuzz/esdk.ts.
 */
export interface EsdkSurface {
  readonly name: string
  readonly partial: boolean
  run(message: Uint8Array, options: EsdkReadOptions, released: Uint8Array[]): Promise<Uint8Array>
}

export const esdkDecryptSurface: EsdkSurface = {
  name: 'decryptEsdk',
  partial: false,
  async run(message, options, released) {
    const { plaintext } = await decryptEsdk(message, options)
    released.push(plaintext)
    return plaintext
  },
}

export const esdkStreamSurface: EsdkSurface = {
  name: 'decryptEsdkStream',
  partial: true,
  async run(message, options, released) {
    const t = decryptEsdkStream(options)
    const writer = t.writable.getWriter()
    const pump = (async () => {
      for (let at = 0; at < message.length; at += 7) await writer.write(message.slice(at, at + 7))
      await writer.close()
    })().catch(() => {})
    const reader = t.readable.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value)
    await pump
    return concatBytes(released)
  },
}

export const ESDK_SURFACES: readonly EsdkSurface[] = [esdkDecryptSurface, esdkStreamSurface]
