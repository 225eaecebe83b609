// GET /metrics (admin): Prometheus text format.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ProtectedErrorResponses, BEARER_OR_KEY } from '../schemas/common.ts'

const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/metrics', {
    config: { permission: 'metrics:read' },
    schema: { tags: ['observability'], summary: 'Prometheus metrics (admin)', security: BEARER_OR_KEY, response: { 200: Type.String(), ...ProtectedErrorResponses } }
  }, async (_request, reply) => {
    reply.type(fastify.metrics.registry.contentType)
    return await fastify.metrics.registry.metrics()
  })
}

export default metrics
