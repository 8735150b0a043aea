/**
 * The runtime-neutral suite: one script, run unchanged on the built output by Node, Deno and
 * Bun (scripts/runtimes.js; `npm test` runs it under each, on both crypto backends):
 *
 *   node [--conditions=kms-envelope-portable] dist/test/runtime/main.js [NAME-SUBSTRING...]
 *   deno run -A [--conditions=kms-envelope-portable] dist/test/runtime/main.js
 *   bun [--conditions=kms-envelope-portable] dist/test/runtime/main.js
 *
 * KMSE_EXPECT_RUNTIME, KMSE_EXPECT_VERSION and KMSE_EXPECT_BACKEND (set by the runner) make it
 * fail unless it runs where it was asked to (the runner runs several Node release lines), with
 * the backend the import conditions were meant to select.
 */
import process from 'node:process'
import { backend } from '#crypto-backend'
import { cliCases } from './cli.js'
import { coreCases } from './core.js'
import type { Case } from './harness.js'
import { AssertionFailed, rejectsWithCode, runCases, runtime, same } from './harness.js'
import { packagingCases } from './packaging.js'
import { streamCases } from './streams.js'
import { vectorCases } from './vectors.js'

const here = runtime()
const expected = { runtime: process.env.KMSE_EXPECT_RUNTIME, version: process.env.KMSE_EXPECT_VERSION, backend: process.env.KMSE_EXPECT_BACKEND }
console.log(`runtime-neutral suite on ${here.name} ${here.version}, ${backend.name} crypto backend`)

const cases: Case[] = [
  {
    name: `runs on the expected runtime (${expected.runtime ?? 'any'}) with the expected backend (${expected.backend ?? 'any'})`,
    run() {
      if (expected.runtime !== undefined && expected.runtime !== here.name) throw new Error(`expected runtime ${expected.runtime}, this is ${here.name}`)
      if (expected.version !== undefined && expected.version !== here.version)
        throw new Error(`expected ${here.name} ${expected.version}, this is ${here.version}`)
      if (expected.backend !== undefined && expected.backend !== backend.name)
        throw new Error(`expected the ${expected.backend} backend, the import conditions gave ${backend.name}`)
    },
  },
  {
    name: 'the harness tells apart what it must (so no case below passes vacuously)',
    async run() {
      const differ: Array<[unknown, unknown]> = [
        [0, -0],
        [1n, 1],
        [new Uint8Array([1, 2]), new Uint8Array([1, 3])],
        [new Uint8Array([1]), [1]],
        [new Date(1), new Date(2)],
        [{ a: 1 }, { a: 1, b: undefined }],
        [{ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] }],
        [Object.create(null) as object, {}],
      ]
      for (const [a, b] of differ) if (same(a, b) || same(b, a)) throw new Error(`same() calls ${String(a)} and ${String(b)} equal`)
      if (!same({ b: [NaN, new Date(5)], a: new Uint8Array([7]) }, { a: new Uint8Array([7]), b: [NaN, new Date(5)] }))
        throw new Error('same() misses equal values')
      const fails = async (p: Promise<unknown>): Promise<boolean> =>
        p.then(
          () => false,
          (e: unknown) => e instanceof AssertionFailed,
        )
      const coded = Object.assign(new Error('x'), { code: 'ERR_A' })
      if (!(await fails(rejectsWithCode(Promise.resolve(1), 'ERR_A', 'resolves')))) throw new Error('rejectsWithCode passed a success')
      if (!(await fails(rejectsWithCode(Promise.reject(coded), 'ERR_B', 'other code')))) throw new Error('rejectsWithCode passed another code')
      await rejectsWithCode(Promise.reject(coded), 'ERR_A', 'its code')
    },
  },
  ...coreCases,
  ...streamCases,
  ...vectorCases,
  ...packagingCases,
  ...cliCases,
]

const failed = await runCases(cases, process.argv.slice(2))
process.exitCode = failed === 0 ? 0 : 1
