// GET /github/user-repos/:username: a user's public repositories, filtered to the contract's fields.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UserReposParamsSchema, UserReposQuerySchema, UserReposResponseSchema } from '../../schemas/github.ts'
import { abortOnDisconnect } from '../../plugins/llm-guard.ts'
import { BEARER_OR_KEY, ErrorSchema, ProtectedErrorResponses } from '../../schemas/common.ts'

const userRepos: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/user-repos/:username', {
    config: { permission: 'upstream:read' },
    schema: {
      tags: ['github'],
      summary: "A GitHub user's repositories (ETag-cached)",
      security: BEARER_OR_KEY,
      params: UserReposParamsSchema,
      querystring: UserReposQuerySchema,
      response: { 200: UserReposResponseSchema, 404: ErrorSchema, 502: ErrorSchema, 504: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => await fastify.github.listUserRepos(request.params.username, request.query.page ?? 1, abortOnDisconnect(reply)))
}

export default userRepos
