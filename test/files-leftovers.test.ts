import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { Envelope, LocalKeyring } from '../src/index.js'
import { removeStaleTempFiles, STALE_TEMP_MS } from '../src/node/atomic.js'
import { encryptFile } from '../src/node/index.js'
import { CLI, ROOT, tempDir } from './helpers.js'

const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.kmse-tmp'))

/** Starts a writer that has written `bytes` into its temp file and then waits; resolves when it has. */
async function startWriter(dir: string, dst: string, bytes: number): Promise<ReturnType<typeof spawn>> {
  const script = join(dir, 'writer.mjs')
  writeFileSync(
    script,
    `import { writeAtomically } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/node/atomic.js')).href)}
await writeAtomically(process.argv[2], async (handle) => {
  await handle.write(new Uint8Array(${bytes}).fill(0x41)) // stands for verified plaintext
  process.stdout.write('ready\\n')
  await new Promise(() => setInterval(() => {}, 1000))
})
`,
  )
  const child = spawn(process.execPath, [script, dst], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [data] = (await once(child.stdout!, 'data')) as [Buffer]
  assert.equal(data.toString(), 'ready\n')
  return child
}

describe('temp files left by a killed writer', () => {
  it('the next CLI run into the directory removes them and says so; a live writer keeps its own', async (t) => {
    const dir = await tempDir(t)
    const killed = await startWriter(dir, join(dir, 'out.bin'), 576 * 1024)
    // A second writer, still running when the next run comes (started first: it also cleans up).
    const alive = await startWriter(dir, join(dir, 'other.bin'), 1024)
    t.after(() => void alive.kill('SIGKILL'))
    killed.kill('SIGKILL')
    await once(killed, 'exit')
    const leftover = temps(dir).find((n) => n.includes(`.${killed.pid}.`))
    const aliveTemp = temps(dir).find((n) => n.includes(`.${alive.pid}.`))
    assert.ok(leftover !== undefined && aliveTemp !== undefined, 'the SIGKILLed writer left its temp file')
    assert.equal(statSync(join(dir, leftover)).size, 576 * 1024)

    const key = join(dir, 'k.key')
    writeFileSync(key, LocalKeyring.generate({ keyId: 'leftover-key' }).toKeyFile(), { mode: 0o600 })
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'encrypt', '-k', `file:${key}`, '-o', join(dir, 'next.kmse')], { stdio: ['pipe', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('close', (code) => resolve({ code, stderr }))
      child.stdin.end('plain')
    })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /note: removed 1 temp file\(s\) left in .* by interrupted earlier runs/)
    assert.ok(r.stderr.includes(leftover), r.stderr)
    assert.equal(existsSync(join(dir, leftover)), false, 'the dead writer’s plaintext is gone')
    assert.equal(existsSync(join(dir, aliveTemp)), true, 'a running writer’s temp file is left alone')
    assert.ok(existsSync(join(dir, 'next.kmse')))
  })

  it('encryptFile removes them too and reports them; files of other hosts only after an hour; nothing else is touched', async (t) => {
    const dir = await tempDir(t)
    const killed = await startWriter(dir, join(dir, 'a'), 4096)
    killed.kill('SIGKILL')
    await once(killed, 'exit')
    const [leftover] = temps(dir)
    const otherHostFresh = '.x.00000000.1.0123456789ab.kmse-tmp'
    const otherHostOld = '.y.00000000.1.0123456789ab.kmse-tmp'
    const legacyOld = '.z.0123456789ab.kmse-tmp'
    const notOurs = ['notes.kmse-tmp', '.looks.like.kmse-tmp']
    for (const name of [otherHostFresh, otherHostOld, legacyOld, ...notOurs]) writeFileSync(join(dir, name), 'x')
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000
    for (const name of [otherHostOld, legacyOld, ...notOurs]) utimesSync(join(dir, name), old, old)

    const src = join(dir, 'src')
    writeFileSync(src, 'data')
    const seen: string[] = []
    await encryptFile(src, join(dir, 'dst'), { envelope: new Envelope({ keyring: LocalKeyring.generate() }), onStaleTempFiles: (r) => seen.push(...r) })
    assert.deepEqual(seen.map((p) => p.slice(dir.length + 1)).sort(), [leftover, otherHostOld, legacyOld].sort())
    assert.deepEqual(temps(dir).sort(), [otherHostFresh, ...notOurs].sort())
    assert.deepEqual(await removeStaleTempFiles(dir), [])
  })
})
