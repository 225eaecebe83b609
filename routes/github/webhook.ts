// POST /github/secure-webhook: only signed, fresh, allowlisted deliveries are processed, once each.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Validator } from 'typebox/compile'
import { WebhookAcceptedSchema, WebhookDuplicateSchema, WebhookHeadersSchema, WebhookPayloadSchemas, getWebhookPayloadSchema, summarizeWebhook } from '../../schemas/github.ts'
import { ErrorSchema } from '../../schemas/common.ts'
import { BadRequestError } from '../../errors.ts'
import { parseWebhookEvents } from '../../security/github.ts'

const webhook: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.useRawJsonBody(fastify)
  const accepted = parseWebhookEvents(fastify.config.GITHUB_WEBHOOK_EVENTS)
  const validators = new Map<string, Validator>()
  for (const event of Object.keys(WebhookPayloadSchemas)) validators.set(event, Compile(getWebhookPayloadSchema(event)!))

  fastify.post('/secure-webhook', {
    config: { rawBody: 'github' },
    bodyLimit: 25 * 1024 * 1024,
    schema: {
      tags: ['github'],
      summary: 'GitHub webhook receiver (X-Hub-Signature-256 over the raw body)',
      headers: WebhookHeadersSchema,
      body: Type.Object({}, { additionalProperties: true, description: 'The event payload, verified before parsing' }),
      response: { 202: WebhookAcceptedSchema, 200: WebhookDuplicateSchema, 400: ErrorSchema, 401: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 429: ErrorSchema, 500: ErrorSchema, 503: ErrorSchema }
    }
  }, async (request, reply) => {
    const event = request.headers['x-github-event']
    const validator = validators.get(event)
    if (!accepted.has(event) || validator === undefined) throw new BadRequestError('This event type is not accepted')
    if (!validator.Check(request.body)) throw new BadRequestError('The payload does not match the event type')
    const summary = summarizeWebhook(event, request.headers['x-github-delivery'], request.body)
    const fresh = await fastify.webhookEvents.claim({ ...summary, receivedAt: new Date().toISOString() })
    if (!fresh) {
      reply.code(200)
      return { duplicate: true as const }
    }
    reply.code(202)
    return { accepted: true as const }
  })
}

export default webhook
