// Two gateway instances sharing PostgreSQL and Redis: one revocation, one budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { build, createUser, freshPostgresSchema, REDIS_URL, SKIP_REDIS } from '../helper.ts'

async function twoInstances (t: import('node:test').TestContext, extra: Record<string, string> = {}) {
  const env = {
    DATABASE_URL: await freshPostgresSchema(t),
    REDIS_URL: REDIS_URL as string,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MASTER_KEY: randomBytes(32).toString('base64'),
    // Redis-backed budgets are shared by every suite on this machine: keep the ones not under test out of the way.
    RATE_LIMIT_PER_IP: '100000',
    RATE_LIMIT_LOGIN: '100000',
    ...extra
  }
  const a = await build(t, env)
  const b = await build(t, env)
  return { a, b }
}

test('revoking a key on instance A makes it fail on instance B within 1 second', { skip: SKIP_REDIS }, async (t) => {
  const { a, b } = await twoInstances(t)
  const user = await createUser(a, 'user')
  const { id, key } = (await a.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'shared' } })).json()
  // B has the key cached (its cache would otherwise keep it valid for a minute).
  assert.equal((await b.inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode, 200)
  assert.equal((await a.inject({ method: 'DELETE', url: `/keys/${id}`, headers: { authorization: user.auth } })).statusCode, 204)
  const revokedAt = Date.now()
  let status = 200
  while (Date.now() - revokedAt < 1000) {
    status = (await b.inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode
    if (status === 401) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.equal(status, 401, 'still accepted on B one second after revocation on A')
})

test('two instances on one Redis enforce one per-key budget', { skip: SKIP_REDIS }, async (t) => {
  const { a, b } = await twoInstances(t, { RATE_LIMIT_PER_KEY: '60' })
  const user = await createUser(a, 'user')
  const { key } = (await a.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'budget' } })).json()
  const codes = []
  for (let i = 0; i < 60; i++) codes.push((await (i % 2 === 0 ? a : b).inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode)
  assert.ok(codes.every((c) => c === 200), 'the first 60 requests pass on either instance')
  const sixtyFirstOnA = await a.inject({ url: '/me', headers: { 'x-api-key': key } })
  const sixtySecondOnB = await b.inject({ url: '/me', headers: { 'x-api-key': key } })
  assert.equal(sixtyFirstOnA.statusCode, 429)
  assert.equal(sixtySecondOnB.statusCode, 429)
  assert.equal(sixtySecondOnB.json().code, 'RATE_LIMITED')
})

test('two instances on one Redis share the per-address budget for unauthenticated traffic', { skip: SKIP_REDIS }, async (t) => {
  // A per-test address through a trusted proxy keeps this budget apart from other suites on the same Redis.
  const client = `198.51.100.${Math.floor(Math.random() * 250) + 1}`
  const { a, b } = await twoInstances(t, { RATE_LIMIT_PER_IP: '6', TRUST_PROXY: '127.0.0.1' })
  const codes = []
  for (let i = 0; i < 8; i++) codes.push((await (i % 2 === 0 ? a : b).inject({ url: '/me', headers: { 'x-forwarded-for': client } })).statusCode)
  assert.deepEqual(codes, [401, 401, 401, 401, 401, 401, 429, 429])
})
