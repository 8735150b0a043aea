/**
 * Public keys on the command line: keygen --type x25519|pq (identity file 0600, recipient on
 * stderr), encrypt -r/-R mixed with --key, decrypt -i, the post-quantum rule's flag, and the
 * errors people will hit (a typo in a recipient, an identity file others can read).
 */
import assert from 'node:assert/strict'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Envelope, inspect, parseIdentityFile, parsePublicKeyRecipient } from '../src/index.js'
import { cli, keyFile } from './cli-helpers.js'
import { tempDir } from './helpers.js'

const NO_ENV_KEY = { env: { KMS_ENVELOPE_KEY: undefined } }

async function keygen(dir: string, type: string): Promise<{ path: string; recipient: string }> {
  const path = join(dir, `${type}.id`)
  const run = await cli(['keygen', '--type', type, '-o', path])
  assert.equal(run.code, 0, run.stderr)
  const recipient = /^Public key: (age1\S+)$/m.exec(run.stderr)?.[1]
  assert.ok(recipient !== undefined, run.stderr)
  return { path, recipient }
}

/** An X25519 and a post-quantum identity file and a local key file in `dir`. */
async function threeKeys(dir: string) {
  return { x: await keygen(dir, 'x25519'), pq: await keygen(dir, 'pq'), local: keyFile(dir) }
}

describe('CLI public-key recipients', () => {
  it('keygen writes an age-style identity file (0600) and prints its recipient on stderr, never over a file', async (t) => {
    const dir = await tempDir(t)
    for (const type of ['x25519', 'pq']) {
      const { path, recipient } = await keygen(dir, type)
      assert.equal(statSync(path).mode & 0o777, 0o600)
      const text = readFileSync(path, 'utf8')
      assert.match(text, /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: age1\S+\nAGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+\n$/)
      const [identity] = parseIdentityFile(text)
      assert.equal(identity?.recipient.toString(), recipient)
      assert.equal(recipient.startsWith('age1pq1'), type === 'pq')
      const again = await cli(['keygen', '--type', type, '-o', path])
      assert.equal(again.code, 3)
      assert.match(again.stderr, /already exists/)
    }
    const bad = await cli(['keygen', '--type', 'rsa', '-o', join(dir, 'r.id')])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--type must be local, x25519 or pq/)
  })

  it('encrypt -r and -R mix with --key; each of -i x25519, -i pq and --key decrypts alone', async (t) => {
    const dir = await tempDir(t)
    const { x, pq, local } = await threeKeys(dir)
    const recipientsFile = join(dir, 'team.txt')
    writeFileSync(recipientsFile, `# the team\n\n${x.recipient}\n`)
    const refused = await cli(['encrypt', '-r', pq.recipient, '-R', recipientsFile, '-k', local.spec], 'secret')
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, /voiding the post-quantum protection.*--allow-classical-recipients/)
    const e = await cli(['encrypt', '-k', local.spec, '-r', pq.recipient, '-R', recipientsFile, '--allow-classical-recipients', '-c', 'app=cli'], 'secret')
    assert.equal(e.code, 0, e.stderr)
    assert.deepEqual(
      inspect(e.stdout).recipients.map((r) => r.type),
      ['local', 'mlkem768x25519', 'x25519'],
    )
    for (const keys of [
      ['-i', x.path],
      ['-i', pq.path],
      ['-k', local.spec],
    ]) {
      const d = await cli(['decrypt', ...keys, '-e', 'app=cli'], e.stdout, NO_ENV_KEY)
      assert.equal(d.code, 0, d.stderr)
      assert.equal(d.stdout.toString(), 'secret')
    }
    // One identity file holding both identities; and the public key alone cannot decrypt.
    const both = join(dir, 'both.id')
    writeFileSync(both, `${readFileSync(x.path, 'utf8')}\n${readFileSync(pq.path, 'utf8')}`, { mode: 0o600 })
    assert.equal((await cli(['decrypt', '-i', both], e.stdout, NO_ENV_KEY)).stdout.toString(), 'secret')
    const onlyPublic = await cli(['encrypt', '-r', x.recipient], 'to x only', NO_ENV_KEY)
    assert.equal(onlyPublic.code, 0, onlyPublic.stderr)
    assert.equal((await cli(['decrypt', '-k', local.spec], onlyPublic.stdout)).code, 3)
    const { plaintext } = await new Envelope({ keyring: parseIdentityFile(readFileSync(x.path, 'utf8')) }).decrypt(onlyPublic.stdout)
    assert.equal(Buffer.from(plaintext).toString(), 'to x only')
    assert.ok(parsePublicKeyRecipient(x.recipient).keyId === inspect(onlyPublic.stdout).recipients[0]?.keyId)
  })

  it('rewrap moves a message between a local key and age keys both ways (-i, --to age1..., -R), in place with reruns skipping, and inspect -i shows the status', async (t) => {
    const dir = await tempDir(t)
    const { x, pq, local } = await threeKeys(dir)
    const toPq = join(dir, 'pq.txt')
    writeFileSync(toPq, `# the new key\n${pq.recipient}\n`)

    const e = await cli(['encrypt', '-r', x.recipient, '-c', 'app=cli'], 'age secret', NO_ENV_KEY)
    assert.equal(e.code, 0, e.stderr)
    // From the x25519 identity to a local key file: only -i holds the message.
    const toLocal = await cli(['rewrap', '-i', x.path, '--to', local.spec], e.stdout, NO_ENV_KEY)
    assert.equal(toLocal.code, 0, toLocal.stderr)
    assert.deepEqual(
      inspect(toLocal.stdout).recipients.map((r) => r.type),
      ['local'],
    )
    assert.equal((await cli(['decrypt', '-k', local.spec, '-e', 'app=cli'], toLocal.stdout)).stdout.toString(), 'age secret')
    assert.equal((await cli(['decrypt', '-i', x.path], toLocal.stdout, NO_ENV_KEY)).code, 3)
    // And from the local key to a post-quantum recipient given on --to as it is.
    const toAge = await cli(['rewrap', '-k', local.spec, '--to', pq.recipient], toLocal.stdout)
    assert.equal(toAge.code, 0, toAge.stderr)
    assert.deepEqual(
      inspect(toAge.stdout).recipients.map((r) => r.type),
      ['mlkem768x25519'],
    )
    assert.equal((await cli(['decrypt', '-i', pq.path], toAge.stdout, NO_ENV_KEY)).stdout.toString(), 'age secret')
    const typo = await cli(['rewrap', '-k', local.spec, '--to', `${pq.recipient.slice(0, -1)}${pq.recipient.endsWith('q') ? 'p' : 'q'}`], toLocal.stdout)
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /--to .*checksum/)

    // inspect -i: the identity counts as a key that holds the message.
    const message = join(dir, 'm.kmse')
    writeFileSync(message, e.stdout)
    const shown = await cli(['inspect', '-i', x.path, '-k', local.spec, message])
    assert.equal(shown.code, 0, shown.stderr)
    assert.deepEqual(
      (JSON.parse(shown.stdout.toString()) as { recipients: { type: string; status: string }[] }).recipients.map((r) => [r.type, r.status]),
      [['x25519', 'write']],
    )

    // In place with -R: rewrapped once, then skipped (a public key cannot open its entry, but it is its entry).
    const first = await cli(['rewrap', '-i', x.path, '-R', toPq, '--in-place', message], undefined, NO_ENV_KEY)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stderr, /^rewrapped 1 /)
    const after = readFileSync(message)
    assert.deepEqual(
      inspect(after).recipients.map((r) => r.type),
      ['mlkem768x25519'],
    )
    const again = await cli(['rewrap', '-i', x.path, '-R', toPq, '--in-place', message], undefined, NO_ENV_KEY)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /^rewrapped 0 .*skipped 1 /)
    assert.deepEqual(readFileSync(message), after)
    const none = await cli(['rewrap', '-i', x.path, message], undefined, NO_ENV_KEY)
    assert.equal(none.code, 2)
    assert.match(none.stderr, /needs --to SPEC \(or -R FILE\)/)
  })

  it('errors: a mistyped recipient is a usage error, an identity file others can read or a wrong identity a key error', async (t) => {
    const dir = await tempDir(t)
    const x = await keygen(dir, 'x25519')
    const typo = await cli(['encrypt', '-r', `${x.recipient.slice(0, -1)}${x.recipient.endsWith('q') ? 'p' : 'q'}`], 'x', NO_ENV_KEY)
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /checksum/)
    const secretAsRecipient = await cli(['encrypt', '-r', readFileSync(x.path, 'utf8').split('\n')[2]!], 'x', NO_ENV_KEY)
    assert.equal(secretAsRecipient.code, 2)
    assert.match(secretAsRecipient.stderr, /is an identity/)
    assert.doesNotMatch(secretAsRecipient.stderr, /AGE-SECRET-KEY-1/)
    const e = await cli(['encrypt', '-r', x.recipient], 'x', NO_ENV_KEY)
    chmodSync(x.path, 0o644)
    const open = await cli(['decrypt', '-i', x.path], e.stdout, NO_ENV_KEY)
    assert.equal(open.code, 3)
    assert.match(open.stderr, /chmod 600/)
    const other = await keygen(dir, 'pq')
    const wrong = await cli(['decrypt', '-i', other.path], e.stdout, NO_ENV_KEY)
    assert.equal(wrong.code, 3)
    assert.match(wrong.stderr, /ERR_NO_MATCHING_KEY/)
    const garbage = join(dir, 'garbage.id')
    writeFileSync(garbage, '# nothing\nAGE-SECRET-KEY-1QQQQ\n', { mode: 0o600 })
    const bad = await cli(['decrypt', '-i', garbage], e.stdout, NO_ENV_KEY)
    assert.equal(bad.code, 3)
    assert.match(bad.stderr, /line 2:/)
  })
})
