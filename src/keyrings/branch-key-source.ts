/**
 * The contract between the hierarchical keyring and wherever branch keys live: the DynamoDB
 * `BranchKeyStore` of kms-envelope/kms, or anything an application proxies (a browser asking its
 * server). Runtime-neutral: types only.
 * @module
 */

/** One version of a branch key, unwrapped. `key` is 32 bytes; the receiver wipes it when done. */
export interface BranchKeyMaterials {
  /** The branch key's id (for example the tenant's). */
  readonly branchKeyId: string
  /** The version's UUID as AWS's store writes it (without "branch:version:"). */
  readonly branchKeyVersion: string
  /** The 32-byte plaintext branch key. */
  readonly key: Uint8Array
  /** The custom (aws-crypto-ec:*) context of the branch key, possibly {}. */
  readonly encryptionContext: Readonly<Record<string, string>>
}

/** Where branch keys come from: a DynamoDB-backed BranchKeyStore, or anything the app proxies (browsers). */
export interface BranchKeySource {
  /** Names the store in caches and errors (AWS: the logical key store name). Never secret. */
  readonly logicalKeyStoreName: string
  /**
   * The active version of a branch key (the one new messages are wrapped under).
   * @param branchKeyId - The branch key.
   * @param options - `signal` cancels the read.
   */
  getActiveBranchKey(branchKeyId: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials>
  /**
   * One version of a branch key (the one a message names).
   * @param branchKeyId - The branch key.
   * @param branchKeyVersion - The version's UUID.
   * @param options - `signal` cancels the read.
   */
  getBranchKeyVersion(branchKeyId: string, branchKeyVersion: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials>
}
