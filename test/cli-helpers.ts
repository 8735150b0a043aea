/**
 * Running the CLI in tests: through pipes ({@link cli}) or on a real pseudo-terminal
 * ({@link inTerminal}, util-linux `script`), plus a key file to run it with. One copy of the
 * spawn set-up for every CLI test file.
 */
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalKeyring } from '../src/index.js'
import { CLI } from './helpers.js'

/** What a CLI run left: exit code, stdout bytes, stderr text. */
export interface Run {
  readonly code: number | null
  readonly stdout: Buffer
  readonly stderr: string
  /** stderr as bytes, for checks a UTF-8 decode would blur (raw C1 bytes). */
  readonly stderrBytes: Buffer
}

/** Options of a run: variables added to (or, as undefined, removed from) the inherited environment; working directory. */
export interface RunOptions {
  readonly env?: Record<string, string | undefined>
  readonly cwd?: string
}

/** Runs the CLI with `input` on stdin (stdin at EOF when omitted); stdout and stderr are pipes. */
export function cli(args: readonly string[], input?: Uint8Array | string, options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: envWith(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => {
      const stderrBytes = Buffer.concat(err)
      resolve({ code, stdout: Buffer.concat(out), stderr: stderrBytes.toString(), stderrBytes })
    })
    // The child may exit before reading stdin (a usage error): that EPIPE is not the test's failure.
    child.stdin.on('error', () => {})
    child.stdin.end(input === undefined ? undefined : typeof input === 'string' ? input : Buffer.from(input))
  })
}

/** True when util-linux `script` can give a command a pseudo-terminal (skip reason otherwise). */
export const NO_PTY: string | false = spawnSync('script', ['--version']).status === 0 ? false : 'needs script(1) for a pseudo-terminal'

/** What reached a terminal: everything the CLI wrote to it (stdout and stderr, as the terminal shows them), and the exit code. */
export interface TerminalRun {
  readonly code: number | null
  /** The terminal's bytes, with the terminal's CRLF line ends turned back into LF. */
  readonly screen: Buffer
}

/** The inherited environment with `extra` applied (an undefined value removes the variable). */
function envWith(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  return env
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * Runs the CLI on a real pseudo-terminal: stdin, stdout and stderr are the terminal, unless
 * `redirect` (shell redirections such as `< file` or `2>/dev/null`) says otherwise. CI=true
 * keeps the progress bar off, so the screen holds only what the command printed.
 */
export function inTerminal(args: readonly string[], options: RunOptions & { readonly redirect?: string } = {}): TerminalRun {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ') + (options.redirect === undefined ? '' : ` ${options.redirect}`)
  const result = spawnSync('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    env: envWith({ CI: 'true', ...options.env }),
    maxBuffer: 16 * 1024 * 1024,
  })
  // The terminal's output processing (onlcr) writes every LF as CRLF.
  const screen = Buffer.from(result.stdout.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')
  return { code: result.status, screen }
}

/** Writes a fresh local key file (mode 0600) in `dir`; returns its path and keyring. */
export function keyFile(dir: string, keyId = 'cli-test-key', name = 'k.key'): { path: string; spec: string; keyring: LocalKeyring } {
  const keyring = LocalKeyring.generate({ keyId })
  const path = join(dir, name)
  writeFileSync(path, keyring.toKeyFile(), { mode: 0o600 })
  return { path, spec: `file:${path}`, keyring }
}
