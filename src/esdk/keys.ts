/**
 * Getting the data key of an ESDK message: each keyring, in the order given, tries the
 * encrypted data keys it holds, in header order, and the first one that opens wins (as the
 * SDK's multi-keyring does). A kms-envelope {@link Keyring} (the `KmsKeyring`, for `aws-kms`
 * keys) is adapted: an encrypted data key becomes a recipient of type = provider id, key id
 * = provider info, and the keyring's own rules (pinning, discovery filter, attempt budget,
 * MRK awareness) decide what is called.
 * @module
 */
import { DataKey } from '../crypto/data-key.js'
import type { UnwrapAttempt } from '../errors.js'
import { EnvelopeError, invalidArgument, NoMatchingKeyError, UnsupportedError, UnwrapError } from '../errors.js'
import type { Recipient } from '../format/header.js'
import type { Keyring } from '../keyrings/keyring.js'
import { KmsKeyring } from '../keyrings/kms.js'
import { printable } from '../printable.js'
import { throwIfAborted } from '../validate.js'
import type { EsdkEncryptedDataKey } from './header.js'
import type { EsdkKeyOpener } from './raw-aes.js'
import { RawAesKeyring } from './raw-aes.js'
import { RawRsaKeyring } from './raw-rsa.js'

/** Something that can open ESDK encrypted data keys: a raw keyring of this module, or a kms-envelope Keyring (for `aws-kms` keys). */
export type EsdkKeyringInput = RawAesKeyring | RawRsaKeyring | Keyring

const decoder = new TextDecoder('utf-8', { fatal: true })

function asRecipient(edk: EsdkEncryptedDataKey): Recipient | undefined {
  try {
    return { type: edk.providerId, keyId: decoder.decode(edk.providerInfo), wrapped: edk.ciphertext }
  } catch {
    return undefined // provider info that is not text is nobody's key id
  }
}

function isKeyring(k: unknown): k is Keyring {
  const x = k as Partial<Keyring> | null
  return x !== null && typeof x === 'object' && typeof x.canUnwrap === 'function' && typeof x.unwrapDataKey === 'function'
}

/** @internal The keyring option as a non-empty list, checked. */
export function checkKeyrings(input: unknown): readonly EsdkKeyringInput[] {
  const list = Array.isArray(input) ? (input as unknown[]) : [input]
  if (list.length === 0) throw invalidArgument('keyring must be a keyring or a non-empty list of keyrings')
  for (const k of list) {
    if (!(k instanceof RawAesKeyring || k instanceof RawRsaKeyring || isKeyring(k))) {
      throw invalidArgument('keyring must be a RawAesKeyring, a RawRsaKeyring or a kms-envelope Keyring such as KmsKeyring')
    }
  }
  return list as EsdkKeyringInput[]
}

/** @internal The data key that opened the message and the encrypted data key it came from. */
export interface OpenedKey {
  readonly key: Uint8Array
  readonly openedWith: EsdkEncryptedDataKey
}

const ref = (edk: EsdkEncryptedDataKey) => ({ type: edk.providerId, keyId: asRecipient(edk)?.keyId ?? '<binary provider info>' })

/** Adapts a kms-envelope keyring to the ESDK's encrypted data keys. */
function keyringOpener(keyring: Keyring, edks: readonly EsdkEncryptedDataKey[]): EsdkKeyOpener & { readonly budget: number } {
  const recipients = new Map<EsdkEncryptedDataKey, Recipient>()
  for (const edk of edks) {
    const r = asRecipient(edk)
    if (r !== undefined) recipients.set(edk, r)
  }
  return {
    description: keyring.description,
    budget: keyring.maxUnwrapAttempts ?? Number.POSITIVE_INFINITY,
    holds: (edk) => {
      const r = recipients.get(edk)
      return r !== undefined && keyring.canUnwrap(r)
    },
    async openKey(edk, context, keyBytes, signal) {
      const r = recipients.get(edk)!
      if (keyBytes !== 32) {
        if (!(keyring instanceof KmsKeyring)) {
          throw new UnsupportedError(`the keyring ${keyring.description} opens 256-bit data keys only; this message's suite uses ${keyBytes * 8}-bit keys`)
        }
        return keyring.unwrapKeyBytes(r, context, keyBytes, { signal })
      }
      const dataKey = await keyring.unwrapDataKey(r, context, { signal })
      if (!(dataKey instanceof DataKey)) throw new UnsupportedError(`the keyring ${keyring.description} did not return a DataKey`)
      const bytes = new Uint8Array(dataKey.bytes)
      dataKey.wipe()
      return bytes
    },
  }
}

/**
 * @internal Opens the message's data key with the first keyring and encrypted data key that can.
 * @throws {@link NoMatchingKeyError} when no keyring holds any of the keys (nothing was called);
 *   {@link UnwrapError} when every matching key failed (each attempt's answer attached).
 */
export async function openDataKey(
  keyrings: readonly EsdkKeyringInput[],
  edks: readonly EsdkEncryptedDataKey[],
  context: ReadonlyMap<string, string>,
  keyBytes: number,
  signal: AbortSignal | undefined,
): Promise<OpenedKey> {
  const attempts: UnwrapAttempt[] = []
  let last: unknown
  for (const input of keyrings) {
    let opener: EsdkKeyOpener & { readonly budget?: number }
    if (input instanceof RawAesKeyring || input instanceof RawRsaKeyring) opener = input
    else {
      const adapted = keyringOpener(input, edks)
      if (input.prepareUnwrap !== undefined) {
        const all = edks.map(asRecipient).filter((r): r is Recipient => r !== undefined)
        await input.prepareUnwrap(all, { signal })
      }
      opener = adapted
    }
    const tried = new Set<string>()
    for (const edk of edks) {
      throwIfAborted(signal)
      if (!opener.holds(edk)) continue
      if (!(input instanceof RawAesKeyring || input instanceof RawRsaKeyring)) {
        const r = asRecipient(edk)!
        const attemptKey = input.unwrapAttemptKey?.(r) ?? `${r.type}\u0000${r.keyId}`
        if (tried.has(attemptKey) || tried.size >= (opener.budget ?? Number.POSITIVE_INFINITY)) continue
        tried.add(attemptKey)
      }
      try {
        const raw = await opener.openKey(edk, context, keyBytes, signal)
        // Our own buffer: keyrings may return a view of a pooled or shared one.
        const key = new Uint8Array(raw)
        raw.fill(0)
        if (key.length !== keyBytes) {
          key.fill(0)
          throw new UnsupportedError(`the keyring ${opener.description} returned a ${key.length}-byte data key; the suite needs ${keyBytes}`)
        }
        return { key, openedWith: edk }
      } catch (error) {
        if (!(error instanceof EnvelopeError) || error.code === 'ERR_ABORTED' || error.code === 'ERR_KMS_SDK_MISSING') throw error
        last = error
        const inner = error instanceof UnwrapError && error.attempts.length === 1 ? error.attempts[0]! : undefined
        attempts.push({ ...ref(edk), code: inner?.code ?? error.code, message: inner?.message ?? error.message })
      }
    }
  }
  if (attempts.length === 0) {
    throw new NoMatchingKeyError(
      edks.map((e) => ({ type: printable(e.providerId, 60), keyId: ref(e).keyId })),
      keyrings.map((k) => k.description).join(', '),
    )
  }
  // Nothing failed but the runtime (e.g. PKCS #1 v1.5 where Node refuses it): say that, not "could not unwrap".
  if (last instanceof UnsupportedError && attempts.every((a) => a.code === 'ERR_UNSUPPORTED')) throw last
  throw new UnwrapError(attempts, { cause: last })
}
