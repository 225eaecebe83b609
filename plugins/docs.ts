// OpenAPI 3 generated from the route schemas; the UI at /docs (off in production unless DOCS_ENABLED).
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * A field with a default may be omitted (the validator fills it in), but TypeBox lists it as
 * required; the document says what clients may really send. Returns a copy, never mutating the
 * schema the validator uses.
 */
export function optionalDefaults (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(optionalDefaults)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) out[key] = optionalDefaults(value)
  const properties = out.properties as Record<string, { default?: unknown }> | undefined
  if (Array.isArray(out.required) && properties !== undefined) {
    const required = (out.required as string[]).filter((name) => properties[name]?.default === undefined)
    if (required.length > 0) out.required = required
    else delete out.required
  }
  return out
}

async function docs (fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'microgate',
        description: 'Security-first API microgateway: authenticated, rate-limited, scanned access to LLM, Hugging Face, Kubernetes and GitHub upstreams.',
        version: '0.1.0',
        license: { name: 'MIT' }
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A JWT from POST /auth/login or a gw_ API key' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }
        }
      }
    },
    hideUntagged: false,
    transform: ({ schema, url }) => ({ schema: optionalDefaults(schema) as typeof schema, url })
  })
  const enabled = fastify.config.NODE_ENV !== 'production' || fastify.config.DOCS_ENABLED
  if (!enabled) return
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    // The UI's own script and style are served from /docs/static with hashes in its CSP: no inline code.
    staticCSP: true,
    // The UI is never framed and loads nothing from third parties (no online validator).
    transformStaticCSP: (header: string) => header.replace("frame-ancestors 'self'", "frame-ancestors 'none'").replace(' validator.swagger.io', ''),
    uiConfig: { docExpansion: 'list', deepLinking: false, validatorUrl: null }
  })
}

export default fp(docs, { name: 'docs', dependencies: ['env'] })
