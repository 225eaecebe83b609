// Rate limits: every request per client address, authenticated ones also per key or user, login stricter.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RateLimitedError, withRetryAfter } from '../errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'login': the stricter per-address budget of POST /auth/login; 'exempt': probes only. */
    limit?: 'login' | 'exempt'
  }
}

type Limiter = (req: FastifyRequest) => Promise<{ isAllowed: boolean, max?: number, remaining?: number, ttlInSeconds?: number, isExceeded?: boolean }>

/** Applies one limiter: sets the RateLimit-* headers, and on excess throws the contract's 429. */
function limitHook (limiter: Limiter, reason: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await limiter(request)
    if (result.isAllowed) return
    reply.header('ratelimit-limit', result.max)
    reply.header('ratelimit-remaining', result.remaining)
    reply.header('ratelimit-reset', result.ttlInSeconds)
    if (result.isExceeded === true) throw Object.assign(withRetryAfter(new RateLimitedError(), result.ttlInSeconds ?? 1), { reason })
  }
}

async function rateLimits (fastify: FastifyInstance) {
  const { config } = fastify
  await fastify.register(rateLimit, {
    global: false,
    timeWindow: config.RATE_LIMIT_WINDOW,
    // With REDIS_URL every instance counts against one shared budget.
    redis: fastify.redis ?? undefined,
    nameSpace: 'microgate-rl:',
    // A Redis outage must not turn every request into a 500: the limits pause, the event is logged.
    skipOnError: true
  })
  // Keys come from request.ip, which honours TRUST_PROXY only when configured: by default a forged
  // X-Forwarded-For cannot move a client to another budget.
  const perIp = limitHook(fastify.createRateLimit({ max: config.RATE_LIMIT_PER_IP, keyGenerator: (req) => `ip:${req.ip}` }) as Limiter, 'per-ip')
  const perKey = limitHook(fastify.createRateLimit({
    max: config.RATE_LIMIT_PER_KEY,
    keyGenerator: (req) => req.principal?.keyId !== undefined ? `key:${req.principal.keyId}` : `user:${req.principal?.id ?? req.ip}`
  }) as Limiter, 'per-key')
  const login = limitHook(fastify.createRateLimit({ max: config.RATE_LIMIT_LOGIN, keyGenerator: (req) => `login:${req.ip}` }) as Limiter, 'login')

  fastify.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.limit === 'exempt') return
    await perIp(request, reply)
  })
  fastify.afterAuthHooks.push(perKey)
  fastify.addHook('onRoute', (route) => {
    if (route.config?.limit !== 'login') return
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [...existing, login]
  })
}

export default fp(rateLimits, { name: 'rate-limit', dependencies: ['env', 'store', 'auth'] })
