/**
 * Input and output of the CLI: IN is a path or stdin, OUT a path (written atomically,
 * never clobbered without --force) or stdout. encrypt and decrypt stream both ways, so any
 * size works in constant memory. Binary output never goes to a terminal.
 * @module
 */
import { fstatSync } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { writeAtomically } from '../atomic.js'
import type { Sink } from '../pump.js'
import { fileSink, readChunks, streamSink } from '../pump.js'
import { UsageError } from './usage.js'

const isStdio = (path: string | undefined): boolean => path === undefined || path === '-'

/** An opened input: its chunks, its size when it is a regular file (for progress), and how to close it. */
export interface Input {
  readonly chunks: AsyncIterable<Uint8Array>
  readonly size: number | undefined
  /** Device and inode, to refuse writing over the input. */
  readonly id: { readonly dev: number; readonly ino: number } | undefined
  close(): Promise<void>
}

/** Opens IN for streaming. A missing or unreadable file fails here, before any key is used. */
export async function openInput(path: string | undefined): Promise<Input> {
  if (isStdio(path)) {
    if (process.stdin.isTTY) throw new UsageError('no input: give an input file, or pipe data into stdin')
    const st = fstatSync(0)
    return {
      chunks: process.stdin,
      size: st.isFile() ? st.size : undefined,
      id: st.isFile() ? { dev: st.dev, ino: st.ino } : undefined,
      close: async () => {},
    }
  }
  const handle = await open(path!, 'r')
  try {
    const st = await handle.stat()
    if (st.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR', path })
    return {
      chunks: readChunks(handle),
      size: st.isFile() ? st.size : undefined,
      id: { dev: st.dev, ino: st.ino },
      close: () => handle.close(),
    }
  } catch (error) {
    await handle.close()
    throw error
  }
}

export interface OutputOptions {
  readonly path: string | undefined
  readonly force: boolean
  /** True when the bytes may be binary (ciphertext): refused on a terminal. */
  readonly binary: boolean
}

export function checkOutputTarget(out: OutputOptions): void {
  if (isStdio(out.path) && out.binary && process.stdout.isTTY) {
    throw new UsageError('refusing to write binary output to a terminal: use -o FILE or a pipe')
  }
}

/** Refuses an OUT that is IN under another name: replacing it would destroy the input. */
export async function checkNotInput(out: OutputOptions, input: Input): Promise<void> {
  if (isStdio(out.path) || input.id === undefined) return
  const st = await stat(out.path!).catch(() => undefined)
  if (st !== undefined && st.dev === input.id.dev && st.ino === input.id.ino) {
    throw new UsageError(`the output ${out.path} is the input file; write to another path`)
  }
}

/**
 * Runs `write` against OUT: stdout as the bytes come, or a temp file that replaces OUT only
 * when `write` succeeds (so a failed decryption leaves no output file).
 */
export async function writeOutput(out: OutputOptions, write: (sink: Sink) => Promise<void>): Promise<void> {
  if (isStdio(out.path)) return write(streamSink(process.stdout))
  await writeAtomically(out.path!, (handle) => write(fileSink(handle)), { overwrite: out.force })
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
