// Kubernetes adapter: lists pods with the in-cluster service account and returns only pod summaries.
/* eslint-disable security/detect-non-literal-fs-filename -- the only paths read are the operator-configured service-account directory's three fixed file names */
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { isIPv6 } from 'node:net'
import { createHash } from 'node:crypto'
import { Agent as HttpsAgent } from 'node:https'
import type { AgentOptions } from 'node:https'
import { join } from 'node:path'
import { ApiException, CoreV1Api, KubeConfig, Observable } from '@kubernetes/client-node'
import type { ConfigurationOptions, RequestContext, ResponseContext, User } from '@kubernetes/client-node'
import {
  BadRequestError,
  ForbiddenError,
  ProviderNotConfiguredError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  withRetryAfter
} from '../errors.ts'
import {
  isContinueToken,
  isDns1123Label,
  isNamespaceAllowed,
  isValidPageLimit,
  summarizePod
} from '../security/kubernetes.ts'
import type { PodSummary } from '../security/kubernetes.ts'

export type { PodSummary } from '../security/kubernetes.ts'

/** The files Kubernetes mounts into every pod that automounts its service-account token. */
const TOKEN_FILE = 'token'
const CA_FILE = 'ca.crt'
const NAMESPACE_FILE = 'namespace'

/** A service-account JWT is ~1 KB; anything far larger is not a token and is not sent. */
const TOKEN_MAX_BYTES = 16 * 1024

/** Without a Retry-After from the apiserver's priority-and-fairness 429, ask clients to wait this long. */
const RETRY_AFTER_DEFAULT_SECONDS = 1

const AUTH_PROVIDER_NAME = 'microgate-service-account-token'

export interface KubernetesOptions {
  /** Directory holding token, ca.crt and namespace (K8S_SERVICEACCOUNT_DIR). */
  serviceAccountDir: string
  /** API server host (KUBERNETES_SERVICE_HOST); falls back to the environment variable Kubernetes sets. */
  host?: string
  /** API server port (KUBERNETES_SERVICE_PORT); falls back to the environment variable Kubernetes sets. */
  port?: string
  /** Namespaces that may be listed (K8S_NAMESPACES); empty or absent means the pod's own namespace. */
  allowedNamespaces?: string[]
  /** Hard limit for one API call (UPSTREAM_TIMEOUT_MS). */
  timeoutMs: number
}

export interface PodPage {
  namespace: string
  pods: PodSummary[]
  /** The apiserver's continue token for the next page, or null on the last page. */
  next: string | null
}

export interface KubernetesClient {
  listPods (namespace: string, page: { limit: number, continueToken?: string }, signal?: AbortSignal): Promise<PodPage>
  /** The pod's own namespace, from `<serviceAccountDir>/namespace` ('' when not running in a cluster). */
  readonly defaultNamespace: string
  isNamespaceAllowed (namespace: string): boolean
  /** Abort calls in flight; later calls fail with UpstreamError. */
  close (): void
}

/** Raised when a service-account file is missing or unusable at request time. */
class ServiceAccountFileError extends Error {}

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0]

/**
 * Supplies the bearer token by reading the token file on every request. The kubelet rewrites the
 * projected token before it expires (default lifetime about one hour); the library's own file
 * authenticator caches it for 60 s and could send a token that was just replaced or revoked.
 * Reading a ~1 KB file per call costs far less than the HTTPS round trip it precedes.
 */
function tokenFileAuthenticator (tokenPath: string): Authenticator {
  return {
    isAuthProvider (user: User): boolean {
      return user.authProvider?.name === AUTH_PROVIDER_NAME
    },
    async applyAuthentication (_user, opts): Promise<void> {
      let raw: Buffer
      try {
        raw = await readFile(tokenPath)
      } catch {
        throw new ServiceAccountFileError('service-account token file unreadable')
      }
      const token = raw.subarray(0, TOKEN_MAX_BYTES + 1).toString('utf8').trim()
      // Printable ASCII only: a token with control characters would be a header-injection vector.
      if (token.length === 0 || raw.length > TOKEN_MAX_BYTES || !/^[\x21-\x7e]+$/.test(token)) {
        throw new ServiceAccountFileError('service-account token file malformed')
      }
      const headers = (opts.headers ?? {}) as Record<string, string>
      headers.Authorization = `Bearer ${token}`
      opts.headers = headers
    }
  }
}

function readNamespaceFile (dir: string): string {
  try {
    const value = readFileSync(join(dir, NAMESPACE_FILE), 'utf8').trim()
    return isDns1123Label(value) ? value : ''
  } catch {
    return ''
  }
}

function serverUrl (host: string, port: string): string | null {
  // A numeric port and a plain host name or address only: both are interpolated into the URL
  // the bearer token is sent to.
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return null
  // Always HTTPS, unlike loadFromCluster which switches to http on ports 80/8080/8001:
  // the bearer token must never cross the network in clear text.
  if (isIPv6(host)) return `https://[${host}]:${port}`
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) return null
  return `https://${host}:${port}`
}

function retryAfterSeconds (headers: Record<string, string> | undefined): number {
  const value = Number(headers?.['retry-after'])
  return Number.isFinite(value) && value > 0 ? value : RETRY_AFTER_DEFAULT_SECONDS
}

/**
 * Map any failure to the contract's errors. The apiserver's body (ApiException.message embeds
 * it) is never copied: only the status code decides.
 */
function mapError (error: unknown, timedOut: boolean): Error {
  if (error instanceof ServiceAccountFileError) return new ProviderNotConfiguredError()
  if (timedOut) return new UpstreamTimeoutError()
  if (error instanceof ApiException) {
    if (error.code === 403) {
      // The cluster refused the gateway's own identity: RBAC and configuration disagree,
      // which operators must see as a security event rather than a routine upstream error.
      return Object.assign(new UpstreamError(), { securityEvent: 'k8s-forbidden' as const, upstreamStatus: 403 })
    }
    if (error.code === 429) {
      return Object.assign(withRetryAfter(new UpstreamRateLimitedError(), retryAfterSeconds(error.headers)), { upstreamStatus: 429 })
    }
    return Object.assign(new UpstreamError(), { upstreamStatus: error.code })
  }
  return new UpstreamError()
}

/** Build the pod-listing client from the in-cluster service account (never from a kubeconfig file). */
export function createKubernetesClient (options: KubernetesOptions): KubernetesClient {
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new TypeError('timeoutMs must be a positive integer')
  }
  const dir = options.serviceAccountDir
  const tokenPath = join(dir, TOKEN_FILE)
  const caPath = join(dir, CA_FILE)
  const defaultNamespace = readNamespaceFile(dir)

  for (const name of options.allowedNamespaces ?? []) {
    if (!isDns1123Label(name)) throw new TypeError(`K8S_NAMESPACES: "${String(name).slice(0, 64)}" is not a DNS-1123 label`)
  }
  const allowed: readonly string[] = Object.freeze(
    options.allowedNamespaces !== undefined && options.allowedNamespaces.length > 0
      ? [...new Set(options.allowedNamespaces)]
      : defaultNamespace !== '' ? [defaultNamespace] : []
  )

  const host = options.host ?? process.env.KUBERNETES_SERVICE_HOST ?? ''
  const port = options.port ?? process.env.KUBERNETES_SERVICE_PORT ?? ''
  const server = serverUrl(host, port)

  let api: CoreV1Api | null = null
  const agents = new Map<string, HttpsAgent>()
  if (server !== null) {
    // Equivalent of KubeConfig.loadFromCluster(), whose path prefix cannot point at an arbitrary
    // directory and whose host/port come only from process.env. The CA file is re-read by the
    // library on every request, so a rotated CA bundle is picked up as well.
    const kubeConfig = new KubeConfig()
    kubeConfig.loadFromClusterAndUser(
      { name: 'in-cluster', server, caFile: caPath, skipTLSVerify: false },
      { name: 'in-cluster-service-account', authProvider: { name: AUTH_PROVIDER_NAME, config: {} } }
    )
    kubeConfig.addAuthenticator(tokenFileAuthenticator(tokenPath))
    reuseConnections(kubeConfig, agents)
    api = kubeConfig.makeApiClient(CoreV1Api)
  }

  const closing = new AbortController()

  async function listPods (namespace: string, page: { limit: number, continueToken?: string }, signal?: AbortSignal): Promise<PodPage> {
    // Every check happens before any network call: a refused request never reaches the cluster.
    if (!isDns1123Label(namespace)) throw new BadRequestError('namespace must be a DNS-1123 label')
    if (!isNamespaceAllowed(namespace, allowed)) throw new ForbiddenError()
    if (!isValidPageLimit(page.limit)) throw new BadRequestError('limit must be an integer from 1 to 100')
    if (page.continueToken !== undefined && !isContinueToken(page.continueToken)) {
      throw new BadRequestError('continue token is malformed')
    }
    if (api === null || !existsSync(tokenPath) || !existsSync(caPath)) throw new ProviderNotConfiguredError()
    if (closing.signal.aborted) throw new UpstreamError()

    const timeout = AbortSignal.timeout(options.timeoutMs)
    const combined = AbortSignal.any(signal === undefined ? [timeout, closing.signal] : [timeout, closing.signal, signal])
    const callOptions: ConfigurationOptions = {
      middleware: [{
        pre: (context: RequestContext) => { context.setSignal(combined); return new Observable(Promise.resolve(context)) },
        post: (context: ResponseContext) => new Observable(Promise.resolve(context))
      }],
      middlewareMergeStrategy: 'append'
    }
    let list
    try {
      list = await api.listNamespacedPod(
        { namespace, limit: page.limit, _continue: page.continueToken },
        callOptions
      )
    } catch (error) {
      throw mapError(error, timeout.aborted)
    }

    const items: unknown = list?.items
    if (!Array.isArray(items)) throw new UpstreamError()
    // An apiserver may ignore `limit`; the answer stays bounded regardless.
    const pods: PodSummary[] = []
    for (const item of items.slice(0, page.limit)) {
      const summary = summarizePod(item ?? {})
      // A pod without a valid name cannot come from a real apiserver: discard the whole answer.
      if (summary === null) throw new UpstreamError()
      pods.push(summary)
    }
    const next = list.metadata?._continue
    return { namespace, pods, next: isContinueToken(next) ? next : null }
  }

  return {
    listPods,
    defaultNamespace,
    isNamespaceAllowed: (namespace: string) => isNamespaceAllowed(namespace, allowed),
    close: () => {
      closing.abort()
      for (const agent of agents.values()) agent.destroy()
      agents.clear()
    }
  }
}

/**
 * The library builds a new https.Agent for every call: a new TLS handshake and a freshly parsed CA
 * each time (a third of the route's CPU in the benchmark). Agents are kept per CA instead (the CA
 * file is still read per call, so a rotated CA gets a new agent), with keep-alive connections.
 * createAgent is private in the library's types, hence the instance-level replacement.
 */
function reuseConnections (kubeConfig: KubeConfig, agents: Map<string, HttpsAgent>): void {
  const target = kubeConfig as unknown as { createAgent: (cluster: unknown, options: AgentOptions) => HttpsAgent }
  target.createAgent = (_cluster, options) => {
    const key = createHash('sha256').update(String(options.ca ?? '')).update(String(options.servername ?? '')).digest('hex')
    let agent = agents.get(key)
    if (agent === undefined) {
      for (const old of agents.values()) old.destroy()
      agents.clear()
      agent = new HttpsAgent({ ...options, keepAlive: true, maxSockets: 16 })
      agents.set(key, agent)
    }
    return agent
  }
}
