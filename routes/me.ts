// GET /me: who the credential belongs to.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UserSchema } from '../schemas/identity.ts'
import { ProtectedErrorResponses, BEARER_OR_KEY } from '../schemas/common.ts'

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/me', {
    config: { permission: 'profile:read' },
    schema: { tags: ['identity'], summary: 'The calling user', security: BEARER_OR_KEY, response: { 200: UserSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const principal = request.principal!
    return { id: principal.id, email: principal.email, role: principal.role }
  })
}

export default me
