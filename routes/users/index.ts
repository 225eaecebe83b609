// POST /users (admin): create a user with a role.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CreateUserBodySchema, UserListSchema, UserSchema } from '../../schemas/identity.ts'
import { ErrorSchema, PaginationQuerySchema, ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'

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

  fastify.get('/', {
    config: { permission: 'users:manage' },
    schema: { tags: ['identity'], summary: 'List users, newest first (admin)', security: BEARER_OR_KEY, querystring: PaginationQuerySchema, response: { 200: UserListSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const page = await fastify.store.users.list(request.query.limit, request.query.cursor)
    return { users: page.items.map(({ id, email, role }) => ({ id, email, role })), next: page.next }
  })
}

export default users
