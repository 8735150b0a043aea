/** One version of a branch key, unwrapped. `key` is 32 bytes; the receiver wipes it when done. */
export interface BranchKeyMaterials {
  readonly branchKeyId: string
  readonly branchKeyVersion: string // the version's UUID as AWS's store writes it (without "branch:version:")
  readonly key: Uint8Array // 32-byte plaintext branch key
  readonly encryptionContext: Readonly<Record<string, string>> // the custom (aws-crypto-ec:*) context of the branch key, possibly {}
}
/** Where branch keys come from: a DynamoDB-backed BranchKeyStore, or anything the app proxies (browsers). */
export interface BranchKeySource {
  /** Names the store in caches and errors (AWS: the logical key store name). Never secret. */
  readonly logicalKeyStoreName: string
  getActiveBranchKey(branchKeyId: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials>
  getBranchKeyVersion(branchKeyId: string, branchKeyVersion: string, options?: { signal?: AbortSignal | undefined }): Promise<BranchKeyMaterials>
}
