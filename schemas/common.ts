// Shapes shared by every route: the contract's error body and pagination.
import { Type } from 'typebox'

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.String()
}, { $id: undefined, description: 'The contract error shape' })

/** Responses every protected route may send besides its success. */
export const ProtectedErrorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  429: ErrorSchema,
  500: ErrorSchema,
  503: ErrorSchema
}

export const PaginationQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' }))
}, { additionalProperties: false })

export const NextCursorSchema = Type.Union([Type.String(), Type.Null()])

/** OpenAPI security requirement of every protected route: a bearer JWT/key or X-API-Key. */
export const BEARER_OR_KEY: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }]
