// GitHub REST adapter over an undici keep-alive pool: listing a user's repositories, filtered, sanitised and ETag-cached.
import { Pool, errors as undiciErrors } from 'undici'
import type { Dispatcher } from 'undici'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import {
  BadRequestError,
  NotFoundError,
  ProviderNotConfiguredError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  withRetryAfter
} from '../errors.ts'
import {
  DESCRIPTION_MAX_LENGTH,
  GITHUB_FULL_NAME_PATTERN,
  GITHUB_REPO_NAME_PATTERN,
  isValidGitHubUsername,
  sanitizeDescription
} from '../security/github.ts'
import type { GitHubRepo, UserReposResponse } from '../schemas/github.ts'

export type { GitHubRepo, UserReposResponse }

export interface GitHubClientOptions {
  /** Base URL of the REST API, e.g. https://api.github.com or https://ghe.example/api/v3. */
  apiUrl: string
  /** Token sent as a Bearer credential. Without it every call answers PROVIDER_NOT_CONFIGURED. */
  token?: string
  /** Hard limit for one call, connection to last body byte. */
  timeoutMs: number
  /** Entries of the ETag cache (username + page). */
  cacheSize?: number
  userAgent?: string
}

export interface GitHubClient {
  listUserRepos (username: string, page: number, signal?: AbortSignal): Promise<UserReposResponse>
  close (): Promise<void>
}

// 30 is GitHub's default page size; asking for it explicitly keeps pages stable.
const PER_PAGE = 30
const MAX_PAGE = 100
const DEFAULT_CACHE_SIZE = 500
const DEFAULT_USER_AGENT = 'microgate'
// The REST version this adapter was written against; GitHub keeps a dated version stable.
const GITHUB_API_VERSION = '2022-11-28'
// 30 repositories are about 200 KB of JSON; anything far larger is not a page of repos and
// is not buffered.
const MAX_BODY_BYTES = 2 * 1024 * 1024
// Retry-After bounds: at least a second, at most an hour (GitHub's primary window).
const MIN_RETRY_AFTER_SECONDS = 1
const MAX_RETRY_AFTER_SECONDS = 3600
// Used when GitHub signals a rate limit without saying for how long.
const DEFAULT_RETRY_AFTER_SECONDS = 60
// A connection that cannot be set up in 10 s will not succeed; later stages get the rest.
const MAX_CONNECT_TIMEOUT_MS = 10_000
// Bounded sockets to GitHub: a burst of clients queues (inside its deadline) instead of
// opening unbounded connections and tripping GitHub's secondary rate limits.
const MAX_CONNECTIONS = 16
const LANGUAGE_MAX_LENGTH = 100
// Header values must be visible ASCII: a token with CR/LF could otherwise inject headers.
const HEADER_VALUE_RE = /^[\x21-\x7E]+$/
const USER_AGENT_RE = /^[\x20-\x7E]{1,200}$/
// GitHub's REST timestamps are always this form: 2011-01-26T19:14:43Z.
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const STRICT_INTEGER_RE = /^\d{1,12}$/

// The fields read from GitHub's repository object; everything else is ignored and never copied.
const UpstreamRepoSchema = Type.Object({
  name: Type.String({ pattern: GITHUB_REPO_NAME_PATTERN }),
  full_name: Type.String({ pattern: GITHUB_FULL_NAME_PATTERN }),
  description: Type.Union([Type.String(), Type.Null()]),
  html_url: Type.String({ maxLength: 2048 }),
  stargazers_count: Type.Integer({ minimum: 0 }),
  language: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.String({ pattern: TIMESTAMP_RE.source })
})
const upstreamRepo = Compile(UpstreamRepoSchema)

interface CacheEntry {
  etag: string
  repos: GitHubRepo[]
}

/** A Map in insertion order is an LRU: touching an entry moves it to the end. */
class LruCache {
  readonly #max: number
  readonly #entries = new Map<string, CacheEntry>()

  constructor (max: number) {
    this.#max = max
  }

  get (key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key)
    if (entry !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, entry)
    }
    return entry
  }

  set (key: string, entry: CacheEntry): void {
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }
}

function header (headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function clampSeconds (seconds: number): number {
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(MIN_RETRY_AFTER_SECONDS, Math.ceil(seconds)))
}

/**
 * How long GitHub asks us to wait, when the answer is a rate limit: `retry-after` (seconds
 * or an HTTP date), else `x-ratelimit-reset` (epoch seconds) minus now. Undefined when the
 * answer is not a rate limit.
 */
export function rateLimitRetryAfter (statusCode: number, headers: Dispatcher.ResponseData['headers'], nowMs = Date.now()): number | undefined {
  if (statusCode !== 403 && statusCode !== 429) return undefined
  const retryAfter = header(headers, 'retry-after')?.trim()
  const remaining = header(headers, 'x-ratelimit-remaining')?.trim()
  if (retryAfter === undefined && remaining !== '0') return undefined
  if (retryAfter !== undefined) {
    if (STRICT_INTEGER_RE.test(retryAfter)) return clampSeconds(Number(retryAfter))
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return clampSeconds((date - nowMs) / 1000)
  }
  const reset = header(headers, 'x-ratelimit-reset')?.trim()
  if (reset !== undefined && STRICT_INTEGER_RE.test(reset)) return clampSeconds(Number(reset) - nowMs / 1000)
  return DEFAULT_RETRY_AFTER_SECONDS
}

function isHttpUrl (value: string): boolean {
  if (!URL.canParse(value)) return false
  const protocol = new URL(value).protocol
  return protocol === 'https:' || protocol === 'http:'
}

/** Map GitHub's array to the contract's fields, or undefined when it is not an array of repositories. */
function toRepos (json: unknown): GitHubRepo[] | undefined {
  if (!Array.isArray(json)) return undefined
  const repos: GitHubRepo[] = []
  for (const item of json) {
    if (!upstreamRepo.Check(item)) return undefined
    // Clients put this URL in links: only http(s) may pass, never javascript: or data:.
    if (!isHttpUrl(item.html_url)) return undefined
    // The pattern admits impossible dates such as month 13.
    if (!Number.isFinite(Date.parse(item.updated_at))) return undefined
    repos.push({
      name: item.name,
      fullName: item.full_name,
      description: sanitizeDescription(item.description, DESCRIPTION_MAX_LENGTH),
      url: item.html_url,
      stars: item.stargazers_count,
      language: sanitizeDescription(item.language, LANGUAGE_MAX_LENGTH),
      updatedAt: item.updated_at
    })
  }
  return repos
}

async function readBody (body: Dispatcher.ResponseData['body']): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      return undefined
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

async function discard (body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump()
  } catch {
    // Nothing of an error body is used; a failure to drain it only closes the socket.
  }
}

function isTimeout (error: unknown): boolean {
  return error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError ||
    (error instanceof DOMException && error.name === 'TimeoutError')
}

function validateOptions (options: GitHubClientOptions): URL {
  if (typeof options.apiUrl !== 'string' || !URL.canParse(options.apiUrl)) {
    throw new TypeError('GITHUB_API_URL must be an absolute http(s) URL, e.g. https://api.github.com')
  }
  const url = new URL(options.apiUrl)
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError('GITHUB_API_URL must be an http(s) URL without credentials, query or fragment, e.g. https://api.github.com')
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
    throw new TypeError('timeoutMs (UPSTREAM_TIMEOUT_MS) must be a positive integer of milliseconds')
  }
  if (options.token !== undefined && options.token !== '' && !HEADER_VALUE_RE.test(options.token)) {
    throw new TypeError('GITHUB_TOKEN must be printable ASCII without spaces or line breaks')
  }
  if (options.cacheSize !== undefined && (!Number.isInteger(options.cacheSize) || options.cacheSize < 0)) {
    throw new TypeError('cacheSize must be a non-negative integer (0 disables the ETag cache)')
  }
  if (options.userAgent !== undefined && !USER_AGENT_RE.test(options.userAgent)) {
    throw new TypeError('userAgent must be 1..200 printable ASCII characters')
  }
  return url
}

/**
 * Create the GitHub client. Options are checked here so that a bad configuration stops the
 * start; a missing token does not (the gateway still starts) but makes every call answer
 * ProviderNotConfiguredError.
 */
export function createGitHubClient (options: GitHubClientOptions): GitHubClient {
  const url = validateOptions(options)
  let basePath = url.pathname
  while (basePath.endsWith('/')) basePath = basePath.slice(0, -1)
  // An empty GITHUB_TOKEN means not configured, as if unset.
  const configuredToken = options.token === '' ? undefined : options.token
  const timeoutMs = options.timeoutMs
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE
  const cache = cacheSize > 0 ? new LruCache(cacheSize) : undefined
  const baseHeaders: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': GITHUB_API_VERSION,
    'user-agent': options.userAgent ?? DEFAULT_USER_AGENT
  }
  if (configuredToken !== undefined) baseHeaders.authorization = `Bearer ${configuredToken}`

  const pool = new Pool(url.origin, {
    connections: MAX_CONNECTIONS,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: Math.min(timeoutMs, MAX_CONNECT_TIMEOUT_MS) }
  })

  async function listUserRepos (username: string, page: number, signal?: AbortSignal): Promise<UserReposResponse> {
    // The route validates too; checking again here means no caller can put a path segment
    // or query into the upstream URL.
    if (!isValidGitHubUsername(username)) throw new BadRequestError('Invalid GitHub username')
    if (!Number.isInteger(page) || page < 1 || page > MAX_PAGE) throw new BadRequestError('Invalid page')
    if (configuredToken === undefined) throw new ProviderNotConfiguredError()

    // Logins are case-insensitive on GitHub, so one cache entry serves every spelling.
    const cacheKey = `${username.toLowerCase()}:${page}`
    const cached = cache?.get(cacheKey)
    const headers = cached === undefined ? baseHeaders : { ...baseHeaders, 'if-none-match': cached.etag }
    const query = new URLSearchParams({ per_page: String(PER_PAGE), page: String(page), sort: 'updated' })
    const path = `${basePath}/users/${encodeURIComponent(username)}/repos?${query}`

    const deadline = AbortSignal.timeout(timeoutMs)
    const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal])

    const fail = (error: unknown): Error => {
      // The caller gave up (client disconnected): pass its reason on, this is no upstream fault.
      if (signal?.aborted === true) return signal.reason instanceof Error ? signal.reason : new Error('Aborted')
      if (deadline.aborted || isTimeout(error)) return new UpstreamTimeoutError({ cause: error })
      return new UpstreamError({ cause: error })
    }

    let response: Dispatcher.ResponseData
    try {
      response = await pool.request({ method: 'GET', path, headers, signal: combined })
    } catch (error) {
      throw fail(error)
    }

    const { statusCode } = response
    if (statusCode === 304 && cached !== undefined) {
      await discard(response.body)
      // Frozen when cached: callers share it without being able to change what later calls get.
      return { username, repos: cached.repos }
    }
    if (statusCode !== 200) {
      await discard(response.body)
      // Upstream bodies never travel further: only the status and rate-limit headers are read.
      if (statusCode === 404) throw new NotFoundError()
      const retryAfter = rateLimitRetryAfter(statusCode, response.headers)
      if (retryAfter !== undefined) throw withRetryAfter(new UpstreamRateLimitedError(), retryAfter)
      throw new UpstreamError({ cause: new Error(`GitHub answered HTTP ${statusCode}`) })
    }

    let raw: Buffer | undefined
    try {
      raw = await readBody(response.body)
    } catch (error) {
      throw fail(error)
    }
    if (raw === undefined) throw new UpstreamError({ cause: new Error('GitHub answer exceeded the size bound') })

    let json: unknown
    try {
      json = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new UpstreamError({ cause: new Error('GitHub answered with unparseable JSON') })
    }
    const repos = toRepos(json)
    if (repos === undefined) throw new UpstreamError({ cause: new Error('GitHub answered with an unexpected shape') })

    const etag = header(response.headers, 'etag')
    // Only well-formed validators are replayed to GitHub in If-None-Match.
    if (cache !== undefined && etag !== undefined && HEADER_VALUE_RE.test(etag) && etag.length <= 256) {
      cache.set(cacheKey, { etag, repos: Object.freeze(repos.map((repo) => Object.freeze(repo))) as GitHubRepo[] })
    }
    return { username, repos }
  }

  return {
    listUserRepos,
    async close () {
      await pool.close()
    }
  }
}
