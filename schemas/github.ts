// TypeBox schemas for the GitHub routes (repos listing, signed webhooks, event log) and the webhook summary.
import { Type } from 'typebox'
import type { Static, TSchema } from 'typebox'
import {
  DESCRIPTION_MAX_LENGTH,
  GITHUB_DELIVERY_ID_PATTERN,
  GITHUB_FULL_NAME_PATTERN,
  GITHUB_REPO_NAME_PATTERN,
  GITHUB_USERNAME_PATTERN,
  sanitizeDescription
} from '../security/github.ts'

// GitHub event and action names are lowercase words joined by underscores.
const EVENT_NAME_PATTERN = '^[a-z_]{1,64}$'
// Bounds for the text kept in an event summary; GitHub's own limits are lower
// (a login is 39 characters, a full repository name 140).
const ACTION_MAX_LENGTH = 64
const REPOSITORY_MAX_LENGTH = 200
const SENDER_MAX_LENGTH = 100

const NullableString = (options: { maxLength: number }) => Type.Union([Type.String(options), Type.Null()])

/** One repository as the gateway returns it: only these fields ever leave it. */
export const GitHubRepoSchema = Type.Object({
  name: Type.String({ pattern: GITHUB_REPO_NAME_PATTERN }),
  fullName: Type.String({ pattern: GITHUB_FULL_NAME_PATTERN }),
  description: NullableString({ maxLength: DESCRIPTION_MAX_LENGTH }),
  url: Type.String({ format: 'uri', maxLength: 2048 }),
  stars: Type.Integer({ minimum: 0 }),
  language: NullableString({ maxLength: 100 }),
  updatedAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })
export type GitHubRepo = Static<typeof GitHubRepoSchema>

export const UserReposResponseSchema = Type.Object({
  username: Type.String({ pattern: GITHUB_USERNAME_PATTERN }),
  repos: Type.Array(GitHubRepoSchema)
}, { additionalProperties: false })
export type UserReposResponse = Static<typeof UserReposResponseSchema>

export const UserReposParamsSchema = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 39, pattern: GITHUB_USERNAME_PATTERN })
}, { additionalProperties: false })
export type UserReposParams = Static<typeof UserReposParamsSchema>

// 100 pages of 30 cover 3,000 repositories; the bound also caps the cache keys and upstream
// calls one username can cause.
export const UserReposQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 }))
}, { additionalProperties: false })
export type UserReposQuery = Static<typeof UserReposQuerySchema>

/**
 * Headers a webhook delivery must carry (Node lowercases header names). The signature header
 * is deliberately unconstrained here: a missing or malformed signature must answer 401
 * BAD_SIGNATURE from the HMAC check, not 400 from schema validation.
 */
export const WebhookHeadersSchema = Type.Object({
  'x-github-event': Type.String({ pattern: EVENT_NAME_PATTERN }),
  'x-github-delivery': Type.String({ pattern: GITHUB_DELIVERY_ID_PATTERN }),
  'x-hub-signature-256': Type.Optional(Type.String())
})
export type WebhookHeaders = Static<typeof WebhookHeadersSchema>

// Payload parts the summary reads. Objects stay open (no additionalProperties: false) because
// GitHub adds fields to its payloads without notice.
const RepositoryRefSchema = Type.Object({ full_name: Type.String({ minLength: 1, maxLength: REPOSITORY_MAX_LENGTH }) })
// Not the username pattern: app senders are logins such as `dependabot[bot]`.
const SenderRefSchema = Type.Object({ login: Type.String({ minLength: 1, maxLength: SENDER_MAX_LENGTH }) })
const ActionSchema = Type.String({ pattern: EVENT_NAME_PATTERN })

/** Per event type, what a payload must contain for the gateway to accept and summarise it. */
export const WebhookPayloadSchemas = {
  // Org and app hooks send ping without a repository (and app hooks without a sender).
  ping: Type.Object({
    zen: Type.String(),
    hook_id: Type.Integer(),
    hook: Type.Optional(Type.Object({})),
    repository: Type.Optional(RepositoryRefSchema),
    sender: Type.Optional(SenderRefSchema)
  }),
  push: Type.Object({
    ref: Type.String(),
    before: Type.String(),
    after: Type.String(),
    repository: RepositoryRefSchema,
    sender: SenderRefSchema
  }),
  pull_request: Type.Object({
    action: ActionSchema,
    number: Type.Integer({ minimum: 1 }),
    pull_request: Type.Object({ number: Type.Integer({ minimum: 1 }) }),
    repository: RepositoryRefSchema,
    sender: SenderRefSchema
  }),
  issues: Type.Object({
    action: ActionSchema,
    issue: Type.Object({ number: Type.Integer({ minimum: 1 }) }),
    repository: RepositoryRefSchema,
    sender: SenderRefSchema
  }),
  release: Type.Object({
    action: ActionSchema,
    release: Type.Object({ tag_name: Type.String() }),
    repository: RepositoryRefSchema,
    sender: SenderRefSchema
  })
} as const
export type WebhookEventName = keyof typeof WebhookPayloadSchemas

/**
 * The payload schema for an event type, or undefined. Uses an own-property check so that
 * header values such as `constructor` or `__proto__` never resolve to something inherited.
 */
export function getWebhookPayloadSchema (event: string): TSchema | undefined {
  return Object.hasOwn(WebhookPayloadSchemas, event) ? WebhookPayloadSchemas[event as WebhookEventName] : undefined
}

/** What is kept of a processed delivery (the store adds receivedAt). */
export const GitHubEventSummarySchema = Type.Object({
  deliveryId: Type.String({ pattern: GITHUB_DELIVERY_ID_PATTERN }),
  event: Type.String({ pattern: EVENT_NAME_PATTERN }),
  action: NullableString({ maxLength: ACTION_MAX_LENGTH }),
  repository: NullableString({ maxLength: REPOSITORY_MAX_LENGTH }),
  sender: NullableString({ maxLength: SENDER_MAX_LENGTH })
}, { additionalProperties: false })
export type GitHubEventSummary = Static<typeof GitHubEventSummarySchema>

export const GitHubEventSchema = Type.Object({
  ...GitHubEventSummarySchema.properties,
  receivedAt: Type.String({ format: 'date-time' })
}, { additionalProperties: false })
export type GitHubEvent = Static<typeof GitHubEventSchema>

export const GitHubEventsQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 256 }))
}, { additionalProperties: false })
export type GitHubEventsQuery = Static<typeof GitHubEventsQuerySchema>

export const GitHubEventsResponseSchema = Type.Object({
  events: Type.Array(GitHubEventSchema),
  next: NullableString({ maxLength: 256 })
}, { additionalProperties: false })
export type GitHubEventsResponse = Static<typeof GitHubEventsResponseSchema>

export const WebhookAcceptedSchema = Type.Object({ accepted: Type.Literal(true) }, { additionalProperties: false })
export const WebhookDuplicateSchema = Type.Object({ duplicate: Type.Literal(true) }, { additionalProperties: false })

function field (value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined
}

function text (value: unknown, maxLength: number): string | null {
  return typeof value === 'string' ? sanitizeDescription(value, maxLength) : null
}

/**
 * Reduce a verified delivery to what the event log keeps: event, action, repository full
 * name and sender login. Pure; tolerates any payload shape (missing parts become null) and
 * bounds and cleans every string, since the log is shown back to users.
 */
export function summarizeWebhook (event: string, deliveryId: string, payload: unknown): GitHubEventSummary {
  return {
    deliveryId,
    event,
    action: text(field(payload, 'action'), ACTION_MAX_LENGTH),
    repository: text(field(field(payload, 'repository'), 'full_name'), REPOSITORY_MAX_LENGTH),
    sender: text(field(field(payload, 'sender'), 'login'), SENDER_MAX_LENGTH)
  }
}
