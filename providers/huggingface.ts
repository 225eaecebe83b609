// Hugging Face adapter: Hub trust check with a verdict cache, and pinned-revision inference through @huggingface/inference.
import { InferenceClient, InferenceClientProviderApiError, InferenceClientProviderOutputError } from '@huggingface/inference'
import { fetch as undiciFetch } from 'undici'
import {
  ModelNotTrustedError,
  ProviderNotConfiguredError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  withRetryAfter
} from '../errors.ts'
import {
  HfOutputAnomaly,
  OUTPUT_ANOMALIES,
  REVISION_PATTERN,
  TRUST_REASONS,
  evaluateModelMetadata,
  isModelId
} from '../security/hf-trust.ts'
import type { TrustPolicy, TrustVerdict } from '../security/hf-trust.ts'

export const HF_TASKS = ['text-classification', 'summarization', 'token-classification'] as const
export type HfTask = typeof HF_TASKS[number]

/**
 * Where inference goes without HF_ENDPOINT_URL: the router's hf-inference provider, the same
 * base the SDK itself uses for it. Naming it ourselves keeps the SDK from asking huggingface.co
 * which third-party provider to use ("auto"), so text only ever goes to this one place.
 */
export const DEFAULT_INFERENCE_BASE_URL = 'https://router.huggingface.co/hf-inference'

/** The header that carries the pinned commit sha to the inference server. */
export const REVISION_HEADER = 'X-HF-Revision'

// Why 10 minutes: a model's trust can change (new commit, repo made private); this bounds how
// long a stale verdict is used while keeping the Hub out of the hot path.
export const DEFAULT_TRUST_TTL_MS = 10 * 60_000
// Why 1 hour: long enough to ride out a typical Hub incident, short enough that a model
// pulled from the Hub during the outage does not stay usable for long.
export const DEFAULT_STALE_GRACE_MS = 60 * 60_000
// Why 2 retries and 2 s: a cold model may take a while, but the caller's request holds a
// connection open; after ~4 s the client is better served by a 502 it can retry.
export const MODEL_LOADING_MAX_RETRIES = 2
export const MODEL_LOADING_MAX_WAIT_MS = 2000
// Why: 60 s when the upstream does not say how long to wait (HF limits are per minute);
// at most 1 h so an absurd upstream value does not tell clients to wait for days.
const DEFAULT_RETRY_AFTER_SECONDS = 60
const MAX_RETRY_AFTER_SECONDS = 3600
// Why 5 MiB: Hub metadata of repos with thousands of files runs to a few hundred KiB.
const MAX_HUB_RESPONSE_BYTES = 5 * 1024 * 1024
// Why 4 MiB: a legitimate answer to a 16,000-character input is a few KiB; the cap only stops
// a hostile upstream from exhausting memory, and is above the validators' bounds so an
// overlong answer reaches them and is reported as an anomaly.
const MAX_INFERENCE_RESPONSE_BYTES = 4 * 1024 * 1024

export interface HuggingFaceProviderOptions {
  hubUrl: string
  endpointUrl?: string
  policy: TrustPolicy
  timeoutMs: number
  trustTtlMs?: number
  staleGraceMs?: number
  now?: () => number
}

export interface HfInferenceInput {
  token: string
  modelId: string
  revision: string
  task: HfTask
  text: string
  signal?: AbortSignal
}

export interface HuggingFaceProvider {
  /** Resolve a model to its pinned revision, or throw ModelNotTrustedError (with `reasons`). */
  checkModel (modelId: string, signal?: AbortSignal): Promise<{ revision: string, labels?: readonly string[] }>
  /** Run one task on the pinned revision; answers the SDK's parsed output, unvalidated. */
  infer (input: HfInferenceInput): Promise<unknown>
}

interface CacheEntry {
  verdict: TrustVerdict
  expiresAt: number
}

class HubUnavailable extends Error {}
class ResponseTooLarge extends Error {}

function notTrusted (reasons: string[]): Error {
  return Object.assign(new ModelNotTrustedError(), { reasons })
}

function trimSlashes (url: string): string {
  return url.replace(/\/+$/, '')
}

function modelPath (modelId: string): string {
  const [owner, name] = modelId.split('/')
  return `${encodeURIComponent(owner)}/${encodeURIComponent(name)}`
}

/** Read a body up to `maxBytes`, cancelling the stream past it. */
async function readLimited (body: AsyncIterable<Uint8Array> | null, maxBytes: number): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.byteLength
    if (size > maxBytes) throw new ResponseTooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Retry-After as delta-seconds or an HTTP date, in seconds. */
function parseRetryAfter (value: string | null, now: number): number {
  let seconds = DEFAULT_RETRY_AFTER_SECONDS
  if (value !== null && /^\d{1,9}$/.test(value.trim())) {
    seconds = Number(value.trim())
  } else if (value !== null && !Number.isNaN(Date.parse(value))) {
    seconds = (Date.parse(value) - now) / 1000
  }
  return Math.min(Math.max(seconds, 1), MAX_RETRY_AFTER_SECONDS)
}

/** Wait for a shared promise, giving up (for this caller only) when its signal aborts. */
function untilAborted<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function isModelLoading (body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false
  const { error, estimated_time: estimated } = body as Record<string, unknown>
  return typeof estimated === 'number' || (typeof error === 'string' && /\bloading\b/i.test(error))
}

function loadingWaitMs (body: unknown): number {
  const estimated = (body as Record<string, unknown>).estimated_time
  const seconds = typeof estimated === 'number' && Number.isFinite(estimated) ? estimated : 1
  return Math.min(Math.max(seconds * 1000, 0), MODEL_LOADING_MAX_WAIT_MS)
}

/** Build the Hugging Face provider. Options are validated here so a bad configuration fails at start. */
export function createHuggingFaceProvider (options: HuggingFaceProviderOptions): HuggingFaceProvider {
  const hubUrl = trimSlashes(new URL(options.hubUrl).href)
  const inferenceBase = trimSlashes(new URL(options.endpointUrl ?? DEFAULT_INFERENCE_BASE_URL).href)
  const { policy, timeoutMs } = options
  const trustTtlMs = options.trustTtlMs ?? DEFAULT_TRUST_TTL_MS
  const staleGraceMs = options.staleGraceMs ?? DEFAULT_STALE_GRACE_MS
  const now = options.now ?? Date.now
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('huggingface provider: timeoutMs must be a positive number of milliseconds')
  if (!(trustTtlMs >= 0) || !(staleGraceMs >= 0)) throw new TypeError('huggingface provider: trustTtlMs and staleGraceMs must be >= 0')

  // Keys are allowlisted ids only (checked before any lookup), so both maps stay bounded.
  const cache = new Map<string, CacheEntry>()
  const inFlight = new Map<string, Promise<TrustVerdict>>()

  async function fetchVerdict (modelId: string): Promise<TrustVerdict> {
    let status: number
    let body: Buffer
    try {
      const res = await undiciFetch(`${hubUrl}/api/models/${modelPath(modelId)}`, {
        headers: { accept: 'application/json' },
        // A redirect means the repo was renamed or moved: judge nothing we did not ask about.
        redirect: 'manual',
        // Only the timeout, not a caller's signal: the request may be shared by several callers.
        signal: AbortSignal.timeout(timeoutMs)
      })
      status = res.status
      body = await readLimited(res.body, MAX_HUB_RESPONSE_BYTES)
    } catch {
      throw new HubUnavailable()
    }
    if (status >= 300 && status < 400) return { trusted: false, reasons: [TRUST_REASONS.moved] }
    // The Hub answers 401 (not 404) for repos that are private or do not exist.
    if (status === 401 || status === 403 || status === 404 || status === 410) return { trusted: false, reasons: [TRUST_REASONS.notFound] }
    if (status !== 200) throw new HubUnavailable()
    let metadata: unknown
    try {
      metadata = JSON.parse(body.toString('utf8'))
    } catch {
      return { trusted: false, reasons: [TRUST_REASONS.invalidMetadata] }
    }
    return evaluateModelMetadata(modelId, metadata, policy)
  }

  async function refresh (modelId: string): Promise<TrustVerdict> {
    const previous = cache.get(modelId)
    try {
      const verdict = await fetchVerdict(modelId)
      cache.set(modelId, { verdict, expiresAt: now() + trustTtlMs })
      return verdict
    } catch (err) {
      if (!(err instanceof HubUnavailable)) throw err
      // Only a GOOD verdict outlives its TTL, and only for the grace period: an outage must
      // not turn "not trusted" into "trusted", nor keep a model usable indefinitely.
      if (previous?.verdict.trusted === true && now() < previous.expiresAt + staleGraceMs) return previous.verdict
      return { trusted: false, reasons: [TRUST_REASONS.hubUnavailable] }
    }
  }

  async function checkModel (modelId: string, signal?: AbortSignal): Promise<{ revision: string, labels?: readonly string[] }> {
    if (!isModelId(modelId)) throw notTrusted([TRUST_REASONS.invalidModelId])
    // The allowlist is decided locally, before the Hub learns which model was asked for.
    if (!policy.allowedModels.includes(modelId)) throw notTrusted([TRUST_REASONS.notAllowlisted])

    let verdict: TrustVerdict
    const cached = cache.get(modelId)
    if (cached && now() < cached.expiresAt) {
      verdict = cached.verdict
    } else {
      // Concurrent checks of one model share a single Hub request.
      let pending = inFlight.get(modelId)
      if (!pending) {
        pending = refresh(modelId).finally(() => inFlight.delete(modelId))
        inFlight.set(modelId, pending)
      }
      verdict = await untilAborted(pending, signal)
    }
    if (!verdict.trusted) throw notTrusted([...verdict.reasons])
    return verdict.labels ? { revision: verdict.revision, labels: verdict.labels } : { revision: verdict.revision }
  }

  async function infer (input: HfInferenceInput): Promise<unknown> {
    const { token, modelId, revision, task, text, signal } = input
    if (typeof token !== 'string' || token.length === 0) throw new ProviderNotConfiguredError()
    if (!isModelId(modelId)) throw notTrusted([TRUST_REASONS.invalidModelId])
    if (!REVISION_PATTERN.test(revision)) throw notTrusted([TRUST_REASONS.noRevision])
    if (!(HF_TASKS as readonly string[]).includes(task)) throw new TypeError('huggingface provider: unknown task')

    // One URL per model (the SDK's own hf-inference route), so one server can host every
    // allowlisted model and the model checked is the model called.
    const url = `${inferenceBase}/models/${modelPath(modelId)}`
    // One deadline for the whole call, retries included: UPSTREAM_TIMEOUT_MS is a hard limit.
    const timeout = AbortSignal.timeout(timeoutMs)
    const deadline = signal ? AbortSignal.any([signal, timeout]) : timeout
    let retryAfter: string | null = null

    // The SDK's documented hook for editing requests. It adds the pinned revision, refuses to
    // send the token anywhere but `url`, refuses redirects (they would carry the token and the
    // text elsewhere) and caps the answer's size before the SDK parses it.
    const pinnedFetch = async (target: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
      const href = typeof target === 'string' ? target : target instanceof URL ? target.href : target.url
      if (href !== url) throw new UpstreamError()
      const headers = new Headers(init?.headers)
      headers.set(REVISION_HEADER, revision)
      const res = await fetch(href, { ...init, headers, redirect: 'error' })
      retryAfter = res.headers.get('retry-after')
      const bytes = await readLimited(res.body, MAX_INFERENCE_RESPONSE_BYTES)
      return new Response(res.status === 204 ? null : bytes, { status: res.status, headers: res.headers })
    }

    // retry_on_error: false because the SDK otherwise retries every 503 at once and forever.
    const client = new InferenceClient(token, { endpointUrl: url, retry_on_error: false, fetch: pinnedFetch, signal: deadline })
    const call = (): Promise<unknown> => {
      switch (task) {
        case 'text-classification': return client.textClassification({ inputs: text })
        case 'summarization': return client.summarization({ inputs: text })
        // 'simple' aggregation yields whole entities with entity_group, as the contract promises.
        case 'token-classification': return client.tokenClassification({ inputs: text, parameters: { aggregation_strategy: 'simple' } })
      }
    }

    for (let attempt = 0; ; attempt++) {
      try {
        return await call()
      } catch (err) {
        if (signal?.aborted) throw signal.reason
        if (timeout.aborted) throw new UpstreamTimeoutError()
        if (err instanceof InferenceClientProviderOutputError) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
        if (err instanceof InferenceClientProviderApiError) {
          const { status, body } = err.httpResponse
          if (status === 429) throw withRetryAfter(new UpstreamRateLimitedError(), parseRetryAfter(retryAfter, now()))
          if (status === 503 && isModelLoading(body) && attempt < MODEL_LOADING_MAX_RETRIES) {
            try {
              await sleep(loadingWaitMs(body), deadline)
            } catch {
              if (signal?.aborted) throw signal.reason
              throw new UpstreamTimeoutError()
            }
            continue
          }
        }
        // Anything else (other statuses, bad JSON, network errors, oversize answers): the
        // upstream's words never reach the client or the message.
        throw new UpstreamError()
      }
    }
  }

  return { checkModel, infer }
}
