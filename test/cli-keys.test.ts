/**
 * Keys as people keep them: in KMS_ENVELOPE_KEY, on stdin, in a Kubernetes secret volume
 * (symlink chain, group-readable); keygen to stdout; --version; missing AWS credentials.
 */
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, LocalKeyring } from '../src/index.js'
import { loadLocalKeyring } from '../src/node/index.js'
import { cli, keyFile } from './cli-helpers.js'
import { ROOT, rejectsWithCode, tempDir } from './helpers.js'

const NO_ENV_KEY = { KMS_ENVELOPE_KEY: undefined }

describe('CLI keys without a key file', () => {
  it('KMS_ENVELOPE_KEY holds the key file JSON and is used when no --key is given; --key wins', async (t) => {
    const dir = await tempDir(t)
    const fromEnv = LocalKeyring.generate({ keyId: 'env-key' })
    const other = keyFile(dir, 'file-key')
    const env = { KMS_ENVELOPE_KEY: fromEnv.toKeyFile() }
    const e = await cli(['encrypt'], 'from the environment', { env })
    assert.equal(e.code, 0, e.stderr)
    assert.equal(Buffer.from((await new Envelope({ keyring: fromEnv }).decrypt(e.stdout)).plaintext).toString(), 'from the environment')
    const d = await cli(['decrypt'], e.stdout, { env })
    assert.equal(d.code, 0, d.stderr)
    assert.equal(d.stdout.toString(), 'from the environment')
    // With --key given, the variable is not consulted at all: the file's key is the only one.
    const withKey = await cli(['decrypt', '-k', other.spec], e.stdout, { env })
    assert.equal(withKey.code, 3)
    assert.match(withKey.stderr, /ERR_NO_MATCHING_KEY/)
    const encKey = await cli(['encrypt', '-k', other.spec], 'x', { env })
    assert.equal(Buffer.from((await new Envelope({ keyring: other.keyring }).decrypt(encKey.stdout)).plaintext).toString(), 'x')
    // rewrap: the variable stands for --key (the key the message has now); --to stays required.
    const moved = await cli(['rewrap', '-q', '--to', other.spec], e.stdout, { env })
    assert.equal(moved.code, 0, moved.stderr)
    assert.equal((await cli(['decrypt', '-k', other.spec], moved.stdout)).stdout.toString(), 'from the environment')
  })

  it('no --key and no KMS_ENVELOPE_KEY (or an empty one): a usage error naming both', async () => {
    for (const env of [NO_ENV_KEY, { KMS_ENVELOPE_KEY: '' }]) {
      const r = await cli(['encrypt'], 'x', { env })
      assert.equal(r.code, 2)
      assert.match(r.stderr, /no key given: pass --key file:PATH \(or kms:KEY\), or set KMS_ENVELOPE_KEY to the JSON text of a key file/)
    }
  })

  it('KMS_ENVELOPE_KEY gets the key file checks, and its errors never echo the key', async () => {
    const key = LocalKeyring.generate({ keyId: 'leaky' })
    const json = JSON.parse(key.toKeyFile()) as Record<string, unknown>
    const secret = json.key as string
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ ...json, version: 2 }), /\$KMS_ENVELOPE_KEY: key file version 2 is not supported/],
      [JSON.stringify({ ...json, type: 'other' }), /\$KMS_ENVELOPE_KEY: key file must be a JSON object/],
      [`${secret} not json`, /\$KMS_ENVELOPE_KEY: key file is not JSON/],
      [`${' '.repeat(70_000)}${key.toKeyFile()}`, /\$KMS_ENVELOPE_KEY: is over 65536 bytes/],
    ]
    for (const [value, expected] of cases) {
      const r = await cli(['encrypt'], 'x', { env: { KMS_ENVELOPE_KEY: value } })
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, expected)
      assert.match(r.stderr, /\[ERR_KEY_FILE\]/)
      assert.doesNotMatch(r.stderr, new RegExp(secret.slice(0, 16)), 'no key material in the message')
    }
  })

  it('--key file:- reads the key file from stdin; the input must then be a file', async (t) => {
    const dir = await tempDir(t)
    const key = keyFile(dir, 'stdin-key')
    const plain = join(dir, 'p')
    writeFileSync(plain, 'key on stdin')
    const enc = join(dir, 'p.kmse')
    const e = await cli(['encrypt', '-k', 'file:-', '-o', enc, plain], readFileSync(key.path), { env: NO_ENV_KEY })
    assert.equal(e.code, 0, e.stderr)
    const d = await cli(['decrypt', '--key', 'file:-', enc], readFileSync(key.path))
    assert.equal(d.code, 0, d.stderr)
    assert.equal(d.stdout.toString(), 'key on stdin')
    for (const args of [
      ['decrypt', '-k', 'file:-'],
      ['decrypt', '-k', 'file:-', '-'],
      ['decrypt', '-k', 'file:-', '-k', 'file:-', enc],
      ['rewrap', '-k', key.spec, '--to', 'file:-'],
    ]) {
      const r = await cli(args, readFileSync(key.path))
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /file:- (reads the key from stdin, so the input must be a file|is given 2 times)/)
    }
    const secret = JSON.parse(readFileSync(key.path, 'utf8')).key as string
    const bad = await cli(['decrypt', '-k', 'file:-', enc], `{"key": "${secret}"`)
    assert.equal(bad.code, 3)
    assert.match(bad.stderr, /the key file on stdin \(--key file:-\): key file is not JSON \[ERR_KEY_FILE\]/)
    assert.doesNotMatch(bad.stderr, new RegExp(secret.slice(0, 16)))
    const huge = await cli(['decrypt', '-k', 'file:-', enc], Buffer.alloc(100_000, 0x20))
    assert.equal(huge.code, 3)
    assert.match(huge.stderr, /is over 65536 bytes/)
  })

  it('keygen -o - prints the key file to stdout (a pipe here) and says so on stderr', async () => {
    const r = await cli(['keygen', '-o', '-', '--key-id', 'piped'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(LocalKeyring.fromKeyFile(r.stdout.toString()).keyId, 'piped')
    assert.match(r.stderr, /^printed key piped to stdout; keep it secret and backed up\n$/)
    const quiet = await cli(['keygen', '-q', '-o', '-'])
    assert.equal(quiet.stderr, '')
    // The printed key works straight from the environment.
    const e = await cli(['encrypt'], 'round', { env: { KMS_ENVELOPE_KEY: quiet.stdout.toString() } })
    const d = await cli(['decrypt'], e.stdout, { env: { KMS_ENVELOPE_KEY: quiet.stdout.toString() } })
    assert.equal(d.stdout.toString(), 'round')
  })
})

/**
 * A Kubernetes secret volume, as the kubelet lays it out:
 *   app.key -> ..data/app.key,  ..data -> ..2026_12_02_01_00_00.000000001,  the file inside,
 * owned by root (here: by us, the test's user, which the loader treats alike).
 */
function secretVolume(dir: string, mode: number, key: LocalKeyring): string {
  const volume = join(dir, `secret-${mode.toString(8)}`)
  const stamp = '..2026_12_02_01_00_00.000000001'
  mkdirSync(join(volume, stamp), { recursive: true })
  writeFileSync(join(volume, stamp, 'app.key'), key.toKeyFile())
  chmodSync(join(volume, stamp, 'app.key'), mode)
  symlinkSync(stamp, join(volume, '..data'))
  symlinkSync(join('..data', 'app.key'), join(volume, 'app.key'))
  return join(volume, 'app.key')
}

describe('key file permissions: Kubernetes secret volumes', () => {
  it('a symlink chain is followed; 0440/0640 need --allow-group-readable; 0644 is refused with what to set', async (t) => {
    const dir = await tempDir(t)
    const key = LocalKeyring.generate({ keyId: 'k8s-key' })
    const message = join(dir, 'm.kmse')
    writeFileSync(message, await new Envelope({ keyring: key }).encrypt('from the secret volume'))
    for (const mode of [0o400, 0o600]) {
      const path = secretVolume(dir, mode, key)
      assert.equal((await loadLocalKeyring(path)).keyId, 'k8s-key', mode.toString(8))
    }
    for (const mode of [0o440, 0o640]) {
      const path = secretVolume(dir, mode, key)
      const refused = await rejectsWithCode(loadLocalKeyring(path), 'ERR_KEY_FILE')
      assert.match(
        refused.message,
        new RegExp(`is accessible to its group \\(mode ${mode.toString(8)}\\); run: chmod 600 .*--allow-group-readable \\(API: allowGroupReadable: true\\)`),
      )
      assert.equal((await loadLocalKeyring(path, { allowGroupReadable: true })).keyId, 'k8s-key')
      const r = await cli(['decrypt', '-k', `file:${path}`, message])
      assert.equal(r.code, 3)
      assert.match(r.stderr, /--allow-group-readable/)
      const ok = await cli(['decrypt', '--allow-group-readable', '-k', `file:${path}`, message])
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(ok.stdout.toString(), 'from the secret volume')
    }
    const open = secretVolume(dir, 0o644, key)
    for (const options of [{}, { allowGroupReadable: true }]) {
      const refused = await rejectsWithCode(loadLocalKeyring(open, options), 'ERR_KEY_FILE')
      assert.match(
        refused.message,
        /is accessible to other users \(mode 644\); run: chmod 600 .*; in a Kubernetes secret volume, set defaultMode: 0440 \(with the pod's fsGroup\) and pass --allow-group-readable/,
      )
    }
    const r = await cli(['decrypt', '--allow-group-readable', '-k', `file:${open}`, message])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /set defaultMode: 0440/)
    const groupWritable = secretVolume(dir, 0o660, key)
    await assert.rejects(loadLocalKeyring(groupWritable, { allowGroupReadable: true }), /is writable or executable by its group \(mode 660\)/)
    // allowInsecurePermissions skips the checks altogether.
    assert.equal((await loadLocalKeyring(open, { allowInsecurePermissions: true })).keyId, 'k8s-key')
  })
})

describe('CLI --version', () => {
  it('prints the version in package.json (--version and -V)', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag])
      assert.equal(r.code, 0)
      assert.equal(r.stdout.toString(), `${version}\n`)
    }
  })
})

describe('CLI without AWS credentials', () => {
  it('a kms: key with no credentials anywhere: exit 3, ERR_KMS_CREDENTIALS, saying what to set', async (t) => {
    const dir = await tempDir(t)
    // No credentials in the environment, no config files, no instance metadata (never contacted).
    const env: Record<string, string | undefined> = {}
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) env[name] = undefined
    Object.assign(env, {
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    })
    const arn = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000001'
    const r = await cli(['encrypt', '-k', `kms:${arn}`, '--endpoint', 'http://127.0.0.1:1', '-o', join(dir, 'm')], 'x', { env })
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /No AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*\[ERR_KMS_CREDENTIALS\]\n$/)
    assert.doesNotMatch(r.stderr, /ERR_KMS_ACCESS_DENIED/)
  })
})

describe('CLI help', () => {
  it('documents every new flag and key source where it applies', async () => {
    const expected: Record<string, RegExp[]> = {
      '--help': [/-V, --version/, /file:-/, /\$KMS_ENVELOPE_KEY/, /--key always wins/],
      'keygen --help': [/- prints it to stdout/, /never written to a terminal or stdout unless asked with -o -/],
      'encrypt --help': [/-a, --armor/, /--allow-group-readable/, /file:-/, /\$KMS_ENVELOPE_KEY/, /- is stdout/],
      'decrypt --help': [/--allow-group-readable/, /file:-/, /\$KMS_ENVELOPE_KEY/, /- is stdout/, /at most 1 MiB/, /ASCII armor/],
      'rewrap --help': [/-a, --armor/, /--allow-group-readable/, /\$KMS_ENVELOPE_KEY/],
      'inspect --help': [/ASCII armor/],
    }
    for (const [args, patterns] of Object.entries(expected)) {
      const r = await cli(args.split(' '))
      assert.equal(r.code, 0, args)
      for (const p of patterns) assert.match(r.stdout.toString(), p, `${args}: ${p}`)
    }
  })
})
