// Processed webhook deliveries: a unique delivery id makes recording atomic and replays visible.
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import { decodeCursor, encodeCursor } from './repositories.ts'
import type { Page } from './repositories.ts'

export interface WebhookEventRecord { deliveryId: string, event: string, action: string | null, repository: string | null, sender: string | null, receivedAt: string }

interface Pending { event: WebhookEventRecord, resolve: (fresh: boolean) => void, reject: (err: unknown) => void }

// One statement's worth of rows: 6 parameters each, far below SQLite's and PostgreSQL's limits.
const MAX_BATCH = 256

export function createWebhookEvents (db: Kysely<Database>) {
  // Deliveries arriving in one event-loop turn are written by one multi-row INSERT: one commit (one
  // WAL write with SQLite) per batch instead of per delivery. ON CONFLICT DO NOTHING RETURNING names
  // the rows that were new, so each caller still learns, after the commit, whether its own delivery
  // was fresh; nothing is acknowledged before it is stored.
  const pending: Pending[] = []
  const flush = async () => {
    const batch = pending.splice(0, MAX_BATCH)
    if (pending.length > 0) setImmediate(() => { void flush() })
    try {
      const inserted = await db.insertInto('webhook_events').values(batch.map(({ event }) => ({
        delivery_id: event.deliveryId,
        event: event.event,
        action: event.action,
        repository: event.repository,
        sender: event.sender,
        received_at: event.receivedAt
      }))).onConflict((oc) => oc.column('delivery_id').doNothing()).returning('delivery_id').execute()
      const fresh = new Set(inserted.map((row) => row.delivery_id))
      // The same id twice in one batch (parallel replays): only the first caller gets the new row.
      for (const item of batch) item.resolve(fresh.delete(item.event.deliveryId))
    } catch (err) {
      for (const item of batch) item.reject(err)
    }
  }
  return {
    /** Records the summary; false when this delivery id was recorded before (a replay). */
    recordOnce (event: WebhookEventRecord): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        if (pending.length === 0) setImmediate(() => { void flush() })
        pending.push({ event, resolve, reject })
      })
    },
    async list (limit: number, cursor?: string): Promise<Page<WebhookEventRecord>> {
      const after = decodeCursor(cursor)
      let q = db.selectFrom('webhook_events').selectAll().orderBy('seq', 'desc').limit(limit + 1)
      if (after !== null && /^[0-9]{1,18}$/.test(after)) q = q.where('seq', '<', Number(after))
      const rows = await q.execute()
      const page = rows.slice(0, limit)
      const items = page.map((r) => ({ deliveryId: r.delivery_id, event: r.event, action: r.action, repository: r.repository, sender: r.sender, receivedAt: r.received_at }))
      const last = page.at(-1)
      return { items, next: rows.length > limit && last ? encodeCursor(Number(last.seq)) : null }
    }
  }
}
