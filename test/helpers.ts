/** Shared test helpers: paths, byte helpers, and the backend the run expects. */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { backend } from '#crypto-backend'

export { pattern } from './pattern.js'

/** Repository root (tests run from dist/test, sources and vectors live in test/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const VECTORS_DIR = join(ROOT, 'test', 'vectors')
export const CLI = join(ROOT, 'bin', 'kms-envelope.js')

/** Fails the run if the runner asked for one backend and the conditions gave another. */
export function assertExpectedBackend(): void {
  const expected = process.env.KMSE_EXPECT_BACKEND
  if (expected !== undefined) assert.equal(backend.name, expected, `expected the ${expected} backend, got ${backend.name}`)
}

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmse-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Asserts that `promise` rejects with an error carrying `code` (and, optionally, a class). */
export async function rejectsWithCode(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  cls?: new (...args: never[]) => Error,
): Promise<Error> {
  let caught: unknown
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof Error, `expected a rejection with ${code}, got ${String(caught)}`)
  assert.equal((caught as { code?: string }).code, code, `expected ${code}, got ${(caught as { code?: string }).code}: ${caught.message}`)
  if (cls !== undefined) assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught.constructor.name}`)
  return caught
}
