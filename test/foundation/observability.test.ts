import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { build, loginAs, TEST_ADMIN } from '../helper.ts'

function capture () {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(chunk.toString()); done() } })
  return { lines, stream }
}

test('credentials in headers and bodies never reach a log line, even at trace level', async (t) => {
  const { lines, stream } = capture()
  const app = await build(t, { LOG_LEVEL: 'trace' }, { loggerStream: stream })
  app.log.info({ req: { headers: { authorization: 'Bearer SECRET-MARKER-1', 'x-api-key': 'gw_SECRETMARKER2' } }, body: { password: 'SECRET-MARKER-3', apiKey: 'SECRET-MARKER-4', token: 'SECRET-MARKER-5' } }, 'probe')
  await app.inject({ url: '/me', headers: { authorization: 'Bearer SECRET-MARKER-6' } })
  await app.inject({ method: 'POST', url: '/auth/login', payload: { email: TEST_ADMIN.email, password: 'SECRET-MARKER-7-wrong' } })
  await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const log = lines.join('')
  assert.ok(log.includes('probe'), 'the logger captured output')
  for (const marker of ['SECRET-MARKER', 'SECRETMARKER', TEST_ADMIN.password]) assert.ok(!log.includes(marker), `${marker} logged`)
  assert.match(log, /\[redacted\]/)
})

test('every answer is counted in /metrics by route and status', async (t) => {
  const app = await build(t)
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  await app.inject({ url: '/healthz' })
  await app.inject({ url: '/nowhere' })
  const res = await app.inject({ url: '/metrics', headers: { authorization: admin } })
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /text\/plain/)
  assert.match(res.body, /microgate_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/)
  assert.match(res.body, /microgate_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/)
  assert.ok(!res.body.includes('/nowhere'), 'unmatched paths do not become label values')
})

test('a saturated event loop answers 503 OVERLOADED with Retry-After', async (t) => {
  const app = await build(t)
  // Block the loop well past the 1 s bound, then let under-pressure sample it.
  const until = Date.now() + 1600
  while (Date.now() < until) { /* busy: simulates a stuck event loop */ }
  let res = await app.inject({ url: '/me' })
  for (let i = 0; i < 20 && res.statusCode !== 503; i++) {
    const again = Date.now() + 1600
    while (Date.now() < again) { /* keep it saturated */ }
    await new Promise((resolve) => setImmediate(resolve))
    res = await app.inject({ url: '/me' })
  }
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().code, 'OVERLOADED')
  assert.ok(res.headers['retry-after'])
})
