#!/usr/bin/env node
// Makes sure Debian's chromium is installed for the browser test (never a downloaded browser):
// installs the `chromium` package with apt-get when /usr/bin/chromium is missing, as root or
// through passwordless sudo. Run by scripts/test.js before the browser test and by .ci/run.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const CHROMIUM = '/usr/bin/chromium'

/** Installs chromium if it is missing; throws with what to do when it cannot. */
export function ensureChromium({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (existsSync(CHROMIUM)) return CHROMIUM
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0
  if (!root && !sudo) {
    throw new Error(
      `${CHROMIUM} is missing and this user cannot install packages: run \`sudo apt-get install -y chromium\` (Debian's package; the tests never download a browser)`,
    )
  }
  const run = (args) => {
    log(`installing chromium: ${root ? '' : 'sudo '}${args.join(' ')}`)
    execFileSync(root ? args[0] : 'sudo', root ? args.slice(1) : args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  }
  run(['apt-get', 'update'])
  run(['apt-get', 'install', '-y', 'chromium'])
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get finished but ${CHROMIUM} is still missing`)
  return CHROMIUM
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureChromium())
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
