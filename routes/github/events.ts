// GET /github/events: processed webhook deliveries, newest first.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GitHubEventsResponseSchema } from '../../schemas/github.ts'
import { BEARER_OR_KEY, PaginationQuerySchema, ProtectedErrorResponses } from '../../schemas/common.ts'

const events: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/events', {
    config: { permission: 'webhooks:read' },
    schema: { tags: ['github'], summary: 'Processed webhook events, newest first', security: BEARER_OR_KEY, querystring: PaginationQuerySchema, response: { 200: GitHubEventsResponseSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const page = await fastify.webhookEvents.list(request.query.limit, request.query.cursor)
    return { events: page.items, next: page.next }
  })
}

export default events
