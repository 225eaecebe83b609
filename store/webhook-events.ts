// Processed webhook deliveries: a unique delivery id makes recording atomic and replays visible.
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import { decodeCursor, encodeCursor } from './repositories.ts'
import type { Page } from './repositories.ts'

export interface WebhookEventRecord { deliveryId: string, event: string, action: string | null, repository: string | null, sender: string | null, receivedAt: string }

interface Pending { event: WebhookEventRecord, resolve: (fresh: boolean) => void, reject: (err: unknown) => void }

export function createWebhookEvents (db: Kysely<Database>) {
  // Deliveries arriving in one event-loop turn are written in one transaction: one commit (one WAL
  // write with SQLite) per batch instead of per delivery. Each caller still learns, after the
  // commit, whether its own row was new, so nothing is acknowledged before it is stored.
  let pending: Pending[] = []
  const flush = async () => {
    const batch = pending
    pending = []
    try {
      const fresh = await db.transaction().execute(async (trx) => {
        const results: boolean[] = []
        for (const { event } of batch) {
          const result = await trx.insertInto('webhook_events').values({
            delivery_id: event.deliveryId,
            event: event.event,
            action: event.action,
            repository: event.repository,
            sender: event.sender,
            received_at: event.receivedAt
          }).onConflict((oc) => oc.column('delivery_id').doNothing()).executeTakeFirst()
          results.push(Number(result.numInsertedOrUpdatedRows ?? 0) === 1)
        }
        return results
      })
      batch.forEach((item, i) => { item.resolve(fresh[i]) })
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
