/**
 * The key field of an encrypted record (`_kmse` by default) as text: the head of a
 * kms-envelope message with no frames, one 16-byte binding tag per deterministic field, and
 * a tag over that list (the crypto of the tags is in field-crypto.ts):
 *
 *   _kmse          = "kmse1h." base64url( preamble | header | header tag | recipients | tag* | list tag )
 *
 * The header (with the context) is authenticated by the header tag; the list tag makes the
 * tag list, and so every byte of the key field, authenticated. Each record is a message of its
 * own (fresh message id, so a fresh content key); only its keys leave this module, as RecordKeys.
 * @module
 */
import { concatBytes } from '@noble/ciphers/utils.js'
import { backend } from '#crypto-backend'
import { decryptionMaterials, encryptionMaterials } from '../core/materials.js'
import type { EnvelopeSettings } from '../core/settings.js'
import { newMessageId } from '../core/writer.js'
import { sealHead } from '../crypto/message.js'
import { FieldError, LimitError } from '../errors.js'
import { MAX_HEADER_BYTES, MAX_RECIPIENTS_BYTES, MIN_FRAME_SIZE, PREAMBLE_BYTES, RECIPIENTS_LENGTH_BYTES, TAG_BYTES } from '../format/constants.js'
import type { CanonicalContext } from '../format/context.js'
import type { MessageHead } from '../format/message.js'
import { parseWholeMessage } from '../format/message.js'
import { RecordKeys } from './keys.js'
import { MAX_SCHEMA_FIELDS } from './schema.js'
import { fromText, PREFIX_HEAD, textLength, toText } from './text.js'

/** Longest key-field text accepted before decoding: the largest head plus a tag per schema field. */
const MAX_HEAD_TEXT =
  PREFIX_HEAD.length +
  textLength(PREAMBLE_BYTES + MAX_HEADER_BYTES + TAG_BYTES + RECIPIENTS_LENGTH_BYTES + MAX_RECIPIENTS_BYTES + (MAX_SCHEMA_FIELDS + 1) * TAG_BYTES)

/** A parsed key field: the message head, the binding tags (possibly none) and the list tag. */
export interface RecordHead {
  readonly head: MessageHead
  readonly tags: Uint8Array
  readonly listTag: Uint8Array
}

/**
 * Seals a fresh message head for one record under `context` (a data key from the envelope's
 * keyrings or cache) and returns it with the record's keys; the caller wipes the keys.
 */
export async function sealRecordHead(
  settings: EnvelopeSettings,
  context: CanonicalContext,
  signal: AbortSignal | undefined,
): Promise<{ head: Uint8Array; keys: RecordKeys }> {
  const materials = await encryptionMaterials(settings, context, signal)
  let sealed: ReturnType<typeof sealHead>
  try {
    sealed = sealHead(backend, {
      dataKey: materials.dataKey,
      recipients: materials.recipients,
      context,
      frameSize: MIN_FRAME_SIZE,
      messageId: newMessageId(),
    })
  } finally {
    materials.release()
  }
  try {
    return { head: sealed.head, keys: new RecordKeys(sealed.keys.contentKey) }
  } finally {
    sealed.keys.wipe()
  }
}

/** The keys of a stored record, from its parsed head through the envelope's keyrings (or cache); the caller wipes them. */
export async function openRecordKeys(settings: EnvelopeSettings, head: MessageHead, signal: AbortSignal | undefined): Promise<RecordKeys> {
  const { keys } = await decryptionMaterials(settings, head, signal)
  try {
    return new RecordKeys(keys.contentKey)
  } finally {
    keys.wipe()
  }
}

/** The key-field text for a sealed message head, the binding tags and their list tag. */
export function writeRecordHead(head: Uint8Array, tags: Uint8Array, listTag: Uint8Array): string {
  return toText(PREFIX_HEAD, concatBytes(head, tags, listTag))
}

/**
 * Parses the key field `keyField` of `stored`: a message head with no frames, whole binding
 * tags, the list tag. Checks only the form; the tags are checked once the record's keys are known.
 */
export function readRecordHead(stored: Record<string, unknown>, keyField: string, settings: EnvelopeSettings): RecordHead {
  const text = stored[keyField]
  if (!Object.hasOwn(stored, keyField) || typeof text !== 'string') {
    throw new FieldError(
      keyField,
      'is missing or not a string: the record was not encrypted by FieldEncryptor (with this keyField), or its key material was removed',
    )
  }
  if (text.length > MAX_HEAD_TEXT)
    throw new LimitError(`field ${JSON.stringify(keyField)} is ${text.length} characters; key material is at most ${MAX_HEAD_TEXT}`)
  const bytes = fromText(PREFIX_HEAD, text)
  if (bytes === undefined) throw new FieldError(keyField, `is not record key material ("${PREFIX_HEAD}" and base64url)`)
  const { head, body: rest } = parseWholeMessage(bytes, settings, `field ${JSON.stringify(keyField)}`)
  if (rest.length < TAG_BYTES || rest.length % TAG_BYTES !== 0 || rest.length > (MAX_SCHEMA_FIELDS + 1) * TAG_BYTES) {
    throw new FieldError(keyField, `ends with ${rest.length} bytes that are not whole field tags: it was altered or cut short`)
  }
  return { head, tags: rest.subarray(0, rest.length - TAG_BYTES), listTag: rest.subarray(rest.length - TAG_BYTES) }
}
