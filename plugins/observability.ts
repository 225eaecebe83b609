// Metrics: a Prometheus registry per app with request, upstream and security-event series.
import fp from 'fastify-plugin'
import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance } from 'fastify'

export interface Metrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  duration: Histogram<'route'>
  upstream: Histogram<'provider' | 'outcome'>
  securityEvents: Counter<'type'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/** Log redaction: credentials and secrets never reach a log line, whichever object carries them. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.apiKey',
  '*.token',
  '*.key',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]'
]

async function observability (fastify: FastifyInstance) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'microgate_http_requests_total', help: 'Requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    duration: new Histogram({ name: 'microgate_http_request_duration_seconds', help: 'Time to answer, by route', labelNames: ['route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    upstream: new Histogram({ name: 'microgate_upstream_duration_seconds', help: 'Upstream call time, by provider and outcome', labelNames: ['provider', 'outcome'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] }),
    securityEvents: new Counter({ name: 'microgate_security_events_total', help: 'Security events recorded, by type', labelNames: ['type'], registers: [registry] })
  }
  fastify.decorate('metrics', metrics)
  fastify.addHook('onResponse', (request, reply, done) => {
    // Unmatched URLs share one label so hostile paths cannot grow the series without bound.
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: request.method, route, status: reply.statusCode })
    metrics.duration.observe({ route }, reply.elapsedTime / 1000)
    done()
  })
}

export default fp(observability, { name: 'observability' })
