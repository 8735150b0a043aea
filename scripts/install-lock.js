// Shared by the project's installers (scripts/kms-server.js, scripts/runtimes.js): a lock
// directory so two runs started together (a test run and a demo, two test runs) never install
// over each other, and a command runner whose failure says what failed with the tool's output.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

function pidAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

/**
 * Runs `fn` holding the lock directory `lock`; a lock whose owner process is gone is taken
 * over, one held longer than `timeoutMs` fails with what to remove.
 */
export async function withInstallLock(lock, label, fn, { timeoutMs = 15 * 60_000, pollMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      let owner = Number.NaN
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'))
      } catch {
        /* being created or removed */
      }
      if (Number.isInteger(owner) && !pidAlive(owner)) rmSync(lock, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`${label}: ${lock} is held by process ${owner}; remove it if that process is gone`)
      else await sleep(pollMs)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Runs a command to completion and returns its stdout; a failure throws with the last lines of its output. */
export function runChecked(label, command, args, what, { tailLines = 40, ...options } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options })
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-tailLines).join('\n')
    throw new Error(`${label}: ${what} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}): ${command} ${args.join(' ')}\n${output}`)
  }
  return result.stdout
}
