// /keys: create, list and revoke gateway API keys (own keys; admins see and revoke everyone's).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { CreateKeyBodySchema, CreatedKeySchema, KeyIdParamsSchema, KeyListSchema } from '../../schemas/identity.ts'
import { ErrorSchema, PaginationQuerySchema, ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'

const keys: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/', {
    config: { permission: 'keys:manage' },
    schema: { tags: ['keys'], summary: 'Create an API key (shown once)', security: BEARER_OR_KEY, body: CreateKeyBodySchema, response: { 201: CreatedKeySchema, ...ProtectedErrorResponses } }
  }, async (request, reply) => {
    const created = await fastify.identity.createApiKey(request.principal!.id, request.body.name, request.body.expiresInDays)
    reply.code(201)
    return created
  })

  fastify.get('/', {
    config: { permission: 'keys:manage' },
    schema: { tags: ['keys'], summary: 'List API keys (never the key itself)', security: BEARER_OR_KEY, querystring: PaginationQuerySchema, response: { 200: KeyListSchema, ...ProtectedErrorResponses } }
  }, async (request) => {
    const page = await fastify.identity.listApiKeys(request.principal!, request.query.limit, request.query.cursor)
    return { keys: page.items, next: page.next }
  })

  fastify.delete('/:id', {
    config: { permission: 'keys:manage' },
    schema: { tags: ['keys'], summary: 'Revoke an API key at once, on every instance', security: BEARER_OR_KEY, params: KeyIdParamsSchema, response: { 204: Type.Null(), 404: ErrorSchema, ...ProtectedErrorResponses } }
  }, async (request, reply) => {
    const { ownKey } = await fastify.identity.revokeApiKeyAs(request.principal!, request.params.id)
    fastify.audit(request, 'key-revoked', { reason: ownKey ? 'owner' : 'admin' })
    reply.code(204)
  })
}

export default keys
