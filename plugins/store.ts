// The store: database (node:sqlite or PostgreSQL) with migrations, and Redis when configured.
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { openDatabase } from '../store/database.ts'
import type { StoreConnection } from '../store/database.ts'
import { migrateToLatest } from '../store/migrations.ts'
import { createRepositories } from '../store/repositories.ts'
import type { Repositories } from '../store/repositories.ts'

export type Store = Repositories & Pick<StoreConnection, 'db' | 'dialect' | 'ping'>

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    /** Shared Redis connection when REDIS_URL is set, else null (in-memory equivalents are used). */
    redis: Redis | null
    /** Creates an extra Redis connection (pub/sub needs its own); closed with the app. */
    createRedisConnection: () => Redis
  }
}

async function store (fastify: FastifyInstance) {
  const connection = openDatabase(fastify.config.DATABASE_URL)
  try {
    await migrateToLatest(connection.db, connection.dialect)
  } catch (err) {
    await connection.close()
    throw err
  }
  fastify.decorate('store', { ...createRepositories(connection.db), db: connection.db, dialect: connection.dialect, ping: connection.ping })

  const extra: Redis[] = []
  const url = fastify.config.REDIS_URL
  const connect = (): Redis => {
    if (url === undefined) throw new Error('REDIS_URL is not set')
    // Bounded retries and offline queue: a Redis outage fails requests fast instead of piling them up.
    const client = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5000, lazyConnect: false })
    client.on('error', (err) => { fastify.log.warn({ err: { message: err.message } }, 'redis connection error') })
    extra.push(client)
    return client
  }
  fastify.decorate('createRedisConnection', connect)
  fastify.decorate('redis', url === undefined ? null : connect())

  fastify.addHook('onClose', async () => {
    // quit() waits for the server; a connection that is down is dropped instead, so close never hangs.
    await Promise.allSettled(extra.map(async (c) => { if (c.status === 'ready') await c.quit(); else c.disconnect() }))
    await connection.close()
  })
}

export default fp(store, { name: 'store', dependencies: ['env'] })
