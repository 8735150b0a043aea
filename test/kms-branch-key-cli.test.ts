/**
 * `kms-envelope branch-key` against moto (KMS and DynamoDB on one endpoint): create-table,
 * create, version, describe, their errors and exit codes; what it writes is read back by the
 * library's BranchKeyStore.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { BranchKeyStore } from '../src/kms.js'
import { CLI, ROOT } from './helpers.js'
import { motoDynamoDb, tableName } from './kms-branch-helpers.js'
import { CREDENTIALS, createKey, kmsEndpoint, motoClient, REGION } from './kms-helpers.js'

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'branch-key', ...args], { env: { ...base, ...env }, encoding: 'utf8', cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
}

function ok(run: Run): Run {
  assert.equal(run.code, 0, run.stderr)
  return run
}

async function setup() {
  const endpoint = await kmsEndpoint()
  const arn = await createKey()
  const table = tableName('kmse-cli')
  return { arn, table, flags: ['--table', table, '--kms-key', arn, '--endpoint', endpoint, '--region', REGION] }
}

describe('CLI branch-key (moto)', () => {
  it('create-table, create, version and describe; the library reads what the CLI wrote', async () => {
    const { arn, table, flags } = await setup()
    const made = JSON.parse(ok(await cli(['create-table', ...flags])).stdout)
    assert.equal(made.created, true)
    assert.equal(JSON.parse(ok(await cli(['create-table', ...flags])).stdout).created, false)
    const created = JSON.parse(ok(await cli(['create', ...flags, '--id', 'tenant-acme', '-c', 'tenant=acme'])).stdout)
    assert.equal(created.branchKeyId, 'tenant-acme')
    assert.deepEqual(created.encryptionContext, { tenant: 'acme' })
    assert.equal(created.versions.length, 1)
    assert.equal(created.hasBeaconKey, true)
    const rotated = JSON.parse(ok(await cli(['version', ...flags, '--id', 'tenant-acme'])).stdout)
    assert.notEqual(rotated.activeVersion, created.activeVersion)
    const described = JSON.parse(ok(await cli(['describe', ...flags, '--id', 'tenant-acme'])).stdout)
    assert.equal(described.activeVersion, rotated.activeVersion)
    assert.deepEqual(described.versions.map((v: { version: string }) => v.version).sort(), [created.activeVersion, rotated.activeVersion].sort())
    const store = new BranchKeyStore({
      tableName: table,
      kmsKeyArn: arn,
      dynamoDbClient: (await motoDynamoDb()).client,
      kmsClient: (await motoClient()).client,
    })
    const active = await store.getActiveBranchKey('tenant-acme')
    assert.equal(active.branchKeyVersion, rotated.activeVersion)
    assert.deepEqual(active.encryptionContext, { tenant: 'acme' })
    await store.getBranchKeyVersion('tenant-acme', created.activeVersion)
    // Nothing key-like is printed: no base64 of 32+ bytes, no "enc".
    for (const run of [created, rotated, described]) assert.ok(!/"enc"|[A-Za-z0-9+/]{43}=/.test(JSON.stringify(run)))
  })

  it('create --create-table with a random id and the endpoints from the environment', async () => {
    const { arn, table } = await setup()
    const endpoint = await kmsEndpoint()
    const env = { AWS_ENDPOINT_URL_KMS: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint }
    const created = JSON.parse(ok(await cli(['create', '--table', table, '--kms-key', arn, '--create-table'], env)).stdout)
    assert.match(created.branchKeyId, /^[0-9a-f-]{36}$/)
    assert.equal(ok(await cli(['version', '--table', table, '--kms-key', arn, '--id', created.branchKeyId, '-q'], env)).stdout, '')
  })

  it('errors: usage is exit 2, an existing id or a missing key or table exit 3, with typed codes', async () => {
    const { flags } = await setup()
    ok(await cli(['create-table', ...flags, '-q']))
    ok(await cli(['create', ...flags, '--id', 't1', '-c', 'tenant=1', '-q']))
    const exists = await cli(['create', ...flags, '--id', 't1', '-c', 'tenant=1'])
    assert.equal(exists.code, 3)
    assert.match(exists.stderr, /already exists.*\[ERR_BRANCH_KEY_EXISTS\]/)
    const missing = await cli(['describe', ...flags, '--id', 'nobody'])
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /\[ERR_BRANCH_KEY_NOT_FOUND\]/)
    const noTable = await cli(['version', ...flags.map((f, i) => (flags[i - 1] === '--table' ? `${f}-absent` : f)), '--id', 't1'])
    assert.equal(noTable.code, 3)
    assert.match(noTable.stderr, /ResourceNotFoundException.*\[ERR_DYNAMODB\]/)
    for (const args of [
      ['create', '--kms-key', 'arn:aws:kms:us-east-1:123456789012:key/x'],
      ['create', ...flags, '--id', 'needs-context'],
      ['version', ...flags],
      ['rotate', ...flags],
      ['create', '--table', 'tbl', '--kms-key', 'alias/orders'],
      [],
    ]) {
      const run = await cli(args)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
      assert.match(run.stderr, /see kms-envelope branch-key --help/)
    }
    const help = ok(await cli(['--help']))
    assert.match(help.stdout, /create-table\|create\|version\|describe/)
  })
})
