/**
 * The CLI's `migrate` command wired to the `kms-envelope/esdk` surface. The CLI is the
 * package's composition root: this module, listed among the entries in
 * scripts/check-layers.ts, is the one place where the Node surface meets the ESDK reader,
 * and it is loaded only when `migrate` runs, so other commands never load the reader.
 * @module
 */
import type { RsaPadding } from '../../esdk/index.js'
import { migrateEsdkMessage, RawAesKeyring, RawRsaKeyring } from '../../esdk/index.js'
import type { EsdkMigrator } from './migrate.js'
import { migrateCommand } from './migrate.js'

const PADDINGS: readonly RsaPadding[] = ['PKCS1', 'OAEP-SHA1-MGF1', 'OAEP-SHA256-MGF1', 'OAEP-SHA384-MGF1', 'OAEP-SHA512-MGF1']

const esdk: EsdkMigrator = {
  rawAesKeyring: (options) => new RawAesKeyring(options),
  rawRsaKeyring: (options) => new RawRsaKeyring({ ...options, padding: options.padding as RsaPadding }),
  rsaPaddings: PADDINGS,
  migrate: (source, options) => migrateEsdkMessage(source, options as Parameters<typeof migrateEsdkMessage>[1]),
}

/** `kms-envelope migrate ARGS`. */
export function migrate(args: string[]): Promise<void> {
  return migrateCommand(args, esdk)
}
