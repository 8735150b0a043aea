/**
 * `npm run demo`: the main job on the local keyring, no cloud account needed.
 * Creates a key file in a temp dir, encrypts a record with an encryption context, shows
 * what the message says about itself, decrypts it, and shows that the wrong context fails.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Envelope, inspect, LocalKeyring } from '../src/index.js'
import { loadLocalKeyring, writeKeyFile } from '../src/node/index.js'

const dir = await mkdtemp(join(tmpdir(), 'kms-envelope-demo-'))
try {
  const keyFile = join(dir, 'demo.key')
  await writeKeyFile(keyFile, LocalKeyring.generate({ keyId: 'demo-key' }))
  console.log(`1. created a local master key: ${keyFile} (mode 0600)`)

  const env = new Envelope({ keyring: await loadLocalKeyring(keyFile) })
  const record = JSON.stringify({ name: 'Ada Lovelace', ssn: '078-05-1120', notes: 'prefers email' })
  const context = { tenant: 'acme', table: 'customers' }
  const message = await env.encrypt(record, { context })
  console.log(`2. encrypted ${record.length} bytes with context ${JSON.stringify(context)} -> ${message.length}-byte message`)

  console.log('3. inspect (no key needed, nothing verified):')
  console.log(JSON.stringify(inspect(message), null, 2).replace(/^/gm, '   '))

  const { plaintext, context: authenticated, keyId } = await env.decrypt(message, { expectContext: { tenant: 'acme' } })
  console.log(`4. decrypted with ${keyId}, context ${JSON.stringify(authenticated)}:`)
  console.log(`   ${new TextDecoder().decode(plaintext)}`)

  try {
    await env.decrypt(message, { expectContext: { tenant: 'globex' } })
    throw new Error('decrypting for the wrong tenant should have failed')
  } catch (error) {
    console.log(`5. the same message for tenant "globex" is refused: ${(error as { code?: string }).code}`)
  }
  console.log('demo OK')
} finally {
  await rm(dir, { recursive: true, force: true })
}
