// POST /openai/secure-generate: the user's text as data for a task, answered only if nothing looks hostile.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GenerateBodySchema, GenerateResponseSchema } from '../../schemas/llm.ts'
import { BEARER_OR_KEY, ErrorSchema, ProtectedErrorResponses } from '../../schemas/common.ts'

const generate: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/secure-generate', {
    config: { permission: 'generate', firewall: { field: 'text' } },
    schema: {
      tags: ['llm'],
      summary: 'Run a task on untrusted text through the prompt firewall and output scanner',
      security: BEARER_OR_KEY,
      body: GenerateBodySchema,
      response: { 200: GenerateResponseSchema, 413: ErrorSchema, 422: ErrorSchema, 502: ErrorSchema, 504: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => await fastify.secureGenerate(request, reply, 'openai', request.body))
}

export default generate
