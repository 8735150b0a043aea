/**
 * Body layout (docs/FORMAT.md §6): every frame but the last holds exactly frame-size plaintext
 * bytes and a 16-byte tag; the last holds 0..frame-size-1 bytes and its tag. So the frame
 * count and plaintext length follow from the body length alone, and a body that cannot end
 * with a final frame was cut short. Also the one place truncation errors are worded.
 * @module
 */
import { TruncatedError } from '../errors.js'
import { TAG_BYTES } from './constants.js'

/** Number of frames and body length for `plaintextLength` bytes. */
export function bodyLayout(plaintextLength: number, frameSize: number): { frames: number; bodyLength: number } {
  const frames = Math.floor(plaintextLength / frameSize) + 1
  return { frames, bodyLength: plaintextLength + frames * TAG_BYTES }
}

/**
 * The frames a complete body of `bodyLength` bytes holds. Undefined when the body cannot end
 * with a final frame (shorter than a tag after the last full frame): the message was cut short.
 */
export function bodyFrames(bodyLength: number, frameSize: number): { frames: number; plaintextLength: number } | undefined {
  const full = Math.floor(bodyLength / (frameSize + TAG_BYTES))
  const rest = bodyLength - full * (frameSize + TAG_BYTES)
  if (rest < TAG_BYTES) return undefined
  return { frames: full + 1, plaintextLength: full * frameSize + rest - TAG_BYTES }
}

/** `what` (a message, an index key…) is `have` bytes, but its head needs `need`. */
export function headCutShort(have: number, need: number, what = 'the message'): TruncatedError {
  return new TruncatedError(`${what} is ${have} bytes but its header alone needs ${need}: it was cut short`)
}

/** `what` ends before its final frame. */
export function bodyCutShort(what = 'the message'): TruncatedError {
  return new TruncatedError(`${what} ends before its final frame: it was cut short`)
}

/** A stream ended before the head was complete. */
export function streamHeadCutShort(buffered: number, need: number): TruncatedError {
  return new TruncatedError(
    `the input ended after ${buffered} bytes, before the message head was complete (it needs at least ${need}): it is empty or was cut short`,
  )
}
