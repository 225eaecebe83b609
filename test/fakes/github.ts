// A fake GitHub REST API on 127.0.0.1 speaking the real wire format (repo JSON, ETag/304, rate-limit headers), plus a webhook signer.
import { createHash, createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the fake answers to a repos listing. */
export const FakeGitHubMode = {
  normal: 'normal',
  rateLimited403: 'rate-limited-403',
  rateLimited429: 'rate-limited-429',
  forbidden403: 'forbidden-403',
  serverError: 'server-error',
  malformedJson: 'malformed-json',
  notArray: 'not-array',
  hang: 'hang'
} as const
export type FakeGitHubModeName = typeof FakeGitHubMode[keyof typeof FakeGitHubMode]

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

export interface FakeGitHub {
  /** Base URL to pass as GITHUB_API_URL. */
  url: string
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** Counts of answers by kind. */
  stats: { ok: number, notModified: number, notFound: number }
  /** Repositories per login (case-insensitive, stored lowercase). Unknown logins answer 404. */
  users: Map<string, Record<string, unknown>[]>
  mode: FakeGitHubModeName
  /** Seconds sent in retry-after (429 mode); x-ratelimit-reset is now + this (403 mode). */
  retryAfterSeconds: number
  close (): Promise<void>
}

let nextId = 1_296_269

/** A repository object shaped like GitHub's GET /users/{username}/repos items, with extra fields. */
export function makeRepo (owner: string, name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = nextId++
  const fullName = `${owner}/${name}`
  return {
    id,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name,
    full_name: fullName,
    private: false,
    owner: {
      login: owner,
      id: 1,
      node_id: 'MDQ6VXNlcjE=',
      avatar_url: 'https://github.com/images/error/octocat_happy.gif',
      gravatar_id: '',
      url: `https://api.github.com/users/${owner}`,
      html_url: `https://github.com/${owner}`,
      type: 'User',
      site_admin: false
    },
    html_url: `https://github.com/${fullName}`,
    description: 'This your first repo!',
    fork: false,
    url: `https://api.github.com/repos/${fullName}`,
    archive_url: `https://api.github.com/repos/${fullName}/{archive_format}{/ref}`,
    clone_url: `https://github.com/${fullName}.git`,
    git_url: `git:github.com/${fullName}.git`,
    ssh_url: `git@github.com:${fullName}.git`,
    homepage: 'https://github.com',
    language: 'TypeScript',
    forks_count: 9,
    stargazers_count: 80,
    watchers_count: 80,
    size: 108,
    default_branch: 'main',
    open_issues_count: 0,
    is_template: false,
    topics: ['octocat', 'api'],
    has_issues: true,
    archived: false,
    disabled: false,
    visibility: 'public',
    pushed_at: '2011-01-26T19:06:43Z',
    created_at: '2011-01-26T19:01:12Z',
    updated_at: '2011-01-26T19:14:43Z',
    permissions: { admin: false, push: false, pull: true },
    security_and_analysis: {
      advanced_security: { status: 'enabled' },
      secret_scanning: { status: 'enabled' },
      secret_scanning_push_protection: { status: 'disabled' }
    },
    license: { key: 'mit', name: 'MIT License', spdx_id: 'MIT', url: 'https://api.github.com/licenses/mit', node_id: 'MDc6TGljZW5zZW1pdA==' },
    ...overrides
  }
}

/** `sha256=<hex>` HMAC of the exact bytes, as GitHub computes X-Hub-Signature-256. */
export function signWebhook (secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

function sendJson (res: ServerResponse, statusCode: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers
  })
  res.end(body)
}

function rateHeaders (remaining: number, resetEpochSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(resetEpochSeconds),
    'x-ratelimit-used': String(5000 - remaining),
    'x-ratelimit-resource': 'core'
  }
}

const NOT_FOUND_BODY = JSON.stringify({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest/repos/repos#list-repositories-for-a-user', status: '404' })
const REPOS_PATH_RE = /^\/users\/([^/]+)\/repos$/

/** Start the fake on 127.0.0.1 with an OS-chosen port. */
export async function startFakeGitHub (): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = []
  const stats = { ok: 0, notModified: 0, notFound: 0 }
  const users = new Map<string, Record<string, unknown>[]>()

  const fake: FakeGitHub = {
    url: '',
    requests,
    stats,
    users,
    mode: FakeGitHubMode.normal,
    retryAfterSeconds: 42,
    close: async () => {}
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = new URL(req.url ?? '/', 'http://fake.invalid')
    requests.push({ method: req.method ?? '', path: `${target.pathname}${target.search}`, headers: req.headers })
    const nowSeconds = Math.floor(Date.now() / 1000)

    const match = req.method === 'GET' ? REPOS_PATH_RE.exec(target.pathname) : null
    if (match === null) {
      stats.notFound++
      sendJson(res, 404, NOT_FOUND_BODY)
      return
    }

    switch (fake.mode) {
      case FakeGitHubMode.hang:
        return
      case FakeGitHubMode.rateLimited403:
        sendJson(res, 403, JSON.stringify({ message: 'API rate limit exceeded for 127.0.0.1.', documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting' }),
          rateHeaders(0, nowSeconds + fake.retryAfterSeconds))
        return
      case FakeGitHubMode.rateLimited429:
        sendJson(res, 429, JSON.stringify({ message: 'You have exceeded a secondary rate limit.' }),
          { ...rateHeaders(4000, nowSeconds + 3000), 'retry-after': String(fake.retryAfterSeconds) })
        return
      case FakeGitHubMode.forbidden403:
        sendJson(res, 403, JSON.stringify({ message: 'Resource not accessible by personal access token UPSTREAM-SECRET-DETAIL' }), rateHeaders(4999, nowSeconds + 3600))
        return
      case FakeGitHubMode.serverError:
        sendJson(res, 500, JSON.stringify({ message: 'Server Error UPSTREAM-SECRET-DETAIL' }))
        return
      case FakeGitHubMode.malformedJson:
        sendJson(res, 200, '[{"name": "broken", "full_name": ', rateHeaders(4999, nowSeconds + 3600))
        return
      case FakeGitHubMode.notArray:
        sendJson(res, 200, JSON.stringify({ message: 'not a list' }), rateHeaders(4999, nowSeconds + 3600))
        return
      default:
        break
    }

    let login = ''
    try {
      login = decodeURIComponent(match[1]).toLowerCase()
    } catch {
      // A malformed escape is simply an unknown user.
    }
    const repos = users.get(login)
    if (repos === undefined) {
      stats.notFound++
      sendJson(res, 404, NOT_FOUND_BODY, rateHeaders(4999, nowSeconds + 3600))
      return
    }

    const perPage = Number(target.searchParams.get('per_page') ?? '30')
    const page = Number(target.searchParams.get('page') ?? '1')
    const sorted = target.searchParams.get('sort') === 'updated'
      ? [...repos].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)))
      : repos
    const body = JSON.stringify(sorted.slice((page - 1) * perPage, page * perPage))
    // GitHub's ETags are weak validators over the representation.
    const etag = `W/"${createHash('sha256').update(body).digest('hex')}"`

    if (req.headers['if-none-match'] === etag) {
      stats.notModified++
      res.writeHead(304, { etag, ...rateHeaders(4999, nowSeconds + 3600) })
      res.end()
      return
    }
    stats.ok++
    sendJson(res, 200, body, { etag, 'cache-control': 'private, max-age=60, s-maxage=60', vary: 'Accept, Authorization, Cookie', ...rateHeaders(4998, nowSeconds + 3600) })
  }

  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  fake.url = `http://127.0.0.1:${port}`
  fake.close = async () => {
    // Hanging requests would keep close() waiting forever.
    server.closeAllConnections()
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
  }
  return fake
}
