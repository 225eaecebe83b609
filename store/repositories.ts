// Parameterized queries for each table (Kysely builds them; no string-built SQL anywhere).
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, ApiKeysTable, UsersTable } from './database.ts'

export type Role = 'viewer' | 'user' | 'admin'
export interface User { id: string, email: string, role: Role, createdAt: string }
export interface ApiKeyRecord { id: string, userId: string, name: string, prefix: string, createdAt: string, lastUsedAt: string | null, expiresAt: string | null, revokedAt: string | null }
export interface SecurityEventInput { type: string, method?: string | null, route?: string | null, ip?: string | null, principal?: string | null, reason?: string | null, details?: Record<string, unknown> | null }
export interface SecurityEvent { id: number, type: string, at: string, method: string | null, route: string | null, ip: string | null, principal: string | null, reason: string | null, details: Record<string, unknown> | null }
export interface Page<T> { items: T[], next: string | null }

const toUser = (row: Pick<UsersTable, 'id' | 'email' | 'role' | 'created_at'>): User => ({ id: row.id, email: row.email, role: row.role as Role, createdAt: row.created_at })
const toKey = (row: ApiKeysTable): ApiKeyRecord => ({
  id: row.id, userId: row.user_id, name: row.name, prefix: row.prefix, createdAt: row.created_at, lastUsedAt: row.last_used_at, expiresAt: row.expires_at, revokedAt: row.revoked_at
})

/** Opaque cursors: base64url of the sort key, so clients cannot build queries from them. */
export function encodeCursor (value: string | number): string { return Buffer.from(String(value)).toString('base64url') }
export function decodeCursor (cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null
  return Buffer.from(cursor, 'base64url').toString('utf8')
}

/** Rows sorted by (created_at, id) descending, after an opaque cursor: one page and the next cursor. */
function keysetPage<R extends { created_at: string, id: string }, T> (rows: R[], limit: number, toItem: (row: R) => T): Page<T> {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return { items: page.map(toItem), next: rows.length > limit && last ? encodeCursor(`${last.created_at}|${last.id}`) : null }
}

/** The keyset condition "older than the cursor's (created_at, id)", or null for the first page. */
function keysetAfter (cursor: string | undefined): { at: string, id: string } | null {
  const after = decodeCursor(cursor)
  if (after === null) return null
  const [at, id] = after.split('|')
  return { at, id: id ?? '' }
}

export function createRepositories (db: Kysely<Database>) {
  const users = {
    async count (): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow()
      return Number(row.n)
    },
    async create (input: { email: string, passwordHash: string, role: Role }): Promise<User> {
      const row = { id: randomUUID(), email: input.email.toLowerCase(), password_hash: input.passwordHash, role: input.role, created_at: new Date().toISOString() }
      await db.insertInto('users').values(row).execute()
      return toUser(row)
    },
    async findByEmail (email: string): Promise<(User & { passwordHash: string }) | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst()
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined
    },
    async findById (id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').select(['id', 'email', 'role', 'created_at']).where('id', '=', id).executeTakeFirst()
      return row ? toUser(row) : undefined
    },
    async list (limit: number, cursor?: string): Promise<Page<User>> {
      const after = keysetAfter(cursor)
      let q = db.selectFrom('users').select(['id', 'email', 'role', 'created_at']).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1)
      if (after !== null) q = q.where((eb) => eb.or([eb('created_at', '<', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)])]))
      return keysetPage(await q.execute(), limit, toUser)
    }
  }

  const apiKeys = {
    async create (input: { userId: string, name: string, prefix: string, keyHash: string, expiresAt: string | null }): Promise<ApiKeyRecord> {
      const row: ApiKeysTable = { id: randomUUID(), user_id: input.userId, name: input.name, prefix: input.prefix, key_hash: input.keyHash, created_at: new Date().toISOString(), last_used_at: null, expires_at: input.expiresAt, revoked_at: null }
      await db.insertInto('api_keys').values(row).execute()
      return toKey(row)
    },
    async findByHash (keyHash: string): Promise<(ApiKeyRecord & { role: Role, email: string, keyHash: string }) | undefined> {
      const row = await db.selectFrom('api_keys').innerJoin('users', 'users.id', 'api_keys.user_id')
        .selectAll('api_keys').select(['users.role as role', 'users.email as email'])
        .where('api_keys.key_hash', '=', keyHash).executeTakeFirst()
      return row ? { ...toKey(row), role: row.role as Role, email: row.email, keyHash: row.key_hash } : undefined
    },
    async findById (id: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined> {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? { ...toKey(row), keyHash: row.key_hash } : undefined
    },
    /** Keys of one user, or of everyone when userId is null (admins), newest first, revoked ones left out. */
    async list (userId: string | null, limit: number, cursor?: string): Promise<Page<ApiKeyRecord>> {
      const after = keysetAfter(cursor)
      let q = db.selectFrom('api_keys').selectAll().where('revoked_at', 'is', null).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1)
      if (userId !== null) q = q.where('user_id', '=', userId)
      if (after !== null) q = q.where((eb) => eb.or([eb('created_at', '<', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)])]))
      return keysetPage(await q.execute(), limit, toKey)
    },
    async revoke (id: string): Promise<void> {
      await db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).execute()
    },
    /** Writes batched last-use times in one transaction (called periodically, not per request). */
    async touchMany (uses: ReadonlyMap<string, string>): Promise<void> {
      if (uses.size === 0) return
      await db.transaction().execute(async (trx) => {
        for (const [id, at] of uses) await trx.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute()
      })
    }
  }

  const events = {
    async insert (event: SecurityEventInput): Promise<void> {
      await db.insertInto('security_events').values({
        type: event.type,
        at: new Date().toISOString(),
        method: event.method ?? null,
        route: event.route ?? null,
        ip: event.ip ?? null,
        principal: event.principal ?? null,
        reason: event.reason ?? null,
        details: event.details ? JSON.stringify(event.details) : null
      }).execute()
    },
    async list (filter: { type?: string, since?: string, limit: number, cursor?: string }): Promise<Page<SecurityEvent>> {
      const after = decodeCursor(filter.cursor)
      let q = db.selectFrom('security_events').selectAll().orderBy('id', 'desc').limit(filter.limit + 1)
      if (filter.type !== undefined) q = q.where('type', '=', filter.type)
      if (filter.since !== undefined) q = q.where('at', '>=', filter.since)
      if (after !== null && /^[0-9]{1,18}$/.test(after)) q = q.where('id', '<', Number(after))
      const rows = await q.execute()
      const items = rows.slice(0, filter.limit).map((r) => ({
        id: Number(r.id), type: r.type, at: r.at, method: r.method, route: r.route, ip: r.ip, principal: r.principal, reason: r.reason, details: r.details ? JSON.parse(r.details) as Record<string, unknown> : null
      }))
      const last = items.at(-1)
      return { items, next: rows.length > filter.limit && last ? encodeCursor(last.id) : null }
    }
  }

  return { users, apiKeys, events }
}

export type Repositories = ReturnType<typeof createRepositories>
