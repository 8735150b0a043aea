/**
 * Bounded-concurrency map for record batches: at most `limit` records in flight, results in
 * input order. With a KMS keyring each record may wait on the network, so a few at a time
 * hide latency without flooding the key service.
 * @module
 */
import { invalidArgument, outOfRange } from '../errors.js'
import { throwIfAborted } from '../validate.js'

export const DEFAULT_CONCURRENCY = 8
export const MAX_CONCURRENCY = 256

export function checkConcurrency(value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) {
    throw outOfRange(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${String(value)}`)
  }
  return value
}

/**
 * The error, for the record at `index`: a copy of the same class and `code` with `recordIndex`
 * set and the message prefixed, so callers branch on it as usual. A copy, never the error
 * itself rewritten: one error object may reach several callers (a shared key-service call
 * of the cache), and each must see its own record's index once.
 */
export function atRecord(error: unknown, index: number): unknown {
  if (!(error instanceof Error)) return error
  const copy = Object.create(Object.getPrototypeOf(error) as object, Object.getOwnPropertyDescriptors(error)) as Error & { recordIndex: number }
  Object.defineProperty(copy, 'message', { value: `record ${index}: ${error.message}`, enumerable: false, configurable: true, writable: true })
  Object.defineProperty(copy, 'recordIndex', { value: index, enumerable: true, configurable: true, writable: true })
  if (copy.stack !== undefined)
    Object.defineProperty(copy, 'stack', { value: copy.stack.replace(error.message, copy.message), configurable: true, writable: true })
  return copy
}

/**
 * Runs `fn` over `items` with at most `limit` calls pending. Stops taking new items at the
 * first failure (or abort), waits for the ones in flight, and rejects with the failure of
 * the lowest record index, tagged by {@link atRecord}.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failure: { index: number; error: unknown } | undefined
  const fail = (index: number, error: unknown): void => {
    if (failure === undefined || index < failure.index) failure = { index, error }
  }
  const failed = (): boolean => failure !== undefined
  const worker = async (): Promise<void> => {
    while (!failed() && next < items.length) {
      const index = next++
      try {
        throwIfAborted(signal)
        results[index] = await fn(items[index]!, index)
      } catch (error) {
        fail(index, error)
      }
    }
  }
  const workers: Promise<void>[] = []
  for (let i = 0; i < Math.min(limit, items.length); i++) workers.push(worker())
  await Promise.all(workers)
  const first = failure as { index: number; error: unknown } | undefined
  if (first !== undefined) throw atRecord(first.error, first.index)
  return results
}

/** An option given once for a whole batch, or per record by a function of the record and its index. */
export type PerRecord<O> = O | ((record: unknown, index: number) => O | undefined)

/**
 * Checks a batch (an array, a concurrency, the batch-wide option through `check`) and runs
 * `one` over it by {@link mapBounded}, giving each record its own value of `option`.
 *
 * @param records - the batch; anything but an array is ERR_INVALID_ARGUMENT
 * @param concurrency - records in flight, or undefined for `fallback`
 * @param fallback - the encryptor's default concurrency
 * @param signal - stops taking new records once aborted
 * @param option - one value for every record, or a function giving each its own
 * @param check - validates a batch-wide (non-function) `option` before any record is touched
 * @param one - the single-record operation
 */
export function mapRecords<O extends object, R>(
  records: unknown,
  concurrency: unknown,
  fallback: number,
  signal: AbortSignal | undefined,
  option: PerRecord<O> | undefined,
  check: (value: O) => void,
  one: (record: object, value: O | undefined) => Promise<R>,
): Promise<R[]> {
  if (!Array.isArray(records)) throw invalidArgument('records must be an array of plain objects')
  const limit = checkConcurrency(concurrency, fallback)
  if (option !== undefined && typeof option !== 'function') check(option)
  return mapBounded(records as readonly object[], limit, signal, (record, index) =>
    one(record, typeof option === 'function' ? (option as (record: unknown, index: number) => O | undefined)(record, index) : option),
  )
}
