// Raw-body HMAC: routes that opt in (config.rawBody) keep the exact bytes, verified before parsing.
import fp from 'fastify-plugin'
import sjson from 'secure-json-parse'
import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from 'fastify'
import { BadRequestError, BadSignatureError } from '../errors.ts'
import { parseWebhookSecrets, verifyWebhookSignature } from '../security/github.ts'

/** GitHub caps webhook payloads at 25 MB; a larger body is refused while it streams in. */
export const WEBHOOK_BODY_LIMIT_BYTES = 25 * 1024 * 1024

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'github': the body is kept as bytes, X-Hub-Signature-256 is verified, then the JSON is parsed. */
    rawBody?: 'github'
  }
  interface FastifyRequest {
    /** The exact bytes of a raw-body route's body (after verification). */
    rawBody?: Buffer
  }
  interface FastifyInstance {
    /** Registers the raw JSON parser in the calling (encapsulated) context only: call it inside the route's own plugin. */
    useRawJsonBody: (context: FastifyInstance) => void
  }
}

async function rawBodyHmac (fastify: FastifyInstance) {
  const secrets = parseWebhookSecrets(fastify.config.GITHUB_WEBHOOK_SECRET)

  fastify.decorate('useRawJsonBody', (context: FastifyInstance) => {
    // Only this context parses JSON as bytes: every other route keeps Fastify's safe JSON parser.
    context.removeContentTypeParser('application/json')
    context.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES }, (_request, body, done) => {
      done(null, body)
    })
  })

  const verifyGitHub: preValidationAsyncHookHandler = async (request: FastifyRequest) => {
    const raw = request.body
    const signature = request.headers['x-hub-signature-256']
    // No secret configured: nothing can be verified, so nothing is accepted.
    const ok = secrets.length > 0 && Buffer.isBuffer(raw) && await verifyWebhookSignature(secrets, raw, typeof signature === 'string' ? signature : undefined)
    if (!ok) {
      const reason = secrets.length === 0
        ? 'no-secret-configured'
        : signature === undefined ? (request.headers['x-hub-signature'] !== undefined ? 'sha1-only' : 'missing') : 'mismatch'
      fastify.audit(request, 'bad-signature', { reason })
      throw new BadSignatureError()
    }
    request.rawBody = raw as Buffer
    try {
      // Parsed only after the signature holds; prototype poisoning is refused, not stripped.
      request.body = sjson.parse((raw as Buffer).toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' })
    } catch {
      throw new BadRequestError('Body is not valid JSON')
    }
  }

  fastify.addHook('onRoute', (route) => {
    if (route.config?.rawBody !== 'github') return
    const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation]
    route.preValidation = [verifyGitHub, ...existing]
  })
}

export default fp(rawBodyHmac, { name: 'raw-body-hmac', dependencies: ['env', 'audit'] })
