/**
 * `--passphrase`: where the CLI gets a passphrase. On a terminal it is prompted for (on
 * stderr, not echoed; twice when encrypting, and the two must match); when stdin is not a
 * terminal it comes from KMS_ENVELOPE_PASSPHRASE (scripts, CI); with neither, a usage error.
 * Never printed; the bytes read are zeroed once the keyring holds its copy.
 * @module
 */
import { PassphraseKeyring } from '../../keyrings/passphrase.js'
import { UsageError } from './usage.js'

/** The environment variable holding the passphrase when stdin is not a terminal. */
export const PASSPHRASE_ENV = 'KMS_ENVELOPE_PASSPHRASE'
const MAX_BYTES = 4096

/** Reads one line from the terminal with echo off (raw mode); Ctrl-C and Ctrl-D abort. */
function promptHidden(prompt: string): Promise<Uint8Array> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    const bytes: number[] = []
    const done = (error: Error | undefined) => {
      stdin.removeListener('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (error !== undefined) {
        bytes.fill(0)
        reject(error)
      } else {
        const out = Uint8Array.from(bytes)
        bytes.fill(0)
        resolve(out)
      }
    }
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a) return done(undefined)
        if (byte === 0x03 || byte === 0x04) return done(new UsageError('passphrase entry cancelled'))
        if (byte === 0x7f || byte === 0x08) bytes.pop()
        else if (bytes.length >= MAX_BYTES) return done(new UsageError(`the passphrase is over ${MAX_BYTES} bytes`))
        else bytes.push(byte)
      }
      chunk.fill(0)
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}

/** `--work-factor`, checked before any prompt. */
function workFactorOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = /^[0-9]{1,2}$/.test(text) ? Number(text) : NaN
  if (!(n >= 10 && n <= 20)) throw new UsageError(`--work-factor must be log2 of scrypt's N, 10 to 20 (default 18), got ${JSON.stringify(text)}`)
  return n
}

/**
 * The passphrase keyring of `--passphrase`.
 * @param confirm - Ask twice (encryption): a typo would otherwise lock the data away.
 * @param workFactorText - encrypt's `--work-factor`, if given.
 */
export async function passphraseKeyring(confirm: boolean, workFactorText?: string): Promise<PassphraseKeyring> {
  const workFactor = workFactorOf(workFactorText)
  let bytes: Uint8Array
  if (process.stdin.isTTY) {
    bytes = await promptHidden('Passphrase: ')
    if (confirm) {
      const again = await promptHidden('Passphrase again: ')
      const same = again.length === bytes.length && again.every((b, i) => b === bytes[i])
      again.fill(0)
      if (!same) {
        bytes.fill(0)
        throw new UsageError('the two passphrases differ: nothing was encrypted; run the command again')
      }
    }
  } else {
    const text = process.env[PASSPHRASE_ENV]
    if (text === undefined || text === '') {
      throw new UsageError(`--passphrase needs a terminal to prompt on, or the passphrase in ${PASSPHRASE_ENV} when stdin is not a terminal`)
    }
    bytes = new TextEncoder().encode(text.normalize('NFC'))
  }
  if (bytes.length === 0) throw new UsageError('the passphrase is empty')
  try {
    // Typed text arrives as UTF-8 bytes; as a string it is NFC-normalised like the API's (FORMAT.md §17).
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
    return new PassphraseKeyring({ passphrase: text, ...(workFactor === undefined ? {} : { workFactor }) })
  } finally {
    bytes.fill(0)
  }
}
