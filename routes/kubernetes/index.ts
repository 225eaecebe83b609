// GET /kubernetes/secure-list-pods: pods of an allowed namespace, five fields each, least privilege.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ListPodsQuerySchema, ListPodsResponseSchema } from '../../schemas/kubernetes.ts'
import { BEARER_OR_KEY, ErrorSchema, ProtectedErrorResponses } from '../../schemas/common.ts'

const pods: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/secure-list-pods', {
    config: { permission: 'upstream:read' },
    schema: {
      tags: ['kubernetes'],
      summary: 'List pods (name, phase, ready, restarts, createdAt) in an allowed namespace',
      security: BEARER_OR_KEY,
      querystring: ListPodsQuerySchema,
      response: { 200: ListPodsResponseSchema, 502: ErrorSchema, 504: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => await fastify.listPods(request, reply, request.query))
}

export default pods
