/**
 * The shared-memory protocol of a whole buffer on several threads (./parallel.ts, the caller's
 * side; ./frame-worker.ts, the workers'): control words, chunk claims and chunk states. Kept
 * apart and import-free so a worker thread starts by loading this and node:crypto only.
 * @module
 */

/**
 * Buffers smaller than this are sealed on the calling thread: below it, copying a range into
 * shared memory and the round trip to a worker cost more than the second core gives back
 * (bench/parallel.ts measures the crossover).
 */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024

/**
 * Buffers smaller than this stay on the calling thread when the pool would be one worker
 * (`parallelism: 2`, or `'auto'` on two cores). That worker shares no AES; it only faults and
 * fills the result (./parallel.ts), which wins only while a fresh result costs page faults.
 * glibc's malloc hands out every block above 32 MiB as a fresh mapping (its dynamic mmap
 * threshold stops there), but smaller results of a process that keeps encrypting mostly come
 * back from warm heap, where the split adds only its round trip. Measured back to back on the
 * 2-core bench machine, two threads against one: 0.66-0.99 at 4-8 MiB, 0.82-1.44 at 16-28 MiB,
 * 1.32-1.85 at 32 MiB and 1.06-2.05 at 40-64 MiB; with the mmap threshold pinned low (every
 * result faults) the split already won at 8 MiB.
 */
export const ONE_WORKER_MIN_BYTES = 32 * 1024 * 1024

/** The smallest buffer that `threads` threads (the caller and `threads - 1` workers) seal faster than one. */
export function parallelMinBytes(threads: number): number {
  return threads === 2 ? ONE_WORKER_MIN_BYTES : PARALLEL_MIN_BYTES
}

/**
 * The Int32 control words at the start of a message's shared memory. Rounds alternate between
 * two slots; every word is read and written with Atomics.
 */
export const CTL = {
  /** Rounds the caller has staged (round r is in slot r % 2 once this exceeds r). */
  staged: 0,
  /** Rounds the assembler has finished (every chunk in the result). */
  assembled: 1,
  /** 1 once a frame failed or a thread gave up: everybody stops. */
  failed: 2,
  /**
   * Per slot s, at 4 + s: the claim word, the round's tag (its index mod 2^15) in the high
   * half and the next chunk in the low half. A thread claims only with the tag of the round
   * it works on, so one that was slow to notice a round ended cannot take a chunk of the
   * round that reuses the slot.
   */
  slot: 4,
} as const

/** Claims the next chunk of round `round` from the slot's claim word; -1 when none is left (or the slot moved on). */
export function claimChunk(ctl: Int32Array, word: number, round: number, chunks: number): number {
  const tag = round & 0x7fff
  for (;;) {
    const v = Atomics.load(ctl, word)
    if (v >>> 16 !== tag || (v & 0xffff) >= chunks || Atomics.load(ctl, CTL.failed) !== 0) return -1
    if (Atomics.compareExchange(ctl, word, v, v + 1) === v) return v & 0xffff
  }
}

/** The claim word of a freshly staged round. */
export function roundWord(round: number): number {
  return (round & 0x7fff) << 16
}

/** The frames of round `round`: [first, first + count) and the chunks they make. */
export function roundFramesOf(round: number, roundFrames: number, chunkFrames: number, frames: number): { first: number; count: number; chunks: number } {
  const first = round * roundFrames
  const count = Math.min(roundFrames, frames - first)
  return { first, count, chunks: Math.ceil(count / chunkFrames) }
}
/** Int32 words of control, then the key. */
export const CTL_WORDS = 16

/** Chunk states in a slot: claimed chunks go to 1 when their output is in shared memory, 2 when the assembler wrote them into the result. */
export const CHUNK_SHARED = 1
export const CHUNK_ASSEMBLED = 2
