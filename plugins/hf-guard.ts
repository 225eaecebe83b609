// Hugging Face inference: trusted, revision-pinned models only, and every output validated per task.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { abortOnDisconnect } from './llm-guard.ts'
import { ModelNotTrustedError, UnsafeOutputError } from '../errors.ts'
import { createHuggingFaceProvider } from '../providers/huggingface.ts'
import type { HfTask } from '../providers/huggingface.ts'
import { DEFAULT_TRUSTED_AUTHORS, HfOutputAnomaly, validateClassification, validateSummarization, validateTokenClassification } from '../security/hf-trust.ts'
import { listOf } from './env.ts'
import type { HfInferenceResponse } from '../schemas/huggingface.ts'

declare module 'fastify' {
  interface FastifyInstance {
    secureInference: (request: FastifyRequest, reply: FastifyReply, input: { text: string, model?: string, task?: HfTask }) => Promise<HfInferenceResponse>
  }
}

async function hfGuard (fastify: FastifyInstance) {
  const { config } = fastify
  const allowedModels = listOf(config.HF_ALLOWED_MODELS)
  const trustedAuthors = config.HF_TRUSTED_AUTHORS === undefined ? DEFAULT_TRUSTED_AUTHORS : listOf(config.HF_TRUSTED_AUTHORS)
  const provider = createHuggingFaceProvider({
    hubUrl: config.HF_HUB_URL,
    endpointUrl: config.HF_ENDPOINT_URL,
    policy: { allowedModels, trustedAuthors, minDownloads: config.HF_MIN_DOWNLOADS },
    timeoutMs: config.UPSTREAM_TIMEOUT_MS
  })

  fastify.decorate('secureInference', async (request: FastifyRequest, reply: FastifyReply, input: { text: string, model?: string, task?: HfTask }) => {
    const task = input.task ?? 'text-classification'
    const signal = abortOnDisconnect(reply)
    // No model named: the first allowlisted one. None allowlisted: nothing may run.
    const model = input.model ?? allowedModels[0]
    const { apiKey } = await fastify.providerKeys.resolve(request.principal?.id ?? null, 'huggingface')
    let pinned
    try {
      if (model === undefined) throw Object.assign(new ModelNotTrustedError(), { reasons: ['no-model-allowlisted'] })
      pinned = await provider.checkModel(model, signal)
    } catch (err) {
      if ((err as { code?: string }).code === 'MODEL_NOT_TRUSTED') {
        fastify.audit(request, 'model-not-trusted', { reason: ((err as { reasons?: string[] }).reasons ?? []).join(',') || 'policy', details: { model: model ?? null } })
      }
      throw err
    }
    const started = performance.now()
    try {
      const raw = await provider.infer({ token: apiKey, modelId: model as string, revision: pinned.revision, task, text: input.text, signal: signal })
      let output: HfInferenceResponse['output']
      if (task === 'text-classification') output = validateClassification(raw, pinned.labels)
      else if (task === 'token-classification') output = validateTokenClassification(raw, input.text)
      else {
        const summary = validateSummarization(raw, undefined, [apiKey])
        fastify.assertSafeOutput(request, summary.summary_text)
        output = summary
      }
      return { output, model: model as string, task }
    } catch (err) {
      if (err instanceof HfOutputAnomaly) {
        fastify.audit(request, 'output-anomaly', { reason: err.reason, details: { model: model ?? null, task } })
        throw new UnsafeOutputError()
      }
      throw err
    } finally {
      fastify.metrics.upstream.observe({ provider: 'huggingface', outcome: 'done' }, (performance.now() - started) / 1000)
    }
  })
}

export default fp(hfGuard, { name: 'hf-guard', dependencies: ['env', 'provider-keys', 'output-scanner', 'audit', 'observability'] })
