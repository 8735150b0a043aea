/**
 * Input and output of the CLI: IN is a path or stdin, OUT a path (written atomically,
 * never clobbered without --force) or stdout. encrypt and decrypt stream both ways, so any
 * size works in constant memory. Binary output goes to a terminal only when asked with
 * `-o -`; decrypted text is printed to one after the whole message is verified
 * ({@link terminalText}); an armored IN is recognised by its first byte (detectArmor, ../armor-stream.ts).
 * @module
 */
import { constants, fstatSync, statSync } from 'node:fs'
import { lstat, open, realpath, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { isatty } from 'node:tty'
import { OutputExistsError } from '../../errors.js'
import { findTerminalControl, printable } from '../../printable.js'
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
  /** True when the bytes may be binary (ciphertext): refused on a terminal unless `-o -`. */
  readonly binary: boolean
}

/** `-o -`: stdout asked for by name, so written to even when it is a terminal. */
export const isExplicitStdout = (out: OutputOptions): boolean => out.path === '-'

/**
 * True when OUT is stdout (by default, or as /dev/stdout and the like), stdout is a terminal,
 * and the user did not ask for stdout by name with `-o -`.
 */
export const isImplicitTerminal = (out: OutputOptions, target: OutputTarget): boolean =>
  target.kind === 'stdout' && !isExplicitStdout(out) && process.stdout.isTTY === true

/** Refuses binary output to a terminal unless `-o -`; call with OUT resolved, before any key is used. */
export function checkOutputTarget(out: OutputOptions, target: OutputTarget, hint = ''): void {
  if (isImplicitTerminal(out, target) && out.binary) {
    throw new UsageError(`refusing to write binary output to a terminal: use -o FILE or a pipe${hint}, or -o - to write it anyway`)
  }
}

/** Most plaintext printed to a terminal: a screenful is far less; more is surely not for reading there. */
export const MAX_TERMINAL_BYTES = 1024 * 1024

/**
 * A sink that holds the plaintext (at most MAX_TERMINAL_BYTES) instead of writing it, and
 * `print`, to call once the whole message is verified: it writes the plaintext to stdout if
 * it is UTF-8 text without control characters (tab, LF and CRLF allowed), and refuses
 * otherwise. So a terminal never receives unverified bytes, escape sequences, or half a
 * message. The held bytes are zeroed afterwards.
 */
export function terminalText(): { sink: Sink; print(): Promise<void>; discard(): void } {
  const held: Uint8Array[] = []
  let total = 0
  const wipe = (): void => {
    for (const chunk of held) chunk.fill(0)
  }
  return {
    /** Zeroes what is held: for a run that failed before `print`. */
    discard: wipe,
    sink: async (chunks) => {
      for (const chunk of chunks) {
        total += chunk.length
        if (total > MAX_TERMINAL_BYTES) {
          wipe()
          throw new UsageError(
            `the plaintext is over ${MAX_TERMINAL_BYTES / 1024 / 1024} MiB, more than a terminal shows: use -o FILE or a pipe (| less), or -o - to print it anyway`,
          )
        }
        held.push(new Uint8Array(chunk)) // a copy (Buffer#slice would be a view): the pump frees written chunks
      }
    },
    async print() {
      const all = Buffer.concat(held)
      wipe()
      try {
        let text: string
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(all)
        } catch {
          throw new UsageError('refusing to print binary plaintext (not UTF-8 text) to a terminal: use -o FILE or a pipe, or -o - to print it anyway')
        }
        const control = findTerminalControl(text)
        if (control !== undefined) {
          const line = text.slice(0, control.index).split('\n').length
          throw new UsageError(
            `refusing to print the plaintext to a terminal: it holds the control character ${printable(control.char)} on line ${line}; use -o FILE or a pipe, or -o - to print it anyway`,
          )
        }
        await streamSink(process.stdout)([all])
      } finally {
        all.fill(0)
      }
    },
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
 * Where OUT really goes, decided once before any key is used (as age does):
 * - `stdout`: `-` or no -o;
 * - `through`: a character device or FIFO (also behind a symlink, like /dev/stdout): written
 *   to directly, since a temp file and rename would replace the device node with a file;
 * - `file`: a regular file written atomically; an existing one only with --force. A symlink to
 *   a regular file is never replaced: refused, or with --force the file it points to is
 *   replaced atomically (the link stays a link).
 */
export type OutputTarget =
  | { readonly kind: 'stdout'; readonly binary: boolean }
  | { readonly kind: 'through'; readonly path: string; readonly binary: boolean }
  | { readonly kind: 'file'; readonly path: string; readonly overwrite: boolean }

const outputError = (message: string, code: string, path: string): Error => Object.assign(new Error(message), { code, outputPath: path })

/** -o /dev/stdout (or /dev/fd/1 ...): written as stdout, which may be a socket that cannot be opened by path. */
function isOurStdout(path: string): boolean {
  try {
    const a = statSync(path)
    const b = fstatSync(1)
    return (!a.isFile() || /^\/(dev|proc)\//.test(path)) && a.dev === b.dev && a.ino === b.ino
  } catch {
    return false
  }
}

export async function resolveOutput(out: OutputOptions): Promise<OutputTarget> {
  if (isStdio(out.path)) return { kind: 'stdout', binary: out.binary }
  const path = out.path!
  const st = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (st === undefined) return { kind: 'file', path, overwrite: false }
  if (isOurStdout(path)) return { kind: 'stdout', binary: out.binary }
  if (st.isCharacterDevice() || st.isFIFO()) return { kind: 'through', path, binary: out.binary }
  if (st.isSymbolicLink()) {
    const target = await stat(path).catch(() => undefined)
    if (target !== undefined && (target.isCharacterDevice() || target.isFIFO())) return { kind: 'through', path, binary: out.binary }
    const shown = printable(path)
    if (!out.force) {
      throw outputError(
        `${shown} is a symbolic link; kms-envelope does not replace links. Write to another path, or pass --force to replace the file it points to`,
        'ERR_OUTPUT_SYMLINK',
        path,
      )
    }
    if (target === undefined)
      throw outputError(`${shown} is a symbolic link to a file that does not exist; write to the target path itself`, 'ERR_OUTPUT_SYMLINK', path)
    if (!target.isFile()) throw outputError(`${shown} is a symbolic link to something that is not a regular file`, 'ERR_OUTPUT_SYMLINK', path)
    return { kind: 'file', path: await realpath(path), overwrite: true }
  }
  if (st.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR', path })
  if (!st.isFile()) throw outputError(`${printable(path)} is neither a regular file, a device nor a FIFO; write to another path`, 'ERR_OUTPUT_TYPE', path)
  if (!out.force) throw new OutputExistsError(path)
  return { kind: 'file', path, overwrite: true }
}

/**
 * Runs `write` against OUT: stdout or a device as the bytes come, or a temp file that
 * replaces OUT only when `write` succeeds (so a failed decryption leaves no output file).
 */
export async function writeOutput(target: OutputTarget, write: (sink: Sink) => Promise<void>): Promise<void> {
  if (target.kind === 'stdout') return write(streamSink(process.stdout))
  if (target.kind === 'through') {
    // No O_CREAT, no O_TRUNC: this writes into what is there. A FIFO blocks until it has a reader.
    const handle = await open(target.path, constants.O_WRONLY)
    try {
      if (target.binary && isatty(handle.fd))
        throw new UsageError(`refusing to write binary output to the terminal ${target.path}: use -o FILE or a pipe, or -o - to write it to stdout anyway`)
      await write(fileSink(handle))
    } finally {
      await handle.close()
    }
    return
  }
  await writeAtomically(target.path, (handle) => write(fileSink(handle)), {
    overwrite: target.overwrite,
    onStaleTempFiles: (removed) => {
      process.stderr.write(
        `kms-envelope: note: removed ${removed.length} temp file(s) left in ${printable(dirname(target.path))} by interrupted earlier runs: ${removed.map((p) => printable(p)).join(', ')}\n`,
      )
    },
  })
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
