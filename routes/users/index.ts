// POST /users (admin): create a user with a role.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CreateUserBodySchema, UserSchema } from '../../schemas/identity.ts'
import { ErrorSchema, ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'

const users: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/', {
    config: { permission: 'users:manage' },
    schema: {
      tags: ['identity'],
      summary: 'Create a user (admin)',
      security: BEARER_OR_KEY,
      body: CreateUserBodySchema,
      response: { 201: UserSchema, 409: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => {
    const { email, password, role } = request.body
    const user = await fastify.identity.createUser(email, password, role)
    reply.code(201)
    return user
  })
}

export default users
