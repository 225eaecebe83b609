// buildApp: Fastify with hardened server options, the plugins in declared order, then the routes.
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import autoload from '@fastify/autoload'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import envPlugin, { ConfigError, loadConfig } from './plugins/env.ts'
import observability, { REDACT_PATHS } from './plugins/observability.ts'
import errors from './plugins/errors.ts'
import securityHeaders from './plugins/security-headers.ts'
import outputEncoding from './plugins/output-encoding.ts'
import store from './plugins/store.ts'
import audit from './plugins/audit.ts'
import auth from './plugins/auth.ts'
import rateLimits from './plugins/rate-limit.ts'
import pressure from './plugins/under-pressure.ts'
import docs from './plugins/docs.ts'
import providerKeys from './plugins/provider-keys.ts'
import rawBodyHmac from './plugins/raw-body-hmac.ts'
import providers from './plugins/providers.ts'
import webhooks from './plugins/webhooks.ts'
import promptFirewall from './plugins/prompt-firewall.ts'
import outputScanner from './plugins/output-scanner.ts'
import llmGuard from './plugins/llm-guard.ts'
import hfGuard from './plugins/hf-guard.ts'
import dashboard from './plugins/dashboard.ts'
import type { Env } from './schemas/env.ts'

export interface BuildOptions {
  /** Raw variables to validate (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** pino options, `false` to silence, or a destination stream for tests. */
  logger?: FastifyServerOptions['logger']
  loggerStream?: NodeJS.WritableStream
}

const HEADERS_TIMEOUT_MS = 10_000

/**
 * TLS 1.2+ with forward-secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305):
 * Node's defaults still accept CBC and RSA key exchange. TLS 1.3 suites are all AEAD and FS.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'
].join(':')

export function tlsOptions (config: Env): { key: Buffer, cert: Buffer, minVersion: 'TLSv1.2', ciphers: string, honorCipherOrder: true } | null {
  if (config.TLS_CERT_FILE === undefined && config.TLS_KEY_FILE === undefined) return null
  if (config.TLS_CERT_FILE === undefined || config.TLS_KEY_FILE === undefined) throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE must be set together')
  try {
    return { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true }
  } catch {
    throw new ConfigError('TLS_CERT_FILE or TLS_KEY_FILE cannot be read')
  }
}
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

/** Fastify's TRUST_PROXY value: false by default so X-Forwarded-For cannot choose a client's address. */
export function trustProxyValue (value: string): boolean | number | string[] {
  if (value === 'false' || value === '') return false
  if (value === 'true') return true
  if (/^[0-9]{1,2}$/.test(value)) return Number(value)
  return value.split(',').map((s) => s.trim()).filter(Boolean)
}

export function serverOptions (config: Env, options: BuildOptions): FastifyServerOptions {
  const logger = options.logger ?? {
    level: config.LOG_LEVEL,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(options.loggerStream ? { stream: options.loggerStream } : {})
  }
  const options_: FastifyServerOptions & { http: object } = {
    // Node's own headers timeout bounds a client dripping header bytes (slowloris); the check runs
    // every 2 s instead of Node's default 30 s so the bound is actually enforced.
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 2000 },
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients are cut off: idle sockets after 10 s, whole requests (headers + body) after 30 s.
    connectionTimeout: 60_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    trustProxy: trustProxyValue(config.TRUST_PROXY) as FastifyServerOptions['trustProxy'],
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    requestIdHeader: false,
    // An incoming X-Request-Id is kept only when it is a plain token; anything else gets a fresh id.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    routerOptions: { maxParamLength: 200 },
    ajv: {
      customOptions: {
        // Unknown fields are an error (additionalProperties: false), not silently dropped.
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false
      }
    }
  }
  const tls = tlsOptions(config)
  return tls === null ? options_ : { ...options_, https: tls } as FastifyServerOptions & { http: object }
}

export async function buildApp (options: BuildOptions = {}): Promise<FastifyInstance> {
  const raw = options.env ?? process.env
  const config = loadConfig(raw)
  const fastify = Fastify(serverOptions(config, options)).withTypeProvider<TypeBoxTypeProvider>()

  await fastify.register(envPlugin, { env: raw })
  await fastify.register(observability)
  await fastify.register(errors)
  await fastify.register(securityHeaders)
  await fastify.register(outputEncoding)
  await fastify.register(store)
  await fastify.register(audit)
  await fastify.register(auth)
  await fastify.register(rateLimits)
  await fastify.register(pressure)
  await fastify.register(docs)
  await fastify.register(rawBodyHmac)
  await fastify.register(providers)
  await fastify.register(providerKeys)
  await fastify.register(webhooks)
  await fastify.register(promptFirewall)
  await fastify.register(outputScanner)
  await fastify.register(llmGuard)
  await fastify.register(hfGuard)
  await fastify.register(dashboard)
  await fastify.register(autoload, {
    dir: join(import.meta.dirname, 'routes'),
    // Route folders are URL prefixes (routes/openai → /openai); hooks for one folder live in autohooks.ts.
    autoHooks: true,
    cascadeHooks: true,
    ignorePattern: /(^|\/)_|\.test\.ts$/
  })
  return fastify
}
