/**
 * Making untrusted text safe to embed in error messages and terminal output. Key ids and
 * context strings come from messages whose recipients section is not authenticated, so they
 * may hold terminal escapes (OSC, CSI, line erase), bidi overrides that reorder what is shown,
 * line separators that forge extra log lines, or lone surrogates. They are shown escaped and
 * bounded in length, so a reader always sees what the bytes say and a log line stays one line.
 * @module
 */

/** Longest untrusted string an error message embeds, in code points (the rest is elided). */
export const MAX_PRINTABLE_CHARS = 200

// C0, DEL, C1, ALM, LRM/RLM, LS/PS, bidi embeddings/overrides/isolates, BOM, and lone
// surrogates (the `u` flag lets a lone surrogate match \p{Cs} while well-formed pairs don't).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\\]|\p{Cs}/gu
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|\p{Cs}/gu

function escapeChar(char: string): string {
  if (char === '\\') return '\\\\'
  const code = char.codePointAt(0)!
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
}

/**
 * `text` with every control, bidi-control and line-separator character and every lone
 * surrogate written as `\xNN` or `\u{NNNN}` (and `\` as `\\`, so escapes are unambiguous),
 * cut to `max` code points with a note of the full length.
 */
export function printable(text: string, max = MAX_PRINTABLE_CHARS): string {
  const s = String(text)
  let cut = s
  // Counting code points only when the string could be too long keeps the common case cheap.
  if (s.length > max) {
    const points = Array.from(s)
    if (points.length > max) cut = `${points.slice(0, max).join('')}… (${points.length} characters in all)`
  }
  return cut.replace(UNSAFE, escapeChar)
}

/**
 * `text` with the unsafe characters of {@link printable} escaped but `\` left alone and no
 * length cut, so it can be applied to a whole message that already embeds escaped parts
 * (applying it twice changes nothing). Error classes apply it to every message they build.
 */
export function escapeControls(text: string): string {
  return String(text).replace(CONTROLS, escapeChar)
}

/**
 * Where `text` holds a character a terminal would act on or that hides or reorders what is
 * shown (the list {@link printable} escapes), other than the line layout of plain text: tab,
 * line feed, and carriage return when a line feed follows it. Undefined for plain text.
 * Used to decide whether a plaintext may be printed to a terminal.
 */
export function findTerminalControl(text: string): { readonly index: number; readonly char: string } | undefined {
  for (const match of String(text).matchAll(CONTROLS)) {
    const char = match[0]
    if (char === '\n' || char === '\t' || (char === '\r' && text[match.index + 1] === '\n')) continue
    return { index: match.index, char }
  }
  return undefined
}

/** `printable(text)` in double quotes: for a string that must read as a value, like a context key. */
export function quoted(text: string, max = MAX_PRINTABLE_CHARS): string {
  return `"${printable(text, max).replace(/"/g, '\\"')}"`
}

/**
 * JSON text made safe for a terminal while parsing to exactly the same value: characters
 * that `JSON.stringify` leaves raw (DEL, C1, bidi controls, line separators) become `\uXXXX`
 * escapes. They can only occur inside JSON strings, so the replacement never changes meaning.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
