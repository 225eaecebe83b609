import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Compile } from 'typebox/compile'
import {
  GitHubEventSchema,
  GitHubEventsQuerySchema,
  GitHubEventsResponseSchema,
  GitHubRepoSchema,
  UserReposParamsSchema,
  UserReposQuerySchema,
  UserReposResponseSchema,
  WebhookAcceptedSchema,
  WebhookDuplicateSchema,
  WebhookHeadersSchema,
  WebhookPayloadSchemas,
  getWebhookPayloadSchema,
  summarizeWebhook
} from '../../schemas/github.ts'

const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958'
const repository = { id: 1296269, full_name: 'octocat/Hello-World', private: false, owner: { login: 'octocat' } }
const sender = { login: 'octocat', id: 1, type: 'User', site_admin: false }

// Trimmed but real-shaped payloads: GitHub's fields the summary needs plus some it adds.
const PAYLOADS = {
  ping: { zen: 'Keep it logically awesome.', hook_id: 12345678, hook: { type: 'Repository', id: 12345678, events: ['push'], config: { content_type: 'json' } }, repository, sender },
  push: { ref: 'refs/heads/main', before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', after: '0000000000000000000000000000000000000000', created: false, deleted: true, forced: false, commits: [], pusher: { name: 'octocat' }, repository, sender },
  pull_request: { action: 'opened', number: 2, pull_request: { number: 2, title: 'Update the README', state: 'open' }, repository, sender },
  issues: { action: 'edited', issue: { number: 1, title: 'Spelling error', labels: [] }, changes: {}, repository, sender },
  release: { action: 'published', release: { tag_name: 'v0.0.1', name: null, draft: false }, repository, sender }
} as const

test('accepts real-shaped payloads for every event type, extra fields included', () => {
  for (const [event, payload] of Object.entries(PAYLOADS)) {
    const schema = getWebhookPayloadSchema(event)
    assert.ok(schema !== undefined, event)
    assert.equal(Compile(schema).Check({ ...payload, installation: { id: 1 }, brand_new_field: true }), true, event)
  }
  assert.deepEqual(Object.keys(WebhookPayloadSchemas).sort(), Object.keys(PAYLOADS).sort())
})

test('accepts an organisation ping without a repository', () => {
  assert.equal(Compile(WebhookPayloadSchemas.ping).Check({ zen: 'Practicality beats purity.', hook_id: 1, organization: { login: 'github' }, sender }), true)
  assert.equal(Compile(WebhookPayloadSchemas.ping).Check({ zen: 'x' }), false)
})

test('rejects payloads missing what GitHub always sends', () => {
  const cases: Array<[keyof typeof PAYLOADS, Record<string, unknown>]> = [
    ['push', { ...PAYLOADS.push, repository: undefined }],
    ['push', { ...PAYLOADS.push, sender: { id: 1 } }],
    ['pull_request', { ...PAYLOADS.pull_request, action: undefined }],
    ['pull_request', { ...PAYLOADS.pull_request, action: 'Opened <script>' }],
    ['issues', { ...PAYLOADS.issues, repository: { full_name: 42 } }],
    ['issues', { ...PAYLOADS.issues, issue: { number: '1' } }],
    ['release', { ...PAYLOADS.release, release: {} }],
    ['ping', { ...PAYLOADS.ping, hook_id: 'one' }],
    ['push', { ...PAYLOADS.push, sender: { login: 'x'.repeat(101) } }]
  ]
  for (const [event, payload] of cases) {
    const clean = JSON.parse(JSON.stringify(payload))
    assert.equal(Compile(WebhookPayloadSchemas[event]).Check(clean), false, `${event} ${JSON.stringify(payload).slice(0, 80)}`)
  }
})

test('finds no payload schema for unknown or inherited event names', () => {
  for (const event of ['workflow_run', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '']) {
    assert.equal(getWebhookPayloadSchema(event), undefined, event)
  }
})

test('summarises each event type', () => {
  assert.deepEqual(summarizeWebhook('push', DELIVERY, PAYLOADS.push), {
    deliveryId: DELIVERY, event: 'push', action: null, repository: 'octocat/Hello-World', sender: 'octocat'
  })
  assert.deepEqual(summarizeWebhook('pull_request', DELIVERY, PAYLOADS.pull_request), {
    deliveryId: DELIVERY, event: 'pull_request', action: 'opened', repository: 'octocat/Hello-World', sender: 'octocat'
  })
  assert.deepEqual(summarizeWebhook('ping', DELIVERY, { zen: 'z', hook_id: 1 }), {
    deliveryId: DELIVERY, event: 'ping', action: null, repository: null, sender: null
  })
  assert.equal(summarizeWebhook('release', DELIVERY, PAYLOADS.release).action, 'published')
  assert.equal(summarizeWebhook('issues', DELIVERY, PAYLOADS.issues).action, 'edited')
})

test('summarises hostile or malformed payloads without throwing', () => {
  for (const payload of [null, undefined, 42, 'string', [], [1, 2], { repository: 'flat' }, { repository: [{ full_name: 'x/y' }] }, { sender: { login: 42 } }]) {
    const summary = summarizeWebhook('push', DELIVERY, payload)
    assert.deepEqual(summary, { deliveryId: DELIVERY, event: 'push', action: null, repository: null, sender: null }, JSON.stringify(payload))
  }
  const inherited = Object.create({ action: 'inherited', repository: { full_name: 'a/b' } })
  assert.equal(summarizeWebhook('push', DELIVERY, inherited).action, null)
  assert.equal(summarizeWebhook('push', DELIVERY, inherited).repository, null)

  const hostile = summarizeWebhook('issues', DELIVERY, {
    action: 'opened\u202e\u0000',
    repository: { full_name: `octocat/${'x'.repeat(1000)}` },
    sender: { login: 'evil\u200b[bot]\n' }
  })
  assert.equal(hostile.action, 'opened')
  assert.equal([...(hostile.repository ?? '')].length, 200)
  assert.equal(hostile.sender, 'evil[bot]')
  assert.equal(Compile(GitHubEventSchema).Check({ ...hostile, receivedAt: '2025-01-01T00:00:00.000Z' }), true)
})

test('validates repos params and page query', () => {
  const params = Compile(UserReposParamsSchema)
  assert.equal(params.Check({ username: 'octocat' }), true)
  for (const username of ['../admin', 'a--b', '-a', 'a-', 'x'.repeat(40), '%2e%2e', '', 'ü', 'a b']) {
    assert.equal(params.Check({ username }), false, username)
  }
  assert.equal(params.Check({ username: 'octocat', extra: 1 }), false)

  const query = Compile(UserReposQuerySchema)
  assert.equal(query.Check({}), true)
  assert.equal(query.Check({ page: 1 }), true)
  assert.equal(query.Check({ page: 100 }), true)
  for (const page of [0, 101, 1.5, -1, '2']) {
    assert.equal(query.Check({ page }), false, String(page))
  }
  assert.equal(query.Check({ page: 1, per_page: 100 }), false)
  assert.equal((UserReposQuerySchema.properties.page as { default?: unknown }).default, 1)
})

test('validates webhook headers, leaving the signature to the HMAC check', () => {
  const headers = Compile(WebhookHeadersSchema)
  const base = { 'x-github-event': 'push', 'x-github-delivery': DELIVERY, 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/abc' }
  assert.equal(headers.Check(base), true)
  assert.equal(headers.Check({ ...base, 'x-hub-signature-256': 'anything, checked later' }), true)
  assert.equal(headers.Check({ ...base, 'x-github-delivery': 'not-a-guid' }), false)
  assert.equal(headers.Check({ ...base, 'x-github-event': 'Push!' }), false)
  assert.equal(headers.Check({ 'x-github-delivery': DELIVERY }), false)
})

test('response schemas describe exactly the contract\'s shapes', () => {
  const repo = { name: 'Hello-World', fullName: 'octocat/Hello-World', description: null, url: 'https://github.com/octocat/Hello-World', stars: 80, language: null, updatedAt: '2011-01-26T19:14:43Z' }
  assert.equal(Compile(GitHubRepoSchema).Check(repo), true)
  assert.equal(Compile(GitHubRepoSchema).Check({ ...repo, private: true }), false)
  assert.equal(Compile(UserReposResponseSchema).Check({ username: 'octocat', repos: [repo] }), true)
  const event = { deliveryId: DELIVERY, event: 'push', action: null, repository: 'octocat/Hello-World', sender: 'octocat', receivedAt: '2025-01-01T00:00:00.000Z' }
  assert.equal(Compile(GitHubEventsResponseSchema).Check({ events: [event], next: null }), true)
  assert.equal(Compile(GitHubEventsResponseSchema).Check({ events: [event], next: 'cursor' }), true)
  assert.equal(Compile(GitHubEventsResponseSchema).Check({ events: [{ ...event, payload: {} }], next: null }), false)
  assert.equal(Compile(GitHubEventsQuerySchema).Check({ limit: 101 }), false)
  assert.equal(Compile(WebhookAcceptedSchema).Check({ accepted: true }), true)
  assert.equal(Compile(WebhookAcceptedSchema).Check({ accepted: false }), false)
  assert.equal(Compile(WebhookDuplicateSchema).Check({ duplicate: true }), true)
})
