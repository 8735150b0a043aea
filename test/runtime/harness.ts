/**
 * The runtime-neutral suite's own harness: a list of named async cases and a runner that prints
 * each case's name and result and exits non-zero on any failure. Not node:test, because the
 * runtimes disagree about it (Deno 2.9.6 registers node:test cases with Deno.test, so
 * `deno run` of a node:test file runs nothing and exits 0; Bun 1.4.5 refuses `describe`
 * outside `bun test`): one plain script behaves the same under `node`, `deno run` and `bun`.
 * Assertions are our own too, so "equal" means the same thing on every runtime.
 */
import process from 'node:process'

/** One case; `notOn` keeps it off a runtime, with why (printed on every run, never silent). */
export interface Case {
  readonly name: string
  readonly run: () => Promise<void> | void
  readonly notOn?: Partial<Record<RuntimeName, string>>
}

export type RuntimeName = 'node' | 'deno' | 'bun'

declare const Deno: { version: { deno: string } } | undefined
declare const Bun: { version: string } | undefined

/** The runtime this process is, from the globals each one defines (Deno and Bun also define `process`). */
export function runtime(): { name: RuntimeName; version: string } {
  if (typeof Deno !== 'undefined') return { name: 'deno', version: Deno.version.deno }
  if (typeof Bun !== 'undefined') return { name: 'bun', version: Bun.version }
  return { name: 'node', version: process.versions.node ?? 'unknown' }
}

export class AssertionFailed extends Error {
  override readonly name = 'AssertionFailed'
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message)
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length}) ${hex(value.subarray(0, 32))}${value.length > 32 ? '…' : ''}`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

export function hex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

/**
 * Structural equality as node:assert's deepStrictEqual means it for the values the suite
 * compares: Object.is for primitives (so -0 and NaN count), same prototype, Dates by time,
 * typed arrays by bytes, arrays by element, objects by own enumerable keys in any order.
 */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime())
  if (a instanceof Uint8Array) {
    const y = b as Uint8Array
    return a.length === y.length && a.every((v, i) => v === y[i])
  }
  if (Array.isArray(a)) {
    const y = b as unknown[]
    return a.length === y.length && a.every((v, i) => same(v, y[i]))
  }
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return same(ka, kb) && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected)) throw new AssertionFailed(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

/** Awaits `promise` (or calls `fn`), which must fail with an error whose `code` is `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown> | (() => Promise<unknown>), code: string, what: string): Promise<Error> {
  let caught: unknown
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    caught = error
  }
  if (caught === undefined) throw new AssertionFailed(`${what}: expected a rejection with ${code}, but it succeeded`)
  const got = (caught as { code?: unknown }).code
  if (!(caught instanceof Error) || got !== code)
    throw new AssertionFailed(`${what}: expected ${code}, got ${String(got)}: ${caught instanceof Error ? caught.message : String(caught)}`)
  return caught
}

/** Runs every case in order, prints one line each and a closing count; returns the number of failures. */
export async function runCases(cases: readonly Case[], only: readonly string[] = []): Promise<number> {
  const here = runtime().name
  let passed = 0
  let failed = 0
  let excluded = 0
  const names = new Set<string>()
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`two cases are named ${JSON.stringify(c.name)}`)
    names.add(c.name)
    if (only.length > 0 && !only.some((o) => c.name.includes(o))) continue
    const why = c.notOn?.[here]
    if (why !== undefined) {
      excluded++
      console.log(`- excluded on ${here}: ${c.name} (${why})`)
      continue
    }
    const started = performance.now()
    try {
      await c.run()
      passed++
      console.log(`ok ${c.name} (${(performance.now() - started).toFixed(0)} ms)`)
    } catch (error) {
      failed++
      console.log(`FAIL ${c.name}\n  ${error instanceof Error ? (error.stack ?? error.message).split('\n').join('\n  ') : String(error)}`)
    }
  }
  console.log(`${passed} passed, ${failed} failed${excluded > 0 ? `, ${excluded} skipped` : ''}`)
  if (passed + failed + excluded === 0) {
    console.log(`no case matches ${only.map((o) => JSON.stringify(o)).join(', ')}`)
    return 1
  }
  return failed
}
