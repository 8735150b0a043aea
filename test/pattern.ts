/**
 * Deterministic bytes for tests (not random: reproducible failures). A module of its own, with
 * no Node import, so the browser page (bundled by esbuild for Chromium) shares it with the
 * Node tests; test/helpers.ts re-exports it.
 */

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
