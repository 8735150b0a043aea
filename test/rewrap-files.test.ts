/**
 * rewrapFiles: 1,000 files moved from one local key to another in place (bodies compared byte
 * for byte), reruns skipping what is done, failures reported per file, modes kept, dry runs.
 */
import assert from 'node:assert/strict'
import { chmod, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseHead } from '../src/format/message.js'
import { Envelope, LocalKeyring } from '../src/index.js'
import type { RewrapFileProgress } from '../src/node/index.js'
import { rewrapFiles } from '../src/node/index.js'
import { countingKeyring } from './counting-keyring.js'
import { pattern, rejectsWithCode, tempDir } from './helpers.js'

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

  it('rejects bad options and an aborted signal before touching anything', async () => {
    await rejectsWithCode(rewrapFiles(['x'], { envelope: {} as Envelope, to: newKey }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: [] }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles([''], { envelope: oldEnv, to: newKey }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: newKey, concurrency: 0 }), 'ERR_INVALID_ARGUMENT')
    await rejectsWithCode(rewrapFiles(['x'], { envelope: oldEnv, to: newKey, signal: AbortSignal.abort() }), 'ERR_ABORTED')
  })
})
