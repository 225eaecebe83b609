import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { build } from '../helper.ts'

const production = () => ({ NODE_ENV: 'production', JWT_SECRET: randomBytes(48).toString('base64url'), MASTER_KEY: randomBytes(32).toString('base64') })

test('/docs serves an OpenAPI 3 document generated from the route schemas', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/docs/json' })
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.match(doc.openapi, /^3\./)
  for (const path of ['/auth/login', '/openai/secure-generate', '/github/secure-webhook', '/kubernetes/secure-list-pods', '/security/events']) assert.ok(doc.paths[path], path)
  // Fields with a default are optional for clients, even though the validator lists them.
  const body = doc.paths['/openai/secure-generate'].post.requestBody.content['application/json'].schema
  assert.deepEqual(body.required, ['text'])
  assert.equal(body.additionalProperties, false)
  assert.equal((await app.inject({ url: '/docs' })).statusCode < 400, true)
})

test('/docs is off in production unless DOCS_ENABLED=true', async (t) => {
  const off = await build(t, production())
  assert.equal((await off.inject({ url: '/docs/json' })).statusCode, 404)
  const on = await build(t, { ...production(), DOCS_ENABLED: 'true' })
  assert.equal((await on.inject({ url: '/docs/json' })).statusCode, 200)
})
