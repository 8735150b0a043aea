#!/usr/bin/env node
// A real KMS API server for tests and demos: moto's server (PyPI moto[server], pinned in
// scripts/kms-server-requirements.txt) in a project-local, git-ignored virtualenv.
//
//   node scripts/kms-server.js                 install if needed, start, print the endpoint, run until Ctrl-C
//   node scripts/kms-server.js --install       only install (CI can warm it up)
//   node scripts/kms-server.js --run CMD ARGS  start, run CMD with AWS_ENDPOINT_URL_KMS etc. set, stop, exit with CMD's code
//
// The first run creates .venv-moto/ with `python3 -m venv` and pip-installs the pinned set
// (about a minute, once per clone); later runs reuse it (a marker file holds the hash of the
// requirements; a changed file reinstalls). Set KMSE_PYTHON to use another interpreter.
// Any failure to install or start throws: callers must fail, never skip.
//
// Exports ensureMoto() and startKmsServer() for scripts/test.js and demos.
//
// moto runs through scripts/moto-kms-shim.py (same venv, same moto): it makes KMS RSA Decrypt
// open ciphertexts made offline with GetPublicKey's key, as AWS KMS does (moto 5.2 cannot),
// answers GetPublicKey with the key ARN, and counts calls per key for tests
// (TrentService.KmseTestCalls). The file's docstring says exactly what it changes.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { runChecked, withInstallLock } from './install-lock.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const requirementsFile = join(root, 'scripts', 'kms-server-requirements.txt')
export const VENV = join(root, '.venv-moto')
const run = (command, args, what) => runChecked('kms-server', command, args, what, { cwd: root })
const MARKER = join(VENV, 'kms-envelope-requirements.sha256')
const SHIM = join(root, 'scripts', 'moto-kms-shim.py')
const LOCK = `${VENV}.lock`
const bin = (name) => join(VENV, process.platform === 'win32' ? 'Scripts' : 'bin', process.platform === 'win32' ? `${name}.exe` : name)

/** The credentials and region moto accepts; exported so tests and demos use the same. */
export const KMS_TEST_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
})

function requirementsHash() {
  return createHash('sha256').update(readFileSync(requirementsFile)).digest('hex')
}

function isInstalled(hash) {
  try {
    return readFileSync(MARKER, 'utf8').trim() === hash && existsSync(bin('moto_server'))
  } catch {
    return false
  }
}

/**
 * Makes sure the pinned moto is installed in .venv-moto/ and returns the path of moto_server.
 * Throws (with pip's output) when Python, venv or pip fail.
 */
export async function ensureMoto({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const hash = requirementsHash()
  if (isInstalled(hash)) return bin('moto_server')
  return withInstallLock(LOCK, 'kms-server', () => {
    if (isInstalled(hash)) return bin('moto_server') // another process finished it meanwhile
    const python = process.env.KMSE_PYTHON ?? 'python3'
    const started = Date.now()
    log(`kms-server: installing the pinned moto[server] into ${VENV} (once per clone, about a minute)`)
    rmSync(VENV, { recursive: true, force: true })
    run(python, ['-c', 'import sys; assert sys.version_info >= (3, 9), sys.version'], `${python} (Python >= 3.9)`)
    run(python, ['-m', 'venv', VENV], 'creating the virtualenv')
    const pip = [bin('python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '-r', requirementsFile]]
    run(pip[0], pip[1], 'pip install')
    writeFileSync(MARKER, `${hash}\n`)
    log(`kms-server: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return bin('moto_server')
  })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function answers(endpoint) {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

/**
 * Installs if needed, starts moto_server on a free 127.0.0.1 port and waits until it
 * answers. Returns { endpoint, env, stop() }: `env` holds AWS_ENDPOINT_URL_KMS and dummy
 * credentials for child processes. The server is also stopped when this process exits.
 */
export async function startKmsServer({ log, readyTimeoutMs = 60_000 } = {}) {
  const motoServer = await ensureMoto(log === undefined ? {} : { log })
  let lastError
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort()
    const endpoint = `http://127.0.0.1:${port}`
    // Output goes to a file, not a pipe: a parent blocked in spawnSync (scripts/test.js)
    // would not drain a pipe, and a full pipe would stall moto mid-request.
    const logPath = join(tmpdir(), `kms-envelope-moto-${process.pid}-${port}.log`)
    const logFd = openSync(logPath, 'w')
    // The venv's own interpreter, beside the moto_server it installed.
    const python = join(motoServer, '..', process.platform === 'win32' ? 'python.exe' : 'python')
    const child = spawn(python, [SHIM, '-H', '127.0.0.1', '-p', String(port)], { cwd: root, stdio: ['ignore', logFd, logFd] })
    closeSync(logFd)
    const output = () => {
      try {
        return readFileSync(logPath, 'utf8').slice(-16 * 1024) // the tail, for error messages
      } catch {
        return ''
      }
    }
    const removeLog = () => rmSync(logPath, { force: true })
    let exited = false
    const exitedPromise = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        exited = true
        resolve({ code, signal })
      }),
    )
    child.once('error', (error) => {
      lastError = error
    })
    const killOnExit = () => {
      child.kill('SIGKILL')
      removeLog()
    }
    process.once('exit', killOnExit)
    const deadline = Date.now() + readyTimeoutMs
    while (!exited && Date.now() < deadline && !(await answers(endpoint))) await sleep(100)
    if (!exited && Date.now() < deadline) {
      const stop = async () => {
        process.removeListener('exit', killOnExit)
        if (exited) return
        child.kill('SIGTERM')
        const done = await Promise.race([exitedPromise, sleep(5000).then(() => undefined)])
        if (done === undefined) {
          child.kill('SIGKILL')
          await exitedPromise
        }
        removeLog()
      }
      return { endpoint, port, pid: child.pid, env: { ...KMS_TEST_ENV, AWS_ENDPOINT_URL_KMS: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint }, stop }
    }
    child.kill('SIGKILL')
    await exitedPromise
    process.removeListener('exit', killOnExit)
    const tail = output()
    removeLog()
    lastError = new Error(
      `kms-server: moto_server on port ${port} ${exited ? 'exited' : `did not answer within ${readyTimeoutMs} ms`}${lastError ? ` (${lastError.message})` : ''}\n${tail.trim()}`,
    )
    if (!/address already in use/i.test(tail)) break
  }
  throw lastError
}

async function cli(args) {
  if (args[0] === '--install') {
    await ensureMoto()
    console.log(`moto installed in ${VENV}`)
    return 0
  }
  if (args[0] === '--help' || args[0] === '-h') {
    console.log('usage: node scripts/kms-server.js [--install | --run COMMAND [ARGS...]]')
    return 0
  }
  const server = await startKmsServer()
  const stopAndExit = async (code) => {
    await server.stop()
    process.exit(code)
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => void stopAndExit(130))
  if (args[0] === '--run') {
    if (args.length < 2) throw new Error('--run needs a command')
    const child = spawn(args[1], args.slice(2), { cwd: root, stdio: 'inherit', env: { ...process.env, ...server.env } })
    const code = await new Promise((resolve) => {
      child.once('exit', (c, s) => resolve(c ?? (s ? 128 : 1)))
      child.once('error', (error) => {
        console.error(`kms-server: cannot run ${args[1]}: ${error.message}`)
        resolve(127)
      })
    })
    await server.stop()
    return code
  }
  console.log(server.endpoint)
  process.stderr.write(
    `kms-server: moto KMS at ${server.endpoint} (pid ${server.pid}); Ctrl-C stops it. In another shell:\n` +
      `  export AWS_ENDPOINT_URL_KMS=${server.endpoint} AWS_ENDPOINT_URL_DYNAMODB=${server.endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n`,
  )
  await new Promise(() => {}) // until a signal
  return 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    },
  )
}
