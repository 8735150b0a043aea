/** Runs examples/sqlite-users (a real SQLite engine, sql.js) as `npm run example:sqlite` does, so CI keeps it working. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { it } from 'node:test'
import { ROOT } from './helpers.js'

it('examples/sqlite-users: insert, read back, look up by blind index and deterministic column, refuse swaps', () => {
  const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'examples', 'sqlite-users', 'main.js')], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(result.status, 0, `exit ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`)
  const out = result.stdout
  assert.match(out, /^ {2}1 Alice {2}ssn=kmse1r\.\S+ {2}email=kmse1d\.\S+ {2}email_idx=kmse1b\.[A-Za-z0-9_-]{22} {2}notes=kmse1r\./m)
  assert.ok(!/123-45-6789.*_kmse|ssn=123/.test(out.split('read back')[0]!), 'the stored rows show no plaintext')
  assert.match(out, /read back 3 rows: Alice <alice@example\.com> ssn 123-45-6789; Bob <Bob@Example\.com> ssn 987-65-4321; Carol/)
  assert.match(out, /notes keep their types: Date 2026-01-02T03:04:05\.678Z/)
  assert.match(out, /lookup by blind index \(email_idx\): Bob ssn 987-65-4321/)
  assert.match(out, /lookup by deterministic column \(email\): Carol/)
  assert.match(out, /partial read \(id, name, email\): \{"id":1,"name":"Alice","email":"alice@example\.com"\}/)
  assert.match(out, /reopened users\.sqlite: 3 rows, row 3 is Carol/)
  assert.match(out, /swapped ssn between rows: refused with ERR_FIELD/)
  assert.match(out, /read as another tenant: refused with ERR_CONTEXT_MISMATCH/)
  assert.match(out, /sqlite example: OK$/m)
  assert.equal(result.stderr.replace(/.*ExperimentalWarning.*\n?/g, ''), '')
})
