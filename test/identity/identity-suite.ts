// The identity suite, run once per store (embedded SQLite, and PostgreSQL when configured).
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'kysely'
import { build, createUser, loginAs, TEST_ADMIN } from '../helper.ts'
import { runAccessMatrix } from './access-matrix.ts'

export function identitySuite (label: string, storeEnv: (t: TestContext) => Promise<Record<string, string>>, skip: string | false = false): void {
  const it = (name: string, fn: (t: TestContext) => Promise<void>) => test(`[${label}] ${name}`, { skip }, fn)

  it('every protected route answers each bad credential with 401 and each role as the contract says', async (t) => {
    await runAccessMatrix(t, await storeEnv(t))
  })

  it('login issues an HS256 JWT with sub, email, role, iat and exp', async (t) => {
    const app = await build(t, await storeEnv(t))
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: TEST_ADMIN })
    assert.equal(res.statusCode, 200)
    const { token, expiresIn } = res.json() as { token: string, expiresIn: number }
    assert.equal(expiresIn, 900)
    const [header, payload] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()))
    assert.equal(header.alg, 'HS256')
    assert.deepEqual(Object.keys(payload).sort(), ['email', 'exp', 'iat', 'role', 'sub'])
    assert.equal(payload.role, 'admin')
    assert.equal(payload.exp - payload.iat, 900)
  })

  it('an unknown email and a wrong password give the same 401 in about the same time', async (t) => {
    const app = await build(t, { ...await storeEnv(t), RATE_LIMIT_LOGIN: '1000' })
    const attempt = async (email: string) => {
      const start = process.hrtime.bigint()
      const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'Wrong-Password-123' } })
      return { res, ms: Number(process.hrtime.bigint() - start) / 1e6 }
    }
    const unknown = []
    const wrong = []
    for (let i = 0; i < 6; i++) {
      unknown.push(await attempt(`nobody${i}@example.test`))
      wrong.push(await attempt(TEST_ADMIN.email))
    }
    assert.equal(unknown[0].res.statusCode, 401)
    assert.deepEqual(unknown[0].res.json(), wrong[0].res.json())
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const ratio = median(unknown.map((a) => a.ms)) / median(wrong.map((a) => a.ms))
    // Both verify an argon2id hash; without the dummy hash the unknown email would be ~100× faster.
    // The bounds are loose because the machine may be loaded; the property is the order of magnitude.
    assert.ok(ratio > 0.25 && ratio < 4, `timing ratio ${ratio}`)
  })

  it('repeated login failures back off per account with 429 and Retry-After, and are security events', async (t) => {
    const app = await build(t, { ...await storeEnv(t), RATE_LIMIT_LOGIN: '1000' })
    const codes: number[] = []
    let last
    for (let i = 0; i < 8; i++) {
      last = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: TEST_ADMIN.email, password: `Wrong-${i}-password` } })
      codes.push(last.statusCode)
    }
    assert.deepEqual(codes.slice(0, 5), [401, 401, 401, 401, 401])
    assert.ok(codes.slice(5).includes(429), `codes ${codes.join(',')}`)
    assert.equal(last!.statusCode, 429)
    assert.ok(Number(last!.headers['retry-after']) >= 1)
    assert.equal(last!.json().code, 'RATE_LIMITED')
    // Even the right password waits while the account is backing off.
    const right = await app.inject({ method: 'POST', url: '/auth/login', payload: TEST_ADMIN })
    assert.equal(right.statusCode, 429)
    const rows = await app.store.events.list({ type: 'login-failed', limit: 100 })
    assert.ok(rows.items.length >= 1)
    assert.ok(rows.items.every((e) => !JSON.stringify(e).includes('Wrong-')), 'no password in events')
  })

  it('the database never holds a plaintext API key or password', async (t) => {
    const app = await build(t, await storeEnv(t))
    const user = await createUser(app, 'user')
    const created = await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'secret-check' } })
    const { key } = created.json() as { key: string }
    assert.match(key, /^gw_[A-Za-z0-9]{32}$/)
    const dump = JSON.stringify([
      (await sql`select * from users`.execute(app.store.db)).rows,
      (await sql`select * from api_keys`.execute(app.store.db)).rows,
      (await sql`select * from security_events`.execute(app.store.db)).rows
    ])
    assert.ok(!dump.includes(key), 'API key stored in clear')
    assert.ok(!dump.includes(key.slice(10)), 'API key body stored in clear')
    assert.ok(!dump.includes(user.password), 'password stored in clear')
    assert.ok(!dump.includes(TEST_ADMIN.password), 'bootstrap password stored in clear')
    assert.match(dump, /\$argon2id\$/)
    const { createHash } = await import('node:crypto')
    assert.ok(dump.includes(createHash('sha256').update(key).digest('hex')), 'SHA-256 of the key is what is stored')
  })

  it('a key is shown once, works as Bearer or X-API-Key, is never listed, and stops at once when revoked', async (t) => {
    const app = await build(t, await storeEnv(t))
    const user = await createUser(app, 'user')
    const created = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'ci', expiresInDays: 30 } })).json()
    assert.equal(created.prefix, created.key.slice(0, 10))
    assert.ok(created.expiresAt)
    assert.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${created.key}` } })).json().email, user.email)
    assert.equal((await app.inject({ url: '/me', headers: { 'x-api-key': created.key } })).statusCode, 200)
    const list = await app.inject({ url: '/keys', headers: { authorization: user.auth } })
    assert.equal(list.statusCode, 200)
    assert.ok(!list.body.includes(created.key))
    assert.deepEqual(Object.keys(list.json().keys[0]).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix'])
    assert.equal(list.json().next, null)
    const other = await createUser(app, 'user')
    assert.equal((await app.inject({ method: 'DELETE', url: `/keys/${created.id}`, headers: { authorization: other.auth } })).statusCode, 404, "another user's key is not theirs to revoke")
    assert.equal((await app.inject({ method: 'DELETE', url: `/keys/${created.id}`, headers: { authorization: user.auth } })).statusCode, 204)
    assert.equal((await app.inject({ method: 'DELETE', url: `/keys/${created.id}`, headers: { authorization: user.auth } })).statusCode, 404, 'a revoked key is gone')
    assert.equal((await app.inject({ method: 'DELETE', url: '/keys/not-a-key-id', headers: { authorization: user.auth } })).statusCode, 404)
    const after = await app.inject({ url: '/me', headers: { 'x-api-key': created.key } })
    assert.equal(after.statusCode, 401)
    assert.equal(after.json().code, 'UNAUTHORIZED')
  })

  it("an admin sees and revokes other users' keys", async (t) => {
    const app = await build(t, await storeEnv(t))
    const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
    const user = await createUser(app, 'user', admin)
    const created = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'theirs' } })).json()
    const listed = (await app.inject({ url: '/keys', headers: { authorization: admin } })).json()
    assert.ok(listed.keys.some((k: { id: string }) => k.id === created.id))
    assert.equal((await app.inject({ method: 'DELETE', url: `/keys/${created.id}`, headers: { authorization: admin } })).statusCode, 204)
    assert.equal((await app.inject({ url: '/me', headers: { 'x-api-key': created.key } })).statusCode, 401)
  })

  it('key lists paginate with an opaque cursor', async (t) => {
    const app = await build(t, await storeEnv(t))
    const user = await createUser(app, 'user')
    for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: `k${i}` } })
    const first = (await app.inject({ url: '/keys?limit=2', headers: { authorization: user.auth } })).json()
    assert.equal(first.keys.length, 2)
    assert.equal(typeof first.next, 'string')
    const seen = new Set(first.keys.map((k: { id: string }) => k.id))
    let next = first.next
    while (next !== null) {
      const page = (await app.inject({ url: `/keys?limit=2&cursor=${next}`, headers: { authorization: user.auth } })).json()
      for (const k of page.keys) seen.add(k.id)
      next = page.next
    }
    assert.equal(seen.size, 5)
    assert.equal((await app.inject({ url: '/keys?limit=101', headers: { authorization: user.auth } })).statusCode, 400)
  })

  it('users need a strong, unique password and a known role', async (t) => {
    const app = await build(t, await storeEnv(t))
    const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
    const post = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/users', headers: { authorization: admin }, payload })
    assert.equal((await post({ email: 'a@example.test', password: 'short', role: 'user' })).statusCode, 400)
    assert.equal((await post({ email: 'a@example.test', password: 'password1234', role: 'user' })).statusCode, 400)
    assert.equal((await post({ email: 'a@example.test', password: 'Strong-Password-77', role: 'root' })).statusCode, 400)
    assert.equal((await post({ email: 'a@example.test', password: 'Strong-Password-77', role: 'user' })).statusCode, 201)
    const dup = await post({ email: 'A@example.test', password: 'Strong-Password-78', role: 'user' })
    assert.equal(dup.statusCode, 409)
    assert.equal(dup.json().code, 'CONFLICT')
  })

  it('security events filter by type and time and paginate', async (t) => {
    const app = await build(t, await storeEnv(t))
    const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
    const since = new Date().toISOString()
    for (let i = 0; i < 3; i++) {
      await app.inject({ url: '/me', headers: { authorization: `Bearer garbage-${i}` } })
      await new Promise((resolve) => setTimeout(resolve, 1100)) // identical events within 1 s are coalesced
    }
    await app.inject({ method: 'POST', url: '/keys', headers: { authorization: admin }, payload: { name: 'x', nope: 1 } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const all = (await app.inject({ url: `/security/events?since=${encodeURIComponent(since)}`, headers: { authorization: admin } })).json()
    assert.ok(all.events.some((e: { type: string }) => e.type === 'validation-failed'))
    const typed = (await app.inject({ url: '/security/events?type=credential-invalid&limit=2', headers: { authorization: admin } })).json()
    assert.equal(typed.events.length, 2)
    assert.ok(typed.events.every((e: { type: string }) => e.type === 'credential-invalid'))
    const rest = (await app.inject({ url: `/security/events?type=credential-invalid&limit=2&cursor=${typed.next}`, headers: { authorization: admin } })).json()
    assert.equal(rest.events.length, 1)
    assert.ok(rest.events[0].id < typed.events[1].id)
    assert.ok(!JSON.stringify(all).includes('garbage-'), 'credentials never reach the event log')
    const future = (await app.inject({ url: `/security/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, headers: { authorization: admin } })).json()
    assert.equal(future.events.length, 0)
    const byDate = await app.inject({ url: `/security/events?since=${new Date().toISOString().slice(0, 10)}`, headers: { authorization: admin } })
    assert.equal(byDate.statusCode, 200, 'a plain date is accepted')
    assert.equal((await app.inject({ url: '/security/events?since=2024-13-45', headers: { authorization: admin } })).statusCode, 400)
    assert.equal((await app.inject({ url: '/security/events?since=yesterday', headers: { authorization: admin } })).statusCode, 400)
  })

  it('every request counts per address, and with TRUST_PROXY unset a forged X-Forwarded-For changes nothing', async (t) => {
    const app = await build(t, { ...await storeEnv(t), RATE_LIMIT_PER_IP: '5' })
    const codes = []
    for (let i = 0; i < 7; i++) {
      const res = await app.inject({ url: '/me', headers: { 'x-forwarded-for': `203.0.113.${i}` } })
      codes.push(res.statusCode)
    }
    assert.deepEqual(codes, [401, 401, 401, 401, 401, 429, 429])
    const limited = await app.inject({ url: '/me', headers: { 'x-forwarded-for': '198.51.100.1' } })
    assert.equal(limited.json().code, 'RATE_LIMITED')
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.equal(limited.headers['ratelimit-limit'], '5')
    assert.equal(limited.headers['ratelimit-remaining'], '0')
    assert.ok(limited.headers['ratelimit-reset'] !== undefined)
  })

  it('an API key has its own budget: the request after RATE_LIMIT_PER_KEY is 429', async (t) => {
    const app = await build(t, { ...await storeEnv(t), RATE_LIMIT_PER_KEY: '10', RATE_LIMIT_PER_IP: '1000' })
    const user = await createUser(app, 'user')
    const { key } = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'budget' } })).json()
    const codes = []
    for (let i = 0; i < 11; i++) codes.push((await app.inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode)
    assert.deepEqual(codes, [...Array(10).fill(200), 429])
    // Another key of the same user... counts separately: budgets are per key.
    const second = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'budget2' } })).json()
    assert.equal((await app.inject({ url: '/me', headers: { 'x-api-key': second.key } })).statusCode, 200)
  })

  it('/auth/login has its own stricter per-address limit', async (t) => {
    const app = await build(t, { ...await storeEnv(t), RATE_LIMIT_LOGIN: '3', RATE_LIMIT_PER_IP: '1000' })
    const codes = []
    for (let i = 0; i < 4; i++) codes.push((await app.inject({ method: 'POST', url: '/auth/login', payload: { email: `x${i}@example.test`, password: 'whatever-123' } })).statusCode)
    assert.deepEqual(codes, [401, 401, 401, 429])
  })
}
