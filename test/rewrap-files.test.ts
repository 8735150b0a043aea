/**
 * rewrapFiles: 1,000 files moved from one local key to another in place (bodies compared byte
 * for byte), reruns skipping what is done, failures reported per file, modes kept, dry runs.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmod, chown, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseHead } from '../src/format/message.js'
import { ARMOR_BEGIN, armor, dearmor, Envelope, LocalKeyring, X25519Identity } from '../src/index.js'
import { replaceFile } from '../src/node/file-batch.js'
import type { RewrapFileProgress } from '../src/node/index.js'
import { rewrapFiles } from '../src/node/index.js'
import { countingKeyring } from './counting-keyring.js'
import { pattern, ROOT, rejectsWithCode, tempDir } from './helpers.js'

const oldKey = new LocalKeyring({ keyId: 'old-key', key: pattern(32, 41) })
const newKey = new LocalKeyring({ keyId: 'new-key', key: pattern(32, 42) })
const oldEnv = new Envelope({ keyring: oldKey, frameSize: 256 })
const newEnv = new Envelope({ keyring: newKey })

/** Everything but the recipients section: what a rewrap must leave byte for byte. */
function withoutRecipients(message: Uint8Array): { prefix: Buffer; body: Buffer } {
  const parsed = parseHead(message, { maxWrappedKeys: 64 })
  if ('need' in parsed) throw new Error('test message is truncated')
  return { prefix: Buffer.from(message.subarray(0, parsed.head.authenticated.length + 16)), body: Buffer.from(message.subarray(parsed.head.bodyOffset)) }
}

async function writeMessages(dir: string, count: number, env = oldEnv): Promise<string[]> {
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const path = join(dir, `m${String(i).padStart(4, '0')}.kmse`)
    await writeFile(path, await env.encrypt(pattern(i % 700, i), { context: { n: String(i) } }))
    paths.push(path)
  }
  return paths
}

describe('rewrapFiles', () => {
  it('rewraps 1,000 files in place: header and body byte-identical, the old key then fails, the new one opens all; a rerun skips them all', async (t) => {
    const dir = await tempDir(t)
    const paths = await writeMessages(dir, 1000)
    const before = await Promise.all(paths.map((p) => readFile(p)))
    const events: RewrapFileProgress[] = []
    const started = performance.now()
    const summary = await rewrapFiles(paths, { envelope: oldEnv, to: newKey, onProgress: (e) => events.push(e) })
    const ms = performance.now() - started
    t.diagnostic(`1,000 files local -> local: ${ms.toFixed(0)} ms (${((1000 * 1000) / ms).toFixed(0)} files/s)`)
    const total = before.reduce((n, b) => n + b.length, 0)
    assert.deepEqual(summary, { rewrapped: 1000, skipped: 0, failed: [], bytes: total })
    assert.equal(events.length, 1000)
    assert.deepEqual(
      events.map((e) => e.done),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    )
    assert.ok(events.every((e) => e.outcome === 'rewrapped' && e.total === 1000))
    for (const [i, path] of paths.entries()) {
      const after = await readFile(path)
      assert.deepEqual(withoutRecipients(after), withoutRecipients(before[i]!), path)
      await rejectsWithCode(oldEnv.decrypt(after), 'ERR_NO_MATCHING_KEY')
      const { plaintext, context } = await newEnv.decrypt(after)
      assert.deepEqual(plaintext, pattern(i % 700, i))
      assert.deepEqual(context, { n: String(i) })
    }
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.kmse-tmp')),
      [],
    )
    const again = await rewrapFiles(paths, { envelope: oldEnv, to: newKey })
    assert.deepEqual(again, { rewrapped: 0, skipped: 1000, failed: [], bytes: 0 })
  })

  it('unwraps once per file with the source key and never with the destination; a dry run writes nothing', async (t) => {
    const dir = await tempDir(t)
    const { keyring: source, calls } = countingKeyring('counted-old', 5)
    const paths = await writeMessages(dir, 20, new Envelope({ keyring: source }))
    calls.unwrap = 0
    const before = await Promise.all(paths.map((p) => readFile(p)))
    const dry = await rewrapFiles(paths, { envelope: new Envelope({ keyring: source }), to: newKey, dryRun: true })
    assert.equal(dry.rewrapped, 20)
    assert.equal(calls.unwrap, 0)
    assert.deepEqual(await Promise.all(paths.map((p) => readFile(p))), before)
    const summary = await rewrapFiles(paths, { envelope: new Envelope({ keyring: source }), to: newKey, concurrency: 3 })
    assert.equal(summary.rewrapped, 20)
    assert.equal(calls.unwrap, 20)
  })

  it('lists files it cannot rewrap with their codes, leaves them as they were, and keeps each file mode', async (t) => {
    const dir = await tempDir(t)
    const [good, foreign] = [join(dir, 'good.kmse'), join(dir, 'foreign.kmse')]
    await writeFile(good, await oldEnv.encrypt(pattern(100, 1)))
    await chmod(good, 0o640)
    const stranger = new Envelope({ keyring: new LocalKeyring({ keyId: 'stranger', key: pattern(32, 9) }) })
    const foreignBytes = await stranger.encrypt(pattern(10, 2))
    await writeFile(foreign, foreignBytes)
    const junk = join(dir, 'notes.txt')
    await writeFile(junk, 'not a message')
    const empty = join(dir, 'empty')
    await writeFile(empty, '')
    const linked = join(dir, 'link.kmse')
    await symlink(good, linked)
    const missing = join(dir, 'missing.kmse')
    const summary = await rewrapFiles([foreign, junk, good, empty, linked, missing], { envelope: oldEnv, to: newKey })
    assert.equal(summary.rewrapped, 1)
    assert.equal(summary.skipped, 0)
    assert.deepEqual(
      summary.failed.map((f) => [f.path, f.code]),
      [
        [foreign, 'ERR_NO_MATCHING_KEY'],
        [junk, 'ERR_FORMAT'],
        [empty, 'ERR_TRUNCATED'],
        [linked, 'ERR_INVALID_ARGUMENT'],
        [missing, 'ENOENT'],
      ],
    )
    assert.deepEqual(await readFile(foreign), Buffer.from(foreignBytes))
    assert.equal((await stat(good)).mode & 0o777, 0o640)
    assert.deepEqual((await newEnv.decrypt(await readFile(good))).plaintext, pattern(100, 1))
  })

  it('keeps a key that is both source and destination, and rewraps a file listing both old and new keys', async (t) => {
    const dir = await tempDir(t)
    const both = new Envelope({ keyring: [oldKey, newKey] })
    const path = join(dir, 'both.kmse')
    await writeFile(path, await both.encrypt(pattern(50, 3)))
    const summary = await rewrapFiles([path], { envelope: both, to: newKey })
    assert.equal(summary.rewrapped, 1)
    await rejectsWithCode(oldEnv.decrypt(await readFile(path)), 'ERR_NO_MATCHING_KEY')
    // Now wrapped for newKey only: done, even though the source also holds newKey.
    assert.equal((await rewrapFiles([path], { envelope: both, to: newKey })).skipped, 1)
  })

  it('reads a head larger than its first read (16 recipients with long key ids)', async (t) => {
    const dir = await tempDir(t)
    const many = Array.from({ length: 16 }, (_, i) => new LocalKeyring({ keyId: `${'k'.repeat(200)}-${i}`, key: pattern(32, 100 + i) }))
    const path = join(dir, 'big-head.kmse')
    const message = await new Envelope({ keyring: many }).encrypt(pattern(9000, 4))
    assert.ok(message.length - 9000 > 4096, 'the head fits in one read: make it larger')
    await writeFile(path, message)
    const summary = await rewrapFiles([path], { envelope: new Envelope({ keyring: many[3]! }), to: newKey })
    assert.equal(summary.rewrapped, 1)
    assert.deepEqual((await newEnv.decrypt(await readFile(path))).plaintext, pattern(9000, 4))
    assert.deepEqual((await new Envelope({ keyring: many[0]! }).decrypt(await readFile(path))).plaintext, pattern(9000, 4)) // the others stay
  })

  it('stops on abort with ERR_ABORTED, every file either old or new, and a rerun finishes', async (t) => {
    const dir = await tempDir(t)
    const paths = await writeMessages(dir, 100)
    const controller = new AbortController()
    let seen = 0
    await rejectsWithCode(
      rewrapFiles(paths, {
        envelope: oldEnv,
        to: newKey,
        signal: controller.signal,
        onProgress: () => {
          if (++seen === 5) controller.abort()
        },
      }),
      'ERR_ABORTED',
    )
    const either = new Envelope({ keyring: [oldKey, newKey] })
    let moved = 0
    for (const path of paths) if ((await either.decrypt(await readFile(path))).keyId === 'new-key') moved++
    assert.ok(moved >= 5 && moved < 100, `${moved} files moved`)
    const rest = await rewrapFiles(paths, { envelope: oldEnv, to: newKey })
    assert.deepEqual([rest.rewrapped, rest.skipped], [100 - moved, moved])
  })

  it('rewrites an armored file armored (LF or CRLF, leading whitespace): header and body byte-identical inside, a rerun skips it', async (t) => {
    const dir = await tempDir(t)
    const messages = [await oldEnv.encrypt(pattern(5000, 7)), await oldEnv.encrypt(pattern(0, 8)), await oldEnv.encrypt(pattern(300, 9))]
    const texts = [armor(messages[0]!), `\r\n  ${armor(messages[1]!).replaceAll('\n', '\r\n')}`, `${armor(messages[2]!)}\n\n`]
    const paths = texts.map((_, i) => join(dir, `armored${i}.txt`))
    for (const [i, path] of paths.entries()) await writeFile(path, texts[i]!)
    const binary = join(dir, 'binary.kmse')
    await writeFile(binary, await oldEnv.encrypt(pattern(10, 10)))

    const dry = await rewrapFiles([...paths, binary], { envelope: oldEnv, to: newKey, dryRun: true })
    assert.deepEqual([dry.rewrapped, dry.skipped, dry.failed], [4, 0, []])
    assert.equal(await readFile(paths[1]!, 'utf8'), texts[1])

    const summary = await rewrapFiles([...paths, binary], { envelope: oldEnv, to: newKey })
    assert.deepEqual([summary.rewrapped, summary.failed], [4, []])
    for (const [i, path] of paths.entries()) {
      const text = await readFile(path, 'utf8')
      assert.ok(text.startsWith(`${ARMOR_BEGIN}\n`), `${path} is armored`)
      assert.ok(!text.includes('\r'), 'written with LF line ends')
      const after = dearmor(text)
      assert.deepEqual(withoutRecipients(after), withoutRecipients(messages[i]!))
      await rejectsWithCode(oldEnv.decrypt(after), 'ERR_NO_MATCHING_KEY')
      assert.deepEqual((await newEnv.decrypt(after)).plaintext, pattern([5000, 0, 300][i]!, 7 + i))
    }
    const rewrappedBinary = await readFile(binary)
    assert.equal(rewrappedBinary.subarray(0, 4).toString(), 'KMSE', 'a binary file stays binary')
    assert.deepEqual((await newEnv.decrypt(rewrappedBinary)).plaintext, pattern(10, 10))
    assert.deepEqual(await rewrapFiles([...paths, binary], { envelope: oldEnv, to: newKey }), { rewrapped: 0, skipped: 4, failed: [], bytes: 0 })
  })

  it('lists armored files that are not strict armor or are cut short, and leaves them as they were', async (t) => {
    const dir = await tempDir(t)
    const text = armor(await oldEnv.encrypt(pattern(2000, 11)))
    const lines = text.split('\n')
    const badLine = join(dir, 'bad-line.txt')
    await writeFile(badLine, [lines[0], `${lines[1]!.slice(0, 10)}*${lines[1]!.slice(11)}`, ...lines.slice(2)].join('\n'))
    const cut = join(dir, 'cut.txt')
    await writeFile(cut, lines.slice(0, 3).join('\n'))
    const headOnly = join(dir, 'head-only.txt')
    await writeFile(headOnly, lines.slice(0, -3).join('\n')) // the head is whole, the END line missing
    const before = await Promise.all([badLine, cut, headOnly].map((p) => readFile(p)))
    const summary = await rewrapFiles([badLine, cut, headOnly], { envelope: oldEnv, to: newKey })
    assert.deepEqual(
      summary.failed.map((f) => [f.path, f.code]),
      [
        [badLine, 'ERR_FORMAT'],
        [cut, 'ERR_TRUNCATED'],
        [headOnly, 'ERR_TRUNCATED'],
      ],
    )
    assert.deepEqual(await Promise.all([badLine, cut, headOnly].map((p) => readFile(p))), before)
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.kmse-tmp')),
      [],
    )
  })

  it('keeps the owner and group of a file it rewraps as root, and its set-group-id bit', {
    skip: process.getuid?.() !== 0 && 'needs root to give files away',
  }, async (t) => {
    const dir = await tempDir(t)
    const path = join(dir, 'owned.kmse')
    await writeFile(path, await oldEnv.encrypt(pattern(100, 12)))
    await chown(path, 4321, 4322)
    await chmod(path, 0o2750)
    assert.equal((await rewrapFiles([path], { envelope: oldEnv, to: newKey })).rewrapped, 1)
    const after = await stat(path)
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [4321, 4322, 0o2750])
    assert.deepEqual((await newEnv.decrypt(await readFile(path))).plaintext, pattern(100, 12))
  })

  it('leaves a file as it was, listed with EPERM naming its owner, when the new file cannot be given that owner', async (t) => {
    const dir = await tempDir(t)
    const path = join(dir, 'theirs.kmse')
    const original = await oldEnv.encrypt(pattern(100, 13))
    await writeFile(path, original)
    let failure: { path: string; code: string; message: string } | undefined
    let owner: { uid: number; gid: number }
    if (process.getuid?.() !== 0) {
      // Not root: a file of another user cannot be made; the group of ours can be one we are not in.
      owner = { uid: (await stat(path)).uid, gid: 4322 }
      if (process.getgroups?.().includes(4322) === true) return t.skip('this user is in group 4322')
      await chown(path, owner.uid, owner.gid).catch(() => undefined)
      if ((await stat(path)).gid !== 4322) {
        // Cannot even set up the file; check the refusal on the replacement itself.
        await rejectsWithCode(
          replaceFile(path, { mode: 0o600, ...owner }, async () => {}),
          'EPERM',
        )
        return
      }
      ;[failure] = (await rewrapFiles([path], { envelope: oldEnv, to: newKey })).failed
    } else {
      // Root may give files away: run the rewrap as nobody over root's file in a directory nobody may write.
      owner = { uid: 0, gid: 0 }
      await chmod(dir, 0o777)
      await chmod(path, 0o644)
      const script = `
        const [{ Envelope, LocalKeyring }, { rewrapFiles }, { pattern }] = await Promise.all([
          import(${JSON.stringify(join(ROOT, 'dist/src/index.js'))}),
          import(${JSON.stringify(join(ROOT, 'dist/src/node/index.js'))}),
          import(${JSON.stringify(join(ROOT, 'dist/test/pattern.js'))}),
        ])
        const envelope = new Envelope({ keyring: new LocalKeyring({ keyId: 'old-key', key: pattern(32, 41) }) })
        const to = new LocalKeyring({ keyId: 'new-key', key: pattern(32, 42) })
        process.stdout.write(JSON.stringify(await rewrapFiles([${JSON.stringify(path)}], { envelope, to })))
      `
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' })
      if (child.status !== 0 && /EACCES|ERR_MODULE_NOT_FOUND/.test(child.stderr)) return t.skip('user nobody cannot read the built tree here')
      assert.equal(child.status, 0, child.stderr)
      ;[failure] = (JSON.parse(child.stdout) as { failed: (typeof failure)[] }).failed
    }
    assert.equal(failure?.code, 'EPERM', JSON.stringify(failure))
    assert.match(failure!.message, new RegExp(`^cannot keep the owner of .*theirs\\.kmse \\(uid ${owner.uid}, gid ${owner.gid}\\).*left as it was`))
    assert.deepEqual(await readFile(path), Buffer.from(original))
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.kmse-tmp')),
      [],
    )
  })

  it('rewraps to a public key (which cannot open what it is given) once: a rerun skips the files', async (t) => {
    const dir = await tempDir(t)
    const paths = await writeMessages(dir, 3)
    const identity = X25519Identity.generate()
    const summary = await rewrapFiles(paths, { envelope: oldEnv, to: identity.recipient })
    assert.deepEqual([summary.rewrapped, summary.failed], [3, []])
    const after = await Promise.all(paths.map((p) => readFile(p)))
    for (const [i, bytes] of after.entries()) {
      assert.deepEqual((await new Envelope({ keyring: identity }).decrypt(bytes)).plaintext, pattern(i % 700, i))
    }
    assert.deepEqual(await rewrapFiles(paths, { envelope: oldEnv, to: identity.recipient }), { rewrapped: 0, skipped: 3, failed: [], bytes: 0 })
    assert.deepEqual(await Promise.all(paths.map((p) => readFile(p))), after)
  })

  it('rejects bad options and an aborted signal before touching anything', async () => {
    await rejectsWithCode(rewrapFiles(['x'], { envelope: {} as Envelope, to: newKey }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: [] }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles([''], { envelope: oldEnv, to: newKey }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: newKey, concurrency: 0 }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: newKey, signal: AbortSignal.abort() }), 'ERR_ABORTED')
  })
})
