/**
 * Key materials for one message: where every surface (buffers, streams, records, rewrap)
 * gets its data key. Encrypt side: a data key and its recipients. Decrypt side: message keys
 * that passed the commitment and header-tag checks. Keeping both here means a data-key cache
 * plugs in at one place and every surface gets the same checks, hit or miss.
 * @module
 */
import { backend } from '#crypto-backend'
import type { DataKey } from './crypto/data-key.js'
import type { MessageKeys } from './crypto/keys.js'
import { openHead } from './crypto/message.js'
import { LimitError } from './errors.js'
import type { CanonicalContext } from './format/context.js'
import type { Recipient } from './format/header.js'
import type { MessageHead } from './format/message.js'
import type { Keyring } from './keyrings/keyring.js'
import type { Unwrapped } from './keyrings/unwrap.js'
import { throwIfAborted, unwrapDataKey } from './keyrings/unwrap.js'

/** Settings shared by every surface of one Envelope. */
export interface EnvelopeSettings {
  readonly keyrings: readonly Keyring[]
  readonly frameSize: number
  readonly maxWrappedKeys: number
  readonly maxFrameSize: number
}

/** A data key for a new message. Call `release()` when the message is sealed. */
export interface EncryptionMaterials {
  readonly dataKey: DataKey
  readonly recipients: readonly Recipient[]
  release(): void
}

/** Message keys for an authenticated head. Call `keys.wipe()` when done. */
export interface DecryptionMaterials {
  readonly keys: MessageKeys
  readonly recipient: Recipient
}

/** A data key wrapped for every keyring: the first generates it, the others wrap it. */
export async function encryptionMaterials(settings: EnvelopeSettings, context: CanonicalContext, signal: AbortSignal | undefined): Promise<EncryptionMaterials> {
  const [first, ...rest] = settings.keyrings
  throwIfAborted(signal)
  const generated = await first!.generateDataKey(context, { signal })
  const dataKey = generated.dataKey
  const recipients = [...generated.recipients]
  try {
    for (const keyring of rest) {
      throwIfAborted(signal)
      recipients.push(...(await keyring.wrapDataKey(dataKey, context, { signal })))
    }
    if (recipients.length > settings.maxWrappedKeys) {
      throw new LimitError(`the keyrings produce ${recipients.length} wrapped keys; maxWrappedKeys is ${settings.maxWrappedKeys}`)
    }
  } catch (error) {
    dataKey.wipe()
    throw error
  }
  return { dataKey, recipients, release: () => dataKey.wipe() }
}

/**
 * Unwraps the data key of a parsed head and checks it against the commitment and the header
 * tag. Nothing may be decrypted with keys that did not come through here.
 */
export async function decryptionMaterials(settings: EnvelopeSettings, head: MessageHead, signal: AbortSignal | undefined): Promise<DecryptionMaterials> {
  const { dataKey, recipient } = await unwrapDataKey(settings.keyrings, head.recipients, head.header.context, { signal })
  try {
    return { keys: openHead(backend, head, dataKey), recipient }
  } finally {
    dataKey.wipe()
  }
}

/**
 * The data key itself, once it has passed the commitment and header-tag checks: for rewrap,
 * which wraps it for new keys instead of decrypting. The caller wipes `dataKey`.
 */
export async function verifiedDataKey(settings: EnvelopeSettings, head: MessageHead, signal: AbortSignal | undefined): Promise<Unwrapped> {
  const unwrapped = await unwrapDataKey(settings.keyrings, head.recipients, head.header.context, { signal })
  try {
    openHead(backend, head, unwrapped.dataKey).wipe()
  } catch (error) {
    unwrapped.dataKey.wipe()
    throw error
  }
  return unwrapped
}
