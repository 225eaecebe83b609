// POST /huggingface/secure-inference: a task on a trusted, revision-pinned model, output validated.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HfInferenceBodySchema, HfInferenceResponseSchema } from '../../schemas/huggingface.ts'
import { BEARER_OR_KEY, ErrorSchema, ProtectedErrorResponses } from '../../schemas/common.ts'

const inference: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/secure-inference', {
    // Generative output (summaries) can be steered by the text, so only there the firewall scores it.
    config: { permission: 'generate', firewall: { field: 'text', onlyWhen: { field: 'task', values: ['summarization'] } } },
    schema: {
      tags: ['huggingface'],
      summary: 'Inference on an allowlisted, trusted, revision-pinned Hugging Face model',
      security: BEARER_OR_KEY,
      body: HfInferenceBodySchema,
      response: { 200: HfInferenceResponseSchema, 422: ErrorSchema, 502: ErrorSchema, 504: ErrorSchema, ...ProtectedErrorResponses }
    }
  }, async (request, reply) => await fastify.secureInference(request, reply, request.body))
}

export default inference
