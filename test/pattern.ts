/**
 * Deterministic bytes for tests (not random: reproducible failures). A module of its own, with
 * no Node import, so the browser page (bundled by esbuild for Chromium) shares it with the
 * Node tests; test/helpers.ts re-exports it.
 */

/** Reproducible integers: each call gives the next xorshift32 value from `seed` (0 counts as 1) modulo `n`. */
export function seededInts(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

/** `length` bytes of an xorshift32 stream from `seed` (0 counts as 1). */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** `message` as a Web stream in chunks of uneven sizes (1, 7, 80, 3, 200, …), starting `shift` sizes in. */
export function unevenStream(message: Uint8Array, shift = 0): ReadableStream<Uint8Array> {
  const sizes = [1, 7, 80, 3, 200, 96, 16, 5]
  let at = 0
  let i = shift
  return new ReadableStream({
    pull(controller) {
      if (at >= message.length) return controller.close()
      const n = sizes[i++ % sizes.length] ?? 1
      controller.enqueue(message.slice(at, at + n))
      at += n
    },
  })
}
