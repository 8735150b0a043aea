import assert from 'node:assert/strict'
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runApiReports } from '../scripts/api-report.js'
import { ROOT } from './helpers.js'

// api-extractor in check mode against the built dist/: the checked-in api/*.api.md must match the
// public .d.ts. After a deliberate API change, `npm run api` rewrites them; commit the result.
describe('API reports (api/*.api.md)', () => {
  it('match the built public surface of every entry', () => {
    const results = runApiReports(ROOT)
    assert.deepEqual(
      results.map((r) => [r.report, r.changed, r.errors]),
      [
        ['api/kms-envelope.api.md', false, []],
        ['api/kms.api.md', false, []],
        ['api/node.api.md', false, []],
        ['api/esdk.api.md', false, []],
      ],
      'the public API changed: run `npm run api` and commit api/',
    )
    assert.ok(results.every((r) => r.succeeded))
  })

  it('fail when an entry gains an export the report does not have', () => {
    // Inside the project so the copy resolves node_modules like dist does.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true })
    const dist = mkdtempSync(join(ROOT, '.tmp', 'api-dist-'))
    try {
      cpSync(join(ROOT, 'dist', 'src'), join(dist, 'src'), { recursive: true })
      appendFileSync(join(dist, 'src', 'node', 'index.d.ts'), '\n/** Not in the report. */\nexport declare const undocumentedExtra: number;\n')
      const results = runApiReports(ROOT, { distRoot: dist })
      assert.deepEqual(
        results.map((r) => [r.report, r.changed, r.succeeded]),
        [
          ['api/kms-envelope.api.md', false, true],
          ['api/kms.api.md', false, true],
          ['api/node.api.md', true, false],
          ['api/esdk.api.md', false, true],
        ],
      )
    } finally {
      rmSync(dist, { recursive: true, force: true })
    }
  })
})
