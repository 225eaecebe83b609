// OpenAPI 3 generated from the route schemas; the UI at /docs (off in production unless DOCS_ENABLED).
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

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
    hideUntagged: false
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
