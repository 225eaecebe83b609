// Credential detectors for model output: a prefix hit is confirmed by checksum, structure or shape.
import { hasValidCrc32Suffix } from './checksum.ts'

/** Receives a finding type such as 'secret:jwt'; never the matched text. */
export type AddFinding = (type: string) => void

type Validate = (body: string) => string | null

interface TokenSpec {
  readonly charset: Uint8Array
  readonly validate: Validate
  /** JWTs: the prefix `eyJ` is part of the first segment. */
  readonly bodyIncludesPrefix: boolean
}

function charTable (ranges: string): Uint8Array {
  const table = new Uint8Array(128)
  for (let i = 0; i < ranges.length; i++) {
    if (ranges[i + 1] === '~' && i + 2 < ranges.length) {
      for (let c = ranges.charCodeAt(i); c <= ranges.charCodeAt(i + 2); c++) table[c] = 1
      i += 2
    } else {
      table[ranges.charCodeAt(i)] = 1
    }
  }
  return table
}

const ALNUM = charTable('A~Za~z0~9')
const ALNUM_US = charTable('A~Za~z0~9_')
const ALNUM_DASH = charTable('A~Za~z0~9-')
const ALNUM_US_DASH = charTable('A~Za~z0~9_-')
const ALNUM_US_DASH_DOT = charTable('A~Za~z0~9_-.')
const BASE64 = charTable('A~Za~z0~9+/')

function inSet (table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1
}

// why: real tokens end at a non-token character; reading is capped so a huge run costs little.
const MAX_RUN = 8192
// why 3: long tokens (JWTs, sk-proj keys) wrapped by a chat UI or by the model span a few lines at most.
const MAX_LINE_JOINS = 3

function readRun (text: string, from: number, charset: Uint8Array): number {
  let end = from
  const limit = Math.min(text.length, from + MAX_RUN)
  while (end < limit && inSet(charset, text.charCodeAt(end))) end++
  return end
}

// A line break inside a token as LLM prose writes it: an optional hyphen or spaces, a newline,
// optional indentation. Returns where the next piece starts, or -1.
function skipLineBreak (text: string, from: number): number {
  let p = from
  if (text.charCodeAt(p) === 45) p++ // '-'
  while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++
  if (text.charCodeAt(p) === 13) p++
  if (text.charCodeAt(p) !== 10) return -1
  p++
  while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++
  // a markdown quote continues its line with '> '
  if (text.charCodeAt(p) === 62) {
    p++
    while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++
  }
  return p
}

const PLACEHOLDER_WORDS = ['example', 'xxxx', 'your', 'placeholder', 'redacted', 'dummy', 'sample', 'insert', 'replace', 'changeme', 'here', 'token', 'secret', 'test1234']
const seen = new Uint8Array(128)

/**
 * Shape test for random token bodies: rejects placeholders (`XXXX…`, `your_token_here`,
 * `1234567890abcdef`). why these limits: a uniformly random base62/base32/hex body of 16+
 * characters has a run of 4 equal characters or an ascending run of 5 with probability < 1e-3,
 * and well over a third of its characters distinct.
 */
export function looksRandom (body: string): boolean {
  if (body.length < 8) return false
  seen.fill(0)
  let distinct = 0
  let repeat = 1
  let ascending = 1
  let descending = 1
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    if (c < 128 && seen[c] === 0) { seen[c] = 1; distinct++ }
    if (i === 0) continue
    const prev = body.charCodeAt(i - 1)
    repeat = c === prev ? repeat + 1 : 1
    ascending = c === prev + 1 ? ascending + 1 : 1
    descending = c === prev - 1 ? descending + 1 : 1
    if (repeat >= 4 || ascending >= 5 || descending >= 5) return false
  }
  if (distinct < Math.min(10, Math.ceil(body.length / 3))) return false
  const lower = body.toLowerCase()
  for (const word of PLACEHOLDER_WORDS) if (lower.includes(word)) return false
  return true
}

const UPPER_DIGITS_RE = /^[A-Z0-9]+$/
const LETTERS_RE = /^[A-Za-z]+$/
const DIGITS_RE = /^\d+$/
const ANTHROPIC_KIND_RE = /^ant-[a-z]{2,12}\d{2}-/
const OPENAI_KIND_RE = /^(?:proj|svcacct|admin)-/
// base64 of "OpenAI": present in every OpenAI secret key format.
const OPENAI_MARKER = 'T3BlbkFJ'
// jwt.io's public sample token (signed with "your-256-bit-secret"): documentation, not a credential.
const KNOWN_SAMPLE_SIGNATURES = new Set(['SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'])

// why checksum-only: every real token of these formats carries a valid CRC32; a body without one
// is a look-alike (fixture, typo, invented example) and flagging it would only add noise.
const githubClassic: Validate = (b) => b.length >= 36 && hasValidCrc32Suffix(b.slice(0, 36)) ? 'secret:github-token' : null
const npmToken: Validate = (b) => b.length >= 36 && hasValidCrc32Suffix(b.slice(0, 36)) ? 'secret:npm-token' : null
const gatewayKey: Validate = (b) => b.length >= 32 && hasValidCrc32Suffix(b.slice(0, 32)) ? 'secret:gateway-key' : null

const githubFineGrained: Validate = (b) =>
  b.length >= 82 && b[22] === '_' && looksRandom(b.slice(0, 22)) && looksRandom(b.slice(23, 82)) ? 'secret:github-token' : null

const skKey: Validate = (b) => {
  const anthropic = ANTHROPIC_KIND_RE.exec(b)
  if (anthropic !== null) {
    const rest = b.slice(anthropic[0].length)
    return rest.length >= 80 && looksRandom(rest) ? 'secret:anthropic-key' : null
  }
  const project = OPENAI_KIND_RE.exec(b)
  if (project !== null) {
    const rest = b.slice(project[0].length)
    // why 80 without the marker: no prose or placeholder is 80 random-looking token characters.
    const marked = rest.length >= 40 && rest.includes(OPENAI_MARKER)
    return (marked || rest.length >= 80) && looksRandom(rest) ? 'secret:openai-key' : null
  }
  const legacy = b.slice(0, 48)
  return legacy.length === 48 && legacy.indexOf(OPENAI_MARKER) === 20 && looksRandom(legacy) && !legacy.includes('-') && !legacy.includes('_')
    ? 'secret:openai-key'
    : null
}

const stripeKey: Validate = (b) => b.length >= 24 && looksRandom(b) ? 'secret:stripe-key' : null
const huggingFace: Validate = (b) => b.length === 34 && LETTERS_RE.test(b) && looksRandom(b) ? 'secret:huggingface-token' : null
// why EXAMPLE: AWS documents its sample access key ids and secret keys with that suffix.
const awsAccessKey: Validate = (b) => b.length === 16 && UPPER_DIGITS_RE.test(b) && !b.endsWith('EXAMPLE') && looksRandom(b) ? 'secret:aws-access-key' : null
const googleKey: Validate = (b) => b.length === 35 && looksRandom(b) ? 'secret:google-api-key' : null
const gitlabToken: Validate = (b) => b.length >= 20 && looksRandom(b) ? 'secret:gitlab-token' : null

const slackToken: Validate = (b) => {
  const parts = b.split('-').filter((part) => part.length > 0)
  if (parts.length < 2) return null
  const last = parts[parts.length - 1]
  const numbered = parts.some((part) => part.length >= 6 && DIGITS_RE.test(part))
  return numbered && last.length >= 24 && looksRandom(last) ? 'secret:slack-token' : null
}

const sendGrid: Validate = (b) => {
  const parts = trimDots(b).split('.')
  return parts.length === 2 && parts[0].length === 22 && parts[1].length === 43 && looksRandom(parts[0]) && looksRandom(parts[1])
    ? 'secret:sendgrid-key'
    : null
}

const jwt: Validate = (b) => {
  const parts = trimDots(b).split('.')
  // why 3 or 5: a signed JWT (JWS) has three segments, an encrypted one (JWE) five.
  if (parts.length !== 3 && parts.length !== 5) return null
  const signature = parts[parts.length - 1]
  // why 16: an unsigned or truncated token authenticates nothing; real signatures are 43+ characters.
  if (parts[1].length < 2 || signature.length < 16 || KNOWN_SAMPLE_SIGNATURES.has(signature)) return null
  return hasJwtHeader(parts[0]) ? 'secret:jwt' : null
}

function hasJwtHeader (segment: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
  } catch {
    return false
  }
}

function trimDots (b: string): string {
  let end = b.length
  while (end > 0 && b.charCodeAt(end - 1) === 46) end--
  return b.slice(0, end)
}

const spec = (charset: Uint8Array, validate: Validate, bodyIncludesPrefix = false): TokenSpec => ({ charset, validate, bodyIncludesPrefix })

const TOKEN_SPECS = new Map<string, TokenSpec>([
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((p): [string, TokenSpec] => [p, spec(ALNUM, githubClassic)]),
  ['github_pat_', spec(ALNUM_US, githubFineGrained)],
  ['npm_', spec(ALNUM, npmToken)],
  ['sk-', spec(ALNUM_US_DASH, skKey)],
  ...['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'].map((p): [string, TokenSpec] => [p, spec(ALNUM, stripeKey)]),
  ['hf_', spec(ALNUM, huggingFace)],
  ['AKIA', spec(ALNUM, awsAccessKey)],
  ['ASIA', spec(ALNUM, awsAccessKey)],
  ...['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxo-', 'xoxs-'].map((p): [string, TokenSpec] => [p, spec(ALNUM_DASH, slackToken)]),
  ['AIza', spec(ALNUM_US_DASH, googleKey)],
  ['glpat-', spec(ALNUM_US_DASH, gitlabToken)],
  ['SG.', spec(ALNUM_US_DASH_DOT, sendGrid)],
  ['eyJ', spec(ALNUM_US_DASH_DOT, jwt, true)],
  ['gw_', spec(ALNUM, gatewayKey)]
])

// Prefixes by first character code, longest first (`sk_live_` before `sk-`, `github_pat_` before `gh…`).
const PREFIXES_BY_FIRST = new Map<number, string[]>()
for (const prefix of [...TOKEN_SPECS.keys()].sort((x, y) => y.length - x.length)) {
  const list = PREFIXES_BY_FIRST.get(prefix.charCodeAt(0)) ?? []
  list.push(prefix)
  PREFIXES_BY_FIRST.set(prefix.charCodeAt(0), list)
}

/**
 * Lowercase words that start a token prefix when `-`, `_` or `.` follows them (`ghp_`, `sk-`,
 * `SG.`). The output scanner's word pass calls tokenAt at these words, and at words starting
 * with `AKIA`, `ASIA`, `AIza` or `eyJ`, so that finding candidates costs no pass of its own.
 */
export const TOKEN_PREFIX_WORDS = ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'github', 'npm', 'sk', 'rk', 'hf', 'xoxb', 'xoxp', 'xoxa', 'xoxr', 'xoxo', 'xoxs', 'glpat', 'sg', 'gw']

/**
 * Validates the token at `from`, joining up to MAX_LINE_JOINS continuation lines. Returns the
 * finding type (or null), where the token ends, and where its first line's run ends.
 */
function matchToken (text: string, from: number, tokenSpec: TokenSpec): [string | null, number, number] {
  let end = readRun(text, from, tokenSpec.charset)
  const firstEnd = end
  let variants = [text.slice(from, end)]
  for (let joins = 0; ; joins++) {
    for (const variant of variants) {
      const type = tokenSpec.validate(variant)
      if (type !== null) return [type, end, firstEnd]
    }
    if (joins === MAX_LINE_JOINS) return [null, end, firstEnd]
    const next = skipLineBreak(text, end)
    if (next === -1) return [null, end, firstEnd]
    const nextEnd = readRun(text, next, tokenSpec.charset)
    if (nextEnd === next) return [null, end, firstEnd]
    const piece = text.slice(next, nextEnd)
    const joined: string[] = []
    for (const variant of variants) {
      joined.push(variant + piece)
      // a trailing '-' that the token alphabet contains may be the line-break hyphen
      if (variant.endsWith('-')) joined.push(variant.slice(0, -1) + piece)
    }
    // why 4: enough for a hyphen at each of two breaks; bounds the work per hit
    variants = joined.slice(0, 4)
    end = nextEnd
  }
}

/**
 * Tries the token formats whose prefix stands at `start`, a word start (the character before is
 * not a letter or digit: `task-`, `disk-`, `framework_live_` are words, not tokens). Reports a
 * finding and returns where the caller may resume: after the token when one was found, else
 * after the first run read (never re-reading a run keeps `eyJ.eyJ.eyJ…` linear; the lines a
 * failed join read are left to the caller, since they may hold prose).
 */
export function tokenAt (text: string, start: number, add: AddFinding): number {
  const candidates = PREFIXES_BY_FIRST.get(text.charCodeAt(start))
  if (candidates === undefined) return start
  for (const prefix of candidates) {
    if (!text.startsWith(prefix, start)) continue
    const tokenSpec = TOKEN_SPECS.get(prefix) as TokenSpec
    const [type, end, firstEnd] = matchToken(text, tokenSpec.bodyIncludesPrefix ? start : start + prefix.length, tokenSpec)
    if (type === null) return firstEnd
    add(type)
    return end
  }
  return start
}

const PEM_PRIVATE_RE = /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |ANY )?PRIVATE KEY(?: BLOCK)?-----/y
// why 60: a key body is at least 64 base64 characters (Ed25519 PKCS#8); explanations show
// "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC..." (the constant ASN.1 header, 32 characters) or nothing.
const PEM_MIN_BODY = 60
const PEM_WINDOW = 600

function scanPrivateKeys (text: string, add: AddFinding): void {
  let at = text.indexOf('-----BEGIN ')
  while (at !== -1) {
    PEM_PRIVATE_RE.lastIndex = at
    if (PEM_PRIVATE_RE.test(text)) {
      const bodyStart = PEM_PRIVATE_RE.lastIndex
      const endMarker = text.indexOf('-----END', bodyStart)
      const bodyEnd = Math.min(text.length, bodyStart + PEM_WINDOW, endMarker === -1 ? Infinity : endMarker)
      let count = 0
      for (let i = bodyStart; i < bodyEnd; i++) if (inSet(BASE64, text.charCodeAt(i))) count++
      if (count >= PEM_MIN_BODY) { add('secret:private-key'); return }
    }
    at = text.indexOf('-----BEGIN ', at + 11)
  }
}

const AWS_SECRET_NAME_RE = /secret[_ -]?access[_ -]?key/iy
// why 80: the value follows its name within `= "`, `: `, a table cell or a short phrase
const AWS_SECRET_WINDOW = 80

/**
 * An AWS secret access key (40 base64 characters) just after its name, for a name starting at
 * `start`. Called by the output scanner's word pass at the words `secret` and `secretaccesskey`,
 * so that finding the name costs nothing extra.
 */
export function awsSecretKeyAt (text: string, start: number): boolean {
  AWS_SECRET_NAME_RE.lastIndex = start
  if (!AWS_SECRET_NAME_RE.test(text)) return false
  const limit = Math.min(text.length, AWS_SECRET_NAME_RE.lastIndex + AWS_SECRET_WINDOW)
  let i = AWS_SECRET_NAME_RE.lastIndex
  while (i < limit) {
    if (!inSet(BASE64, text.charCodeAt(i))) { i++; continue }
    const end = readRun(text, i, BASE64)
    const value = text.slice(i, end)
    if (value.length === 40 && !value.includes('EXAMPLE') && looksRandom(value)) return true
    i = end
  }
  return false
}

/** Words where awsSecretKeyAt is tried (`aws_secret_access_key`, `SecretAccessKey`). */
export const AWS_SECRET_ANCHOR_WORDS = ['secret', 'secretaccesskey']

const SLACK_HOOK = 'hooks.slack.com/services/'
const SLACK_HOOK_PATH_RE = /^T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\/([A-Za-z0-9]{24})$/
const SLACK_HOOK_SPEC = spec(charTable('A~Za~z0~9/'), (path) => {
  const match = SLACK_HOOK_PATH_RE.exec(path)
  return match !== null && looksRandom(match[1]) ? 'secret:slack-webhook' : null
})

function scanSlackWebhooks (text: string, add: AddFinding): void {
  let at = text.indexOf(SLACK_HOOK)
  while (at !== -1) {
    const [type, end] = matchToken(text, at + SLACK_HOOK.length, SLACK_HOOK_SPEC)
    if (type !== null) { add(type); return }
    at = text.indexOf(SLACK_HOOK, Math.max(end, at + SLACK_HOOK.length))
  }
}

const DB_SCHEMES = new Set(['postgres', 'postgresql', 'mysql', 'mysqlx', 'mariadb', 'mongodb', 'mongodb+srv', 'redis', 'rediss', 'amqp', 'amqps', 'mssql', 'sqlserver', 'cockroachdb'])
const WEB_SCHEMES = new Set(['http', 'https', 'ftp', 'ftps', 'ssh', 'git'])
const SCHEME_CHARS = charTable('A~Za~z0~9+.-')
// why: characters that end the authority in prose and markup; a password with one of them is
// percent-encoded in a real URL.
const AUTHORITY_STOP = charTable(' \t\n\r/?#"\'`<>()[]\\|')
const MAX_AUTHORITY = 256
const LEET: Record<string, string> = { 0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't', $: 's', '@': 'a' }
const PLACEHOLDER_PASSWORD_WORDS = ['password', 'passwd', 'pass', 'pwd', 'secret', 'changeme', 'example', 'placeholder', 'redacted', 'dummy', 'test']
const DEFAULT_PASSWORDS = new Set(['postgres', 'root', 'admin', 'guest', 'mysql', 'redis', 'mongo', 'user', 'default', 'rabbitmq', 'sa', 'letmein', 'qwerty', 'hunter2', 'foo', 'bar', 'foobar'])
// why: template syntax, masking and truncation mean the value is not in the text
const PLACEHOLDER_PASSWORD_RE = /[<>{}$%*…]|\.\.\.|^x+$/i

/** Passwords that document a shape rather than leak a value: `password`, `${DB_PASS}`, `****`, `guest:guest`. */
export function isPlaceholderPassword (password: string, user: string): boolean {
  if (PLACEHOLDER_PASSWORD_RE.test(password)) return true
  const lower = password.toLowerCase()
  if (lower === user.toLowerCase() || DEFAULT_PASSWORDS.has(lower)) return true
  let letters = ''
  for (const ch of lower) {
    const mapped = LEET[ch] ?? ch
    if (mapped >= 'a' && mapped <= 'z') letters += mapped
  }
  // why 6: `password1`, `secretpassword` document a shape; `passion` or `testarossa` may be real
  for (const word of PLACEHOLDER_PASSWORD_WORDS) {
    if (letters.endsWith(word) || (word.length >= 6 && letters.startsWith(word))) return true
  }
  return false
}

// JDBC-style and driver options: `?user=app&password=…`
const PASSWORD_PARAMETER_RE = /[?&;](?:password|passwd|pwd)=([^&;#\s"'`<>)]{1,256})/gi
// why 512: the options of a connection string fit; prose further on is not part of the URL
const MAX_QUERY = 512

function passwordParameter (text: string, from: number): boolean {
  let end = from
  const limit = Math.min(text.length, from + MAX_QUERY)
  while (end < limit && !isSpaceOrQuote(text.charCodeAt(end))) end++
  const query = text.slice(from, end)
  if (!query.includes('=')) return false
  PASSWORD_PARAMETER_RE.lastIndex = 0
  let match: RegExpExecArray | null
  while ((match = PASSWORD_PARAMETER_RE.exec(query)) !== null) {
    if (!isPlaceholderPassword(decodeURIComponentSafe(match[1]), '')) return true
  }
  return false
}

function isSpaceOrQuote (c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 34 || c === 39 || c === 96 || c === 60 || c === 62
}

function decodeURIComponentSafe (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function scanUrlCredentials (text: string, add: AddFinding): void {
  let at = text.indexOf('://')
  while (at !== -1) {
    let start = at
    while (start > 0 && at - start < 16 && inSet(SCHEME_CHARS, text.charCodeAt(start - 1))) start--
    const scheme = text.slice(start, at).toLowerCase()
    const database = DB_SCHEMES.has(scheme)
    if (database || WEB_SCHEMES.has(scheme)) {
      let end = at + 3
      const limit = Math.min(text.length, end + MAX_AUTHORITY)
      while (end < limit && !inSet(AUTHORITY_STOP, text.charCodeAt(end))) end++
      const authority = text.slice(at + 3, end)
      const userEnd = authority.lastIndexOf('@')
      const colon = userEnd === -1 ? -1 : authority.indexOf(':')
      if (colon !== -1 && colon < userEnd) {
        const password = authority.slice(colon + 1, userEnd)
        if (password.length > 0 && !isPlaceholderPassword(password, authority.slice(0, colon))) {
          add(database ? 'secret:connection-string' : 'secret:url-credentials')
        }
      }
      if (database && passwordParameter(text, at + 3)) add('secret:connection-string')
    }
    at = text.indexOf('://', at + 3)
  }
}

/**
 * Reports the credentials found by their structure: PEM private keys, Slack webhooks, URLs with
 * a password. Prefixed tokens (tokenAt) and AWS secret keys (awsSecretKeyAt) are found by the
 * output scanner's word pass.
 */
export function scanStructuredSecrets (text: string, add: AddFinding): void {
  if (text.includes('-----BEGIN ')) scanPrivateKeys(text, add)
  if (text.includes(SLACK_HOOK)) scanSlackWebhooks(text, add)
  if (text.includes('://')) scanUrlCredentials(text, add)
}
