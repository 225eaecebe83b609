// The LLM path after the firewall: defensive prompt, upstream call through the official SDK, output scan.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GenerateBodySchema, GenerateResponseSchema } from '../schemas/llm.ts'
import { BEARER_OR_KEY, ErrorSchema, ProtectedErrorResponses } from '../schemas/common.ts'
import { PromptRejectedError } from '../errors.ts'
import { buildPrompt, BoundaryCollisionError, SYSTEM_PROMPTS } from '../security/prompt-builder.ts'
import type { Task } from '../security/prompt-builder.ts'
import { createAnthropicProvider, createOpenAiProvider } from '../providers/llm.ts'
import type { LlmProvider } from '../providers/llm.ts'

export type LlmProviderName = 'openai' | 'anthropic'

/**
 * A signal that aborts when the client goes away before its answer is written, so the
 * upstream call (and its cost) stops too. The response's 'close' before 'finish' is the one
 * reliable disconnect event: the request stream has long ended by the time the handler runs.
 */
export function abortOnDisconnect (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) controller.abort() })
  return controller.signal
}

declare module 'fastify' {
  interface FastifyInstance {
    secureGenerate: (request: FastifyRequest, reply: FastifyReply, provider: LlmProviderName, input: { text: string, task: Task, maxTokens: number }) => Promise<{ output: string, provider: LlmProviderName, model: string }>
  }
}

async function llmGuard (fastify: FastifyInstance) {
  const { config } = fastify
  const settings = {
    openai: { baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_MODEL },
    anthropic: { baseURL: config.ANTHROPIC_BASE_URL, model: config.ANTHROPIC_MODEL }
  }

  // The operator's default clients are built once; a user's own key gets its client per call
  // (the SDK client behind it is cached by a hash of the key in providers/llm.ts).
  const defaults = new Map<LlmProviderName, LlmProvider>()
  const clientFor = (provider: LlmProviderName, apiKey: string, source: 'user' | 'default'): LlmProvider => {
    const cached = source === 'default' ? defaults.get(provider) : undefined
    if (cached !== undefined) return cached
    const options = { apiKey, ...settings[provider], timeoutMs: config.UPSTREAM_TIMEOUT_MS }
    const client = provider === 'openai' ? createOpenAiProvider(options) : createAnthropicProvider(options)
    if (source === 'default') defaults.set(provider, client)
    return client
  }

  fastify.decorate('secureGenerate', async (request: FastifyRequest, reply: FastifyReply, provider: LlmProviderName, input: { text: string, task: Task, maxTokens: number }) => {
    let prompt
    try {
      prompt = buildPrompt(input.task, input.text)
    } catch (err) {
      if (err instanceof BoundaryCollisionError) {
        fastify.audit(request, 'prompt-rejected', { reason: 'boundary-collision' })
        throw new PromptRejectedError()
      }
      throw err
    }
    // The caller's own key when stored, else the operator's default, else 503.
    const { apiKey, source } = await fastify.providerKeys.resolve(request.principal?.id ?? null, provider)
    const client = clientFor(provider, apiKey, source)
    const started = performance.now()
    let outcome = 'ok'
    try {
      const answer = await client.call({ system: prompt.system, user: prompt.user, maxTokens: input.maxTokens, signal: abortOnDisconnect(reply) })
      // The task's fixed prompt text (its shingles are computed once); this call's canary and
      // boundary are checked on their own.
      fastify.assertSafeOutput(request, answer.output, { canary: prompt.canary, boundary: prompt.boundary, systemPrompt: SYSTEM_PROMPTS[input.task] })
      return { output: answer.output, provider, model: answer.model }
    } catch (err) {
      outcome = (err as { code?: string }).code ?? 'error'
      throw err
    } finally {
      fastify.metrics.upstream.observe({ provider, outcome }, (performance.now() - started) / 1000)
    }
  })
}

/** The route plugin of one LLM provider's folder: POST <prefix>/secure-generate. */
export function secureGenerateRoute (provider: LlmProviderName): FastifyPluginAsyncTypebox {
  return async (fastify) => {
    fastify.post('/secure-generate', {
      config: { permission: 'generate', firewall: { field: 'text' } },
      schema: {
        tags: ['llm'],
        summary: `Run a task on untrusted text with ${provider === 'openai' ? 'OpenAI' : 'Anthropic'}, through the prompt firewall and output scanner`,
        security: BEARER_OR_KEY,
        body: GenerateBodySchema,
        response: { 200: GenerateResponseSchema, 413: ErrorSchema, 422: ErrorSchema, 502: ErrorSchema, 504: ErrorSchema, ...ProtectedErrorResponses }
      }
    }, async (request, reply) => await fastify.secureGenerate(request, reply, provider, request.body))
  }
}

export default fp(llmGuard, { name: 'llm-guard', dependencies: ['env', 'provider-keys', 'output-scanner', 'observability', 'audit'] })
