/**
 * The fuzzers' structural mutations (fast-check arbitraries): shared by the ESDK campaign
 * (esdk.ts) and the recipient-types campaign (recipients.ts), so both attack messages alike.
 */
import fc from 'fast-check'
import { concatBytes } from './corpus.js'

/** One edit of a message. */
export type Mutation =
  | { readonly op: 'xor'; readonly at: number; readonly mask: number }
  | { readonly op: 'u16'; readonly at: number; readonly value: number }
  | { readonly op: 'cut'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly n: number }

/** Byte edits, u16 length fields set to extremes, cuts, insertions and deletions. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('xor' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('u16' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0xffff, 0x7fff, 17) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 24 }) }),
)

/** `message` with `m` applied (positions taken modulo its length). */
export function applyMutation(message: Uint8Array, m: Mutation): Uint8Array {
  const at = message.length === 0 ? 0 : m.at % message.length
  switch (m.op) {
    case 'xor': {
      const out = message.slice()
      if (out.length > 0) out[at]! ^= m.mask
      return out
    }
    case 'u16': {
      const out = message.slice()
      if (at + 1 < out.length) {
        out[at] = m.value >> 8
        out[at + 1] = m.value & 0xff
      }
      return out
    }
    case 'cut':
      return message.subarray(0, at)
    case 'insert':
      return concatBytes([message.subarray(0, at), m.bytes, message.subarray(at)])
    case 'delete':
      return concatBytes([message.subarray(0, at), message.subarray(at + m.n)])
  }
}
