/**
 * The CLI during a key rotation: `--key dir:PATH` (a directory of key files sorted by their
 * `status`), `--decrypt-key` on every command that reads, and `inspect` with keys showing
 * each recipient's status.
 */
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { LocalKeyStatus } from '../src/index.js'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { cli } from './cli-helpers.js'
import { tempDir } from './helpers.js'

const NO_ENV_KEY = { KMS_ENVELOPE_KEY: undefined }

function writeKey(dir: string, name: string, keyId: string, status?: LocalKeyStatus): LocalKeyring {
  const keyring = LocalKeyring.generate({ keyId, ...(status === undefined ? {} : { status }) })
  writeFileSync(join(dir, name), keyring.toKeyFile(), { mode: 0o600 })
  return keyring
}

const keyIds = (message: Uint8Array): string[] => inspect(message).recipients.map((r) => r.keyId)

describe('CLI key rotation', () => {
  it('dir:PATH: active keys write, decrypt-only keys only read; dot files skipped, symlinks followed', async (t) => {
    const root = await tempDir(t)
    const keys = join(root, 'keys')
    mkdirSync(keys)
    const old = writeKey(keys, 'k-2025.key', 'k-2025', 'decrypt-only')
    writeKey(root, 'k-2026.key', 'k-2026')
    symlinkSync(join(root, 'k-2026.key'), join(keys, 'k-2026.key'))
    writeFileSync(join(keys, '.hidden.key'), 'not a key file', { mode: 0o600 })
    writeFileSync(join(keys, 'README'), 'not a key file either', { mode: 0o600 })
    const oldMessage = await new Envelope({ keyring: old }).encrypt('from 2025')

    const e = await cli(['encrypt', '-k', `dir:${keys}`], 'from 2026', { env: NO_ENV_KEY })
    assert.equal(e.code, 0, e.stderr)
    assert.deepEqual(keyIds(e.stdout), ['k-2026'])
    for (const message of [oldMessage, e.stdout]) {
      const d = await cli(['decrypt', '-k', `dir:${keys}`], message, { env: NO_ENV_KEY })
      assert.equal(d.code, 0, d.stderr)
    }
    const d = await cli(['decrypt', '-k', `dir:${keys}`], oldMessage, { env: NO_ENV_KEY })
    assert.equal(d.stdout.toString(), 'from 2025')
    // The operator's rewrap: one directory as both source and destination moves a message to the active key.
    const moved = await cli(['rewrap', '-q', '-k', `dir:${keys}`, '--to', `dir:${keys}`], oldMessage, { env: NO_ENV_KEY })
    assert.equal(moved.code, 0, moved.stderr)
    assert.deepEqual(keyIds(moved.stdout), ['k-2026'])
  })

  it('encrypt with no active key names the directory; bad directories are key errors', async (t) => {
    const root = await tempDir(t)
    const retired = join(root, 'retired')
    mkdirSync(retired)
    writeKey(retired, 'a.key', 'a', 'decrypt-only')
    const r = await cli(['encrypt', '-k', `dir:${retired}`], 'x', { env: NO_ENV_KEY })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`no active key to encrypt with: every key file in ${retired} is decrypt-only`))
    const single = await cli(['encrypt', '-k', `file:${join(retired, 'a.key')}`], 'x', { env: NO_ENV_KEY })
    assert.equal(single.code, 2)
    assert.match(single.stderr, /every --key given is a decrypt-only key file/)

    const empty = join(root, 'empty')
    mkdirSync(empty)
    const none = await cli(['decrypt', '-k', `dir:${empty}`], 'x', { env: NO_ENV_KEY })
    assert.equal(none.code, 3)
    assert.match(none.stderr, /holds no key files.*\[ERR_KEY_FILE\]/)
    const notDir = await cli(['decrypt', '-k', `dir:${join(retired, 'a.key')}`], 'x', { env: NO_ENV_KEY })
    assert.equal(notDir.code, 3)
    assert.match(notDir.stderr, /is not a directory/)
    const many = join(root, 'many')
    mkdirSync(many)
    for (let i = 0; i < 65; i++) writeFileSync(join(many, `k${i}.key`), '{}', { mode: 0o600 })
    const tooMany = await cli(['decrypt', '-k', `dir:${many}`], 'x', { env: NO_ENV_KEY })
    assert.equal(tooMany.code, 3)
    assert.match(tooMany.stderr, /holds 65 key files; a key directory holds at most 64/)
    // A key file in a directory gets the single-file checks.
    const loose = join(root, 'loose')
    mkdirSync(loose)
    writeKey(loose, 'a.key', 'a')
    writeFileSync(join(loose, 'b.key'), LocalKeyring.generate({ keyId: 'b' }).toKeyFile(), { mode: 0o644 })
    const perms = await cli(['encrypt', '-k', `dir:${loose}`], 'x', { env: NO_ENV_KEY })
    assert.equal(perms.code, 3)
    assert.match(perms.stderr, /b\.key.*accessible to other users/)
  })

  it('a key file with an unknown status is refused (ERR_KEY_FILE)', async (t) => {
    const dir = await tempDir(t)
    const json = JSON.parse(LocalKeyring.generate({ keyId: 'odd' }).toKeyFile()) as Record<string, unknown>
    writeFileSync(join(dir, 'odd.key'), JSON.stringify({ ...json, status: 'retired' }), { mode: 0o600 })
    const r = await cli(['encrypt', '-k', `file:${join(dir, 'odd.key')}`], 'x', { env: NO_ENV_KEY })
    assert.equal(r.code, 3)
    assert.match(r.stderr, /key file "status" must be "active" or "decrypt-only", got "retired".*\[ERR_KEY_FILE\]/)
  })

  it('--decrypt-key opens old messages on decrypt (alone, or after --key) and is rewrap source', async (t) => {
    const dir = await tempDir(t)
    const k1 = writeKey(dir, 'k1.key', 'k1')
    const k2 = writeKey(dir, 'k2.key', 'k2')
    const old = await new Envelope({ keyring: k1 }).encrypt('old')
    const both = await cli(['decrypt', '-k', `file:${join(dir, 'k2.key')}`, '--decrypt-key', `file:${join(dir, 'k1.key')}`], old, { env: NO_ENV_KEY })
    assert.equal(both.code, 0, both.stderr)
    assert.equal(both.stdout.toString(), 'old')
    const alone = await cli(['decrypt', '--decrypt-key', `file:${join(dir, 'k1.key')}`], old, { env: NO_ENV_KEY })
    assert.equal(alone.stdout.toString(), 'old')
    const moved = await cli(['rewrap', '-q', '--decrypt-key', `file:${join(dir, 'k1.key')}`, '--to', `file:${join(dir, 'k2.key')}`], old, {
      env: NO_ENV_KEY,
    })
    assert.equal(moved.code, 0, moved.stderr)
    assert.deepEqual(keyIds(moved.stdout), ['k2'])
    assert.equal(await new Envelope({ keyring: k2 }).decryptString(moved.stdout), 'old')
    // A decrypt-only key file cannot receive messages; encrypt has no --decrypt-key.
    writeKey(dir, 'retired.key', 'retired', 'decrypt-only')
    const toRetired = await cli(['rewrap', '-k', `file:${join(dir, 'k1.key')}`, '--to', `file:${join(dir, 'retired.key')}`], old, { env: NO_ENV_KEY })
    assert.equal(toRetired.code, 2)
    assert.match(toRetired.stderr, /--to local:retired is a decrypt-only key file/)
    const enc = await cli(['encrypt', '-k', `file:${join(dir, 'k2.key')}`, '--decrypt-key', `file:${join(dir, 'k1.key')}`], 'x', { env: NO_ENV_KEY })
    assert.equal(enc.code, 2)
  })

  it('inspect with keys gives each recipient a status; without keys the JSON is unchanged', async (t) => {
    const dir = await tempDir(t)
    const k1 = writeKey(dir, 'k1.key', 'k1')
    const k2 = writeKey(dir, 'k2.key', 'k2')
    const k3 = LocalKeyring.generate({ keyId: 'k3' })
    const message = await new Envelope({ keyring: [k1, k2, k3] }).encrypt('x')
    const r = await cli(['inspect', '-k', `file:${join(dir, 'k2.key')}`, '--decrypt-key', `file:${join(dir, 'k1.key')}`], message, { env: NO_ENV_KEY })
    assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(r.stdout.toString()) as { recipients: Array<{ keyId: string; status: string }> }
    assert.deepEqual(
      info.recipients.map((x) => [x.keyId, x.status]),
      [
        ['k1', 'decrypt-only'],
        ['k2', 'write'],
        ['k3', 'none'],
      ],
    )
    const plain = await cli(['inspect'], message, { env: { KMS_ENVELOPE_KEY: k1.toKeyFile() } })
    assert.equal(plain.code, 0, plain.stderr)
    const shown = JSON.parse(plain.stdout.toString()) as { recipients: object[] }
    assert.deepEqual(shown.recipients[0], { type: 'local', keyId: 'k1', wrappedBytes: 80 })
  })
})
