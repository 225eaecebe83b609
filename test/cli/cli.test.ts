// The admin CLI end to end: real processes against a temporary SQLite database, checked through the app.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { build, loginAs, REDIS_URL, tempDir } from '../helper.ts'
import { isWellFormedApiKey } from '../../security/api-keys.ts'
import { openDatabase } from '../../store/database.ts'
import { createRepositories } from '../../store/repositories.ts'
import { fakeKeys } from '../vault/fixtures.ts'

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'microgate.ts')
const PASSWORD = 'Cli-Test-Passw0rd-42'
const KEY_ANYWHERE = /gw_[A-Za-z0-9]{32}/g

interface Run { code: number | null, stdout: string, stderr: string }
interface Install { dir: string, env: Record<string, string>, run: (args: string[], extraEnv?: Record<string, string | undefined>) => Promise<Run> }

/** A temporary install: its own directory (the CLI's cwd), database and secrets; no inherited REDIS_URL or .env. */
function install (t: TestContext): Install {
  const dir = tempDir(t)
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: `sqlite:${join(dir, 'x.db')}`,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MASTER_KEY: randomBytes(32).toString('base64')
  }
  const run = (args: string[], extraEnv: Record<string, string | undefined> = {}) => new Promise<Run>((resolve, reject) => {
    const merged = Object.fromEntries(Object.entries({ ...env, ...extraEnv }).filter(([, v]) => v !== undefined)) as Record<string, string>
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: merged, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d })
    child.stderr.on('data', (d: Buffer) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
  return { dir, env, run }
}

// The directories are this test's own temporary ones.
// eslint-disable-next-line security/detect-non-literal-fs-filename
const files = (dir: string): string[] => readdirSync(dir)

/** The contract for any failure: non-zero exit, exactly one line on stderr, no stack trace. */
function assertOneLineFailure (result: Run, pattern: RegExp, code = 1): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`)
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line expected: ${result.stderr}`)
  assert.match(lines[0], /^microgate: /)
  assert.match(lines[0], pattern)
  assert.ok(!/\bat .+:\d+:\d+/.test(result.stderr), 'no stack trace')
}

test('--help lists every command, each command has its own help, and neither touches the database', async (t) => {
  const { dir, run } = install(t)
  const global = await run(['--help'], { MASTER_KEY: undefined, JWT_SECRET: undefined })
  assert.equal(global.code, 0)
  for (const command of ['create-user', 'create-key', 'revoke-key', 'list-keys', 'rotate-master-key', 'events']) {
    assert.ok(global.stdout.includes(`\n  ${command} `), command)
    const own = await run([command, '--help'])
    assert.equal(own.code, 0, command)
    assert.ok(own.stdout.startsWith(`Usage: microgate ${command}`), command)
  }
  assert.match((await run(['create-user', '-h'])).stdout, /MICROGATE_PASSWORD/)
  assert.match((await run(['rotate-master-key', '--help'])).stdout, /MASTER_KEY_PREVIOUS/)
  assert.deepEqual(files(dir), [])
})

test('create-user, create-key, list-keys, revoke-key and events work end to end with the app on the same database', async (t) => {
  const cli = install(t)
  const created = await cli.run(['create-user', '--email', 'Ops@Example.test', '--role', 'admin'], { MICROGATE_PASSWORD: PASSWORD })
  assert.equal(created.code, 0, created.stderr)
  assert.match(created.stdout, /created admin ops@example\.test/)
  assert.ok(!created.stdout.includes(PASSWORD), 'the password is not echoed')
  assertOneLineFailure(await cli.run(['create-user', '--email', 'ops@example.test', '--role', 'user', '--password', 'Another-Passw0rd-43']), /already exists/)

  const issued = await cli.run(['create-key', '--email', 'ops@example.test', '--name', 'deploy bot', '--expires-days', '30'])
  assert.equal(issued.code, 0, issued.stderr)
  const printed = issued.stdout.match(KEY_ANYWHERE) ?? []
  assert.equal(printed.length, 1, 'the key is printed exactly once')
  const key = printed[0]
  assert.match(key, /^gw_[A-Za-z0-9]{32}$/)
  assert.ok(isWellFormedApiKey(key), 'the printed key carries a valid checksum')

  const appEnv = { DATABASE_URL: cli.env.DATABASE_URL, JWT_SECRET: cli.env.JWT_SECRET, MASTER_KEY: cli.env.MASTER_KEY }
  const app = await build(t, appEnv)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${key}` } })
  assert.equal(me.statusCode, 200)
  assert.deepEqual({ email: me.json().email, role: me.json().role }, { email: 'ops@example.test', role: 'admin' })
  await loginAs(app, 'ops@example.test', PASSWORD)
  const listedByApp = (await app.inject({ url: '/keys', headers: { authorization: `Bearer ${key}` } })).json() as { keys: Array<{ id: string, expiresAt: string }> }
  const keyId = listedByApp.keys[0].id
  assert.ok(Date.parse(listedByApp.keys[0].expiresAt) > Date.now() + 29 * 86_400_000)
  await app.close()

  const table = await cli.run(['list-keys'])
  assert.equal(table.code, 0, table.stderr)
  assert.ok(table.stdout.includes(keyId) && table.stdout.includes(key.slice(0, 10)) && table.stdout.includes('deploy bot'))
  assert.equal(table.stdout.match(KEY_ANYWHERE), null, 'list-keys never prints a key')
  const json = await cli.run(['list-keys', '--json', '--email', 'ops@example.test'])
  const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(rows.map((r) => [r.id, r.owner, r.prefix]), [[keyId, 'ops@example.test', key.slice(0, 10)]])
  assert.ok(!json.stdout.includes(key))
  assertOneLineFailure(await cli.run(['list-keys', '--email', 'nobody@example.test']), /no user with email/)

  const revoked = await cli.run(['revoke-key', '--id', keyId])
  assert.equal(revoked.code, 0, revoked.stderr)
  assert.ok(revoked.stdout.includes(`revoked API key ${keyId}`))
  assert.match((await cli.run(['revoke-key', '--id', keyId])).stdout, /already revoked/)
  assertOneLineFailure(await cli.run(['revoke-key', '--id', '00000000-0000-4000-8000-000000000000']), /no API key with id/)
  assert.equal((await cli.run(['list-keys'])).stdout.trim(), 'no API keys')
  // A fresh app (no cache involved) refuses the revoked key.
  const after = await build(t, appEnv)
  const refused = await after.inject({ url: '/me', headers: { authorization: `Bearer ${key}` } })
  assert.equal(refused.statusCode, 401)
  assert.equal(refused.json().code, 'UNAUTHORIZED')
  await after.close()

  const events = await cli.run(['events'])
  assert.equal(events.code, 0, events.stderr)
  const lines = events.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number, type: string, reason: string | null, details: Record<string, unknown> | null })
  assert.ok(lines.length >= 2, 'the refused key and the revocation are both events')
  assert.deepEqual(lines.map((l) => l.id), [...lines.map((l) => l.id)].sort((a, b) => a - b), 'oldest first')
  assert.ok(lines.some((l) => l.type === 'key-revoked' && l.reason === 'cli' && l.details?.keyId === keyId))
  assert.ok(lines.some((l) => l.type === 'credential-invalid'))
  const filtered = await cli.run(['events', '--type', 'key-revoked', '--since', new Date(Date.now() - 3_600_000).toISOString()])
  assert.deepEqual(filtered.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type), ['key-revoked'])
  assert.equal((await cli.run(['events', '--limit', '1'])).stdout.trim().split('\n').length, 1)
  assert.equal((await cli.run(['events', '--since', '2999-01-01'])).stdout, '')
})

test('events --follow prints events as they are recorded and exits 0 when interrupted', async (t) => {
  const cli = install(t)
  assert.equal((await cli.run(['events'])).code, 0) // creates and migrates the database
  const child = spawn(process.execPath, [CLI, 'events', '--follow', '--type', 'login-failed'], { cwd: cli.dir, env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { resolve(code) }))

  const connection = openDatabase(cli.env.DATABASE_URL)
  t.after(async () => { await connection.close() })
  const repos = createRepositories(connection.db)
  await repos.events.insert({ type: 'forbidden', reason: 'filtered-out' })
  await repos.events.insert({ type: 'login-failed', reason: 'followed' })
  const deadline = Date.now() + 20_000
  while (!stdout.includes('"followed"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string, reason: string })
  assert.deepEqual(lines.map((l) => [l.type, l.reason]), [['login-failed', 'followed']])
})

test('rotate-master-key re-encrypts under the new key, reports counts, is idempotent, and the app then needs only the new key', async (t) => {
  const cli = install(t)
  assert.equal((await cli.run(['create-user', '--email', 'byok@example.test', '--role', 'user', '--password', PASSWORD])).code, 0)
  const oldKey = cli.env.MASTER_KEY
  const newKey = randomBytes(32).toString('base64')
  const appEnv = { DATABASE_URL: cli.env.DATABASE_URL, JWT_SECRET: cli.env.JWT_SECRET }
  const apiKey = fakeKeys.anthropic()
  const before = await build(t, { ...appEnv, MASTER_KEY: oldKey })
  const auth = await loginAs(before, 'byok@example.test', PASSWORD)
  assert.equal((await before.inject({ method: 'PUT', url: '/provider-keys/anthropic', headers: { authorization: auth }, payload: { apiKey } })).statusCode, 204)
  const userId = ((await before.inject({ url: '/me', headers: { authorization: auth } })).json() as { id: string }).id
  await before.close()

  // The new key alone cannot read the old row: reported, non-zero, the row left unchanged.
  const premature = await cli.run(['rotate-master-key'], { MASTER_KEY: newKey })
  assert.match(premature.stdout, /rotated: 0, already current: 0, failed: 1/)
  assertOneLineFailure(premature, /MASTER_KEY_PREVIOUS/)

  const first = await cli.run(['rotate-master-key'], { MASTER_KEY: newKey, MASTER_KEY_PREVIOUS: oldKey })
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /^rotated: 1, already current: 0, failed: 0/)
  const again = await cli.run(['rotate-master-key'], { MASTER_KEY: newKey, MASTER_KEY_PREVIOUS: oldKey })
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /^rotated: 0, already current: 1, failed: 0/)

  const after = await build(t, { ...appEnv, MASTER_KEY: newKey })
  assert.deepEqual(await after.providerKeys.resolve(userId, 'anthropic'), { apiKey, source: 'user' })
  assert.ok(!first.stdout.includes(apiKey.slice(13, 30)) && !first.stderr.includes(apiKey.slice(13, 30)))
})

test('every error exits non-zero with one line and no stack trace', async (t) => {
  const cli = install(t)
  assertOneLineFailure(await cli.run([]), /no command given/, 2)
  assertOneLineFailure(await cli.run(['drop-database']), /unknown command/, 2)
  assertOneLineFailure(await cli.run(['create-key', '--email', 'a@example.test', '--bogus']), /Unknown option '--bogus'/, 2)
  assertOneLineFailure(await cli.run(['create-key', '--name', 'x']), /--email is required/, 2)
  assertOneLineFailure(await cli.run(['create-user', '--email', 'x@example.test', '--role', 'root', '--password', PASSWORD]), /--role must be viewer, user or admin/, 2)
  assertOneLineFailure(await cli.run(['create-user', '--email', 'x@example.test', '--role', 'user']), /MICROGATE_PASSWORD/, 2)
  assertOneLineFailure(await cli.run(['create-user', '--email', 'x@example.test', '--role', 'user', '--password', 'password1234']), /password/)
  assertOneLineFailure(await cli.run(['create-key', '--email', 'nobody@example.test', '--name', 'x']), /no user with email/)
  assertOneLineFailure(await cli.run(['create-key', '--email', 'a@example.test', '--name', 'x', '--expires-days', '0']), /--expires-days must be an integer/, 2)
  assertOneLineFailure(await cli.run(['revoke-key', '--id', "1' or '1'='1"]), /--id must be a key id/, 2)
  assertOneLineFailure(await cli.run(['events', '--since', 'yesterday']), /--since must be an ISO-8601/, 2)
  assertOneLineFailure(await cli.run(['events', '--limit', '100000']), /--limit must be an integer/, 2)
  assertOneLineFailure(await cli.run(['list-keys'], { MASTER_KEY: undefined }), /MASTER_KEY/)
  assertOneLineFailure(await cli.run(['list-keys'], { MASTER_KEY: 'too-short' }), /MASTER_KEY/)
  assertOneLineFailure(await cli.run(['list-keys'], { DATABASE_URL: 'mysql://db/x' }), /DATABASE_URL/)
  assertOneLineFailure(await cli.run(['rotate-master-key'], { MASTER_KEY_PREVIOUS: cli.env.MASTER_KEY }), /MASTER_KEY_PREVIOUS must differ/)
})

test('configuration comes from ./.env like the server, and the environment wins over it', async (t) => {
  const cli = install(t)
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(cli.dir, '.env'), `JWT_SECRET=${cli.env.JWT_SECRET}\nMASTER_KEY=${cli.env.MASTER_KEY}\nDATABASE_URL=sqlite:${join(cli.dir, 'from-dotenv.db')}\n`, { mode: 0o600 })
  const result = await cli.run(['list-keys'], { JWT_SECRET: undefined, MASTER_KEY: undefined, DATABASE_URL: undefined })
  assert.equal(result.code, 0, result.stderr)
  assert.ok(files(cli.dir).includes('from-dotenv.db'))
  assert.equal((await cli.run(['list-keys'])).code, 0)
  assert.ok(files(cli.dir).includes('x.db'), 'DATABASE_URL from the environment wins')
})

test('with REDIS_URL set, revoke-key publishes the key hash so running servers drop it at once', { skip: REDIS_URL === undefined ? 'REDIS_URL is not set: Redis revocation notice not tested' : false }, async (t) => {
  const cli = install(t)
  assert.equal((await cli.run(['create-user', '--email', 'redis@example.test', '--role', 'user', '--password', PASSWORD])).code, 0)
  const issued = await cli.run(['create-key', '--email', 'redis@example.test', '--name', 'to revoke'])
  const [key] = issued.stdout.match(KEY_ANYWHERE) ?? ['']
  assert.ok(isWellFormedApiKey(key))
  const keyId = (JSON.parse((await cli.run(['list-keys', '--json'])).stdout.trim()) as { id: string }).id

  const subscriber = new Redis(REDIS_URL as string)
  t.after(() => { subscriber.disconnect() })
  const expected = createHash('sha256').update(key).digest('hex')
  const received = new Promise<void>((resolve) => {
    // The channel is shared with other suites: wait for this key's hash only.
    subscriber.on('message', (channel: string, message: string) => { if (channel === 'microgate:api-key-revoked' && message === expected) resolve() })
  })
  await subscriber.subscribe('microgate:api-key-revoked')
  const revoked = await cli.run(['revoke-key', '--id', keyId], { REDIS_URL })
  assert.equal(revoked.code, 0, revoked.stderr)
  await received

  // An unreachable Redis: the key is still revoked in the database, and the CLI says the notice failed.
  const second = await cli.run(['create-key', '--email', 'redis@example.test', '--name', 'second'])
  const secondId = (JSON.parse((await cli.run(['list-keys', '--json'])).stdout.trim()) as { id: string }).id
  assert.equal(second.code, 0)
  const unreachable = await cli.run(['revoke-key', '--id', secondId], { REDIS_URL: 'redis://127.0.0.1:1' })
  assertOneLineFailure(unreachable, /revoked in the database, but the Redis notice failed/)
  assert.equal((await cli.run(['list-keys'])).stdout.trim(), 'no API keys')
})
