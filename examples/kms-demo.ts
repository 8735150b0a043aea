/**
 * `npm run demo:kms`: kms-envelope against a real KMS API on this machine.
 *
 * scripts/kms-server.js starts moto's KMS server on a free loopback port and runs this with
 * AWS_ENDPOINT_URL_KMS, AWS_REGION and dummy credentials set, then stops it. This script
 * creates two KMS keys and an alias through the AWS SDK, encrypts and decrypts a sample file
 * with the CLI and a record with the API, rewraps to the second key with KMS ReEncrypt,
 * and prints `kms-envelope inspect`.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { Envelope, inspect } from '../src/index.js'
import { KmsKeyring } from '../src/kms.js'

const endpoint = process.env.AWS_ENDPOINT_URL_KMS
if (endpoint === undefined) {
  console.error('Run it through the KMS test server: npm run demo:kms')
  process.exit(2)
}
const CLI = fileURLToPath(new URL('../../bin/kms-envelope.js', import.meta.url))
const step = (text: string): void => console.log(`\n== ${text}`)
const cli = (...args: string[]): string => {
  console.log(`$ kms-envelope ${args.join(' ')}`)
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
}

// One client for the demo's own setup and API calls; it counts what it sends.
const client = new KMSClient({})
const calls: string[] = []
client.middlewareStack.add(
  (next, context) => async (args) => {
    calls.push(String(context.commandName).replace(/Command$/, ''))
    return next(args)
  },
  { step: 'initialize', name: 'demoCallLog' },
)
const sent = (): string => {
  const list = calls.splice(0)
  return list.length === 0 ? 'no KMS call' : list.join(', ')
}

const dir = mkdtempSync(join(tmpdir(), 'kms-envelope-demo-'))
try {
  step(`KMS at ${endpoint} (moto), region ${await client.config.region()}`)
  const orders = (await client.send(new CreateKeyCommand({ Description: 'orders 2025' }))).KeyMetadata!.Arn!
  const orders2026 = (await client.send(new CreateKeyCommand({ Description: 'orders 2026' }))).KeyMetadata!.Arn!
  const alias = `alias/orders-${Date.now().toString(36)}`
  await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: orders }))
  calls.length = 0
  console.log(`created ${orders}\ncreated ${orders2026}\ncreated ${alias} -> first key`)

  step('CLI: encrypt a file under the alias, decrypt it by key ARN')
  const sample = join(dir, 'invoice.json')
  writeFileSync(sample, JSON.stringify({ customer: 'acme', card: '4111 1111 1111 1111', total: 129.5 }, null, 2))
  cli('encrypt', '--key', `kms:${alias}`, '-c', 'tenant=acme', '-c', 'table=invoices', '-o', `${sample}.kmse`, sample)
  const back = cli('decrypt', '--key', `kms:${orders}`, '-e', 'tenant=acme', `${sample}.kmse`)
  console.log(back === readFileSync(sample, 'utf8') ? 'decrypted: identical to the original' : 'MISMATCH')

  step('API: encrypt and decrypt a record (one GenerateDataKey, one Decrypt)')
  const env = new Envelope({ keyring: new KmsKeyring({ keyIds: [alias], client }) })
  const record = await env.encrypt('078-05-1120', { context: { tenant: 'acme', column: 'ssn' } })
  console.log(`encrypt: ${record.length} bytes, ${sent()}`)
  const { plaintext, keyId } = await env.decrypt(record, { expectContext: { tenant: 'acme' } })
  console.log(`decrypt: ${JSON.stringify(new TextDecoder().decode(plaintext))} with ${keyId}, ${sent()}`)

  step('Rewrap the record to the 2026 key (KMS ReEncrypt: the data key never leaves KMS)')
  const rewrapped = await env.rewrap(record, { to: new KmsKeyring({ keyIds: [orders2026], client }) })
  const sameBody = Buffer.from(record.subarray(inspect(record).headerBytes)).equals(rewrapped.subarray(inspect(rewrapped).headerBytes))
  console.log(`rewrap: ${sent()}; body byte-identical: ${sameBody}`)
  const opened = await new Envelope({ keyring: new KmsKeyring({ keyIds: [orders2026], client }) }).decrypt(rewrapped)
  console.log(`decrypt with the 2026 key: ${JSON.stringify(new TextDecoder().decode(opened.plaintext))}, ${sent()}`)
  const old = await env.decrypt(rewrapped).catch((error: { code?: string }) => error.code)
  console.log(`decrypt with the old key: ${String(old)}, ${sent()}`)

  step('CLI: rewrap the file too, then inspect it (inspect needs no key and calls nothing)')
  cli('rewrap', '--key', `kms:${alias}`, '--to', `kms:${orders2026}`, '-o', `${sample}.kmse`, '--force', `${sample}.kmse`)
  console.log(cli('inspect', `${sample}.kmse`).trim())
  const info = inspect(rewrapped)
  console.log(`\nthe record now lists: ${info.recipients.map((r) => r.keyId).join(', ')}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
  client.destroy()
}
