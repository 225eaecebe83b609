import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { build, createUser, tempDir } from '../helper.ts'

test('a key\'s lastUsedAt is recorded in batches, not by a write per request', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'gw.db')
  const app = await build(t, { DATABASE_URL: `sqlite:${file}` })
  const user = await createUser(app, 'user')
  const { id, key } = (await app.inject({ method: 'POST', url: '/keys', headers: { authorization: user.auth }, payload: { name: 'used' } })).json()
  for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: '/me', headers: { 'x-api-key': key } })).statusCode, 200)
  const raw = new DatabaseSync(file, { readOnly: true })
  t.after(() => raw.close())
  const before = raw.prepare('select last_used_at from api_keys where id = ?').get(id) as { last_used_at: string | null }
  assert.equal(before.last_used_at, null, 'no write on the request path')
  await app.close()
  const after = raw.prepare('select last_used_at from api_keys where id = ?').get(id) as { last_used_at: string | null }
  assert.ok(after.last_used_at !== null && Date.parse(after.last_used_at) > Date.now() - 60_000, 'the batch is written at the latest on close')
})
