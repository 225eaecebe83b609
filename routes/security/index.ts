// GET /security/events (admin): the security-event log, filtered and paginated.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SecurityEventListSchema, SecurityEventsQuerySchema } from '../../schemas/identity.ts'
import { ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'

const securityEvents: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/events', {
    config: { permission: 'security-events:read' },
    schema: { tags: ['security'], summary: 'Security events, newest first', security: BEARER_OR_KEY, querystring: SecurityEventsQuerySchema, response: { 200: SecurityEventListSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const { type, since, limit, cursor } = request.query
    const page = await fastify.store.events.list({ type, since: since === undefined ? undefined : new Date(since).toISOString(), limit, cursor })
    return { events: page.items, next: page.next }
  })
}

export default securityEvents
