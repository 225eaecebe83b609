// The query layer: Kysely over node:sqlite (embedded default) or PostgreSQL (shared by instances).
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import type { Generated, SqliteDatabase, SqliteStatement } from 'kysely'
import pg from 'pg'

export interface UsersTable { id: string, email: string, password_hash: string, role: string, created_at: string }
export interface ApiKeysTable {
  id: string
  user_id: string
  name: string
  prefix: string
  key_hash: string
  created_at: string
  last_used_at: string | null
  expires_at: string | null
  revoked_at: string | null
}
export interface ProviderKeysTable { user_id: string, provider: string, ciphertext: string, last4: string, updated_at: string }
export interface SecurityEventsTable {
  id: Generated<number>
  type: string
  at: string
  method: string | null
  route: string | null
  ip: string | null
  principal: string | null
  reason: string | null
  details: string | null
}
export interface WebhookEventsTable {
  seq: Generated<number>
  delivery_id: string
  event: string
  action: string | null
  repository: string | null
  sender: string | null
  received_at: string
}
export interface Database {
  users: UsersTable
  api_keys: ApiKeysTable
  provider_keys: ProviderKeysTable
  security_events: SecurityEventsTable
  webhook_events: WebhookEventsTable
}

export type DialectName = 'sqlite' | 'postgres'

const STATEMENT_CACHE_SIZE = 500

export interface StoreConnection { db: Kysely<Database>, dialect: DialectName, ping (): Promise<void>, close (): Promise<void> }

/**
 * Adapts node:sqlite's DatabaseSync to the interface Kysely's SqliteDialect expects
 * (better-sqlite3's: parameters as one array, a `reader` flag on statements).
 */
export function nodeSqliteAdapter (database: DatabaseSync): SqliteDatabase {
  // Kysely prepares every query anew; compiled statements are kept per SQL text instead (the
  // query builder emits a small, fixed set of texts with placeholders, so the map stays small).
  const statements = new Map<string, SqliteStatement>()
  return {
    close: () => {
      statements.clear()
      database.close()
    },
    prepare (query: string): SqliteStatement {
      const known = statements.get(query)
      if (known !== undefined) return known
      const statement = database.prepare(query)
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear()
      const adapted: SqliteStatement = {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...(parameters as never[])),
        run: (parameters) => {
          const result = statement.run(...(parameters as never[]))
          return { changes: result.changes, lastInsertRowid: result.lastInsertRowid }
        },
        iterate: (parameters) => statement.iterate(...(parameters as never[])) as IterableIterator<unknown>
      }
      statements.set(query, adapted)
      return adapted
    }
  }
}

/** Opens the database named by DATABASE_URL (`sqlite:<path>` or `postgres://…`). */
export function openDatabase (url: string): StoreConnection {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 })
    // A dropped idle connection must not crash the process; the pool replaces it.
    pool.on('error', () => {})
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    return {
      db,
      dialect: 'postgres',
      ping: async () => { await sql`select 1`.execute(db) },
      close: async () => { await db.destroy() }
    }
  }
  const path = url.slice('sqlite:'.length)
  const memory = path === ':memory:'
  if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 })
  const database = new DatabaseSync(memory ? ':memory:' : resolve(path))
  // WAL lets readers proceed during writes; busy_timeout rides out a concurrent CLI writer.
  // why a 10,000-page auto-checkpoint (~40 MB of WAL, default 1,000): each checkpoint copies pages
  // into the database file and syncs it on the event loop; with webhook deliveries (random UUID
  // keys, one index page per row) a tenth as many checkpoints cut the insert cost from ~15 to ~10 µs
  // per row. journal_size_limit truncates the WAL back after a checkpoint.
  database.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: nodeSqliteAdapter(database) }) })
  return {
    db,
    dialect: 'sqlite',
    ping: async () => { await sql`select 1`.execute(db) },
    close: async () => { await db.destroy() }
  }
}
