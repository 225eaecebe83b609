// One migration set for both dialects, applied at start by Kysely's Migrator.
import { Migrator } from 'kysely/migration'
import type { Migration, MigrationProvider } from 'kysely/migration'
import { sql } from 'kysely'
import type { Kysely } from 'kysely'
import type { Database, DialectName } from './database.ts'

function migrations (dialect: DialectName): Record<string, Migration> {
  // Auto-increment differs per dialect: bigserial in PostgreSQL; in SQLite an INTEGER PRIMARY KEY is
  // the rowid, assigned max+1 (AUTOINCREMENT would add a write to sqlite_sequence per insert, and
  // rows are never deleted here). Everything else is portable (timestamps are ISO-8601 text).
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer'
  return {
    '0001_identity': {
      async up (db: Kysely<any>) {
        await db.schema.createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute()
        await db.schema.createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute()
        await db.schema.createIndex('api_keys_user').on('api_keys').columns(['user_id', 'created_at']).execute()
        await db.schema.createTable('provider_keys')
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('ciphertext', 'text', (c) => c.notNull())
          .addColumn('last4', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('provider_keys_pk', ['user_id', 'provider'])
          .execute()
        await db.schema.createTable('security_events')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('method', 'text')
          .addColumn('route', 'text')
          .addColumn('ip', 'text')
          .addColumn('principal', 'text')
          .addColumn('reason', 'text')
          .addColumn('details', 'text')
          .execute()
        await db.schema.createIndex('security_events_type').on('security_events').columns(['type', 'id']).execute()
        await db.schema.createTable('webhook_events')
          .addColumn('seq', serial, (c) => c.primaryKey())
          .addColumn('delivery_id', 'text', (c) => c.notNull().unique())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('action', 'text')
          .addColumn('repository', 'text')
          .addColumn('sender', 'text')
          .addColumn('received_at', 'text', (c) => c.notNull())
          .execute()
      }
    }
  }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest (db: Kysely<Database>, dialect: DialectName): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) }
  // PostgreSQL: Kysely looks for its bookkeeping tables in every schema unless told which one, so a
  // database holding several microgate schemas (one per tenant or test) would find another's.
  const schema = dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`)
  }
}
