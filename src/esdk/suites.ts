/**
 * The AWS Encryption SDK algorithm suites this reader knows, and which of them a commitment
 * policy lets it open. Names and ids are the SDK's (framework/algorithm-suites.md).
 * @module
 */
import { invalidArgument, UnsupportedError } from '../errors.js'

/**
 * Which suites may be decrypted, named as the AWS Encryption SDK names its policies. Only the
 * encrypt half of the name concerns a writer; for this reader the two `ALLOW_DECRYPT` policies
 * are the same: both open legacy suites without key commitment.
 */
export type CommitmentPolicy = 'FORBID_ENCRYPT_ALLOW_DECRYPT' | 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' | 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT'

/** The policy when none is given: key-committing suites only, as the SDK's default. */
export const DEFAULT_COMMITMENT_POLICY: CommitmentPolicy = 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT'

const POLICIES: readonly CommitmentPolicy[] = ['FORBID_ENCRYPT_ALLOW_DECRYPT', 'REQUIRE_ENCRYPT_ALLOW_DECRYPT', 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT']

/** @internal One suite: everything the reader needs to open a message written with it. */
export interface EsdkSuite {
  readonly id: number
  readonly name: string
  /** Message format version the suite is written with (committing suites need version 2). */
  readonly version: 1 | 2
  /** AES key length in bytes, also the data key length. */
  readonly keyBytes: 16 | 24 | 32
  /** How the frame key is derived from the data key. */
  readonly kdf: 'identity' | 'hkdf-sha256' | 'hkdf-sha384' | 'hkdf-sha512-commit'
  /** The footer signature, when the suite has one. */
  readonly signature: 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | undefined
}

const suite = (id: number, name: string, keyBytes: EsdkSuite['keyBytes'], kdf: EsdkSuite['kdf'], signature?: EsdkSuite['signature']): EsdkSuite => ({
  id,
  name,
  version: kdf === 'hkdf-sha512-commit' ? 2 : 1,
  keyBytes,
  kdf,
  signature,
})

const SUITES: ReadonlyMap<number, EsdkSuite> = new Map(
  [
    suite(0x0014, 'ALG_AES128_GCM_IV12_TAG16_NO_KDF', 16, 'identity'),
    suite(0x0046, 'ALG_AES192_GCM_IV12_TAG16_NO_KDF', 24, 'identity'),
    suite(0x0078, 'ALG_AES256_GCM_IV12_TAG16_NO_KDF', 32, 'identity'),
    suite(0x0114, 'ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256', 16, 'hkdf-sha256'),
    suite(0x0146, 'ALG_AES192_GCM_IV12_TAG16_HKDF_SHA256', 24, 'hkdf-sha256'),
    suite(0x0178, 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256', 32, 'hkdf-sha256'),
    suite(0x0214, 'ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256', 16, 'hkdf-sha256', 'ecdsa-p256-sha256'),
    suite(0x0346, 'ALG_AES192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384', 24, 'hkdf-sha384', 'ecdsa-p384-sha384'),
    suite(0x0378, 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384', 32, 'hkdf-sha384', 'ecdsa-p384-sha384'),
    suite(0x0478, 'ALG_AES256_GCM_HKDF_SHA512_COMMIT_KEY', 32, 'hkdf-sha512-commit'),
    suite(0x0578, 'ALG_AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384', 32, 'hkdf-sha512-commit', 'ecdsa-p384-sha384'),
  ].map((s) => [s.id, s]),
)

/** Every suite of every suite family uses a 12-byte IV and a 16-byte tag. */
export const IV_BYTES = 12
export const TAG_BYTES = 16

/** @internal The suite with `id` written in a header of `version`, or a typed error. */
export function suiteFor(id: number, version: 1 | 2): EsdkSuite {
  const s = SUITES.get(id)
  if (s === undefined) throw new UnsupportedError(`unknown AWS Encryption SDK algorithm suite 0x${id.toString(16).padStart(4, '0')}`)
  if (s.version !== version) {
    throw new UnsupportedError(`algorithm suite ${s.name} is written with message format version ${s.version}, but this header is version ${version}`)
  }
  return s
}

/** @internal The policy option, checked; undefined gives the default. */
export function checkPolicy(policy: unknown): CommitmentPolicy {
  if (policy === undefined) return DEFAULT_COMMITMENT_POLICY
  if (!POLICIES.includes(policy as CommitmentPolicy)) throw invalidArgument(`commitmentPolicy must be one of ${POLICIES.join(', ')}`)
  return policy as CommitmentPolicy
}

/** @internal Refuses a suite without key commitment unless the policy allows legacy suites. */
export function checkSuiteAllowed(s: EsdkSuite, policy: CommitmentPolicy): void {
  if (s.kdf !== 'hkdf-sha512-commit' && policy === 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT') {
    throw new UnsupportedError(
      `the message uses ${s.name}, a suite without key commitment, which commitment policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT refuses; ` +
        "pass commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' only for messages written before key commitment",
    )
  }
}
