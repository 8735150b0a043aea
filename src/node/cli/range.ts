/**
 * `decrypt --range START-END`: plaintext bytes START (inclusive) to END (exclusive) of an
 * encrypted file, read by random access, so only the frames of the range (and the head and
 * final frame, authenticated at open) are read and decrypted.
 * @module
 */

import type { Envelope } from '../../envelope.js'
import type { EncryptionContext } from '../../format/context.js'
import { openEncryptedFile } from '../encrypted-file.js'
import type { OutputTarget } from './io.js'
import { writeOutput } from './io.js'
import { UsageError } from './usage.js'

/** A parsed --range: the input file and the plaintext bytes asked for. */
export interface RangeRequest {
  readonly path: string
  readonly start: number
  /** Undefined: to the end. */
  readonly end: number | undefined
}

/** Parses `START-END` or `START-` (decimal bytes, END exclusive); random access needs a file, not stdin. */
export function parseRange(text: string, inputPath: string | undefined): RangeRequest {
  const m = /^([0-9]+)-([0-9]*)$/.exec(text)
  const start = m === null ? Number.NaN : Number(m[1])
  const end = m === null || m[2] === '' ? undefined : Number(m[2])
  if (!Number.isSafeInteger(start) || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new UsageError(`--range needs START-END or START- in bytes, END exclusive and not below START, got ${JSON.stringify(text)}`)
  }
  if (inputPath === undefined || inputPath === '-') throw new UsageError('--range needs an input file: random access cannot read stdin')
  return { path: inputPath, start, end }
}

/** Writes the range's plaintext to `target`; with -o the file appears only if every frame read verified. */
export async function decryptRange(envelope: Envelope, range: RangeRequest, expectContext: EncryptionContext | undefined, target: OutputTarget): Promise<void> {
  const file = await openEncryptedFile(range.path, { envelope, ...(expectContext === undefined ? {} : { expectContext }) })
  try {
    await writeOutput(target, async (sink) => {
      const reader = file.stream(Math.min(range.start, file.size), range.end ?? file.size).getReader()
      for (let next = await reader.read(); !next.done; next = await reader.read()) await sink([next.value])
    })
  } finally {
    await file.close()
  }
}
