// The contract's errors: one constructor per stable code, created with @fastify/error so
// every thrown error carries `statusCode` and `code` and the one error handler can answer
// {statusCode, error, message, code} without inspecting where it came from.
import createError from '@fastify/error'

export const UnauthorizedError = createError('UNAUTHORIZED', 'Missing or invalid credentials', 401)
export const ForbiddenError = createError('FORBIDDEN', 'This credential may not perform this action', 403)
export const NotFoundError = createError('NOT_FOUND', 'Not found', 404)
export const ConflictError = createError('CONFLICT', '%s', 409)
export const BadRequestError = createError('BAD_REQUEST', '%s', 400)
export const PromptRejectedError = createError('PROMPT_REJECTED', 'The input was rejected by the prompt firewall', 422)
export const RateLimitedError = createError('RATE_LIMITED', 'Rate limit exceeded, retry later', 429)
export const UnsafeOutputError = createError('UNSAFE_OUTPUT', 'The upstream answer was discarded by the output scanner', 502)
export const UpstreamError = createError('UPSTREAM_ERROR', 'The upstream service failed or answered in an unexpected form', 502)
export const UpstreamTimeoutError = createError('UPSTREAM_TIMEOUT', 'The upstream service did not answer in time', 504)
export const ProviderNotConfiguredError = createError('PROVIDER_NOT_CONFIGURED', 'This upstream provider is not configured', 503)
export const UpstreamRateLimitedError = createError('UPSTREAM_RATE_LIMITED', 'The upstream service is rate-limiting the gateway, retry later', 503)
export const BadSignatureError = createError('BAD_SIGNATURE', 'Missing or invalid webhook signature', 401)
export const OverloadedError = createError('OVERLOADED', 'The gateway is overloaded, retry later', 503)
export const ModelNotTrustedError = createError('MODEL_NOT_TRUSTED', 'This model is not allowed by the trust policy', 403)

/**
 * Attach the seconds a client should wait (Retry-After) to an error; the error handler
 * copies it to the header.
 */
export function withRetryAfter<E extends Error> (error: E, seconds: number): E & { retryAfterSeconds: number } {
  return Object.assign(error, { retryAfterSeconds: Math.max(1, Math.ceil(seconds)) })
}
