/**
 * What the command line says, shared by the CLI's modules: its mistakes and its key settings.
 * @module
 */

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Settings that apply to key specs: KMS's --region and --endpoint, key files' --allow-group-readable. */
export interface KeySpecOptions {
  readonly region?: string | undefined
  readonly endpoint?: string | undefined
  readonly allowGroupReadable?: boolean | undefined
}
