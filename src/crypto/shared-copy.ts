/**
 * Copying bytes into and out of shared memory (the worker pool's SharedArrayBuffers) at full
 * speed. V8 copies to or from shared memory word by word only when source and target sit at
 * the same offset mod 8, and byte by byte otherwise: measured 7x slower here (3.4 against
 * 24 GB/s). The offsets are rarely equal: a message's frames follow its head, whose length is
 * anything, so without this, every frame of most messages took the slow copy.
 * @module
 */

/** The bounce buffer's piece size: small enough to stay in cache between its two copies. */
const PIECE = 64 * 1024

let bounce: Uint8Array | undefined

const isShared = (bytes: Uint8Array): boolean => typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer

/**
 * `target.set(source, at)`, through an ordinary buffer when exactly one side is shared memory
 * at another offset mod 8: one copy at the shared side's alignment, one between ordinary
 * buffers (fast at any offset). `secret` wipes the bounce buffer afterwards (plaintext passed
 * through it).
 */
export function copyBytes(target: Uint8Array, at: number, source: Uint8Array, secret: boolean): void {
  const targetShared = isShared(target)
  const sourceShared = isShared(source)
  if (targetShared === sourceShared || (target.byteOffset + at - source.byteOffset) % 8 === 0) {
    target.set(source, at)
    return
  }
  bounce ??= new Uint8Array(PIECE + 8)
  const skew = targetShared ? (target.byteOffset + at) % 8 : source.byteOffset % 8
  for (let done = 0; done < source.length; done += PIECE) {
    const piece = source.subarray(done, done + PIECE)
    bounce.set(piece, skew)
    target.set(bounce.subarray(skew, skew + piece.length), at + done)
  }
  if (secret) bounce.fill(0)
}

/** @internal What the bounce buffer holds now (tests check that a secret copy leaves it zeroed). */
export function bounceForTest(): Uint8Array | undefined {
  return bounce
}
