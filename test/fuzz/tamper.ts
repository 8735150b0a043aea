/**
 * The tamper walk: every single-byte change (under several masks), every truncation and a few
 * extensions of an authentic message, each judged by the oracle. A reader must fail with a
 * typed error every time, except where FORMAT.md §9 allows success: an edit inside a
 * recipient entry the reader does not use, and then only to the authentic plaintext.
 */
import type { Sample } from './corpus.js'
import { layoutOf, readerFor, usedRecipient } from './corpus.js'
import { judge } from './oracle.js'
import type { Surface } from './surfaces.js'

/** XOR masks applied to every byte: the low bit, the high bit, and all bits. */
export const MASKS = [0x01, 0x80, 0xff] as const
/** Every single bit, and all bits (the long walk of `npm run fuzz`). */
export const ALL_BIT_MASKS = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] as const

/** One altered copy of a message; `at` is the changed byte for single-byte edits. */
export interface Edit {
  readonly label: string
  readonly message: Uint8Array
  readonly at?: number
}

/** Number of edits {@link edits} yields for a message of `length` bytes. */
export function editCount(length: number, masks: readonly number[] = MASKS): number {
  return length * masks.length + length + 3
}

/** Every edit of the walk, in a fixed order (so index `i` always names the same edit). */
export function* edits(message: Uint8Array, masks: readonly number[] = MASKS): Generator<Edit> {
  for (let at = 0; at < message.length; at++) {
    for (const mask of masks) {
      const m = message.slice()
      m[at]! ^= mask
      yield { label: `byte ${at} ^ 0x${mask.toString(16)}`, message: m, at }
    }
  }
  for (let n = 0; n < message.length; n++) yield { label: `truncated to ${n} bytes`, message: message.subarray(0, n) }
  const extended = (extra: Uint8Array): Uint8Array => {
    const m = new Uint8Array(message.length + extra.length)
    m.set(message, 0)
    m.set(extra, message.length)
    return m
  }
  yield { label: 'one zero byte appended', message: extended(new Uint8Array(1)) }
  yield { label: '16 zero bytes appended', message: extended(new Uint8Array(16)) }
  yield { label: 'the last 17 bytes appended again', message: extended(message.slice(-17)) }
}

/** What a walk saw. */
export interface WalkResult {
  readonly edits: number
  /** Outcome ("ok" or error code) to count. */
  readonly outcomes: Map<string, number>
}

/**
 * Walks the edits of `sample` through `surface`; `select(i)` picks which edit indexes to run
 * (all by default), under `masks`. Throws the oracle's Violation at the first broken invariant.
 */
export async function walk(
  sample: Sample,
  surface: Surface,
  select: (index: number) => boolean = () => true,
  masks: readonly number[] = MASKS,
): Promise<WalkResult> {
  const reader = readerFor(sample.holder)
  const layout = layoutOf(sample.message)
  const used = usedRecipient(sample)
  const outcomes = new Map<string, number>()
  let count = 0
  let index = 0
  for (const edit of edits(sample.message, masks)) {
    if (!select(index++)) continue
    count++
    const inUnusedEntry = edit.at !== undefined && layout.entries.some(([start, end], j) => j !== used && edit.at! >= start && edit.at! < end)
    const outcome = await judge(surface, reader, edit.message, { plaintext: sample.plaintext, mayOpen: () => inUnusedEntry }).catch((error: Error) => {
      error.message = `${sample.name}, ${edit.label}: ${error.message}`
      throw error
    })
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  }
  return { edits: count, outcomes }
}
