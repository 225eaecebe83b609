// Test helper: builds the app against a throwaway store and closes it when the test ends.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildApp } from '../app.ts'
import type { BuildOptions } from '../app.ts'

export const TEST_ADMIN = { email: 'admin@example.test', password: 'Adm1n-Test-Passw0rd!' }

/** PostgreSQL and Redis for the suites that need them: taken from the environment, never assumed. */
export const POSTGRES_URL = process.env.DATABASE_URL?.startsWith('postgres') === true ? process.env.DATABASE_URL : undefined
export const REDIS_URL = process.env.REDIS_URL
export const SKIP_POSTGRES = POSTGRES_URL === undefined ? 'DATABASE_URL is not a postgres:// URL: PostgreSQL suite skipped' : false
export const SKIP_REDIS = REDIS_URL === undefined || POSTGRES_URL === undefined ? 'DATABASE_URL (postgres) and REDIS_URL are needed: multi-instance suite skipped' : false

export function testEnv (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MASTER_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: 'sqlite::memory:',
    BOOTSTRAP_ADMIN_EMAIL: TEST_ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: TEST_ADMIN.password,
    ...overrides
  }
}

/** A fresh schema in the test PostgreSQL database; the URL pins search_path to it. */
export async function freshPostgresSchema (t: TestContext): Promise<string> {
  if (POSTGRES_URL === undefined) throw new Error('no PostgreSQL configured')
  const schema = `mg_test_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.end()
  t.after(async () => {
    // This hook may run before the app's own close: a write still in flight can deadlock the DROP,
    // so it is retried; the schema is scratch space either way.
    const c = new pg.Client({ connectionString: POSTGRES_URL })
    await c.connect()
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    await c.end()
  })
  const url = new URL(POSTGRES_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

/** A temporary directory removed after the test. */
export function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'microgate-test-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** Builds the app (bootstrap admin included), ready for inject(); closed in t.after. */
export async function build (t: TestContext, env: Record<string, string | undefined> = {}, options: Omit<BuildOptions, 'env'> & { extend?: (app: FastifyInstance) => void } = {}): Promise<FastifyInstance> {
  const { extend, ...buildOptions } = options
  const app = await buildApp({ env: testEnv(env), ...buildOptions })
  t.after(async () => { await app.close() })
  extend?.(app)
  await app.ready()
  const { bootstrapAdmin } = await import('../plugins/auth.ts')
  await bootstrapAdmin(app, false)
  return app
}

/** Logs in and returns a bearer header value. */
export async function loginAs (app: FastifyInstance, email: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return `Bearer ${(res.json() as { token: string }).token}`
}

/** Creates a user with the given role through the admin API and returns its credentials. */
export async function createUser (app: FastifyInstance, role: 'viewer' | 'user' | 'admin', adminAuth?: string): Promise<{ id: string, email: string, password: string, auth: string }> {
  const admin = adminAuth ?? await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const email = `${role}-${randomBytes(4).toString('hex')}@example.test`
  const password = `Pw-${randomBytes(12).toString('base64url')}`
  const res = await app.inject({ method: 'POST', url: '/users', headers: { authorization: admin }, payload: { email, password, role } })
  if (res.statusCode !== 201) throw new Error(`create user failed: ${res.statusCode} ${res.body}`)
  const { id } = res.json() as { id: string }
  return { id, email, password, auth: await loginAs(app, email, password) }
}
