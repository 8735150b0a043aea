/**
 * Joining concurrent misses: callers asking for the same entry while a keyring call for it
 * is in flight wait for that call instead of starting their own, so a burst of messages costs
 * one key-service call. Each waiter can abort its own wait; the call itself is aborted only
 * once every waiter has gone.
 * @module
 */
import { AbortError } from '../errors.js'

/** @internal A call in flight and how many callers wait for it. */
export interface Inflight<T> {
  readonly promise: Promise<T>
  readonly controller: AbortController
  waiters: number
}

/** `promise`, or an AbortError as soon as `signal` aborts (the promise itself runs on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(new AbortError({ cause: signal.reason }))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError({ cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * @internal Runs `start` once per key among concurrent callers; aborts it only when every
 * waiter has gone. A failure is not kept: the next call starts afresh.
 * @param inflight - The calls in flight, by key (shared by every caller of one store).
 * @param counters - Counts a started call as a miss and a joined one as joined.
 * @param key - The entry key.
 * @param start - Makes the call, with a signal aborted once nobody waits any more.
 * @param signal - This caller's abort signal.
 */
export async function joinInflight<T>(
  inflight: Map<string, Inflight<T>>,
  counters: { misses: number; joined: number },
  key: string,
  start: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  let flight = inflight.get(key)
  if (flight === undefined) {
    counters.misses++
    const controller = new AbortController()
    const promise = start(controller.signal)
    const created: Inflight<T> = { promise, controller, waiters: 0 }
    flight = created
    inflight.set(key, created)
    // A failure is not cached: the next lookup starts a fresh call.
    promise.then(
      () => inflight.get(key) === created && inflight.delete(key),
      () => inflight.get(key) === created && inflight.delete(key),
    )
  } else {
    counters.joined++
  }
  flight.waiters++
  try {
    return await abortable(flight.promise, signal)
  } finally {
    flight.waiters--
    if (flight.waiters === 0 && signal?.aborted) flight.controller.abort(signal.reason)
  }
}
