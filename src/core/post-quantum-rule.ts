/**
 * The post-quantum rule (docs/FORMAT.md §16.3), as age applies it: a message wrapped for a
 * post-quantum recipient must not also be wrapped for a classical public-key recipient. An
 * attacker with a quantum computer would open the classical entry and read the data key, so
 * one such entry voids the post-quantum protection of every other. Symmetric keyrings (local,
 * aws-kms) are not classical in this sense: AES-256 and KMS's symmetric keys hold.
 *
 * The caller can accept the weaker message with the Envelope option `allowClassicalRecipients`.
 * Checked on the recipients a message will carry, before it is sealed (encryption) or written
 * (rewrap, including the entries it keeps).
 * @module
 */
import { invalidArgument } from '../errors.js'
import type { Recipient } from '../format/header.js'

/** Recipient types whose wrapped key a quantum computer recovers from public data. */
const CLASSICAL_PUBLIC_KEY_TYPES: ReadonlySet<string> = new Set(['x25519', 'aws-kms-rsa'])
/** Recipient types that stay secret against a quantum computer by their public-key half. */
const POST_QUANTUM_TYPES: ReadonlySet<string> = new Set(['mlkem768x25519'])

/**
 * Throws ERR_INVALID_ARGUMENT when `recipients` mix a post-quantum and a classical public-key
 * recipient and the caller did not allow it.
 */
export function checkPostQuantumRule(recipients: readonly Recipient[], allowClassicalRecipients: boolean): void {
  if (allowClassicalRecipients) return
  const pq = recipients.find((r) => POST_QUANTUM_TYPES.has(r.type))
  const classical = recipients.find((r) => CLASSICAL_PUBLIC_KEY_TYPES.has(r.type))
  if (pq === undefined || classical === undefined) return
  throw invalidArgument(
    `this message is for a post-quantum recipient (${pq.type}) and also for a classical public-key recipient (${classical.type} ${classical.keyId}): ` +
      'a quantum computer would open the classical entry and read the data key, voiding the post-quantum protection. ' +
      'Use post-quantum recipients only, or pass allowClassicalRecipients: true to the Envelope (CLI: --allow-classical-recipients) to accept that',
  )
}
