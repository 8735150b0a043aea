/**
 * Constants and hard limits of message format v1 (docs/FORMAT.md, "Limits").
 * Changing any value here changes the format: add a version instead.
 * @module
 */

/** "KMSE": lets tools recognise a message and reject anything else early. */
export const MAGIC = Uint8Array.of(0x4b, 0x4d, 0x53, 0x45)
export const VERSION = 1

/** The only suite of v1: AES-256-GCM frames, HKDF-SHA-512 key schedule, 256-bit key commitment. */
export const SUITE_AES256GCM_HKDFSHA512_COMMIT = 1

/** magic (4) + version (1) + header length (4). */
export const PREAMBLE_BYTES = 9
export const TAG_BYTES = 16
export const KEY_BYTES = 32
export const MESSAGE_ID_BYTES = 32
export const COMMITMENT_BYTES = 32
export const NONCE_BYTES = 12
/** Length of the recipients-section length prefix. */
export const RECIPIENTS_LENGTH_BYTES = 4

/** Largest header a reader accepts: bounds CBOR work and memory before any crypto. */
export const MAX_HEADER_BYTES = 64 * 1024
/** Largest recipients section: 16 KMS ciphertexts of the largest size KMS returns fit with room. */
export const MAX_RECIPIENTS_BYTES = 256 * 1024
/** Default number of wrapped keys a reader accepts. */
export const DEFAULT_MAX_WRAPPED_KEYS = 16
/** Ceiling of `maxWrappedKeys`: no reader accepts more wrapped keys than this. */
export const MAX_WRAPPED_KEYS = 64
export const MAX_KEYRING_TYPE_BYTES = 32
export const MAX_KEY_ID_BYTES = 2048
/** KMS ciphertext blobs are at most 6144 bytes; leave room for other keyrings. */
export const MAX_WRAPPED_BYTES = 8192
export const MAX_CONTEXT_ENTRIES = 256
/** Keys of the encryption context beginning with this are reserved for the library. */
export const RESERVED_CONTEXT_PREFIX = 'kmse:'
/** The one reserved context pair of v1 (FORMAT.md §13.2): marks a wrapped field index key; accepted only by the index-key opener and by readers that release no plaintext (inspect, rewrap). */
export const INDEX_KEY_PURPOSE: readonly [string, string] = Object.freeze(['kmse:purpose', 'field-index-key'] as const)

/** Smallest frame size, in plaintext bytes per frame. */
export const MIN_FRAME_SIZE = 64
/** Largest frame size, in plaintext bytes per frame. */
export const MAX_FRAME_SIZE = 4 * 1024 * 1024
/**
 * Default frame size. Chosen by measurement (bench/frames.ts, FORMAT.md "Frame size"): large
 * enough that node:crypto's fixed per-call cost is a few percent, small enough that a stream
 * holds little memory and releases plaintext early.
 */
export const DEFAULT_FRAME_SIZE = 64 * 1024
/** Frame indexes are 32-bit in practice: at most 2^32 frames per message. */
export const MAX_FRAMES = 2 ** 32

/** HKDF info for the message key schedule; suite id appended as uint16 big-endian. */
export const KEY_SCHEDULE_LABEL = 'KMSE v1 key schedule'
