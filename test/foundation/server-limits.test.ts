import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { build } from '../helper.ts'

test('a client dripping its headers is cut off by the server timeouts', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const socket = connect(port, '127.0.0.1')
  const started = Date.now()
  const closed = new Promise<string>((resolve) => {
    let data = ''
    socket.on('data', (d) => { data += d.toString() })
    socket.on('close', () => resolve(data))
    socket.on('error', () => resolve(data))
  })
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
  // One header byte per second, never finishing: a slowloris client.
  const drip = setInterval(() => { if (!socket.destroyed) socket.write('X') }, 1000)
  t.after(() => { clearInterval(drip); socket.destroy() })
  const answer = await closed
  clearInterval(drip)
  const elapsed = Date.now() - started
  assert.ok(elapsed < 20_000, `connection held for ${elapsed} ms`)
  assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), 'the server closed or answered 408')
})

test('/readyz answers 503 when the database is down', async (t) => {
  const app = await build(t)
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
  await app.store.db.destroy()
  const res = await app.inject({ url: '/readyz' })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().checks.database, false)
})

test('/readyz answers 503 when the configured Redis does not answer', async (t) => {
  // A port nobody listens on: Redis is configured but down.
  const app = await build(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  const res = await app.inject({ url: '/readyz' })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().checks.redis, false)
  assert.equal(res.json().checks.database, true)
})
