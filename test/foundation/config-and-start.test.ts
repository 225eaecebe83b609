import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadConfig, ConfigError } from '../../plugins/env.ts'
import { ensureLocalSecrets, loadDotEnv } from '../../first-run.ts'
import { jwtSecretWeakness, masterKeyWeakness } from '../../security/secrets.ts'
import { tempDir, testEnv } from '../helper.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const NODE = process.execPath

test('a bad configuration value is rejected with a message naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'http' }, /PORT/],
    [{ RATE_LIMIT_PER_KEY: '0' }, /RATE_LIMIT_PER_KEY/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET/],
    [{ MASTER_KEY: 'not-base64' }, /MASTER_KEY/],
    [{ NODE_ENV: 'staging' }, /NODE_ENV/],
    [{ CORS_ORIGINS: 'https://a.example,*' }, /CORS_ORIGINS/],
    [{ UPSTREAM_TIMEOUT_MS: '-5' }, /UPSTREAM_TIMEOUT_MS/]
  ]
  for (const [override, name] of cases) {
    assert.throws(() => loadConfig(testEnv(override)), (err: Error) => err instanceof ConfigError && name.test(err.message), JSON.stringify(override))
  }
})

test('production refuses missing or weak secrets, naming the variable', () => {
  const strong = { JWT_SECRET: randomBytes(48).toString('base64url'), MASTER_KEY: randomBytes(32).toString('base64') }
  const prod = (o: Record<string, string | undefined>) => ({ ...testEnv(), NODE_ENV: 'production', ...strong, ...o })
  assert.throws(() => loadConfig(prod({ JWT_SECRET: undefined })), /JWT_SECRET/)
  assert.throws(() => loadConfig(prod({ MASTER_KEY: undefined })), /MASTER_KEY/)
  assert.throws(() => loadConfig(prod({ JWT_SECRET: 'changeme-changeme-changeme-changeme-1' })), /JWT_SECRET/)
  assert.throws(() => loadConfig(prod({ JWT_SECRET: 'a'.repeat(64) })), /JWT_SECRET/)
  assert.throws(() => loadConfig(prod({ MASTER_KEY: Buffer.alloc(32, 7).toString('base64') })), /MASTER_KEY/)
  assert.throws(() => loadConfig(prod({ MASTER_KEY: randomBytes(16).toString('base64') })), /MASTER_KEY/)
  assert.equal(loadConfig(prod({})).NODE_ENV, 'production')
  assert.equal(jwtSecretWeakness(strong.JWT_SECRET), null)
  assert.equal(masterKeyWeakness('MASTER_KEY', strong.MASTER_KEY), null)
})

test('first run writes .env with mode 0600 and fresh secrets, and never overwrites an existing one', (t) => {
  const dir = tempDir(t)
  copyFileSync(join(ROOT, '.env.example'), join(dir, '.env.example'))
  const first = ensureLocalSecrets({ NODE_ENV: 'development' }, dir)
  assert.equal(first.wrote, true)
  const path = join(dir, '.env')
  assert.equal(statSync(path).mode & 0o777, 0o600)
  const env = loadDotEnv({}, dir)
  assert.equal(jwtSecretWeakness(env.JWT_SECRET), null)
  assert.equal(masterKeyWeakness('MASTER_KEY', env.MASTER_KEY), null)
  const before = readFileSync(path, 'utf8')
  const second = ensureLocalSecrets({ NODE_ENV: 'development' }, dir)
  assert.equal(second.wrote, false)
  assert.equal(readFileSync(path, 'utf8'), before)
  writeFileSync(path, 'JWT_SECRET=mine\n')
  ensureLocalSecrets({}, dir)
  assert.equal(readFileSync(path, 'utf8'), 'JWT_SECRET=mine\n')
})

test('first run generates nothing in production or when secrets are in the environment', (t) => {
  const dir = tempDir(t)
  assert.equal(ensureLocalSecrets({ NODE_ENV: 'production' }, dir).wrote, false)
  assert.equal(ensureLocalSecrets({ JWT_SECRET: 'x'.repeat(40) }, dir).wrote, false)
  assert.equal(existsSync(join(dir, '.env')), false)
})

function runServer (cwd: string, env: NodeJS.ProcessEnv): { child: ReturnType<typeof spawn>, output: () => string, exited: Promise<number | null> } {
  const child = spawn(NODE, [join(ROOT, 'server.ts')], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

async function waitFor (predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('a first start writes .env, prints the one-time admin credentials, serves /healthz and exits 0 on SIGTERM', async (t) => {
  const dir = tempDir(t)
  copyFileSync(join(ROOT, '.env.example'), join(dir, '.env.example'))
  const server = runServer(dir, { NODE_ENV: 'development', PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(dir, 'data', 'gw.db')}` })
  t.after(() => { server.child.kill('SIGKILL') })
  await waitFor(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(server.output()), 20_000)
  const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())![1]
  assert.equal(statSync(join(dir, '.env')).mode & 0o777, 0o600)
  assert.match(server.output(), /password: \S+/)
  assert.match(server.output(), /API key: {2}gw_[A-Za-z0-9]{32}/)
  const res = await fetch(`${url}/healthz`)
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { status: 'ok' })
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 0)
  const secondStart = runServer(dir, { NODE_ENV: 'development', PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'data', 'gw.db')}` })
  t.after(() => { secondStart.child.kill('SIGKILL') })
  await waitFor(() => /Server listening/.test(secondStart.output()), 20_000)
  assert.doesNotMatch(secondStart.output(), /password:/, 'credentials are printed only once')
  secondStart.child.kill('SIGTERM')
  assert.equal(await secondStart.exited, 0)
})

test('a production start with a weak secret exits non-zero with a message naming the variable', async (t) => {
  const dir = tempDir(t)
  const server = runServer(dir, { NODE_ENV: 'production', PORT: '0', JWT_SECRET: 'password-password-password-password', MASTER_KEY: randomBytes(32).toString('base64'), DATABASE_URL: `sqlite:${join(dir, 'gw.db')}` })
  const code = await server.exited
  assert.notEqual(code, 0)
  assert.match(server.output(), /JWT_SECRET/)
  assert.equal(existsSync(join(dir, '.env')), false, 'production never generates secrets')
})
