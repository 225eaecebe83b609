// Prompt firewall: routes that declare config.firewall get their text cleaned and scored before the handler.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { PromptRejectedError } from '../errors.ts'
import { createFirewall, DEFAULT_FIREWALL_THRESHOLD } from '../security/firewall.ts'
import type { FirewallVerdict } from '../security/firewall.ts'
import { cleanText } from '../security/normalize.ts'

export interface FirewallRouteConfig {
  /** The body field holding the user's text. */
  field: string
  /** Score only when this body field has one of these values (e.g. generative Hugging Face tasks). */
  onlyWhen?: { field: string, values: readonly string[] }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    firewall?: FirewallRouteConfig
  }
  interface FastifyInstance {
    promptFirewall: (text: string) => FirewallVerdict
  }
}

async function promptFirewall (fastify: FastifyInstance) {
  const firewall = createFirewall({ threshold: fastify.config.FIREWALL_THRESHOLD ?? DEFAULT_FIREWALL_THRESHOLD })
  fastify.decorate('promptFirewall', firewall)

  function hook (settings: FirewallRouteConfig): preHandlerAsyncHookHandler {
    return async (request: FastifyRequest) => {
      const body = request.body as Record<string, unknown>
      const text = body[settings.field]
      if (typeof text !== 'string') return
      // The model gets the cleaned text (invisible and control characters removed, never a 400);
      // the firewall scores the original, where hidden characters are themselves a signal.
      body[settings.field] = cleanText(text)
      if (settings.onlyWhen !== undefined && !settings.onlyWhen.values.includes(body[settings.onlyWhen.field] as string)) return
      const verdict = firewall(text)
      if (verdict.rejected) {
        fastify.audit(request, 'prompt-rejected', { reason: verdict.signals.slice(0, 3).join(',') || 'score', details: { signals: verdict.signals, score: Math.round(verdict.score * 1000) / 1000 } })
        throw new PromptRejectedError()
      }
    }
  }

  fastify.addHook('onRoute', (route) => {
    const settings = route.config?.firewall
    if (settings === undefined) return
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
    route.preHandler = [...existing, hook(settings)]
  })
}

export default fp(promptFirewall, { name: 'prompt-firewall', dependencies: ['env', 'audit'] })
