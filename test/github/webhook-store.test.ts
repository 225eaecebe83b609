// The batched delivery store: every caller learns after the commit whether its own delivery was new,
// on SQLite and on PostgreSQL, including duplicates inside one batch and batches over the row cap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { openDatabase } from '../../store/database.ts'
import { migrateToLatest } from '../../store/migrations.ts'
import { createWebhookEvents } from '../../store/webhook-events.ts'
import type { WebhookEventRecord } from '../../store/webhook-events.ts'
import { freshPostgresSchema, SKIP_POSTGRES, tempDir } from '../helper.ts'

function delivery (deliveryId: string): WebhookEventRecord {
  return { deliveryId, event: 'push', action: null, repository: 'octo/hello', sender: 'octocat', receivedAt: new Date().toISOString() }
}

async function suite (t: TestContext, url: string): Promise<void> {
  const connection = openDatabase(url)
  t.after(async () => { await connection.close() })
  await migrateToLatest(connection.db, connection.dialect)
  const events = createWebhookEvents(connection.db)

  // One event-loop turn: 300 new ids (over the 256-row statement cap), one id 5 times, one seen before.
  const seen = randomUUID()
  assert.equal(await events.recordOnce(delivery(seen)), true)
  const fresh = Array.from({ length: 300 }, () => randomUUID())
  const twice = randomUUID()
  const results = await Promise.all([
    ...fresh.map((id) => events.recordOnce(delivery(id))),
    ...Array.from({ length: 5 }, () => events.recordOnce(delivery(twice))),
    events.recordOnce(delivery(seen))
  ])
  assert.deepEqual(results.slice(0, 300), fresh.map(() => true))
  assert.equal(results.slice(300, 305).filter(Boolean).length, 1, 'one of five parallel duplicates is new')
  assert.equal(results[305], false, 'a delivery recorded in an earlier batch is a replay')

  const page = await events.list(500)
  assert.equal(page.items.length, 302)
  assert.equal(new Set(page.items.map((item) => item.deliveryId)).size, 302)
}

test('SQLite: batched deliveries are recorded once each, duplicates and replays reported', async (t) => {
  await suite(t, `sqlite:${tempDir(t)}/events.db`)
})

test('PostgreSQL: batched deliveries are recorded once each, duplicates and replays reported', { skip: SKIP_POSTGRES }, async (t) => {
  await suite(t, await freshPostgresSchema(t))
})
