// Security events: to pino, to the metrics and to the store, with secrets never written.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { SecurityEventInput } from '../store/repositories.ts'

export const SECURITY_EVENT_TYPES = [
  'login-failed', 'login-throttled', 'credential-invalid', 'forbidden', 'rate-limited', 'validation-failed',
  'prompt-rejected', 'unsafe-output', 'bad-signature', 'model-not-trusted', 'upstream-refused', 'output-anomaly', 'key-revoked'
] as const
export type SecurityEventType = typeof SECURITY_EVENT_TYPES[number]

export interface AuditDetails { reason?: string, details?: Record<string, unknown> }

declare module 'fastify' {
  interface FastifyInstance {
    /** Records a security event for this request; never throws, never blocks the answer. */
    audit: (request: FastifyRequest, type: SecurityEventType, extra?: AuditDetails) => void
  }
}

// A flood of identical events (one client hammering a 401) is written once per window:
// the metric still counts each one, the table and log stay readable and cheap.
const COALESCE_WINDOW_MS = 1000
const COALESCE_MAX_KEYS = 10_000

async function audit (fastify: FastifyInstance) {
  const recent = new Map<string, number>()
  const record = (request: FastifyRequest, type: SecurityEventType, extra: AuditDetails = {}) => {
    fastify.metrics.securityEvents.inc({ type })
    const route = request.routeOptions.url ?? null
    const now = Date.now()
    const key = `${type}|${request.ip}|${route ?? ''}|${extra.reason ?? ''}`
    const last = recent.get(key)
    if (last !== undefined && now - last < COALESCE_WINDOW_MS) return
    if (recent.size >= COALESCE_MAX_KEYS) recent.clear()
    recent.set(key, now)
    const event: SecurityEventInput = {
      type,
      method: request.method,
      route,
      ip: request.ip,
      principal: request.principal?.id ?? null,
      reason: extra.reason ?? null,
      details: extra.details ?? null
    }
    request.log.warn({ securityEvent: event }, 'security event')
    fastify.store.events.insert(event).catch((err: Error) => {
      request.log.error({ err: { message: err.message } }, 'could not store security event')
    })
  }
  fastify.decorate('audit', record)

  // Errors answered by the one error handler become events by their stable code.
  fastify.onErrorAnswer.push((request, body, error) => {
    if (body.code === 'FST_ERR_VALIDATION') record(request, 'validation-failed', { reason: (error.validation?.[0]?.instancePath ?? '') || 'schema' })
    else if (body.code === 'UNAUTHORIZED') record(request, 'credential-invalid', { reason: (error as { reason?: string }).reason ?? 'missing' })
    else if (body.code === 'FORBIDDEN') record(request, 'forbidden', { reason: (error as { reason?: string }).reason ?? 'permission' })
    else if (body.code === 'RATE_LIMITED') record(request, 'rate-limited', { reason: (error as { reason?: string }).reason ?? 'limit' })
  })
}

export default fp(audit, { name: 'audit', dependencies: ['store', 'observability', 'errors'] })
