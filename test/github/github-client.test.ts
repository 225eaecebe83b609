import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import {
  BadRequestError,
  NotFoundError,
  ProviderNotConfiguredError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError
} from '../../errors.ts'
import { createGitHubClient, rateLimitRetryAfter } from '../../providers/github.ts'
import type { GitHubClientOptions } from '../../providers/github.ts'
import { FakeGitHubMode, makeRepo, startFakeGitHub } from '../fakes/github.ts'
import type { FakeGitHub } from '../fakes/github.ts'

const TOKEN = 'ghp_FakeTokenForTests000000000000000000'
const REPO_KEYS = ['description', 'fullName', 'language', 'name', 'stars', 'updatedAt', 'url']

async function setup (t: TestContext, options: Partial<GitHubClientOptions> = {}) {
  const fake = await startFakeGitHub()
  const client = createGitHubClient({ apiUrl: fake.url, token: TOKEN, timeoutMs: 5_000, ...options })
  t.after(async () => {
    await fake.close()
    await client.close()
  })
  return { fake, client }
}

function seedOctocat (fake: FakeGitHub): void {
  fake.users.set('octocat', [
    makeRepo('octocat', 'Hello-World', { updated_at: '2024-01-02T03:04:05Z' }),
    makeRepo('octocat', 'Spoon-Knife', { description: null, language: null, stargazers_count: 0, updated_at: '2023-05-06T07:08:09Z' })
  ])
}

test('lists a user\'s repositories with only the contract\'s fields', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  const result = await client.listUserRepos('octocat', 1)
  assert.deepEqual(result, {
    username: 'octocat',
    repos: [
      {
        name: 'Hello-World',
        fullName: 'octocat/Hello-World',
        description: 'This your first repo!',
        url: 'https://github.com/octocat/Hello-World',
        stars: 80,
        language: 'TypeScript',
        updatedAt: '2024-01-02T03:04:05Z'
      },
      {
        name: 'Spoon-Knife',
        fullName: 'octocat/Spoon-Knife',
        description: null,
        url: 'https://github.com/octocat/Spoon-Knife',
        stars: 0,
        language: null,
        updatedAt: '2023-05-06T07:08:09Z'
      }
    ]
  })
})

test('sends GitHub\'s headers, the token and the documented query to the right path', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  await client.listUserRepos('Octocat', 3)
  assert.equal(fake.requests.length, 1)
  const [request] = fake.requests
  assert.equal(request.method, 'GET')
  assert.equal(request.path, '/users/Octocat/repos?per_page=30&page=3&sort=updated')
  assert.equal(request.headers.accept, 'application/vnd.github+json')
  assert.equal(request.headers['x-github-api-version'], '2022-11-28')
  assert.equal(request.headers['user-agent'], 'microgate')
  assert.equal(request.headers.authorization, `Bearer ${TOKEN}`)
  assert.equal(request.headers['if-none-match'], undefined)
})

test('keeps the API URL\'s path prefix (GitHub Enterprise form)', async (t) => {
  const fake = await startFakeGitHub()
  const client = createGitHubClient({ apiUrl: `${fake.url}/api/v3/`, token: TOKEN, timeoutMs: 5_000, userAgent: 'microgate-test' })
  t.after(async () => {
    await fake.close()
    await client.close()
  })
  await assert.rejects(client.listUserRepos('octocat', 1), NotFoundError)
  assert.equal(fake.requests[0].path, '/api/v3/users/octocat/repos?per_page=30&page=1&sort=updated')
  assert.equal(fake.requests[0].headers['user-agent'], 'microgate-test')
})

test('never sends a request for an invalid username or page', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  const names = ['../admin', '..', '%2e%2e', 'a--b', '-a', 'a-', 'x'.repeat(40), '', 'a b', 'octocat/../../orgs', 'octocat?x=1', 'octocat#', 'ü', 'octocat\n']
  for (const name of names) {
    await assert.rejects(client.listUserRepos(name, 1), BadRequestError, JSON.stringify(name))
  }
  for (const page of [0, -1, 101, 1.5, Number.NaN, Infinity]) {
    await assert.rejects(client.listUserRepos('octocat', page), BadRequestError, String(page))
  }
  assert.equal(fake.requests.length, 0)
})

test('answers PROVIDER_NOT_CONFIGURED without calling GitHub when no token is configured', async (t) => {
  for (const token of [undefined, '']) {
    const { fake, client } = await setup(t, { token })
    seedOctocat(fake)
    const error = await client.listUserRepos('octocat', 1).catch((e: unknown) => e)
    assert.ok(error instanceof ProviderNotConfiguredError)
    assert.equal(error.statusCode, 503)
    assert.equal(error.code, 'PROVIDER_NOT_CONFIGURED')
    assert.equal(fake.requests.length, 0)
  }
})

test('never lets an extra upstream field reach the output', async (t) => {
  const { fake, client } = await setup(t)
  const marker = 'EXTRA-FIELD-MARKER-7f3a'
  fake.users.set('leaky', [makeRepo('leaky', 'repo', {
    secret_scanning: { status: marker },
    permissions: { admin: true, push: true, pull: true, marker },
    private: true,
    token: marker,
    owner: { login: 'leaky', email: `${marker}@example.com` },
    constructor: marker,
    // An own `__proto__` key, as JSON.parse creates it from GitHub's bytes.
    ...JSON.parse(`{"__proto__": {"polluted": "${marker}"}}`)
  })])
  const result = await client.listUserRepos('leaky', 1)
  assert.deepEqual(Object.keys(result).sort(), ['repos', 'username'])
  assert.equal(result.repos.length, 1)
  assert.deepEqual(Object.keys(result.repos[0]).sort(), REPO_KEYS)
  assert.ok(!JSON.stringify(result).includes(marker))
  assert.equal(Object.getPrototypeOf(result.repos[0]), Object.prototype)
})

test('revalidates with If-None-Match and serves the cached body on 304', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  const first = await client.listUserRepos('octocat', 1)
  const etag = fake.requests[0].headers['if-none-match']
  assert.equal(etag, undefined)
  // What the cache serves is frozen: a caller cannot change what later calls get.
  assert.throws(() => { first.repos[0].description = 'mutated by a caller' }, TypeError)

  const second = await client.listUserRepos('OctoCat', 1)
  assert.equal(fake.requests.length, 2)
  assert.match(String(fake.requests[1].headers['if-none-match']), /^W\/"[0-9a-f]{64}"$/)
  assert.equal(fake.stats.ok, 1)
  assert.equal(fake.stats.notModified, 1)
  assert.equal(second.username, 'OctoCat')
  assert.equal(second.repos[0].description, 'This your first repo!')
  assert.equal(second.repos.length, 2)

  // Another page is another cache entry: no validator is sent for it.
  await client.listUserRepos('octocat', 2)
  assert.equal(fake.requests[2].headers['if-none-match'], undefined)
})

test('fetches the new body when the ETag no longer matches', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  await client.listUserRepos('octocat', 1)
  fake.users.get('octocat')?.push(makeRepo('octocat', 'new-repo', { updated_at: '2025-01-01T00:00:00Z' }))
  const result = await client.listUserRepos('octocat', 1)
  assert.equal(fake.stats.ok, 2)
  assert.equal(fake.stats.notModified, 0)
  assert.equal(result.repos[0].name, 'new-repo')
})

test('evicts the least recently used entry when the cache is full', async (t) => {
  const { fake, client } = await setup(t, { cacheSize: 1 })
  seedOctocat(fake)
  fake.users.set('mona', [makeRepo('mona', 'repo')])
  await client.listUserRepos('octocat', 1)
  await client.listUserRepos('mona', 1)
  await client.listUserRepos('octocat', 1)
  assert.equal(fake.requests[2].headers['if-none-match'], undefined)
  assert.equal(fake.stats.notModified, 0)
})

test('maps an unknown user to NotFoundError', async (t) => {
  const { fake, client } = await setup(t)
  const error = await client.listUserRepos('ghost-user', 1).catch((e: unknown) => e)
  assert.ok(error instanceof NotFoundError)
  assert.equal(error.statusCode, 404)
  assert.equal(fake.stats.notFound, 1)
})

test('maps a primary rate limit (403, remaining 0) to UPSTREAM_RATE_LIMITED with the reset delay', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  fake.mode = FakeGitHubMode.rateLimited403
  fake.retryAfterSeconds = 120
  const error = await client.listUserRepos('octocat', 1).catch((e: unknown) => e)
  assert.ok(error instanceof UpstreamRateLimitedError)
  assert.equal(error.statusCode, 503)
  const { retryAfterSeconds } = error as unknown as { retryAfterSeconds: number }
  // x-ratelimit-reset is whole epoch seconds, so allow the second boundary.
  assert.ok(retryAfterSeconds >= 119 && retryAfterSeconds <= 121, String(retryAfterSeconds))
})

test('maps a secondary rate limit (429, retry-after) to UPSTREAM_RATE_LIMITED with its delay', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  fake.mode = FakeGitHubMode.rateLimited429
  fake.retryAfterSeconds = 42
  const error = await client.listUserRepos('octocat', 1).catch((e: unknown) => e)
  assert.ok(error instanceof UpstreamRateLimitedError)
  assert.equal((error as unknown as { retryAfterSeconds: number }).retryAfterSeconds, 42)
})

test('bounds the rate-limit delay and reads every header form', () => {
  const now = Date.UTC(2025, 0, 1)
  const nowSeconds = now / 1000
  assert.equal(rateLimitRetryAfter(429, { 'retry-after': '0' }, now), 1)
  assert.equal(rateLimitRetryAfter(429, { 'retry-after': '999999' }, now), 3600)
  assert.equal(rateLimitRetryAfter(403, { 'retry-after': new Date(now + 90_000).toUTCString() }, now), 90)
  assert.equal(rateLimitRetryAfter(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds + 30) }, now), 30)
  assert.equal(rateLimitRetryAfter(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds - 30) }, now), 1)
  assert.equal(rateLimitRetryAfter(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'soon' }, now), 60)
  assert.equal(rateLimitRetryAfter(403, { 'x-ratelimit-remaining': '0' }, now), 60)
  assert.equal(rateLimitRetryAfter(403, { 'retry-after': 'garbage', 'x-ratelimit-reset': String(nowSeconds + 5) }, now), 5)
  assert.equal(rateLimitRetryAfter(403, { 'x-ratelimit-remaining': '12' }, now), undefined)
  assert.equal(rateLimitRetryAfter(403, {}, now), undefined)
  assert.equal(rateLimitRetryAfter(500, { 'retry-after': '10' }, now), undefined)
  assert.equal(rateLimitRetryAfter(429, { 'retry-after': ['7', '8'] }, now), 7)
})

test('maps a 403 that is not a rate limit, a 500, malformed JSON and a non-array to UPSTREAM_ERROR without the upstream body', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  for (const mode of [FakeGitHubMode.forbidden403, FakeGitHubMode.serverError, FakeGitHubMode.malformedJson, FakeGitHubMode.notArray]) {
    fake.mode = mode
    const error = await client.listUserRepos('octocat', 1).catch((e: unknown) => e)
    assert.ok(error instanceof UpstreamError, mode)
    assert.equal(error.statusCode, 502)
    assert.equal(error.code, 'UPSTREAM_ERROR')
    assert.ok(!error.message.includes('UPSTREAM-SECRET-DETAIL'), mode)
    assert.ok(!String((error as { cause?: Error }).cause?.message).includes('UPSTREAM-SECRET-DETAIL'), mode)
  }
})

test('rejects a page whose items are not repositories of the expected shape', async (t) => {
  const { fake, client } = await setup(t)
  const bad: Array<Record<string, unknown>> = [
    { name: 42 },
    { html_url: 'javascript:alert(1)' },
    { html_url: 'data:text/html,<script>alert(1)</script>' },
    { name: '<script>' },
    { full_name: 'octocat/../../x' },
    { stargazers_count: -1 },
    { stargazers_count: '80' },
    { updated_at: 'yesterday' },
    { updated_at: '2024-13-01T00:00:00Z' },
    { updated_at: '2024-01-01T00:00:00.123+02:00' },
    { description: { text: 'object' } }
  ]
  for (const [index, override] of bad.entries()) {
    const login = `bad${index}`
    fake.users.set(login, [makeRepo(login, 'fine'), makeRepo(login, 'broken', override)])
    await assert.rejects(client.listUserRepos(login, 1), UpstreamError, JSON.stringify(override))
  }
  const missing = makeRepo('missing', 'repo')
  delete missing.stargazers_count
  fake.users.set('missing', [missing])
  await assert.rejects(client.listUserRepos('missing', 1), UpstreamError)
})

test('maps a GitHub that never answers to UPSTREAM_TIMEOUT', async (t) => {
  const { fake, client } = await setup(t, { timeoutMs: 200 })
  seedOctocat(fake)
  fake.mode = FakeGitHubMode.hang
  const error = await client.listUserRepos('octocat', 1).catch((e: unknown) => e)
  assert.ok(error instanceof UpstreamTimeoutError, String(error))
  assert.equal(error.statusCode, 504)
})

test('passes on the caller\'s abort instead of reporting an upstream fault', async (t) => {
  const { fake, client } = await setup(t)
  seedOctocat(fake)
  fake.mode = FakeGitHubMode.hang
  const controller = new AbortController()
  const pending = client.listUserRepos('octocat', 1, controller.signal)
  controller.abort(new Error('client went away'))
  const error = await pending.catch((e: unknown) => e)
  assert.ok(error instanceof Error)
  assert.equal(error.message, 'client went away')
  assert.ok(!(error instanceof UpstreamError) && !(error instanceof UpstreamTimeoutError))
})

test('maps a refused connection to UPSTREAM_ERROR', async (t) => {
  const fake = await startFakeGitHub()
  const url = fake.url
  await fake.close()
  const client = createGitHubClient({ apiUrl: url, token: TOKEN, timeoutMs: 5_000 })
  t.after(() => client.close())
  await assert.rejects(client.listUserRepos('octocat', 1), UpstreamError)
})

test('sanitises and bounds descriptions and languages from GitHub', async (t) => {
  const { fake, client } = await setup(t)
  fake.users.set('tricky', [
    makeRepo('tricky', 'bidi', { description: 'Safe\u202e txt.exe\u202c\u200b tool\u0000\u001b[31m\nnext line', language: 'Type\u200bScript\u2066' }),
    makeRepo('tricky', 'long', { description: 'x'.repeat(10_000) }),
    makeRepo('tricky', 'emoji', { description: '😀'.repeat(1_000) }),
    makeRepo('tricky', 'invisible', { description: '\u200b\u200d\u202e' })
  ])
  const { repos } = await client.listUserRepos('tricky', 1)
  const byName = new Map(repos.map((repo) => [repo.name, repo]))
  assert.equal(byName.get('bidi')?.description, 'Safe txt.exe tool[31m next line')
  assert.equal(byName.get('bidi')?.language, 'TypeScript')
  assert.equal(byName.get('long')?.description, `${'x'.repeat(299)}…`)
  const emoji = byName.get('emoji')?.description ?? ''
  assert.equal([...emoji].length, 300)
  assert.ok(emoji.isWellFormed())
  assert.equal(byName.get('invisible')?.description, null)
})

test('rejects bad configuration at construction with a message naming the setting', () => {
  const base = { apiUrl: 'https://api.github.com', token: TOKEN, timeoutMs: 1_000 }
  assert.throws(() => createGitHubClient({ ...base, apiUrl: 'not a url' }), /GITHUB_API_URL/)
  assert.throws(() => createGitHubClient({ ...base, apiUrl: 'ftp://api.github.com' }), /GITHUB_API_URL/)
  assert.throws(() => createGitHubClient({ ...base, apiUrl: 'https://user:pass@api.github.com' }), /GITHUB_API_URL/)
  assert.throws(() => createGitHubClient({ ...base, token: 'ghp_abc\r\nX-Injected: 1' }), /GITHUB_TOKEN/)
  assert.throws(() => createGitHubClient({ ...base, timeoutMs: 0 }), /UPSTREAM_TIMEOUT_MS/)
  assert.throws(() => createGitHubClient({ ...base, cacheSize: -1 }), /cacheSize/)
  assert.throws(() => createGitHubClient({ ...base, userAgent: 'bad\nagent' }), /userAgent/)
})
