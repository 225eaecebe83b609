// The GitHub routes through the whole gateway: signed webhooks and the repos listing against a fake GitHub API.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build, createUser, loginAs, TEST_ADMIN, tempDir, SKIP_REDIS, REDIS_URL } from '../helper.ts'
import { makeRepo, signWebhook, startFakeGitHub, FakeGitHubMode } from '../fakes/github.ts'

const SECRET = 'webhook-secret-current-0123456789'
const OLD_SECRET = 'webhook-secret-previous-987654321'

const pushPayload = (extra: Record<string, unknown> = {}) => ({
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: 'a'.repeat(40),
  repository: { id: 1, full_name: 'octo/hello', name: 'hello' },
  sender: { login: 'octocat', id: 1 },
  note: 'caf\u00e9 \u2603 <b>',
  ...extra
})

function deliver (app: import('fastify').FastifyInstance, body: string | Buffer, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/github/secure-webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), ...headers }, payload: body })
}

test('a validly signed delivery is accepted with 202, persisted and listed newest first', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  const body = JSON.stringify(pushPayload())
  const deliveryId = randomUUID()
  const res = await deliver(app, body, { 'x-hub-signature-256': signWebhook(SECRET, body), 'x-github-delivery': deliveryId })
  assert.equal(res.statusCode, 202)
  assert.deepEqual(res.json(), { accepted: true })
  const user = await createUser(app, 'user')
  const listed = (await app.inject({ url: '/github/events', headers: { authorization: user.auth } })).json()
  assert.equal(listed.events.length, 1)
  assert.equal(listed.events[0].deliveryId, deliveryId)
  assert.equal(listed.events[0].repository, 'octo/hello')
  assert.equal(listed.events[0].sender, 'octocat')
  assert.equal(listed.next, null)
})

test('a webhook with one flipped byte, another secret, only SHA-1, or no signature is refused with 401 BAD_SIGNATURE and an event', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  const body = JSON.stringify(pushPayload())
  const flipped = Buffer.from(body)
  flipped[10] ^= 0x01
  const cases: Array<[string | Buffer, Record<string, string>]> = [
    [flipped, { 'x-hub-signature-256': signWebhook(SECRET, body) }],
    [body, { 'x-hub-signature-256': signWebhook('some-other-secret-entirely', body) }],
    [body, { 'x-hub-signature': `sha1=${'0'.repeat(40)}` }],
    [body, {}],
    [body, { 'x-hub-signature-256': 'sha256=zz' }],
    // The same payload pretty-printed: the JSON is equal, the bytes are not.
    [JSON.stringify(JSON.parse(body), null, 2), { 'x-hub-signature-256': signWebhook(SECRET, body) }]
  ]
  for (const [payload, headers] of cases) {
    const res = await deliver(app, payload, headers)
    assert.equal(res.statusCode, 401, JSON.stringify(headers))
    assert.equal(res.json().code, 'BAD_SIGNATURE')
  }
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const events = (await app.inject({ url: '/security/events?type=bad-signature', headers: { authorization: admin } })).json()
  assert.ok(events.events.length >= 1)
  const listed = (await app.inject({ url: '/github/events', headers: { authorization: admin } })).json()
  assert.equal(listed.events.length, 0, 'nothing unverified was processed')
})

test('both secrets of a rotation are accepted', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}` })
  for (const secret of [SECRET, OLD_SECRET]) {
    const body = JSON.stringify(pushPayload())
    assert.equal((await deliver(app, body, { 'x-hub-signature-256': signWebhook(secret, body) })).statusCode, 202)
  }
})

test('the same delivery 50 times in parallel is processed exactly once', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: SECRET, RATE_LIMIT_PER_IP: '1000' })
  const body = JSON.stringify(pushPayload())
  const headers = { 'x-hub-signature-256': signWebhook(SECRET, body), 'x-github-delivery': randomUUID() }
  const answers = await Promise.all(Array.from({ length: 50 }, () => deliver(app, body, headers)))
  assert.equal(answers.filter((r) => r.statusCode === 202).length, 1)
  assert.equal(answers.filter((r) => r.statusCode === 200 && r.json().duplicate === true).length, 49)
  const rows = await app.store.db.selectFrom('webhook_events').selectAll().execute()
  assert.equal(rows.length, 1)
})

test('a replay after the app restarts on the same SQLite file is a duplicate', async (t) => {
  const dir = tempDir(t)
  const env = { GITHUB_WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:${dir}/gw.db` }
  const body = JSON.stringify(pushPayload())
  const headers = { 'x-hub-signature-256': signWebhook(SECRET, body), 'x-github-delivery': randomUUID() }
  const first = await build(t, env)
  assert.equal((await deliver(first, body, headers)).statusCode, 202)
  await first.close()
  const second = await build(t, env)
  const replay = await deliver(second, body, headers)
  assert.equal(replay.statusCode, 200)
  assert.deepEqual(replay.json(), { duplicate: true })
})

test('a replay on another instance sharing Redis is a duplicate', { skip: SKIP_REDIS }, async (t) => {
  const body = JSON.stringify(pushPayload())
  const headers = { 'x-hub-signature-256': signWebhook(SECRET, body), 'x-github-delivery': randomUUID() }
  // Separate SQLite databases: only Redis knows the delivery was seen.
  // Redis-backed budgets are shared by every suite on this machine: keep them out of the way.
  const env = { GITHUB_WEBHOOK_SECRET: SECRET, REDIS_URL, RATE_LIMIT_PER_IP: '100000' }
  const a = await build(t, env)
  const b = await build(t, env)
  assert.equal((await deliver(a, body, headers)).statusCode, 202)
  assert.equal((await deliver(b, body, headers)).statusCode, 200)
})

test('an unknown or non-allowlisted event type, a missing delivery id and an invalid payload are 400s', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_WEBHOOK_EVENTS: 'push' })
  const body = JSON.stringify(pushPayload())
  const sig = { 'x-hub-signature-256': signWebhook(SECRET, body) }
  for (const event of ['deployment', 'issues', '__proto__', 'constructor']) {
    const res = await deliver(app, body, { ...sig, 'x-github-event': event })
    assert.equal(res.statusCode, 400, event)
    assert.equal(res.json().statusCode, 400)
  }
  assert.equal((await deliver(app, body, { ...sig, 'x-github-delivery': 'not-a-uuid' })).statusCode, 400)
  const bad = JSON.stringify({ ref: 'x' })
  assert.equal((await deliver(app, bad, { 'x-hub-signature-256': signWebhook(SECRET, bad) })).statusCode, 400)
  const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 })
  assert.equal((await deliver(app, ping, { 'x-hub-signature-256': signWebhook(SECRET, ping), 'x-github-event': 'ping' })).statusCode, 202, 'ping is always accepted')
})

test('a 26 MB webhook body is refused with 413 without being buffered whole', async (t) => {
  const app = await build(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const chunk = Buffer.alloc(1024 * 1024, 'a')
  const result = await new Promise<{ status: number, sentMb: number }>((resolve, reject) => {
    let sent = 0
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/github/secure-webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=' + '0'.repeat(64), 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0, sentMb: sent })
    })
    req.on('error', (err) => { if (sent > 0) resolve({ status: 413, sentMb: sent }); else reject(err) })
    const pump = () => {
      while (sent < 26) {
        sent++
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      req.end()
    }
    pump()
  })
  assert.equal(result.status, 413)
})

test('user-repos never sends an invalid username upstream', async (t) => {
  const fake = await startFakeGitHub()
  t.after(() => fake.close())
  const app = await build(t, { GITHUB_API_URL: fake.url, GITHUB_TOKEN: 'ghp_testtokenvalue' })
  const viewer = await createUser(app, 'viewer')
  for (const name of ['..%2Fadmin', 'a--b', '-a', 'a'.repeat(40), '%2e%2e', 'a%20b', 'a-']) {
    const res = await app.inject({ url: `/github/user-repos/${name}`, headers: { authorization: viewer.auth } })
    assert.ok(res.statusCode === 400 || res.statusCode === 404, `${name}: ${res.statusCode}`)
  }
  assert.equal(fake.requests.length, 0)
})

test('user-repos returns only the contract fields, escaped, and serves the ETag cache on 304', async (t) => {
  const fake = await startFakeGitHub()
  t.after(() => fake.close())
  fake.users.set('octocat', [makeRepo('octocat', 'hello', { description: 'A <b>bold</b> & "quoted" repo', secret_field: 'LEAK-MARKER' })])
  const app = await build(t, { GITHUB_API_URL: fake.url, GITHUB_TOKEN: 'ghp_testtokenvalue' })
  const viewer = await createUser(app, 'viewer')
  const first = await app.inject({ url: '/github/user-repos/octocat', headers: { authorization: viewer.auth } })
  assert.equal(first.statusCode, 200)
  assert.ok(!first.body.includes('LEAK-MARKER'))
  assert.ok(!first.body.includes('<b>'), 'markup from upstream reaches the client escaped')
  const repo = first.json().repos[0]
  assert.deepEqual(Object.keys(repo).sort(), ['description', 'fullName', 'language', 'name', 'stars', 'updatedAt', 'url'])
  assert.equal(repo.description, 'A <b>bold</b> & "quoted" repo', 'the JSON escapes decode to the original text')
  const second = await app.inject({ url: '/github/user-repos/octocat', headers: { authorization: viewer.auth } })
  assert.equal(second.statusCode, 200)
  assert.deepEqual(second.json(), first.json())
  assert.ok(fake.requests.at(-1)?.headers['if-none-match'])
  assert.equal(fake.stats.notModified, 1)
})

test('user-repos maps GitHub 404, rate limits and failures', async (t) => {
  const fake = await startFakeGitHub()
  t.after(() => fake.close())
  const app = await build(t, { GITHUB_API_URL: fake.url, GITHUB_TOKEN: 'ghp_testtokenvalue', RATE_LIMIT_PER_IP: '1000' })
  const viewer = await createUser(app, 'viewer')
  const get = () => app.inject({ url: '/github/user-repos/ghost', headers: { authorization: viewer.auth } })
  assert.equal((await get()).statusCode, 404)
  fake.users.set('ghost', [makeRepo('ghost', 'r')])
  fake.mode = FakeGitHubMode.rateLimited429
  const limited = await get()
  assert.equal(limited.statusCode, 503)
  assert.equal(limited.json().code, 'UPSTREAM_RATE_LIMITED')
  assert.equal(limited.headers['retry-after'], '42')
  fake.mode = FakeGitHubMode.rateLimited403
  assert.equal((await get()).json().code, 'UPSTREAM_RATE_LIMITED')
  fake.mode = FakeGitHubMode.serverError
  const failed = await get()
  assert.equal(failed.statusCode, 502)
  assert.equal(failed.json().code, 'UPSTREAM_ERROR')
  fake.mode = FakeGitHubMode.malformedJson
  assert.equal((await get()).statusCode, 502)
})

test('user-repos without GITHUB_TOKEN answers 503 PROVIDER_NOT_CONFIGURED', async (t) => {
  const app = await build(t)
  const viewer = await createUser(app, 'viewer')
  const res = await app.inject({ url: '/github/user-repos/octocat', headers: { authorization: viewer.auth } })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().code, 'PROVIDER_NOT_CONFIGURED')
})
