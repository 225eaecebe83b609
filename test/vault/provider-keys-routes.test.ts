// /provider-keys through the app: stored encrypted, listed masked, owner-only, never logged; and resolve().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { sql } from 'kysely'
import { build, createUser, loginAs, TEST_ADMIN } from '../helper.ts'
import { fakeKeys, windows } from './fixtures.ts'

/** A logger destination that keeps every line written to it. */
function captureLogs (): { stream: Writable, text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { chunks.push(String(chunk)); callback() } })
  return { stream, text: () => chunks.join('') }
}

async function dumpProviderKeys (app: Awaited<ReturnType<typeof build>>): Promise<string> {
  return JSON.stringify((await sql`select * from provider_keys`.execute(app.store.db)).rows)
}

test('a user stores, lists (last 4 only) and deletes a provider key', async (t) => {
  const app = await build(t)
  const user = await createUser(app, 'user')
  const key = fakeKeys.anthropic()
  const put = await app.inject({ method: 'PUT', url: '/provider-keys/anthropic', headers: { authorization: user.auth }, payload: { apiKey: key } })
  assert.equal(put.statusCode, 204)
  assert.equal(put.body, '')

  const list = await app.inject({ url: '/provider-keys', headers: { authorization: user.auth } })
  assert.equal(list.statusCode, 200)
  const { providerKeys } = list.json() as { providerKeys: Array<{ provider: string, last4: string, updatedAt: string }> }
  assert.equal(providerKeys.length, 1)
  assert.deepEqual(Object.keys(providerKeys[0]).sort(), ['last4', 'provider', 'updatedAt'])
  assert.equal(providerKeys[0].provider, 'anthropic')
  assert.equal(providerKeys[0].last4, key.slice(-4))
  assert.ok(!Number.isNaN(Date.parse(providerKeys[0].updatedAt)))
  for (const w of windows(key, 5)) assert.ok(!list.body.includes(w), 'more than the last 4 characters listed')

  // PUT again replaces (one row per user and provider).
  const replacement = fakeKeys.anthropic()
  assert.equal((await app.inject({ method: 'PUT', url: '/provider-keys/anthropic', headers: { authorization: user.auth }, payload: { apiKey: replacement } })).statusCode, 204)
  const again = (await app.inject({ url: '/provider-keys', headers: { authorization: user.auth } })).json() as { providerKeys: Array<{ last4: string }> }
  assert.deepEqual(again.providerKeys.map((p) => p.last4), [replacement.slice(-4)])
  assert.equal((await app.providerKeys.resolve(user.id, 'anthropic')).apiKey, replacement)

  assert.equal((await app.inject({ method: 'DELETE', url: '/provider-keys/anthropic', headers: { authorization: user.auth } })).statusCode, 204)
  assert.deepEqual((await app.inject({ url: '/provider-keys', headers: { authorization: user.auth } })).json(), { providerKeys: [] })
  const missing = await app.inject({ method: 'DELETE', url: '/provider-keys/anthropic', headers: { authorization: user.auth } })
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json().code, 'NOT_FOUND')
})

test('the raw database row holds neither the key nor any 8-character piece of it', async (t) => {
  const app = await build(t)
  const user = await createUser(app, 'user')
  const keys = { openai: fakeKeys.openaiProject(), anthropic: fakeKeys.anthropic(), huggingface: fakeKeys.huggingface() }
  for (const [provider, apiKey] of Object.entries(keys)) {
    assert.equal((await app.inject({ method: 'PUT', url: `/provider-keys/${provider}`, headers: { authorization: user.auth }, payload: { apiKey } })).statusCode, 204)
  }
  const dump = await dumpProviderKeys(app)
  assert.match(dump, /"ciphertext":"v1\.[0-9a-f]{16}\./)
  for (const apiKey of Object.values(keys)) {
    for (const w of windows(apiKey)) assert.ok(!dump.includes(w), `an 8-character piece of a key is stored in clear: ${w.slice(0, 2)}…`)
  }
  const events = JSON.stringify((await sql`select * from security_events`.execute(app.store.db)).rows)
  for (const apiKey of Object.values(keys)) assert.ok(!events.includes(apiKey.slice(10, 30)))
})

test('keys that do not have the provider\'s shape, unknown providers and unknown fields are rejected with 400', async (t) => {
  const app = await build(t)
  const user = await createUser(app, 'user')
  const put = (provider: string, payload: unknown) => app.inject({ method: 'PUT', url: `/provider-keys/${provider}`, headers: { authorization: user.auth }, payload: payload as Record<string, unknown> })
  for (const [provider, apiKey] of [['openai', fakeKeys.anthropic()], ['anthropic', fakeKeys.huggingface()], ['huggingface', 'hf_short'], ['openai', 'sk-...'], ['openai', ` ${fakeKeys.openaiLegacy()}`]]) {
    const res = await put(provider, { apiKey })
    assert.equal(res.statusCode, 400, `${provider} ${apiKey.slice(0, 10)}`)
    assert.equal(res.json().code, 'INVALID_PROVIDER_KEY')
    assert.ok(!res.body.includes(apiKey))
  }
  for (const payload of [{}, { apiKey: '' }, { apiKey: { nested: 1 } }, { apiKey: ['a', 'b'] }, { apiKey: `sk-proj-${'a'.repeat(600)}` }, { apiKey: fakeKeys.openaiLegacy(), extra: true }]) {
    const res = await put('openai', payload)
    assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 40))
    assert.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
  const unknown = await put('mistral', { apiKey: fakeKeys.openaiLegacy() })
  assert.equal(unknown.statusCode, 400)
  assert.equal(unknown.json().code, 'FST_ERR_VALIDATION')
  assert.equal((await app.inject({ method: 'DELETE', url: '/provider-keys/github', headers: { authorization: user.auth } })).statusCode, 400)
  assert.deepEqual((await app.inject({ url: '/provider-keys', headers: { authorization: user.auth } })).json(), { providerKeys: [] }, 'nothing stored')
})

test('a viewer gets 403 and a request without credentials 401 on every provider-key route', async (t) => {
  const app = await build(t)
  const viewer = await createUser(app, 'viewer')
  const routes = [
    { method: 'PUT' as const, url: '/provider-keys/openai', payload: { apiKey: fakeKeys.openaiLegacy() } },
    { method: 'GET' as const, url: '/provider-keys' },
    { method: 'DELETE' as const, url: '/provider-keys/openai' }
  ]
  for (const route of routes) {
    const forbidden = await app.inject({ ...route, headers: { authorization: viewer.auth } })
    assert.equal(forbidden.statusCode, 403, `${route.method} ${route.url}`)
    assert.equal(forbidden.json().code, 'FORBIDDEN')
    const anonymous = await app.inject(route)
    assert.equal(anonymous.statusCode, 401, `${route.method} ${route.url}`)
    assert.equal(anonymous.json().code, 'UNAUTHORIZED')
  }
  assert.equal(await dumpProviderKeys(app), '[]')
})

test("a user sees and deletes only their own provider keys, an admin's list is their own too", async (t) => {
  const app = await build(t)
  const alice = await createUser(app, 'user')
  const bob = await createUser(app, 'user')
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const aliceKey = fakeKeys.openaiLegacy()
  await app.inject({ method: 'PUT', url: '/provider-keys/openai', headers: { authorization: alice.auth }, payload: { apiKey: aliceKey } })
  assert.deepEqual((await app.inject({ url: '/provider-keys', headers: { authorization: bob.auth } })).json(), { providerKeys: [] })
  assert.deepEqual((await app.inject({ url: '/provider-keys', headers: { authorization: admin } })).json(), { providerKeys: [] })
  assert.equal((await app.inject({ method: 'DELETE', url: '/provider-keys/openai', headers: { authorization: bob.auth } })).statusCode, 404)
  assert.equal((await app.providerKeys.resolve(alice.id, 'openai')).apiKey, aliceKey, "bob's delete did not touch alice's key")
  await assert.rejects(app.providerKeys.resolve(bob.id, 'openai'), { code: 'PROVIDER_NOT_CONFIGURED' })
  // An API key of alice works the same as her JWT.
  const created = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: alice.auth }, payload: { name: 'byok' } })).json() as { key: string }
  const viaKey = await app.inject({ url: '/provider-keys', headers: { 'x-api-key': created.key } })
  assert.equal((viaKey.json() as { providerKeys: unknown[] }).providerKeys.length, 1)
})

test('the key never reaches the logs, not even at debug level or when the request fails', async (t) => {
  const logs = captureLogs()
  const app = await build(t, { LOG_LEVEL: 'debug' }, { loggerStream: logs.stream })
  const user = await createUser(app, 'user')
  const key = fakeKeys.openaiServiceAccount()
  const wrongShape = fakeKeys.anthropic()
  const requests = [
    { method: 'PUT' as const, url: '/provider-keys/openai', payload: { apiKey: key } },
    { method: 'PUT' as const, url: '/provider-keys/openai', payload: { apiKey: key, extra: 'field' } },
    { method: 'PUT' as const, url: '/provider-keys/mistral', payload: { apiKey: key } },
    { method: 'PUT' as const, url: '/provider-keys/openai', payload: { apiKey: wrongShape } },
    { method: 'PUT' as const, url: '/provider-keys/openai', headers: { 'content-type': 'application/json' }, payload: `{"apiKey":"${key}"` },
    { method: 'PUT' as const, url: '/provider-keys/openai', headers: { 'content-type': 'text/plain' }, payload: key },
    { method: 'PUT' as const, url: '/provider-keys/openai', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `apiKey=${key}` }
  ]
  const statuses = []
  for (const r of requests) statuses.push((await app.inject({ ...r, headers: { authorization: user.auth, ...r.headers } })).statusCode)
  assert.deepEqual(statuses, [204, 400, 400, 400, 400, 400, 415])
  // A key in the Authorization header (a mistake a client could make) is redacted too.
  assert.equal((await app.inject({ url: '/provider-keys', headers: { authorization: `Bearer ${key}` } })).statusCode, 401)
  await app.providerKeys.resolve(user.id, 'openai')
  const text = logs.text()
  assert.ok(text.includes('"level":20') || text.includes('incoming request'), 'debug-level logs were captured')
  assert.match(text, /request failed/)
  for (const secret of [key, wrongShape]) {
    for (const w of windows(secret, 12)) assert.ok(!text.includes(w), 'a piece of a provider key was logged')
  }
})

test('resolve() prefers the user\'s key, falls back to the configured default, and otherwise is PROVIDER_NOT_CONFIGURED', async (t) => {
  const defaultKey = fakeKeys.openaiProject()
  const app = await build(t, { OPENAI_API_KEY: defaultKey })
  const user = await createUser(app, 'user')
  assert.deepEqual(await app.providerKeys.resolve(user.id, 'openai'), { apiKey: defaultKey, source: 'default' })
  assert.deepEqual(await app.providerKeys.resolve(null, 'openai'), { apiKey: defaultKey, source: 'default' })
  const own = fakeKeys.openaiLegacy()
  await app.providerKeys.set(user.id, 'openai', own)
  assert.deepEqual(await app.providerKeys.resolve(user.id, 'openai'), { apiKey: own, source: 'user' })
  assert.deepEqual(await app.providerKeys.resolve(null, 'openai'), { apiKey: defaultKey, source: 'default' }, 'no user: never a user key')
  for (const provider of ['anthropic', 'huggingface'] as const) {
    await assert.rejects(app.providerKeys.resolve(user.id, provider), (err: Error & { code?: string, statusCode?: number }) => {
      assert.equal(err.code, 'PROVIDER_NOT_CONFIGURED')
      assert.equal(err.statusCode, 503)
      return true
    })
  }
  await assert.rejects(app.providerKeys.set(user.id, 'huggingface', own), { code: 'INVALID_PROVIDER_KEY' })
})

test('a stored key that no longer decrypts is a 500-class VAULT_ERROR, never a silent fallback to the default key', async (t) => {
  const logs = captureLogs()
  const app = await build(t, { OPENAI_API_KEY: fakeKeys.openaiProject(), LOG_LEVEL: 'debug' }, { loggerStream: logs.stream })
  const alice = await createUser(app, 'user')
  const bob = await createUser(app, 'user')
  const key = fakeKeys.openaiLegacy()
  await app.providerKeys.set(alice.id, 'openai', key)
  // Copy alice's ciphertext into bob's row: the binding to (user, provider) must refuse it.
  const row = await app.store.db.selectFrom('provider_keys').selectAll().where('user_id', '=', alice.id).executeTakeFirstOrThrow()
  await app.store.db.insertInto('provider_keys').values({ ...row, user_id: bob.id }).execute()
  await assert.rejects(app.providerKeys.resolve(bob.id, 'openai'), (err: Error & { code?: string, statusCode?: number }) => {
    assert.equal(err.code, 'VAULT_ERROR')
    assert.equal(err.statusCode, 500)
    assert.ok(!err.message.includes(key) && !err.message.includes(row.ciphertext))
    return true
  })
  assert.equal((await app.providerKeys.resolve(alice.id, 'openai')).apiKey, key)
  const text = logs.text()
  assert.match(text, /stored provider key could not be decrypted/)
  assert.ok(!text.includes(row.ciphertext.split('.')[3].slice(0, 16)) && !text.includes(key.slice(3, 20)))
})

test('the app does not start when MASTER_KEY or MASTER_KEY_PREVIOUS is malformed, or both are the same', async (t) => {
  const { randomBytes } = await import('node:crypto')
  const key = randomBytes(32).toString('base64')
  await assert.rejects(build(t, { MASTER_KEY: key, MASTER_KEY_PREVIOUS: key }), /MASTER_KEY_PREVIOUS/)
  await assert.rejects(build(t, { MASTER_KEY_PREVIOUS: 'not-a-key' }), /MASTER_KEY_PREVIOUS/)
  // Passes the env pattern (43 characters and '=') but sets padding bits: not canonical base64 of 32 bytes.
  // Outside production only the vault catches it, at start, naming the variable.
  const nonCanonical = `${key.slice(0, 42)}B=`
  await assert.rejects(build(t, { MASTER_KEY: nonCanonical }), /provider-key vault: MASTER_KEY must be base64 of exactly 32 bytes/)
  await assert.rejects(build(t, { MASTER_KEY_PREVIOUS: nonCanonical }), /provider-key vault: MASTER_KEY_PREVIOUS must be base64 of exactly 32 bytes/)
})
