/**
 * Input and output of the CLI: IN is a path or stdin, OUT a path (written atomically,
 * never clobbered without --force) or stdout. Binary output never goes to a terminal.
 * @module
 */
import { open, readFile } from 'node:fs/promises'
import { writeAtomically } from '../atomic.js'
import { UsageError } from './usage.js'

export async function readInput(path: string | undefined): Promise<Uint8Array> {
  if (path === undefined || path === '-') {
    if (process.stdin.isTTY) throw new UsageError('no input: give an input file, or pipe data into stdin')
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }
  return readFile(path)
}

export interface OutputOptions {
  readonly path: string | undefined
  readonly force: boolean
  /** True when the bytes may be binary (ciphertext): refused on a terminal. */
  readonly binary: boolean
}

export function checkOutputTarget(out: OutputOptions): void {
  if ((out.path === undefined || out.path === '-') && out.binary && process.stdout.isTTY) {
    throw new UsageError('refusing to write binary output to a terminal: use -o FILE or a pipe')
  }
}

export async function writeOutput(out: OutputOptions, bytes: Uint8Array): Promise<void> {
  if (out.path === undefined || out.path === '-') {
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(bytes, (error) => (error ? reject(error) : resolve()))
    })
    return
  }
  await writeAtomically(out.path, async (handle) => {
    await handle.writeFile(bytes)
  }, { overwrite: out.force })
}

/** True when `path` exists (used to fail early, before any key service is called). */
export async function exists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close()
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}
