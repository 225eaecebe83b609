// Probes: /healthz (process alive) and /readyz (the store and Redis answer).
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorSchema } from '../schemas/common.ts'

const StatusSchema = Type.Object({ status: Type.Literal('ok') })
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: Type.Boolean(), redis: Type.Optional(Type.Boolean()) })
})

// Readiness checks must not hang a probe: each dependency gets this long to answer.
const CHECK_TIMEOUT_MS = 2000

async function withTimeout (check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([check(), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS) })])
    return true
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/healthz', {
    config: { limit: 'exempt' },
    schema: { tags: ['health'], summary: 'The process is alive', response: { 200: StatusSchema } }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/readyz', {
    config: { limit: 'exempt' },
    schema: { tags: ['health'], summary: 'The database (and Redis when configured) answer', response: { 200: ReadySchema, 503: ReadySchema, '4xx': ErrorSchema } }
  }, async (_request, reply) => {
    const database = await withTimeout(() => fastify.store.ping())
    const redisClient = fastify.redis
    const redis = redisClient === null ? undefined : await withTimeout(() => redisClient.ping())
    const ready = database && redis !== false
    reply.code(ready ? 200 : 503)
    return { status: ready ? 'ready' as const : 'unavailable' as const, checks: redis === undefined ? { database } : { database, redis } }
  })
}

export default health
