// GET /security/events (admin): the security-event log, filtered and paginated.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SecurityEventListSchema, SecurityEventsQuerySchema } from '../../schemas/identity.ts'
import { ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'
import { BadRequestError } from '../../errors.ts'

const securityEvents: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/events', {
    config: { permission: 'security-events:read' },
    schema: { tags: ['security'], summary: 'Security events, newest first', security: BEARER_OR_KEY, querystring: SecurityEventsQuerySchema, response: { 200: SecurityEventListSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const { type, since, limit, cursor } = request.query
    const sinceMs = since === undefined ? undefined : Date.parse(since)
    if (sinceMs !== undefined && Number.isNaN(sinceMs)) throw new BadRequestError('since must be an ISO 8601 date or date-time')
    const page = await fastify.store.events.list({ type, since: sinceMs === undefined ? undefined : new Date(sinceMs).toISOString(), limit, cursor })
    return { events: page.items, next: page.next }
  })
}

export default securityEvents
