/**
 * A users table with encrypted columns in a real SQLite database.
 *
 *   ssn        random          AES-256-GCM under a fresh key per row: reveals nothing but length
 *   email      deterministic   AES-256-SIV: `WHERE email = ?` works on the encrypted column
 *   email_idx  blind index     HMAC of the lower-cased email: `WHERE email_idx = ?`
 *   notes      random          any JSON-like value (here an object with a Date) keeps its types
 *   _kmse      key material    each row's wrapped data key and header (one per row)
 *
 * SQLite here is sql.js: SQLite compiled to WebAssembly and shipped inside its npm package, so
 * `npm ci` builds and downloads nothing. The keyring is a local key generated into a temp
 * directory; with KMS, only the keyring changes.
 *
 *   npm run example:sqlite
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import initSqlJs from 'sql.js'
// In an application: from 'kms-envelope' and 'kms-envelope/node'.
import { Envelope, EnvelopeError, FieldEncryptor, LocalKeyring } from '../../src/index.js'
import { loadLocalKeyring, writeKeyFile } from '../../src/node/index.js'

interface User {
  id: number
  name: string
  ssn: string
  email: string
  notes: { text: string; updated: Date }
}

const users: User[] = [
  { id: 1, name: 'Alice', ssn: '123-45-6789', email: 'alice@example.com', notes: { text: 'prefers email', updated: new Date('2026-01-02T03:04:05.678Z') } },
  { id: 2, name: 'Bob', ssn: '987-65-4321', email: 'Bob@Example.com', notes: { text: 'VIP', updated: new Date('2026-02-03T04:05:06.789Z') } },
  { id: 3, name: 'Carol', ssn: '555-12-3456', email: 'carol@example.com', notes: { text: '', updated: new Date(0) } },
]

const dir = await mkdtemp(join(tmpdir(), 'kmse-sqlite-'))
try {
  // 1. A local master key in a key file (mode 0600), loaded as the app would at start-up.
  const keyPath = join(dir, 'users-app.key')
  await writeKeyFile(keyPath, LocalKeyring.generate({ keyId: 'users-app' }))
  const envelope = new Envelope({ keyring: await loadLocalKeyring(keyPath) })

  const SQL = await initSqlJs()
  const db = new SQL.Database()
  db.run(`
    CREATE TABLE kmse_keys (name TEXT PRIMARY KEY, wrapped TEXT NOT NULL);
    CREATE TABLE users (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL,
      ssn TEXT NOT NULL, email TEXT NOT NULL, email_idx TEXT NOT NULL, notes TEXT NOT NULL,
      _kmse TEXT NOT NULL
    );
    CREATE INDEX users_email ON users (email);
    CREATE INDEX users_email_idx ON users (email_idx);
  `)

  // 2. The index key (for deterministic fields and blind indexes): made once, kept wrapped in a table.
  const indexKeyContext = { purpose: 'field-index', table: 'users' }
  db.run('INSERT INTO kmse_keys VALUES (?, ?)', ['users', await FieldEncryptor.createIndexKey(envelope, { context: indexKeyContext })])
  const wrappedIndexKey = db.exec("SELECT wrapped FROM kmse_keys WHERE name = 'users'")[0]!.values[0]![0] as string

  const fields = new FieldEncryptor({
    envelope,
    indexKey: wrappedIndexKey,
    indexKeyContext,
    schema: { ssn: 'random', email: 'deterministic', notes: 'random' },
  })
  const context = { table: 'users', tenant: 'acme' }
  const emailIndex = (email: string): Promise<string> => fields.blindIndex('email', email.toLowerCase(), { context })

  // 3. Insert: encrypt the rows (one data key each), add the blind index column.
  const stored = await fields.encryptRecords(users, { context })
  const insert = db.prepare('INSERT INTO users (id, name, ssn, email, email_idx, notes, _kmse) VALUES (?, ?, ?, ?, ?, ?, ?)')
  for (const [i, row] of stored.entries()) {
    insert.run([row.id, row.name, row.ssn, row.email, await emailIndex(users[i]!.email), row.notes, row._kmse] as (string | number)[])
  }
  insert.free()

  // 4. What the database holds.
  const raw = db.exec('SELECT id, name, ssn, email, email_idx, notes, length(_kmse) FROM users ORDER BY id')[0]!
  console.log('stored rows (what the database sees):')
  for (const values of raw.values) {
    const [id, name, ssn, email, idx, notes, keyLength] = values as [number, string, string, string, string, string, number]
    console.log(
      `  ${id} ${name}  ssn=${ssn.slice(0, 24)}…  email=${email.slice(0, 24)}…  email_idx=${idx}  notes=${notes.slice(0, 16)}…  _kmse: ${keyLength} chars`,
    )
  }

  type Db = InstanceType<typeof SQL.Database>
  const selectFrom = (from: Db, sql: string, params: (string | number)[] = []): Record<string, unknown>[] => {
    const statement = from.prepare(sql)
    statement.bind(params)
    const rows: Record<string, unknown>[] = []
    while (statement.step()) rows.push(statement.getAsObject())
    statement.free()
    return rows
  }
  const select = (sql: string, params: (string | number)[] = []): Record<string, unknown>[] => selectFrom(db, sql, params)

  // 5. Read back: decrypt every row, types included.
  const back = await fields.decryptRecords<User & { email_idx: string }>(
    select('SELECT id, name, ssn, email, email_idx, notes, _kmse FROM users ORDER BY id'),
    {
      expectContext: context,
    },
  )
  for (const [i, user] of back.entries()) {
    const { email_idx: _idx, ...plain } = user
    if (JSON.stringify(plain) !== JSON.stringify(users[i]) || !(plain.notes.updated instanceof Date)) throw new Error(`row ${i} did not round-trip`)
  }
  console.log(`read back ${back.length} rows: ${back.map((u) => `${u.name} <${u.email}> ssn ${u.ssn}`).join('; ')}`)
  console.log(
    `notes keep their types: ${back[0]!.notes.updated instanceof Date ? 'Date' : typeof back[0]!.notes.updated} ${back[0]!.notes.updated.toISOString()}`,
  )

  // 6. Lookups without decrypting the table.
  const [byIndex] = select('SELECT id, name, ssn, email, notes, _kmse FROM users WHERE email_idx = ?', [await emailIndex('BOB@example.COM')])
  const bob = await fields.decryptRecord<User>(byIndex!, { expectContext: context })
  console.log(`lookup by blind index (email_idx): ${bob.name} ssn ${bob.ssn}`)
  const [byValue] = select('SELECT id, name, ssn, email, notes, _kmse FROM users WHERE email = ?', [
    await fields.deterministicValue('email', 'carol@example.com', { context }),
  ])
  console.log(`lookup by deterministic column (email): ${(await fields.decryptRecord<User>(byValue!, { expectContext: context })).name}`)

  // 7. A query that selects only some columns: partial.
  const [partial] = select('SELECT id, name, email, _kmse FROM users WHERE id = 1')
  console.log(`partial read (id, name, email): ${JSON.stringify(await fields.decryptRecord(partial!, { expectContext: context, partial: true }))}`)

  // 8. Persist the database file and open it again.
  const file = join(dir, 'users.sqlite')
  await writeFile(file, db.export())
  db.close()
  const reopened = new SQL.Database(await readFile(file))
  const count = reopened.exec('SELECT count(*) FROM users')[0]!.values[0]![0]
  const [row3] = selectFrom(reopened, 'SELECT * FROM users WHERE id = 3')
  const carol = await fields.decryptRecord<User>(row3!, { expectContext: context })
  console.log(`reopened ${file.slice(dir.length + 1)}: ${count} rows, row 3 is ${carol.name}`)

  // 9. Someone with write access to the table copies Alice's ssn into Bob's row: refused.
  const [alice] = selectFrom(reopened, 'SELECT ssn FROM users WHERE id = 1')
  const [bobRow] = selectFrom(reopened, 'SELECT id, name, ssn, email, notes, _kmse FROM users WHERE id = 2')
  try {
    await fields.decryptRecord({ ...bobRow!, ssn: alice!.ssn }, { expectContext: context })
    throw new Error('a swapped value decrypted')
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error
    console.log(`swapped ssn between rows: refused with ${error.code} (${error.message})`)
  }
  try {
    await fields.decryptRecord(bobRow!, { expectContext: { tenant: 'globex' } })
    throw new Error('another tenant read the row')
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error
    console.log(`read as another tenant: refused with ${error.code}`)
  }
  reopened.close()
  fields.close()
  console.log('sqlite example: OK')
} finally {
  await rm(dir, { recursive: true, force: true })
}
