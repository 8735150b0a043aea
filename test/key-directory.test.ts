/**
 * loadKeyDirectory (kms-envelope/node): a directory of key files as an Envelope's keyset, the
 * library side of the CLI's --key dir:PATH. Active and retired keys split by their files'
 * status, name order, dot files skipped, and each refusal a KeyFileError naming the path.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, KeyFileError, LocalKeyring } from '../src/index.js'
import { loadKeyDirectory, writeKeyFile } from '../src/node/index.js'
import { pattern, rejectsWithCode, tempDir } from './helpers.js'

const key = (keyId: string, seed: number, status?: 'decrypt-only') =>
  new LocalKeyring({ keyId, key: pattern(32, seed), ...(status === undefined ? {} : { status }) })

describe('loadKeyDirectory', () => {
  it('splits a rotation directory into active and decrypt-only keys, in name order: the first active key writes, the retired one still reads', async (t) => {
    const dir = await tempDir(t)
    await writeKeyFile(join(dir, 'app-2025.key'), key('app-2025', 1, 'decrypt-only'))
    await writeKeyFile(join(dir, 'app-2027.key'), key('app-2027', 3))
    await writeKeyFile(join(dir, 'app-2026.key'), key('app-2026', 2))
    await writeFile(join(dir, '.app-2024.key'), 'an editor backup', { mode: 0o600 })
    await writeFile(join(dir, 'README'), 'not a key', { mode: 0o644 })
    const keys = await loadKeyDirectory(dir)
    assert.deepEqual(
      keys.keyring.map((k) => k.keyId),
      ['app-2026', 'app-2027'],
    )
    assert.deepEqual(
      keys.decryptOnly.map((k) => k.keyId),
      ['app-2025'],
    )
    const old = await new Envelope({ keyring: key('app-2025', 1) }).encrypt('from 2025')
    const env = new Envelope(keys)
    assert.equal(await env.decryptString(old), 'from 2025')
    const fresh = await env.encrypt('from now')
    const { keyId, keyIds } = await env.decrypt(fresh)
    assert.deepEqual([keyId, keyIds], ['app-2026', ['app-2026', 'app-2027']])
  })

  it('refuses, with ERR_KEY_FILE naming the path: no directory, no key file, more than 64, only retired keys, a file others can read', async (t) => {
    const dir = await tempDir(t)
    const missing = join(dir, 'missing')
    const e = await rejectsWithCode(loadKeyDirectory(missing), 'ERR_KEY_FILE', KeyFileError)
    assert.match(e.message, /cannot be read/)
    const empty = join(dir, 'empty')
    await mkdir(empty)
    assert.match((await rejectsWithCode(loadKeyDirectory(empty), 'ERR_KEY_FILE')).message, /holds no key files/)
    const many = join(dir, 'many')
    await mkdir(many)
    for (let i = 0; i < 65; i++) await writeFile(join(many, `k${String(i).padStart(2, '0')}.key`), '{}', { mode: 0o600 })
    assert.match((await rejectsWithCode(loadKeyDirectory(many), 'ERR_KEY_FILE')).message, /holds 65 key files; a key directory holds at most 64/)
    const retired = join(dir, 'retired')
    await mkdir(retired)
    await writeKeyFile(join(retired, 'a.key'), key('a', 4, 'decrypt-only'))
    assert.match((await rejectsWithCode(loadKeyDirectory(retired), 'ERR_KEY_FILE')).message, /holds only decrypt-only keys/)
    const open = join(dir, 'open')
    await mkdir(open)
    await writeKeyFile(join(open, 'b.key'), key('b', 5))
    await chmod(join(open, 'b.key'), 0o644)
    const loose = await rejectsWithCode(loadKeyDirectory(open), 'ERR_KEY_FILE', KeyFileError)
    assert.equal((loose as KeyFileError).path, join(open, 'b.key'))
    assert.equal((await loadKeyDirectory(open, { allowInsecurePermissions: true })).keyring[0]?.keyId, 'b')
  })
})
