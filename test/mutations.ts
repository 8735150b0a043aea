/**
 * The one mutation generator of the tests: every single-byte change of a message (under a set
 * of XOR masks), every truncation and a few extensions, in a fixed order. The tamper tests
 * (test/tamper.test.ts) and the fuzzer's tamper walk (test/fuzz/tamper.ts) both use it, so
 * they cannot drift apart in what "every change" means. No Node import: any test may use it.
 */

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
