/**
 * The writer's half of the passphrase rule (docs/FORMAT.md §17, age's rule): a message with
 * a passphrase (`scrypt`) recipient has no other recipient. Whoever opens a message with a
 * passphrase takes it as written by someone who knew the passphrase; with a second
 * recipient, anyone holding that key could have written it, so the passphrase would
 * authenticate nothing. Checked on the final recipient list of every new message and every
 * rewrap, before anything is sealed or written; the reader's half is
 * PassphraseKeyring.prepareUnwrap.
 * @module
 */
import { invalidArgument } from '../errors.js'
import type { Recipient } from '../format/header.js'
import { SCRYPT_KEYRING_TYPE } from '../keyrings/passphrase.js'

/**
 * Throws TypeError `ERR_INVALID_ARGUMENT` when `recipients` holds a passphrase entry and anything else.
 * @param recipients - The recipients a message is about to get.
 * @param what - What is being written, for the message ("encrypt", "rewrap").
 */
export function checkPassphraseRule(recipients: readonly Recipient[], what: string): void {
  if (recipients.length < 2 || !recipients.some((r) => r.type === SCRYPT_KEYRING_TYPE)) return
  throw invalidArgument(
    `${what}: a passphrase (scrypt) recipient must be the message's only recipient, but it would have ${recipients.length}; ` +
      'with another key beside it, the passphrase would no longer show who wrote the message (age has the same rule). ' +
      'Encrypt with the passphrase alone, or use keys without a passphrase',
  )
}
