/**
 * The usual `generateDataKey`: a fresh random data key, wrapped by the keyring's own wrap.
 * @module
 */
import { backend } from '#crypto-backend'
import { DataKey } from '../crypto/data-key.js'
import { KEY_BYTES } from '../format/constants.js'
import type { Recipient } from '../format/header.js'
import type { GeneratedDataKey } from './keyring.js'

/**
 * A random data key and what `wrap` makes of it. If `wrap` fails the key is wiped before the
 * error propagates: nobody else holds it, so a failed call must not leave it in memory.
 * @param wrap - The keyring's wrap of the new key.
 */
export async function generateWrappedDataKey(wrap: (dataKey: DataKey) => Promise<readonly Recipient[]> | readonly Recipient[]): Promise<GeneratedDataKey> {
  const dataKey = new DataKey(backend.randomBytes(KEY_BYTES))
  try {
    return { dataKey, recipients: await wrap(dataKey) }
  } catch (error) {
    dataKey.wipe()
    throw error
  }
}
