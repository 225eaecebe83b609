// One error handler and one 404 handler: the contract's JSON with stable codes, detail only in the log.
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export interface ErrorBody { statusCode: number, error: string, message: string, code: string }

// Codes whose messages we wrote ourselves (errors.ts, Fastify's fixed texts): safe to return.
// Any other error's message may carry request data, paths or upstream text, so it is replaced.
const OWN_CODES = new Set([
  'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'BAD_REQUEST', 'PROMPT_REJECTED', 'RATE_LIMITED',
  'UNSAFE_OUTPUT', 'UPSTREAM_ERROR', 'UPSTREAM_TIMEOUT', 'PROVIDER_NOT_CONFIGURED', 'UPSTREAM_RATE_LIMITED',
  'BAD_SIGNATURE', 'OVERLOADED', 'MODEL_NOT_TRUSTED', 'INVALID_PROVIDER_KEY', 'VAULT_ERROR'
])
const FIXED_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported media type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Request body size did not match Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Body cannot be empty when content-type is set to application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'Body is not valid JSON',
  FST_ERR_CTP_MISSING_CONTENT_TYPE: 'Missing content type',
  FST_ERR_ASYNC_CONSTRAINT: 'Bad request',
  FST_ERR_BAD_URL: 'Bad request URL',
  FST_ERR_INVALID_URL: 'Bad request URL',
  FST_ERR_CTP_INVALID_TYPE: 'Unsupported media type'
}

// File paths (and the line numbers after them) are dropped from logged messages; stacks are never logged.
const PATH_LIKE = /(?:file:\/\/)?(?:\/[\w.@-]+){2,}(?::\d+)*/g
const MAX_LOGGED_MESSAGE = 300

/** What the log keeps of an unexpected error: its kind and a bounded message without paths, never the stack. */
export function loggableError (error: { name?: string, code?: unknown, message?: string }): { type: string, code: string | undefined, message: string } {
  const message = String(error.message ?? '').replace(PATH_LIKE, '[path]').slice(0, MAX_LOGGED_MESSAGE)
  return { type: String(error.name ?? 'Error'), code: typeof error.code === 'string' ? error.code : undefined, message }
}

/** Builds the contract's error body for any thrown value, never exposing foreign messages. */
export function toErrorBody (error: FastifyError): ErrorBody {
  let statusCode = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  let code: string
  let message: string
  if (error.validation) {
    statusCode = 400
    code = 'FST_ERR_VALIDATION'
    // ajv's messages name the field and the rule, never the submitted value.
    message = error.message
  } else if (error.code === 'CLIENT_ABORTED' || error.name === 'AbortError') {
    // The client went away mid-call: nobody reads this answer; it is logged, not an error.
    statusCode = 400
    code = 'CLIENT_ABORTED'
    message = 'The request was aborted by the client'
  } else if (OWN_CODES.has(error.code)) {
    code = error.code
    message = error.message
  } else if (error.code !== undefined && Object.hasOwn(FIXED_MESSAGES, error.code)) {
    code = error.code
    message = FIXED_MESSAGES[error.code]
  } else if (error instanceof SyntaxError && statusCode === 400) {
    code = 'FST_ERR_CTP_INVALID_JSON_BODY'
    message = FIXED_MESSAGES.FST_ERR_CTP_INVALID_JSON_BODY
  } else if (statusCode < 500) {
    code = typeof error.code === 'string' && /^[A-Z][A-Z0-9_]{2,63}$/.test(error.code) ? error.code : 'BAD_REQUEST'
    message = STATUS_CODES[statusCode] ?? 'Bad request'
  } else {
    statusCode = 500
    code = 'INTERNAL_ERROR'
    message = 'An internal error occurred'
  }
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, code }
}

export const NOT_FOUND_BODY: ErrorBody = Object.freeze({ statusCode: 404, error: 'Not Found', message: 'Not found', code: 'NOT_FOUND' })

declare module 'fastify' {
  interface FastifyInstance {
    /** Called for every error answer with its body, so audit/metrics can record it without owning the handler. */
    onErrorAnswer: Array<(request: FastifyRequest, body: ErrorBody, error: FastifyError) => void>
  }
}

async function errors (fastify: FastifyInstance) {
  fastify.decorate('onErrorAnswer', [])
  fastify.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const body = toErrorBody(error)
    if (body.statusCode >= 500 && body.code === 'INTERNAL_ERROR') {
      request.log.error({ error: loggableError(error) }, 'unhandled error')
    } else {
      request.log.info({ code: body.code, statusCode: body.statusCode, detail: error.message }, 'request failed')
    }
    const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
    for (const listener of fastify.onErrorAnswer) listener(request, body, error)
    // Errors may arrive after a route set its own content type (e.g. raw bodies): force JSON.
    reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
  })
  // The 404 answer never echoes the URL: scanners would report it as reflected input.
  fastify.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/json; charset=utf-8').send(NOT_FOUND_BODY)
  })
}

export default fp(errors, { name: 'errors' })
