/**
 * The tamper walk: every single-byte change (under several masks), every truncation and a few
 * extensions of an authentic message, each judged by the oracle. A reader must fail with a
 * typed error every time, except where FORMAT.md §9 allows success: an edit inside a
 * recipient entry the reader does not use, and then only to the authentic plaintext.
 */

import { edits, MASKS } from '../mutations.js'
import type { Sample } from './corpus.js'
import { layoutOf, readerFor, usedRecipient } from './corpus.js'
import { judge } from './oracle.js'
import type { Surface } from './surfaces.js'

export type { Edit } from '../mutations.js'
export { ALL_BIT_MASKS, editCount, edits, MASKS } from '../mutations.js'

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
