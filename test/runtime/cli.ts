/**
 * The CLI run by the runtime itself (`node`, `deno run -A`, `bun` on bin/kms-envelope.js) with
 * a local key file: keygen, encrypt, decrypt, inspect, pipes, and its exit codes; each result
 * is checked against the library in this process, so CLI and API agree on every runtime.
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { Envelope, LocalKeyring } from 'kms-envelope'
import { backend } from '#crypto-backend'
import { pattern } from '../pattern.js'
import type { Case } from './harness.js'
import { equal, ok, runtime } from './harness.js'

const CLI = fileURLToPath(new URL('../../../bin/kms-envelope.js', import.meta.url))

interface Ran {
  readonly status: number | null
  readonly stdout: Uint8Array
  readonly stderr: string
}

/** The runtime's arguments before the script: Deno's `run`, and this process's crypto backend. */
function runtimeArgs(): string[] {
  const conditions = backend.name === 'portable' ? ['--conditions=kms-envelope-portable'] : []
  return runtime().name === 'deno' ? ['run', '--allow-all', '--no-prompt', ...conditions] : conditions
}

/** Runs the CLI under this process's runtime, with this process's crypto backend. */
function cli(args: readonly string[], input?: Uint8Array): Ran {
  const result = spawnSync(process.execPath, [...runtimeArgs(), CLI, ...args], {
    ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }),
    timeout: 20_000,
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, stdout: new Uint8Array(result.stdout), stderr: result.stderr.toString('utf8') }
}

function succeeded(r: Ran, what: string): Ran {
  equal(r.status, 0, `${what} exit code (stderr: ${r.stderr.trim()})`)
  return r
}

/** A scratch folder with a key made by `keygen`, removed afterwards. */
async function withKey(fn: (dir: string, key: string, keyring: LocalKeyring) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kmse-rt-'))
  try {
    const key = join(dir, 'app.key')
    succeeded(cli(['keygen', '-o', key, '--key-id', 'rt-cli']), 'keygen')
    await fn(dir, key, LocalKeyring.fromKeyFile(await readFile(key, 'utf8')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const utf8 = new TextDecoder()

export const cliCases: Case[] = [
  {
    name: 'CLI: keygen writes a 0600 key file; encrypt/decrypt files with a context; the library reads what the CLI wrote',
    async run() {
      await withKey(async (dir, key, keyring) => {
        equal((await stat(key)).mode & 0o777, 0o600, 'key file mode')
        equal(keyring.keyId, 'rt-cli', 'key id of the generated key')
        const plaintext = pattern(70_000, 4)
        await writeFile(join(dir, 'plain.bin'), plaintext)
        succeeded(cli(['encrypt', '--key', `file:${key}`, '--context', 'tenant=acme', '-o', join(dir, 'c.kmse'), join(dir, 'plain.bin')]), 'encrypt')
        const message = new Uint8Array(await readFile(join(dir, 'c.kmse')))
        const opened = await new Envelope({ keyring }).decrypt(message, { expectContext: { tenant: 'acme' } })
        equal(opened.plaintext, plaintext, 'library decrypt of the CLI message')
        succeeded(cli(['decrypt', '--key', `file:${key}`, '--expect-context', 'tenant=acme', '-o', join(dir, 'back.bin'), join(dir, 'c.kmse')]), 'decrypt')
        equal(new Uint8Array(await readFile(join(dir, 'back.bin'))), plaintext, 'CLI decrypt')
      })
    },
  },
  {
    name: 'CLI: inspect prints the header as JSON; stdin to stdout both ways; exit codes 1 (tampered, other context), 3 (unsafe key file), 2 (usage)',
    async run() {
      await withKey(async (dir, key, keyring) => {
        const message = await new Envelope({ keyring }).encrypt('from the library', { context: { tenant: 'acme' } })
        await writeFile(join(dir, 'lib.kmse'), message)
        const info = JSON.parse(utf8.decode(succeeded(cli(['inspect', join(dir, 'lib.kmse')]), 'inspect').stdout)) as {
          context: Record<string, string>
          recipients: Array<{ keyId: string }>
        }
        equal(info.context, { tenant: 'acme' }, 'inspect context')
        equal(
          info.recipients.map((r) => r.keyId),
          ['rt-cli'],
          'inspect key ids',
        )
        const encrypted = succeeded(cli(['encrypt', '--key', `file:${key}`], new TextEncoder().encode('piped text')), 'encrypt from stdin').stdout
        const decrypted = succeeded(cli(['decrypt', '--key', `file:${key}`, '-o', '-'], encrypted), 'decrypt to stdout').stdout
        equal(utf8.decode(decrypted), 'piped text', 'stdin round trip')
        const tampered = message.slice()
        tampered[tampered.length - 1]! ^= 1
        const bad = cli(['decrypt', '--key', `file:${key}`, '-o', '-'], tampered)
        equal(bad.status, 1, 'tampered: exit code')
        ok(bad.stderr.includes('[ERR_AUTH]'), `tampered: stderr names ERR_AUTH: ${bad.stderr.trim()}`)
        const other = cli(['decrypt', '--key', `file:${key}`, '--expect-context', 'tenant=other', '-o', '-'], message)
        equal(other.status, 1, 'other context: exit code')
        ok(other.stderr.includes('[ERR_CONTEXT_MISMATCH]'), `other context: stderr: ${other.stderr.trim()}`)
        await chmod(key, 0o644)
        const unsafe = cli(['decrypt', '--key', `file:${key}`, join(dir, 'lib.kmse')])
        equal(unsafe.status, 3, `group-readable key file: exit code (stderr: ${unsafe.stderr.trim()})`)
        ok(unsafe.stderr.includes('[ERR_KEY_FILE]'), `unsafe key file: stderr: ${unsafe.stderr.trim()}`)
        equal(cli(['encrypt', '--no-such-flag']).status, 2, 'unknown flag: exit code')
      })
    },
  },
  {
    name: 'CLI: a symlinked key file is followed and its target checked (0, 3, --allow-group-readable 0), an existing output is kept (4), a reader closing the pipe early ends it with 0',
    async run() {
      await withKey(async (dir, key, keyring) => {
        const message = await new Envelope({ keyring, frameSize: 4096 }).encrypt(pattern(2_000_000, 3))
        await writeFile(join(dir, 'big.kmse'), message)
        // A Kubernetes secret volume: the key path is a symlink; the checks apply to the file it names.
        await symlink(key, join(dir, 'link.key'))
        const linked = cli(['decrypt', '--key', `file:${join(dir, 'link.key')}`, '-o', join(dir, 'linked.out'), join(dir, 'big.kmse')])
        equal(linked.status, 0, `symlinked key file: exit code (stderr: ${linked.stderr.trim()})`)
        equal((await readFile(join(dir, 'linked.out'))).length, 2_000_000, 'symlinked key file: the whole plaintext')
        await chmod(key, 0o640)
        const group = cli(['decrypt', '--key', `file:${join(dir, 'link.key')}`, '-o', '-', join(dir, 'big.kmse')])
        equal(group.status, 3, `group-readable key behind a symlink: exit code (stderr: ${group.stderr.trim()})`)
        ok(group.stderr.includes('[ERR_KEY_FILE]'), `group-readable key behind a symlink: stderr: ${group.stderr.trim()}`)
        const allowed = cli([
          'decrypt',
          '--allow-group-readable',
          '--key',
          `file:${join(dir, 'link.key')}`,
          '-o',
          join(dir, 'allowed.out'),
          join(dir, 'big.kmse'),
        ])
        equal(allowed.status, 0, `--allow-group-readable: exit code (stderr: ${allowed.stderr.trim()})`)
        await chmod(key, 0o600)
        await writeFile(join(dir, 'out'), 'keep me')
        const exists = cli(['decrypt', '--key', `file:${key}`, '-o', join(dir, 'out'), join(dir, 'big.kmse')])
        equal(exists.status, 4, `existing output: exit code (stderr: ${exists.stderr.trim()})`)
        equal(await readFile(join(dir, 'out'), 'utf8'), 'keep me', 'the existing output is untouched')
        // `decrypt … | head -c 10`: the reader goes away after the first chunk.
        const child = spawn(process.execPath, [...runtimeArgs(), CLI, 'decrypt', '--key', `file:${key}`, '-o', '-', join(dir, 'big.kmse')], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let stderr = ''
        child.stderr.on('data', (chunk: Uint8Array) => {
          stderr += utf8.decode(chunk)
        })
        child.stdout.once('data', () => child.stdout.destroy())
        const code = await new Promise<number | null>((resolve, reject) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            reject(new Error('decrypt did not end after its reader closed the pipe'))
          }, 20_000)
          child.once('close', (status) => {
            clearTimeout(timer)
            resolve(status)
          })
        })
        equal(code, 0, `reader closed early: exit code (stderr: ${stderr.trim()})`)
        equal(stderr, '', 'reader closed early: nothing on stderr')
      })
    },
  },
]
