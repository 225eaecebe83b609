// Identity and access: login, users, API keys, security events.
import { Type } from 'typebox'
import { EMAIL } from './env.ts'
import { NextCursorSchema } from './common.ts'

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('user'), Type.Literal('admin')])

export const LoginBodySchema = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254, pattern: EMAIL }),
  password: Type.String({ minLength: 1, maxLength: 256 })
}, { additionalProperties: false })
export const LoginResponseSchema = Type.Object({ token: Type.String(), expiresIn: Type.Integer({ description: 'seconds' }) })

export const UserSchema = Type.Object({ id: Type.String(), email: Type.String(), role: RoleSchema })
export const UserListSchema = Type.Object({ users: Type.Array(UserSchema), next: NextCursorSchema })
export const CreateUserBodySchema = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254, pattern: EMAIL }),
  password: Type.String({ minLength: 12, maxLength: 256 }),
  role: RoleSchema
}, { additionalProperties: false })

export const CreateKeyBodySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\p{L}\\p{N} ._:/@-]+$' }),
  expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 }))
}, { additionalProperties: false })
export const CreatedKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  key: Type.String({ description: 'shown once: only its SHA-256 is stored' }),
  prefix: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()])
})
export const KeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()])
})
export const KeyListSchema = Type.Object({ keys: Type.Array(KeySchema), next: NextCursorSchema })
// Any plain token: an id that is not a key's answers 404 like an unknown one, not 400.
export const KeyIdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false })

export const SecurityEventSchema = Type.Object({
  id: Type.Integer(),
  type: Type.String(),
  at: Type.String(),
  method: Type.Union([Type.String(), Type.Null()]),
  route: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  principal: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])
})
export const SecurityEventsQuerySchema = Type.Object({
  type: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9-]+$' })),
  since: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.String({ format: 'date' })], { description: 'ISO 8601 date-time or date' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' }))
}, { additionalProperties: false })
export const SecurityEventListSchema = Type.Object({ events: Type.Array(SecurityEventSchema), next: NextCursorSchema })
