/**
 * `kms-envelope branch-key create-table|create|version|describe`: the branch key store on
 * DynamoDB from the command line. Imported only when that command runs, so other runs never
 * load the AWS SDK.
 * @module
 */
import { parseArgs } from 'node:util'
import { BranchKeyStore } from '../../keyrings/branch-key-store.js'
import { newDynamoDbClient } from '../../keyrings/dynamodb-sdk.js'
import { newKmsClient } from '../../keyrings/kms.js'
import { terminalSafeJson } from '../../printable.js'
import { HELP } from './help.js'
import { UsageError } from './usage.js'

const SUBCOMMANDS = ['create-table', 'create', 'version', 'describe'] as const
type Subcommand = (typeof SUBCOMMANDS)[number]

const options = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
  table: { type: 'string' },
  'kms-key': { type: 'string' },
  id: { type: 'string' },
  context: { type: 'string', short: 'c', multiple: true },
  'logical-name': { type: 'string' },
  'create-table': { type: 'boolean' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
} as const

function contextOf(list: readonly string[] | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined
  const out = Object.create(null) as Record<string, string>
  for (const item of list) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(`--context needs KEY=VALUE, got ${JSON.stringify(item)}`)
    const key = item.slice(0, eq)
    if (Object.hasOwn(out, key)) throw new UsageError(`--context gives ${JSON.stringify(key)} twice`)
    out[key] = item.slice(eq + 1)
  }
  return { ...out }
}

function print(value: unknown): void {
  process.stdout.write(`${terminalSafeJson(JSON.stringify(value, null, 2))}\n`)
}

/** Runs `branch-key` with the arguments after it. */
export async function branchKeyCommand(args: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const sub = positionals[0]
  if (values.help || sub === undefined) {
    console.log(HELP['branch-key'])
    if (sub === undefined && !values.help) throw new UsageError(`branch-key needs a subcommand: ${SUBCOMMANDS.join(', ')}`)
    return
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(sub))
    throw new UsageError(`unknown branch-key subcommand ${JSON.stringify(sub)}; subcommands: ${SUBCOMMANDS.join(', ')}`)
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`)
  const command = sub as Subcommand
  if (values.table === undefined) throw new UsageError('branch-key needs --table TABLE (the DynamoDB table of the branch key store)')
  if (values['kms-key'] === undefined) throw new UsageError('branch-key needs --kms-key ARN (the KMS key ARN that wraps the branch keys; not an alias)')
  if ((command === 'version' || command === 'describe') && values.id === undefined) throw new UsageError(`branch-key ${command} needs --id ID`)
  if (command !== 'create' && (values.context !== undefined || values['create-table']))
    throw new UsageError('--context and --create-table apply to branch-key create only')
  if (command === 'create' && values.id !== undefined && values.context === undefined) {
    throw new UsageError(
      'branch-key create --id ID needs at least one --context KEY=VALUE (bound to the key in KMS; the specification requires it with a chosen id)',
    )
  }
  const { region, endpoint } = values
  if (endpoint !== undefined && !URL.canParse(endpoint))
    throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not a URL (e.g. http://127.0.0.1:4566)`)
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const clients =
    region === undefined && endpoint === undefined
      ? {}
      : { kmsClient: await newKmsClient({ region, endpoint }), dynamoDbClient: await newDynamoDbClient({ region, endpoint }) }
  let store: BranchKeyStore
  try {
    store = new BranchKeyStore({
      tableName: values.table,
      kmsKeyArn: values['kms-key'],
      ...(values['logical-name'] === undefined ? {} : { logicalKeyStoreName: values['logical-name'] }),
      ...clients,
    })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^tableName/, '--table').replace(/^kmsKeyArn/, '--kms-key') : String(error))
  }
  try {
    if (command === 'create-table') {
      const { tableArn, created } = await store.createTable()
      if (!values.quiet) print({ tableName: store.tableName, tableArn, created })
    } else if (command === 'create') {
      if (values['create-table']) await store.createTable()
      const context = contextOf(values.context)
      const id = await store.createKey(values.id, context === undefined ? {} : { encryptionContext: context })
      if (!values.quiet) print(await store.describe(id))
    } else if (command === 'version') {
      const version = await store.versionKey(values.id!)
      if (!values.quiet) print({ branchKeyId: values.id, activeVersion: version })
    } else {
      print(await store.describe(values.id!))
    }
  } finally {
    clients.kmsClient?.destroy()
    clients.dynamoDbClient?.destroy()
    store.destroy()
  }
}
