// GitHub rules: username and delivery-id formats, text sanitising, webhook HMAC verification.
import { Buffer, isUtf8 } from 'node:buffer'
import { verify } from '@octokit/webhooks-methods'

// GitHub's own limit for a login.
const USERNAME_MAX_LENGTH = 39

/**
 * JSON-schema `pattern` equivalent to isValidGitHubUsername. Linear time: each position is
 * either one alphanumeric or a hyphen whose one-character lookahead demands an alphanumeric
 * next, so there is never more than one way to match a character.
 */
export const GITHUB_USERNAME_PATTERN = '^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$'

/** GitHub repository names: ASCII letters, digits, `.`, `_`, `-`, at most 100 characters. */
export const GITHUB_REPO_NAME_PATTERN = '^[A-Za-z0-9._-]{1,100}$'

/**
 * `owner/repo`. The owner part is looser than GITHUB_USERNAME_PATTERN on purpose: legacy
 * accounts and organisations may break today's hyphen rules, and one such repo must not turn
 * a whole page into an error.
 */
export const GITHUB_FULL_NAME_PATTERN = '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$'

/** X-GitHub-Delivery is a GUID in the 8-4-4-4-12 hex form (any version). */
export const GITHUB_DELIVERY_ID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
const DELIVERY_ID_RE = new RegExp(GITHUB_DELIVERY_ID_PATTERN)

// GitHub sends `sha256=` and the 64 hex digits of an HMAC-SHA256; any other form is
// rejected before an HMAC is computed.
const SIGNATURE_256_RE = /^sha256=[0-9A-Fa-f]{64}$/

// Event names GitHub sends are lowercase words with underscores.
const EVENT_NAME_RE = /^[a-z_]{1,64}$/

// Characters that are invisible or reorder text: C0 controls (tab, LF and CR handled apart),
// DEL and C1 controls, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
// characters, bidi marks/embeddings/overrides/isolates, invisible operators, BOM, interlinear
// annotation controls, and Unicode tag characters U+E0000..U+E007F (used to smuggle hidden
// ASCII), written as their UTF-16 surrogate pairs. A single class or one fixed pair: linear.
// eslint-disable-next-line no-control-regex -- matching control characters is the purpose
const INVISIBLE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g
// Line breaks become spaces so that words on either side do not run together.
const LINE_BREAK_RE = /[\t\n\r\u2028\u2029]/g
const ELLIPSIS = '…'

/** Default bound, in code points, for a repository description shown to clients. */
export const DESCRIPTION_MAX_LENGTH = 300

function isAsciiAlphanumeric (code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

/**
 * GitHub's login rule: 1..39 ASCII alphanumerics or single hyphens, no hyphen at either end,
 * no two hyphens in a row. Rejects anything else (path segments, encodings, Unicode).
 */
export function isValidGitHubUsername (name: string): boolean {
  if (typeof name !== 'string' || name.length < 1 || name.length > USERNAME_MAX_LENGTH) return false
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (isAsciiAlphanumeric(code)) continue
    if (code !== 45) return false
    // A hyphen must sit between two alphanumerics: not first, not last, not doubled.
    if (i === 0 || i === name.length - 1 || name.charCodeAt(i + 1) === 45) return false
  }
  return true
}

/**
 * Clean text that came from GitHub before it reaches a client: drop invisible and
 * control characters, turn line breaks into spaces, trim, and bound the length in code
 * points (never splitting a surrogate pair), ending a cut text with an ellipsis.
 * Empty results become null. HTML escaping is the serializer's job, not this function's.
 */
export function sanitizeDescription (text: string | null, maxLength = DESCRIPTION_MAX_LENGTH): string | null {
  if (typeof text !== 'string') return null
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError('maxLength must be a positive integer')
  // toWellFormed: a lone surrogate becomes U+FFFD, so the result is always valid Unicode.
  const cleaned = text.replace(INVISIBLE_RE, '').replace(LINE_BREAK_RE, ' ').toWellFormed().trim()
  if (cleaned === '') return null
  // Fast path: fewer UTF-16 units than the bound means fewer code points too.
  if (cleaned.length <= maxLength) return cleaned
  let units = 0
  let points = 0
  let cutAt = 0
  for (const char of cleaned) {
    if (points === maxLength - 1) cutAt = units
    // A code point beyond the bound exists: keep maxLength - 1 of them plus the ellipsis.
    if (points === maxLength) return cleaned.slice(0, cutAt).trimEnd() + ELLIPSIS
    units += char.length
    points++
  }
  return cleaned
}

/** Parse GITHUB_WEBHOOK_SECRET: comma-separated so that a rotation can accept old and new. */
export function parseWebhookSecrets (value: string | undefined): string[] {
  if (typeof value !== 'string') return []
  return value.split(',').map((secret) => secret.trim()).filter((secret) => secret !== '')
}

/**
 * Parse GITHUB_WEBHOOK_EVENTS into the set of accepted event types. `ping` is always accepted
 * (GitHub sends it when a hook is created); names that cannot be GitHub event names are dropped.
 */
export function parseWebhookEvents (value: string | undefined, defaults: readonly string[] = ['push', 'pull_request', 'issues', 'release']): Set<string> {
  const names = typeof value === 'string' && value.trim() !== '' ? value.split(',') : defaults
  const events = new Set<string>(['ping'])
  for (const name of names) {
    const trimmed = name.trim().toLowerCase()
    if (EVENT_NAME_RE.test(trimmed)) events.add(trimmed)
  }
  return events
}

/** Whether a value is an X-GitHub-Delivery GUID. */
export function isDeliveryId (value: string): boolean {
  return typeof value === 'string' && DELIVERY_ID_RE.test(value)
}

/**
 * Verify X-Hub-Signature-256 over the exact raw body with each configured secret (several
 * during a rotation). False for a missing or malformed header, a wrong signature, or a body
 * whose exact bytes cannot be verified (see below). Never throws for hostile input.
 */
export async function verifyWebhookSignature (secrets: readonly string[], rawBody: Buffer | string, signatureHeader: string | undefined): Promise<boolean> {
  if (typeof signatureHeader !== 'string' || !SIGNATURE_256_RE.test(signatureHeader)) return false
  // GitHub sends lowercase hex; the comparison inside verify() is on the exact string.
  const signature = signatureHeader.toLowerCase()
  let payload: string
  if (Buffer.isBuffer(rawBody)) {
    // verify() takes a string and HMACs its UTF-8 encoding. Decoding and re-encoding is the
    // identity only for valid UTF-8; for other bytes it would replace them with U+FFFD, so two
    // different bodies would share one signature. JSON on the wire is UTF-8 (RFC 8259 §8.1),
    // so a body that is not cannot be a GitHub delivery: reject it.
    if (!isUtf8(rawBody)) return false
    payload = rawBody.toString('utf8')
  } else if (typeof rawBody === 'string') {
    // Lone surrogates would be encoded as U+FFFD: same ambiguity as above.
    if (!rawBody.isWellFormed()) return false
    payload = rawBody
  } else {
    return false
  }
  // verify() throws on an empty payload or secret; an empty secret would also be forgeable.
  if (payload === '') return false
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret === '') continue
    if (await verify(secret, payload, signature)) return true
  }
  return false
}
