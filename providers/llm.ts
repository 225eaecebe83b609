// LLM provider adapters over the official OpenAI and Anthropic SDKs: pooled transport, bounded retries, one deadline, contract errors.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from 'undici'
import type { Dispatcher } from 'undici'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError, withRetryAfter } from '../errors.ts'

export interface LlmCallInput {
  system: string
  user: string
  maxTokens: number
  /** Aborts the upstream request, e.g. when the client disconnected. */
  signal?: AbortSignal
}

export interface LlmCallResult {
  output: string
  model: string
}

export interface LlmProvider {
  call (input: LlmCallInput): Promise<LlmCallResult>
}

export interface LlmProviderOptions {
  apiKey: string
  baseURL: string
  model: string
  /** Hard limit for the whole call, retries and backoff included. */
  timeoutMs: number
  /** Retries after the first attempt on 408/429/5xx and connection failures (default 2). */
  maxRetries?: number
  /** Transport; defaults to one shared keep-alive pool per process. */
  dispatcher?: Dispatcher
  /** First backoff step; doubles per retry (default 250 ms). */
  retryBaseDelayMs?: number
  /** Longest wait between attempts, whatever `retry-after` says (default 2000 ms). */
  maxRetryWaitMs?: number
}

export interface OpenAiProviderOptions extends LlmProviderOptions {
  /**
   * Which output limit to send. `max_completion_tokens` is what OpenAI's API documents for every
   * current model (reasoning models reject the deprecated `max_tokens`); OpenAI-compatible servers
   * that only know `max_tokens` can select it.
   */
  maxTokensParam?: 'max_completion_tokens' | 'max_tokens'
}

/** Thrown when the caller's signal aborted the call: the route just stops, nothing is sent. */
export class ClientAbortedError extends Error {
  readonly code = 'CLIENT_ABORTED'
  constructor () {
    super('The client went away before the upstream answered')
    this.name = 'ClientAbortedError'
  }
}

const DEFAULT_MAX_RETRIES = 2
const DEFAULT_RETRY_BASE_DELAY_MS = 250
// Why: a hostile or confused upstream must not park a request for minutes with a large retry-after.
const DEFAULT_MAX_RETRY_WAIT_MS = 2_000
// Why: the Retry-After we pass on to our client is clamped, so an upstream can't tell clients to go away for a day.
const MAX_CLIENT_RETRY_AFTER_S = 60
// Why: when the upstream gives no retry-after, a jittered 1-5 s keeps rejected clients from returning in lockstep.
const MIN_DEFAULT_RETRY_AFTER_S = 1
const MAX_DEFAULT_RETRY_AFTER_S = 5
// Why: a JSON answer larger than this is not a chat completion of a bounded max_tokens; stop reading it.
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024
// Why: enough sockets per upstream origin for a busy instance, bounded so one origin can't exhaust file descriptors.
const CONNECTIONS_PER_ORIGIN = 128
// Why: idle sockets are kept long enough to be reused between bursts, below typical upstream idle cut-offs (60 s+).
const KEEP_ALIVE_TIMEOUT_MS = 30_000
// Why: an unreachable upstream fails fast enough to leave room for a retry inside the call's deadline.
const CONNECT_TIMEOUT_MS = 10_000
// Why: at most this many distinct (key, base URL) clients are kept; users may bring their own keys.
const CLIENT_CACHE_SIZE = 256

let sharedDispatcher: Dispatcher | undefined

/** The process-wide keep-alive pool used when no dispatcher is given. */
function defaultDispatcher (): Dispatcher {
  sharedDispatcher ??= new Agent({
    connections: CONNECTIONS_PER_ORIGIN,
    // Why: no pipelining; a slow completion must not hold up the requests queued behind it.
    pipelining: 1,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxResponseSize: MAX_RESPONSE_BYTES,
    connect: { timeout: CONNECT_TIMEOUT_MS }
  })
  return sharedDispatcher
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

class ResponseTooLargeError extends Error {
  readonly code = 'UND_ERR_RES_EXCEEDED_MAX_SIZE'
}

/** Read a response body, refusing more than MAX_RESPONSE_BYTES whatever dispatcher is in use. */
async function readCapped (body: AsyncIterable<Buffer> & { destroy (): void }): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy()
      throw new ResponseTooLargeError()
    }
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
}

/**
 * An SDK-compatible `fetch` over undici's `dispatcher.request()`. Why: the WHATWG fetch
 * algorithm (request/response objects, web streams, per-step header validation) cost several
 * times more CPU than the request itself (bench/SDK-NOTES.md); the SDKs only need a buffered
 * JSON answer, so the body is read here and handed back as a plain `Response`.
 */
function fetchVia (dispatcher: Dispatcher): typeof globalThis.fetch {
  async function pooledFetch (input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    const headers: Record<string, string> = {}
    const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers)
    given.forEach((value, name) => { headers[name] = value })
    const body = init.body
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('only string and byte request bodies are supported')
    }
    const answer = await dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: body ?? undefined,
      signal: init.signal ?? undefined
    })
    const bytes = await readCapped(answer.body)
    const responseHeaders = new Headers()
    for (const [name, value] of Object.entries(answer.headers)) {
      if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item)
      else if (value !== undefined) responseHeaders.append(name, value)
    }
    // Why a string body: measured cheaper than a byte body for Response (no copy of the buffer source).
    const text = NULL_BODY_STATUSES.has(answer.statusCode) ? null : bytes.toString('utf8')
    return new Response(text, { status: answer.statusCode, headers: responseHeaders })
  }
  return pooledFetch as typeof globalThis.fetch
}

// SDK clients are built once per (provider, key, base URL, dispatcher) and reused, so a request pays
// only for itself; the LRU is bounded because users may bring their own keys.
const clientCache = new Map<string, OpenAI | Anthropic>()
const dispatcherIds = new WeakMap<Dispatcher, number>()
let nextDispatcherId = 1

function cacheKey (kind: string, apiKey: string, baseURL: string, dispatcher: Dispatcher): string {
  let id = dispatcherIds.get(dispatcher)
  if (id === undefined) {
    id = nextDispatcherId++
    dispatcherIds.set(dispatcher, id)
  }
  // Why: the raw key is never a Map key (heap snapshots, debug dumps); its SHA-256 is.
  return createHash('sha256').update(`${kind}\0${baseURL}\0${id}\0${apiKey}`).digest('hex')
}

function cachedClient<C extends OpenAI | Anthropic> (key: string, build: () => C): C {
  const found = clientCache.get(key)
  if (found !== undefined) {
    clientCache.delete(key)
    clientCache.set(key, found)
    return found as C
  }
  const client = build()
  clientCache.set(key, client)
  if (clientCache.size > CLIENT_CACHE_SIZE) {
    clientCache.delete(clientCache.keys().next().value as string)
  }
  return client
}

/** Number of cached SDK clients (for tests and metrics). */
export function llmClientCacheSize (): number {
  return clientCache.size
}

function validateOptions (options: LlmProviderOptions, name: string): void {
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
    throw new TypeError(`${name}: apiKey must be a non-empty string`)
  }
  let url: URL
  try {
    url = new URL(options.baseURL)
  } catch {
    throw new TypeError(`${name}: baseURL must be an absolute http(s) URL, got an unparsable value`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`${name}: baseURL must use http or https`)
  }
  if (typeof options.model !== 'string' || options.model.length === 0) {
    throw new TypeError(`${name}: model must be a non-empty string`)
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new TypeError(`${name}: timeoutMs must be a positive integer`)
  }
  if (options.maxRetries !== undefined && (!Number.isInteger(options.maxRetries) || options.maxRetries < 0 || options.maxRetries > 5)) {
    throw new TypeError(`${name}: maxRetries must be an integer from 0 to 5`)
  }
}

interface UpstreamFailure {
  status?: number
  headers?: Headers
}

/** The HTTP status and headers of an SDK error, if it came from an HTTP answer. */
function failureOf (err: unknown): UpstreamFailure {
  if (err instanceof OpenAI.APIError || err instanceof Anthropic.APIError) {
    return { status: err.status, headers: err.headers }
  }
  return {}
}

function isConnectionFailure (err: unknown): boolean {
  return (err instanceof OpenAI.APIConnectionError && !(err instanceof OpenAI.APIConnectionTimeoutError)) ||
    (err instanceof Anthropic.APIConnectionError && !(err instanceof Anthropic.APIConnectionTimeoutError))
}

/** True when the answer was cut off for size (our reader or undici's maxResponseSize), anywhere in the cause chain. */
function isTooLarge (err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return true
  }
  return false
}

function isRetryable (err: unknown): boolean {
  const { status } = failureOf(err)
  // Why: an oversized answer will be oversized again; retrying only multiplies the bytes read.
  if (status === undefined) return isConnectionFailure(err) && !isTooLarge(err)
  return status === 408 || status === 429 || status >= 500
}

/** Seconds from `retry-after-ms` / `retry-after` (delta-seconds or HTTP date), or undefined. */
function retryAfterSeconds (headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '')
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000
  const raw = headers?.get('retry-after')
  if (!raw) return undefined
  const seconds = Number.parseFloat(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(raw)
  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : undefined
}

/** A short, body-free reason for logs. */
function reasonOf (err: unknown): string {
  const { status } = failureOf(err)
  if (status !== undefined) return `http_${status}`
  if (isTooLarge(err)) return 'response_too_large'
  if (isConnectionFailure(err)) return 'connection_failed'
  if (err instanceof SyntaxError) return 'malformed_json'
  return 'invalid_answer'
}

/**
 * Turn anything that went wrong into a contract error. Upstream bodies never travel: only the
 * status and a fixed reason are attached, for logs.
 */
function toContractError (err: unknown, callerSignal: AbortSignal | undefined, deadline: { aborted: boolean }): Error {
  if (callerSignal?.aborted) return new ClientAbortedError()
  if (err instanceof UpstreamError) return err
  if (deadline.aborted || err instanceof OpenAI.APIConnectionTimeoutError || err instanceof Anthropic.APIConnectionTimeoutError) {
    return new UpstreamTimeoutError()
  }
  const { status, headers } = failureOf(err)
  if (status === 429) {
    const upstream = retryAfterSeconds(headers)
    const seconds = upstream !== undefined
      ? Math.min(MAX_CLIENT_RETRY_AFTER_S, upstream)
      : MIN_DEFAULT_RETRY_AFTER_S + Math.floor(Math.random() * (MAX_DEFAULT_RETRY_AFTER_S - MIN_DEFAULT_RETRY_AFTER_S + 1))
    return Object.assign(withRetryAfter(new UpstreamRateLimitedError(), seconds), { upstreamStatus: status })
  }
  return Object.assign(new UpstreamError(), { upstreamStatus: status, reason: reasonOf(err) })
}

interface Attempt {
  (signal: AbortSignal, timeoutMs: number): Promise<LlmCallResult>
}

/**
 * Run `attempt` with at most `maxRetries` retries on retryable failures, all inside one deadline
 * of `timeoutMs`. Backoff doubles from `baseDelayMs` with jitter; `retry-after` is honoured but
 * never beyond `maxWaitMs`, and a wait that would outlast the deadline ends the call at once.
 */
async function withRetries (attempt: Attempt, options: LlmProviderOptions, callerSignal: AbortSignal | undefined): Promise<LlmCallResult> {
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES
  const baseDelayMs = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS
  const maxWaitMs = options.maxRetryWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS
  // Why: one controller, a plain timer and one listener are cheaper per call than
  // AbortSignal.timeout + AbortSignal.any, and the listener is removed when the call ends.
  const controller = new AbortController()
  const deadline = { aborted: false }
  const timer = setTimeout(() => {
    deadline.aborted = true
    controller.abort()
  }, options.timeoutMs)
  const onCallerAbort = (): void => controller.abort()
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true })
  const signal = controller.signal
  const endsAt = Date.now() + options.timeoutMs
  try {
    if (callerSignal?.aborted) throw new ClientAbortedError()
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(signal, Math.max(1, endsAt - Date.now()))
      } catch (err) {
        if (signal.aborted || retry >= maxRetries || !isRetryable(err)) {
          throw toContractError(err, callerSignal, deadline)
        }
        const backoffMs = baseDelayMs * 2 ** retry * (1 - Math.random() * 0.25)
        const hintS = retryAfterSeconds(failureOf(err).headers)
        const waitMs = Math.min(maxWaitMs, hintS !== undefined ? hintS * 1000 : backoffMs)
        if (Date.now() + waitMs >= endsAt) throw toContractError(err, callerSignal, deadline)
        try {
          await sleep(waitMs, undefined, { signal })
        } catch {
          throw toContractError(err, callerSignal, deadline)
        }
      }
    }
  } finally {
    clearTimeout(timer)
    callerSignal?.removeEventListener('abort', onCallerAbort)
  }
}

function nonEmpty (output: string): string {
  if (output.trim().length === 0) throw Object.assign(new UpstreamError(), { reason: 'empty_output' })
  return output
}

function invalidAnswer (): Error {
  return Object.assign(new UpstreamError(), { reason: 'invalid_answer' })
}

/** Create an OpenAI chat-completions provider (`system` + `user` messages, non-streaming). */
export function createOpenAiProvider (options: OpenAiProviderOptions): LlmProvider {
  validateOptions(options, 'createOpenAiProvider')
  const dispatcher = options.dispatcher ?? defaultDispatcher()
  const client = cachedClient(cacheKey('openai', options.apiKey, options.baseURL, dispatcher), () => new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    // Why: a user's own key must not travel with the operator's OPENAI_ORG_ID/OPENAI_PROJECT_ID from the environment.
    organization: null,
    project: null,
    // Why: retries are ours (bounded retry-after, one deadline); the SDK's sleep on retry-after is unbounded.
    maxRetries: 0,
    fetch: fetchVia(dispatcher),
    timeout: options.timeoutMs,
    logLevel: 'off'
  }))
  const tokenParam = options.maxTokensParam ?? 'max_completion_tokens'

  return {
    call (input: LlmCallInput) {
      return withRetries(async (signal, timeoutMs) => {
        const completion: unknown = await client.chat.completions.create({
          model: options.model,
          messages: [{ role: 'system', content: input.system }, { role: 'user', content: input.user }],
          [tokenParam]: input.maxTokens
        }, { signal, timeout: timeoutMs, maxRetries: 0 })
        const answer = completion as { model?: unknown, choices?: Array<{ message?: { content?: unknown } | null } | null> } | null
        const content = Array.isArray(answer?.choices) ? answer.choices[0]?.message?.content : undefined
        if (typeof content !== 'string') throw invalidAnswer()
        return { output: nonEmpty(content), model: typeof answer?.model === 'string' ? answer.model : options.model }
      }, options, input.signal)
    }
  }
}

/** Create an Anthropic Messages provider (`system` parameter + one user message, non-streaming). */
export function createAnthropicProvider (options: LlmProviderOptions): LlmProvider {
  validateOptions(options, 'createAnthropicProvider')
  const dispatcher = options.dispatcher ?? defaultDispatcher()
  const client = cachedClient(cacheKey('anthropic', options.apiKey, options.baseURL, dispatcher), () => new Anthropic({
    // Why: an explicit key keeps the SDK from reading ANTHROPIC_AUTH_TOKEN or credential profiles.
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0,
    fetch: fetchVia(dispatcher),
    timeout: options.timeoutMs,
    logLevel: 'off',
    openTelemetry: false
  }))

  return {
    call (input: LlmCallInput) {
      return withRetries(async (signal, timeoutMs) => {
        const message: unknown = await client.messages.create({
          model: options.model,
          max_tokens: input.maxTokens,
          system: input.system,
          messages: [{ role: 'user', content: input.user }]
        }, { signal, timeout: timeoutMs, maxRetries: 0 })
        const answer = message as { model?: unknown, content?: Array<{ type?: unknown, text?: unknown } | null> } | null
        if (!Array.isArray(answer?.content)) throw invalidAnswer()
        const texts = answer.content.filter((block) => block?.type === 'text' && typeof block.text === 'string')
        if (texts.length === 0) throw invalidAnswer()
        const output = texts.map((block) => block?.text as string).join('')
        return { output: nonEmpty(output), model: typeof answer?.model === 'string' ? answer.model : options.model }
      }, options, input.signal)
    }
  }
}
