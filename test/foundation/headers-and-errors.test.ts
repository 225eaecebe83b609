import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Type } from 'typebox'
import { build } from '../helper.ts'

const CONTRACT_HEADERS = ['x-content-type-options', 'strict-transport-security', 'content-security-policy', 'referrer-policy', 'x-request-id']

function assertContractHeaders (headers: Record<string, unknown>, label: string) {
  for (const name of CONTRACT_HEADERS) assert.ok(headers[name], `${label}: missing ${name}`)
  assert.equal(headers['x-content-type-options'], 'nosniff')
  assert.ok(headers['x-frame-options'] === 'DENY' || String(headers['content-security-policy']).includes("frame-ancestors 'none'"), `${label}: framing allowed`)
  assert.equal(headers['x-powered-by'], undefined, `${label}: x-powered-by present`)
  assert.equal(headers.server, undefined, `${label}: server banner present`)
  assert.equal(headers['cache-control'], 'no-store', `${label}: cache-control`)
}

function assertErrorShape (body: unknown, status: number) {
  const b = body as Record<string, unknown>
  assert.deepEqual(Object.keys(b).sort(), ['code', 'error', 'message', 'statusCode'])
  assert.equal(b.statusCode, status)
  assert.equal(typeof b.code, 'string')
}

async function appWithProbeRoutes (t: import('node:test').TestContext) {
  return await build(t, {}, {
    extend: (app) => {
      app.get('/_test/boom', async () => { throw new Error('secret detail at /srv/app/internal.ts:42 SELECT * FROM users') })
      app.post('/_test/echo', { schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }) }, { additionalProperties: false }) } }, async (request) => request.body)
    }
  })
}

test('every contract header is present on 200, 400, 404 and 500 answers', async (t) => {
  const app = await appWithProbeRoutes(t)
  const answers = [
    ['200', await app.inject({ url: '/healthz' })],
    ['400', await app.inject({ method: 'POST', url: '/_test/echo', payload: { name: 1, other: true } })],
    ['404', await app.inject({ url: '/no/such/route' })],
    ['500', await app.inject({ url: '/_test/boom' })]
  ] as const
  for (const [label, res] of answers) {
    assert.equal(String(res.statusCode), label)
    assertContractHeaders(res.headers, label)
  }
})

test('a thrown error inside a handler yields the contract 500 JSON without stack, path or SQL', async (t) => {
  const app = await appWithProbeRoutes(t)
  const res = await app.inject({ url: '/_test/boom' })
  assert.equal(res.statusCode, 500)
  assertErrorShape(res.json(), 500)
  assert.equal(res.json().code, 'INTERNAL_ERROR')
  for (const leak of ['secret detail', '/srv/app', 'internal.ts', 'SELECT', 'at ', 'Error:']) assert.ok(!res.body.includes(leak), `leaked ${leak}`)
})

test('an unexpected error is logged without its stack or file paths', async (t) => {
  const { Writable } = await import('node:stream')
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(chunk.toString()); done() } })
  const app = await build(t, { LOG_LEVEL: 'info' }, {
    loggerStream: stream,
    extend: (a) => { a.get('/_test/boom', async () => { throw new Error('failed reading /srv/app/internal.ts:42') }) }
  })
  assert.equal((await app.inject({ url: '/_test/boom' })).statusCode, 500)
  const log = lines.join('')
  assert.match(log, /unhandled error/)
  assert.ok(!log.includes('/srv/app'), 'file path logged')
  assert.ok(!/\bat [^ ]+ \(/.test(log) && !log.includes('"stack"'), 'stack logged')
})

test('the 404 answer does not echo the requested URL', async (t) => {
  const app = await appWithProbeRoutes(t)
  const res = await app.inject({ url: '/%3Cscript%3Ealert(1)%3C/script%3E?q=<img src=x onerror=alert(1)>' })
  assert.equal(res.statusCode, 404)
  assertErrorShape(res.json(), 404)
  assert.ok(!res.body.includes('script') && !res.body.includes('onerror') && !res.body.includes('img'))
})

test('an unknown body field is rejected with 400 instead of silently dropped', async (t) => {
  const app = await appWithProbeRoutes(t)
  const res = await app.inject({ method: 'POST', url: '/_test/echo', payload: { name: 'ok', isAdmin: true } })
  assert.equal(res.statusCode, 400)
  assertErrorShape(res.json(), 400)
  assert.equal(res.json().code, 'FST_ERR_VALIDATION')
  const ok = await app.inject({ method: 'POST', url: '/_test/echo', payload: { name: 'ok' } })
  assert.equal(ok.statusCode, 200)
})

test('a body over the limit is refused with 413 FST_ERR_CTP_BODY_TOO_LARGE', async (t) => {
  const app = await appWithProbeRoutes(t)
  const res = await app.inject({ method: 'POST', url: '/_test/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) })
  assert.equal(res.statusCode, 413)
  assertErrorShape(res.json(), 413)
  assert.equal(res.json().code, 'FST_ERR_CTP_BODY_TOO_LARGE')
})

test('malformed JSON and prototype poisoning are 400s with the contract shape', async (t) => {
  const app = await appWithProbeRoutes(t)
  const broken = await app.inject({ method: 'POST', url: '/_test/echo', headers: { 'content-type': 'application/json' }, payload: '{"name": "a",' })
  assert.equal(broken.statusCode, 400)
  assertErrorShape(broken.json(), 400)
  const poisoned = await app.inject({ method: 'POST', url: '/_test/echo', headers: { 'content-type': 'application/json' }, payload: '{"name":"a","__proto__":{"isAdmin":true}}' })
  assert.equal(poisoned.statusCode, 400)
  assertErrorShape(poisoned.json(), 400)
  const ctor = await app.inject({ method: 'POST', url: '/_test/echo', headers: { 'content-type': 'application/json' }, payload: '{"name":"a","constructor":{"prototype":{"isAdmin":true}}}' })
  assert.equal(ctor.statusCode, 400)
})

test('an unsupported media type is refused without echoing the content type', async (t) => {
  const app = await appWithProbeRoutes(t)
  const res = await app.inject({ method: 'POST', url: '/_test/echo', headers: { 'content-type': 'text/evil<script>' }, payload: 'x' })
  assert.equal(res.statusCode, 415)
  assertErrorShape(res.json(), 415)
  assert.ok(!res.body.includes('evil'))
})

test('an incoming X-Request-Id is kept only when it is a plain token', async (t) => {
  const app = await appWithProbeRoutes(t)
  const kept = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123-def-456' } })
  assert.equal(kept.headers['x-request-id'], 'abc-123-def-456')
  const replaced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad\u0000id<script>' } })
  assert.notEqual(replaced.headers['x-request-id'], 'bad\u0000id<script>')
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/)
})

test('CORS answers only the configured exact origins and never with a wildcard', async (t) => {
  const app = await build(t, { CORS_ORIGINS: 'https://dash.example.com' })
  const allowed = await app.inject({ method: 'OPTIONS', url: '/healthz', headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'GET' } })
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://dash.example.com')
  const denied = await app.inject({ method: 'OPTIONS', url: '/healthz', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } })
  assert.notEqual(denied.headers['access-control-allow-origin'], 'https://evil.example.com')
  assert.notEqual(denied.headers['access-control-allow-origin'], '*')
})

test('without CORS_ORIGINS no CORS header is sent', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/healthz', headers: { origin: 'https://dash.example.com' } })
  assert.equal(res.headers['access-control-allow-origin'], undefined)
})
