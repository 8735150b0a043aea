/**
 * Checks of caller input at the API boundary, shared by every module: a wrong type or an
 * out-of-range option is the caller's mistake, reported as a TypeError or RangeError with
 * `code = 'ERR_INVALID_ARGUMENT'` that names the argument (see errors.ts).
 * @module
 */
import { utf8ToBytes } from '@noble/ciphers/utils.js'
import { AbortError, invalidArgument, outOfRange } from './errors.js'

/**
 * An integer option from `min` to `max` (safe integers only); `fallback` when it is undefined
 * (omit the fallback to make the option required).
 */
export function integerOption(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw outOfRange(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

/** An optional AbortSignal. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal
  throw invalidArgument('signal must be an AbortSignal')
}

/** Throws `ERR_ABORTED` when `signal` has aborted: called before each key-service call and chunk. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError({ cause: signal.reason })
}

/** Runs `onAbort` once when `signal` aborts; returns the function that stops listening. */
export function listenForAbort(signal: AbortSignal | undefined, onAbort: (error: AbortError) => void): () => void {
  if (signal === undefined) return () => {}
  if (signal.aborted) {
    onAbort(new AbortError({ cause: signal.reason }))
    return () => {}
  }
  const listener = (): void => onAbort(new AbortError({ cause: signal.reason }))
  signal.addEventListener('abort', listener, { once: true })
  return () => signal.removeEventListener('abort', listener)
}

/** A plaintext: bytes as they are, a string as UTF-8. */
export function toPlaintextBytes(plaintext: unknown): Uint8Array {
  if (typeof plaintext === 'string') return utf8ToBytes(plaintext)
  if (plaintext instanceof Uint8Array) return plaintext
  throw invalidArgument('plaintext must be a Uint8Array or a string')
}

/** A message given to a reader. */
export function toMessageBytes(message: unknown, name = 'message'): Uint8Array {
  if (message instanceof Uint8Array) return message
  if (typeof message === 'string')
    throw invalidArgument(`${name} must be a Uint8Array, not a string: decode text first (fromBase64url(text) for base64url, dearmor(text) for armor)`)
  throw invalidArgument(`${name} must be a Uint8Array`)
}

/** Stream chunks must be bytes; anything else is the caller's mistake. */
export function toChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  throw invalidArgument(`stream chunks must be Uint8Array (or Buffer), got ${chunk === null ? 'null' : typeof chunk}`)
}

/** A stream session used after it ended or failed. */
export function streamEnded(): TypeError {
  return invalidArgument('this stream already ended or failed; create a new one')
}
