// /provider-keys: a user's own upstream API keys (bring-your-own-key), stored encrypted, listed masked.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ProviderKeyListSchema, ProviderParamsSchema, PutProviderKeyBodySchema } from '../../schemas/provider-keys.ts'
import { ErrorSchema, ProtectedErrorResponses, BEARER_OR_KEY } from '../../schemas/common.ts'
import { NotFoundError } from '../../errors.ts'

const providerKeys: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.put('/:provider', {
    config: { permission: 'provider-keys:manage' },
    schema: {
      tags: ['provider-keys'],
      summary: 'Store your own key for an upstream provider (encrypted at rest)',
      security: BEARER_OR_KEY,
      params: ProviderParamsSchema,
      body: PutProviderKeyBodySchema,
      response: { 204: Type.Null(), 413: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => {
    await fastify.providerKeys.set(request.principal!.id, request.params.provider, request.body.apiKey)
    reply.code(204)
  })

  fastify.get('/', {
    config: { permission: 'provider-keys:manage' },
    schema: {
      tags: ['provider-keys'],
      summary: 'Your stored provider keys, only their last 4 characters',
      security: BEARER_OR_KEY,
      response: { 200: ProviderKeyListSchema, ...ProtectedErrorResponses }
    }
  }, async (request) => {
    return { providerKeys: await fastify.providerKeys.list(request.principal!.id) }
  })

  fastify.delete('/:provider', {
    config: { permission: 'provider-keys:manage' },
    schema: {
      tags: ['provider-keys'],
      summary: 'Delete your key for a provider (calls fall back to the gateway default)',
      security: BEARER_OR_KEY,
      params: ProviderParamsSchema,
      response: { 204: Type.Null(), 404: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => {
    if (!await fastify.providerKeys.remove(request.principal!.id, request.params.provider)) throw new NotFoundError()
    reply.code(204)
  })
}

export default providerKeys
