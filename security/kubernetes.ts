// Kubernetes request guards and the pod summary that is the only pod data allowed to leave the gateway.

/** Kubernetes caps a DNS-1123 label (and so a namespace name) at 63 characters. */
export const DNS1123_LABEL_MAX_LENGTH = 63

/** Default number of pods per page when the caller gives none. */
export const POD_PAGE_LIMIT_DEFAULT = 50

/** Upper bound on a page: bounds the upstream response we parse and the answer we build. */
export const POD_PAGE_LIMIT_MAX = 100

/**
 * Continue tokens are opaque, but the apiserver emits base64 of a small JSON object; a cap keeps a
 * client from smuggling a large query string upstream (real tokens are a few hundred bytes).
 */
export const CONTINUE_TOKEN_MAX_LENGTH = 4096

/** Object names (pods included) are DNS-1123 subdomains: at most 253 characters. */
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253

/** The phases the Pod API defines; anything else from upstream is reported as Unknown. */
const POD_PHASES: readonly string[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']

// One character class, no groups: linear time. The first and last characters are checked apart
// (no leading or trailing '-'), and the length cap is checked before the regex runs.
const DNS1123_CHARS = /^[-a-z0-9]+$/
const DNS1123_SUBDOMAIN_CHARS = /^[-.a-z0-9]+$/
// The base64 and base64url alphabets plus padding: what the apiserver puts in `metadata.continue`.
const CONTINUE_TOKEN = /^[A-Za-z0-9+/_=-]+$/

/** A pod as reduced for clients: no labels, annotations, addresses, node names, images or env. */
export interface PodSummary {
  name: string
  phase: string
  /** "readyContainers/totalContainers", as `kubectl get pods` shows it. */
  ready: string
  restarts: number
  createdAt: string | null
}

/** The parts of a V1Pod this module reads; everything else in the object is ignored. */
export interface PodLike {
  metadata?: { name?: unknown, creationTimestamp?: unknown } | null
  spec?: { containers?: unknown } | null
  status?: { phase?: unknown, containerStatuses?: unknown } | null
}

/** True when `value` is a DNS-1123 label, the only form a namespace name may take. */
export function isDns1123Label (value: unknown): value is string {
  return typeof value === 'string' &&
    value.length > 0 &&
    value.length <= DNS1123_LABEL_MAX_LENGTH &&
    DNS1123_CHARS.test(value) &&
    !value.startsWith('-') &&
    !value.endsWith('-')
}

/**
 * True when `value` is a DNS-1123 subdomain (a pod name). A real apiserver never returns anything
 * else, so a name outside this form means the upstream is not what it claims; it also guarantees
 * that no '<', '>' or '&' can reach a client from a pod name.
 */
export function isDns1123Subdomain (value: unknown): value is string {
  return typeof value === 'string' &&
    value.length > 0 &&
    value.length <= DNS1123_SUBDOMAIN_MAX_LENGTH &&
    DNS1123_SUBDOMAIN_CHARS.test(value) &&
    value.split('.').every((part) => part.length > 0 && !part.startsWith('-') && !part.endsWith('-'))
}

/**
 * True when `namespace` is a valid label and appears in the allowlist. Exact comparison only:
 * no prefixes or globs, so an operator's list means exactly what it says.
 */
export function isNamespaceAllowed (namespace: unknown, allowed: readonly string[]): boolean {
  return isDns1123Label(namespace) && allowed.includes(namespace)
}

/**
 * Parse a comma-separated namespace list (K8S_NAMESPACES). Blank entries are dropped; an invalid
 * label throws with the offending value so a misconfiguration stops the start instead of silently
 * narrowing or widening the list.
 */
export function parseNamespaceList (csv: string | undefined): string[] {
  if (csv === undefined) return []
  const names = csv.split(',').map((part) => part.trim()).filter((part) => part.length > 0)
  for (const name of names) {
    if (!isDns1123Label(name)) {
      throw new TypeError(`K8S_NAMESPACES: "${String(name).slice(0, DNS1123_LABEL_MAX_LENGTH + 1)}" is not a DNS-1123 label`)
    }
  }
  return [...new Set(names)]
}

/** True when `limit` is an integer page size in 1..POD_PAGE_LIMIT_MAX. */
export function isValidPageLimit (limit: unknown): limit is number {
  return Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= POD_PAGE_LIMIT_MAX
}

/** True when `token` has the shape of an apiserver continue token (bounded base64). */
export function isContinueToken (token: unknown): token is string {
  return typeof token === 'string' &&
    token.length > 0 &&
    token.length <= CONTINUE_TOKEN_MAX_LENGTH &&
    CONTINUE_TOKEN.test(token)
}

function toIsoTimestamp (value: unknown): string | null {
  // The client library deserializes timestamps to Date; raw JSON carries RFC 3339 strings.
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null
  return date !== null && Number.isFinite(date.getTime()) ? date.toISOString() : null
}

function nonNegativeInteger (value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : 0
}

/**
 * Reduce a pod to the five fields the contract exposes. Built field by field from scratch (never
 * by copying and deleting) so a field added upstream can never leak through. Returns null when the
 * object has no valid pod name: the caller discards the whole answer rather than pass on a part.
 */
export function summarizePod (pod: PodLike): PodSummary | null {
  const metadata = pod.metadata ?? {}
  if (!isDns1123Subdomain(metadata.name)) return null
  const status = pod.status ?? {}
  const specContainers = Array.isArray(pod.spec?.containers) ? pod.spec.containers : []
  const statuses: unknown[] = Array.isArray(status.containerStatuses) ? status.containerStatuses : []

  let readyCount = 0
  let restarts = 0
  for (const entry of statuses) {
    if (entry === null || typeof entry !== 'object') continue
    const containerStatus = entry as { ready?: unknown, restartCount?: unknown }
    if (containerStatus.ready === true) readyCount++
    restarts += nonNegativeInteger(containerStatus.restartCount)
  }
  // Before the kubelet reports, a pod has containers in its spec but no statuses yet.
  const total = Math.max(specContainers.length, statuses.length)

  return {
    name: metadata.name,
    phase: typeof status.phase === 'string' && POD_PHASES.includes(status.phase) ? status.phase : 'Unknown',
    ready: `${readyCount}/${total}`,
    restarts,
    createdAt: toIsoTimestamp(metadata.creationTimestamp)
  }
}
