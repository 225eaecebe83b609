// DAST stage: starts the gateway against the upstream fakes and runs real scanners at it; any finding fails.
// Usage: node scripts/security/dast.ts [--self-test] [--only=sqlmap,ffuf,...]
//   (no flag)    sqlmap, wapiti, ffuf, nikto, spectral, portman+newman against `node server.ts`
//   --self-test  runs the sqlmap gate against test/fixtures/vulnerable-app.ts and exits 0 only if the
//                gate FAILS there (i.e. the check can fail); .ci/run runs it before the real scan.
// Reports: test-output/security/<tool>/… and test-output/security/dast-summary.json.
/* eslint-disable security/detect-non-literal-fs-filename -- every path is built from OUT_DIR or a temp dir */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startFakeUpstreams } from './fake-upstreams.ts'
import type { FakeUpstreams } from './fake-upstreams.ts'
import { startVulnerableApp } from '../../test/fixtures/vulnerable-app.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const OUT_DIR = join(ROOT, 'test-output', 'security')
const BIN = join(ROOT, 'node_modules', '.bin')
const GATEWAY_PORT = 18080
const BASE = `http://127.0.0.1:${GATEWAY_PORT}`
const ADMIN = { email: 'dast-admin@example.test', password: `Dast-${randomBytes(12).toString('base64url')}-1a` }
const WEBHOOK_SECRET = randomBytes(24).toString('hex')
const WORDLIST_DIR = '/usr/share/wfuzz/wordlist/Injections'

// Time bounds (the whole stage must fit in ~10 minutes on 2 cores).
const SQLMAP_TARGET_TIMEOUT_MS = 180_000
const SQLMAP_PARALLEL = 4
const WAPITI_TIMEOUT_MS = 200_000
const FFUF_TARGET_TIMEOUT_MS = 90_000
const NIKTO_TIMEOUT_MS = 200_000
const TOOL_TIMEOUT_MS = 120_000

// nikto "Uncommon header" items (test 999100) for headers the gateway sends on purpose (CONTRACT.md
// "Responses always carry", helmet's set, the request id and rate-limit headers): reviewed, ignored.
// Any other nikto item, or an uncommon header not in this list, is a finding.
const NIKTO_EXPECTED_HEADERS = new Set([
  'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after',
  'content-security-policy', 'cross-origin-resource-policy', 'cross-origin-opener-policy', 'origin-agent-cluster',
  'x-dns-prefetch-control', 'x-permitted-cross-domain-policies', 'x-download-options', 'x-content-type-options',
  'x-xss-protection', 'strict-transport-security', 'x-frame-options', 'referrer-policy'
])

// wapiti findings reviewed and ignored, with why.
const WAPITI_IGNORED: Array<{ category: string, info: RegExp, reason: string }> = [
  {
    category: 'HTTP Secure Headers',
    info: /^X-XSS-Protection is not set$/,
    // wapiti 3.0.4 wants "1; mode=block"; the gateway sends "0" (helmet, OWASP's current advice):
    // the browsers' XSS auditor is gone and its blocking mode could itself be abused.
    reason: 'X-XSS-Protection: 0 is deliberate'
  }
]

const args = process.argv.slice(2)
const SELF_TEST = args.includes('--self-test')
const ONLY = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')

interface Finding { tool: string, target: string, detail: string }
interface ToolResult { tool: string, status: 'clean' | 'findings' | 'error' | 'skipped', seconds: number, findings: number, note?: string }

const findings: Finding[] = []
const results: ToolResult[] = []

function log (message: string): void {
  process.stdout.write(`[dast ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

function hasCommand (name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, name)))
}

interface RunResult { code: number | null, timedOut: boolean, output: string }

/** Runs a command (own process group, killed as a group on timeout), teeing its output to a log file. */
function run (command: string, argv: string[], options: { timeoutMs: number, logFile: string, env?: NodeJS.ProcessEnv, cwd?: string }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const logStream = createWriteStream(options.logFile)
    let output = ''
    const collect = (chunk: Buffer): void => {
      logStream.write(chunk)
      // Keep a bounded tail in memory for parsing; the log file has everything.
      output = (output + chunk.toString('utf8')).slice(-2_000_000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-(child.pid as number), 'SIGKILL') } catch {}
    }, options.timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      logStream.end()
      resolve({ code, timedOut, output })
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      logStream.end()
      resolve({ code: -1, timedOut: false, output: String(err) })
    })
  })
}

async function pool<T> (items: T[], size: number, worker: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(Array.from({ length: size }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await worker(item)
  }))
}

async function timed (tool: string, fn: () => Promise<Omit<ToolResult, 'tool' | 'seconds'>>): Promise<void> {
  if (ONLY !== undefined && !ONLY.includes(tool)) return
  const started = performance.now()
  log(`${tool}: start`)
  let result: Omit<ToolResult, 'tool' | 'seconds'>
  try {
    result = await fn()
  } catch (err) {
    result = { status: 'error', findings: 0, note: (err as Error).message }
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10
  const entry = { tool, seconds, ...result, findings: findings.filter((f) => f.tool === tool).length }
  if (entry.findings > 0 && entry.status === 'clean') entry.status = 'findings'
  results.push(entry)
  log(`${tool}: ${entry.status} (${entry.findings} findings, ${seconds}s)${entry.note ? ' — ' + entry.note : ''}`)
}

// --- the gateway under test -------------------------------------------------------------------

interface Gateway { process: ChildProcess, logFile: string, dir: string, stop: () => Promise<void> }

async function waitFor (url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`)
}

async function startGateway (fakes: FakeUpstreams): Promise<Gateway> {
  // Something already answering on the port would be scanned instead of this build: refuse.
  const occupied = await fetch(`${BASE}/healthz`).then(() => true, () => false)
  if (occupied) throw new Error(`${BASE} is already in use: stop what listens there first`)
  const dir = mkdtempSync(join(tmpdir(), 'microgate-dast-'))
  const logFile = join(OUT_DIR, 'gateway.log')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(GATEWAY_PORT),
    LOG_LEVEL: 'info',
    DATABASE_URL: `sqlite:${join(dir, 'dast.db')}`,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    JWT_TTL: '2h',
    MASTER_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    // Generous limits: the scanners must reach the handlers, not the rate limiter.
    RATE_LIMIT_PER_IP: '10000000',
    RATE_LIMIT_PER_KEY: '10000000',
    RATE_LIMIT_LOGIN: '10000000',
    RATE_LIMIT_WINDOW: '1 minute',
    UPSTREAM_TIMEOUT_MS: '5000',
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...fakes.env
  }
  // cwd is a temp dir: no .env of the checkout is read, none is written.
  const out = createWriteStream(logFile)
  const child = spawn(process.execPath, [join(ROOT, 'server.ts')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.pipe(out)
  child.stderr?.pipe(out)
  await waitFor(`${BASE}/healthz`, 30_000)
  return {
    process: child,
    logFile,
    dir,
    async stop () {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
      child.kill('SIGTERM')
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

interface Credentials { bearer: string, apiKey: string, keyId: string }

async function credentials (): Promise<Credentials> {
  const login = await fetch(`${BASE}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status}`)
  const { token } = await login.json() as { token: string }
  const bearer = `Bearer ${token}`
  const key = await fetch(`${BASE}/keys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: bearer }, body: JSON.stringify({ name: 'dast' }) })
  if (key.status !== 201) throw new Error(`API key creation failed: ${key.status}`)
  const created = await key.json() as { key: string, id: string }
  return { bearer, apiKey: created.key, keyId: created.id }
}

// --- targets: every route and every parameter ---------------------------------------------------

interface Target {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path with the query string; sqlmap injects every query parameter. */
  path: string
  body?: Record<string, unknown>
  auth: boolean
}

const LLM_BODY = { text: 'Quarterly report: revenue grew four percent and costs fell.', task: 'summarize', maxTokens: 64 }

function targets (c: Credentials): Target[] {
  return [
    { name: 'auth-login', method: 'POST', path: '/auth/login', body: { email: 'nobody@example.test', password: 'not-the-password' }, auth: false },
    { name: 'users', method: 'POST', path: '/users', body: { email: 'dast-user@example.test', password: 'A-Long-Enough-Passw0rd!', role: 'viewer' }, auth: true },
    { name: 'keys-create', method: 'POST', path: '/keys', body: { name: 'scanner key', expiresInDays: 30 }, auth: true },
    { name: 'openai', method: 'POST', path: '/openai/secure-generate', body: LLM_BODY, auth: true },
    { name: 'anthropic', method: 'POST', path: '/anthropic/secure-generate', body: LLM_BODY, auth: true },
    { name: 'huggingface', method: 'POST', path: '/huggingface/secure-inference', body: { text: 'I love this product.', model: 'distilbert/distilbert-base-uncased-finetuned-sst-2-english', task: 'text-classification' }, auth: true },
    { name: 'provider-keys', method: 'PUT', path: '/provider-keys/openai', body: { apiKey: 'sk-proj-dastdastdastdastdastdastdastdast' }, auth: true },
    { name: 'security-events', method: 'GET', path: '/security/events?type=login-failed&since=2020-01-01T00:00:00Z&limit=10&cursor=abc', auth: true },
    { name: 'keys-list', method: 'GET', path: '/keys?limit=10&cursor=abc', auth: true },
    { name: 'github-events', method: 'GET', path: '/github/events?limit=10&cursor=abc', auth: true },
    { name: 'github-user-repos', method: 'GET', path: '/github/user-repos/octocat?page=1', auth: true },
    { name: 'users-list', method: 'GET', path: '/users?limit=10&cursor=abc', auth: true },
    // No cluster in DAST: the route validates, then answers 503 PROVIDER_NOT_CONFIGURED.
    { name: 'kubernetes-pods', method: 'GET', path: '/kubernetes/secure-list-pods?namespace=default&limit=10&continue=abc', auth: true },
    { name: 'keys-delete', method: 'DELETE', path: `/keys/${c.keyId}`, auth: true }
  ]
}

function authHeaders (c: Credentials, target: { auth: boolean }): string[] {
  return target.auth ? ['-H', `Authorization: ${c.bearer}`] : []
}

// --- sqlmap -------------------------------------------------------------------------------------

interface SqlmapOutcome { injectable: boolean, reachedTarget: boolean, timedOut: boolean }

async function sqlmapTarget (url: string, method: string, body: string | undefined, headers: string[], outDir: string, name: string, params: string[] = []): Promise<SqlmapOutcome> {
  const argv = [
    '-u', url, '--method', method, '--batch', '--level', '2', '--risk', '1',
    // One output (session) directory per target: parallel runs against one host share nothing.
    '--output-dir', join(outDir, name), '--flush-session', '--disable-coloring', '--timeout', '10', '--retries', '1',
    '--threads', '2', '-H', 'Content-Type: application/json', ...headers,
    // The gateway answers refusals with 4xx JSON; sqlmap must keep testing through them, not stop.
    '--ignore-code', '400,401,403,404,409,413,415,422,429'
  ]
  if (body !== undefined) argv.push('--data', body)
  // Named explicitly: sqlmap silently skips parameters whose names look like CSRF tokens (maxTokens).
  if (params.length > 0) argv.push('-p', params.join(','))
  const result = await run('sqlmap', argv, { timeoutMs: SQLMAP_TARGET_TIMEOUT_MS, logFile: join(outDir, `${name}.log`) })
  const injectable = /identified the following injection point|is vulnerable\. Do you want/.test(result.output)
  const reachedTarget = /testing connection to the target URL/.test(result.output) && !/unable to connect to the target URL|connection refused/i.test(result.output)
  if (result.timedOut) log(`sqlmap ${name}: stopped at the ${SQLMAP_TARGET_TIMEOUT_MS / 1000}s bound`)
  return { injectable, reachedTarget, timedOut: result.timedOut }
}

async function runSqlmap (c: Credentials): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  if (!hasCommand('sqlmap')) return { status: 'skipped', findings: 0, note: 'sqlmap not installed' }
  const outDir = join(OUT_DIR, 'sqlmap')
  mkdirSync(outDir, { recursive: true })
  const list: Array<Target & { params: string[] }> = targets(c).map((t) => {
    const query = t.path.split('?')[1]
    const params = [...Object.keys(t.body ?? {}), ...(query === undefined ? [] : query.split('&').map((p) => p.split('=')[0]))]
    return { ...t, params }
  })
  // Path parameters: the segment is marked with `*` (sqlmap then tests only the marked point).
  list.push(
    { name: 'provider-keys-path', method: 'PUT', path: '/provider-keys/openai*', body: { apiKey: 'sk-proj-dastdastdastdastdastdastdastdast' }, auth: true, params: [] },
    { name: 'github-user-repos-path', method: 'GET', path: '/github/user-repos/octocat*?page=1', auth: true, params: [] },
    { name: 'keys-delete-path', method: 'DELETE', path: `/keys/${c.keyId}*`, auth: true, params: [] }
  )
  let unreachable = 0
  const incomplete: string[] = []
  await pool(list, SQLMAP_PARALLEL, async (t) => {
    const outcome = await sqlmapTarget(`${BASE}${t.path}`, t.method, t.body === undefined ? undefined : JSON.stringify(t.body), authHeaders(c, t), outDir, t.name, t.params)
    if (outcome.injectable) findings.push({ tool: 'sqlmap', target: `${t.method} ${t.path}`, detail: 'sqlmap reports an injectable parameter (see the log)' })
    if (!outcome.reachedTarget) unreachable++
    if (outcome.timedOut) incomplete.push(t.name)
  })
  if (unreachable > 0) return { status: 'error', findings: 0, note: `${unreachable} targets not reached` }
  return { status: 'clean', findings: 0, note: `${list.length} routes, every body/query/path parameter, --level 2 --risk 1${incomplete.length > 0 ? `; stopped at the time bound before finishing: ${incomplete.join(', ')}` : ''}` }
}

// --- wapiti (GET routes) ----------------------------------------------------------------------

async function runWapiti (c: Credentials): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  if (!hasCommand('wapiti')) return { status: 'skipped', findings: 0, note: 'wapiti not installed' }
  const outDir = join(OUT_DIR, 'wapiti')
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const report = join(outDir, 'report.json')
  const starts = [
    '/healthz', '/readyz', '/me', '/keys?limit=10&cursor=abc', '/github/events?limit=10&cursor=abc',
    '/security/events?type=login-failed&since=2020-01-01T00:00:00Z&limit=10', '/provider-keys',
    '/github/user-repos/octocat?page=1', '/metrics', '/docs/json'
  ]
  const argv = [
    '-u', `${BASE}/`, '--scope', 'folder', '-f', 'json', '-o', report,
    '-m', 'xss,sql,blindsql,exec,file,crlf,redirect,permanentxss,http_headers,csp,methods',
    '--max-scan-time', String(Math.floor(WAPITI_TIMEOUT_MS / 1000) - 20), '--max-attack-time', '40',
    '-d', '2', '--flush-session', '--store-session', join(outDir, 'session'), '--no-bugreport',
    '-H', `Authorization: ${c.bearer}`, '-v', '1'
  ]
  for (const s of starts) argv.push('-s', `${BASE}${s}`)
  const result = await run('wapiti', argv, { timeoutMs: WAPITI_TIMEOUT_MS, logFile: join(outDir, 'wapiti.log') })
  if (!existsSync(report)) return { status: 'error', findings: 0, note: `no report (exit ${String(result.code)}${result.timedOut ? ', timed out' : ''})` }
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { vulnerabilities?: Record<string, unknown[]>, anomalies?: Record<string, unknown[]> }
  // Vulnerabilities are findings. Anomalies (e.g. a 500) are findings too: the gateway must never 500.
  for (const section of ['vulnerabilities', 'anomalies'] as const) {
    for (const [kind, items] of Object.entries(parsed[section] ?? {})) {
      for (const item of items) {
        const info = item as { path?: string, method?: string, info?: string, parameter?: string }
        if (WAPITI_IGNORED.some((rule) => rule.category === kind && rule.info.test(info.info ?? ''))) continue
        findings.push({ tool: 'wapiti', target: `${info.method ?? 'GET'} ${info.path ?? '?'}`, detail: `${section}/${kind}: ${info.info ?? ''} ${info.parameter ?? ''}`.trim() })
      }
    }
  }
  return { status: 'clean', findings: 0, note: `modules xss,sql,blindsql,exec,file,crlf,redirect,permanentxss,http_headers,csp,methods on ${starts.length} GET routes` }
}

// --- ffuf (every route's parameters and body fields, Injections wordlists) -------------------

function buildWordlists (dir: string): { raw: string, escaped: string, count: number } {
  const words = new Set<string>()
  for (const file of readdirSync(WORDLIST_DIR)) {
    for (const line of readFileSync(join(WORDLIST_DIR, file), 'utf8').split('\n')) {
      const word = line.replace(/\r$/, '')
      if (word !== '') words.add(word)
    }
  }
  const list = [...words]
  const raw = join(dir, 'injections-raw.txt')
  const escaped = join(dir, 'injections-json.txt')
  writeFileSync(raw, list.join('\n') + '\n')
  // The same payloads as JSON string content, so they reach the handler instead of the JSON parser.
  writeFileSync(escaped, list.map((w) => JSON.stringify(w).slice(1, -1)).join('\n') + '\n')
  return { raw, escaped, count: list.length }
}

interface FuzzCase { name: string, method: string, url: string, body?: string, wordlist: string, auth: boolean }

function fuzzCases (c: Credentials, lists: { raw: string, escaped: string }): FuzzCase[] {
  const cases: FuzzCase[] = []
  for (const t of targets(c)) {
    const [path, query] = t.path.split('?')
    if (t.body !== undefined) {
      Object.keys(t.body).forEach((field, index) => {
        const body = JSON.stringify({ ...t.body, [field]: 'FUZZ' })
        cases.push({ name: `${t.name}-body-${field}`, method: t.method, url: `${BASE}${path}${query ? '?' + query : ''}`, body, wordlist: lists.escaped, auth: t.auth })
        // Raw payloads (quotes, backslashes) once per route: they exercise the JSON parser's error path.
        if (index === 0) cases.push({ name: `${t.name}-body-${field}-raw`, method: t.method, url: `${BASE}${path}`, body, wordlist: lists.raw, auth: t.auth })
      })
    }
    if (query !== undefined) {
      for (const pair of query.split('&')) {
        const key = pair.split('=')[0]
        const fuzzed = query.split('&').map((p) => p.split('=')[0] === key ? `${key}=FUZZ` : p).join('&')
        cases.push({ name: `${t.name}-query-${key}`, method: t.method, url: `${BASE}${path}?${fuzzed}`, wordlist: lists.raw, auth: t.auth })
      }
    }
  }
  // Path parameters.
  cases.push({ name: 'provider-keys-path', method: 'PUT', url: `${BASE}/provider-keys/FUZZ`, body: JSON.stringify({ apiKey: 'sk-proj-dastdastdastdastdastdastdastdast' }), wordlist: lists.raw, auth: true })
  cases.push({ name: 'user-repos-path', method: 'GET', url: `${BASE}/github/user-repos/FUZZ?page=1`, wordlist: lists.raw, auth: true })
  cases.push({ name: 'keys-delete-path', method: 'DELETE', url: `${BASE}/keys/FUZZ`, wordlist: lists.raw, auth: true })
  // Headers that reach code: the webhook's event/delivery/signature headers, and the credential headers.
  const webhookBody = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 })
  cases.push({ name: 'webhook-event-header', method: 'POST', url: `${BASE}/github/secure-webhook`, body: webhookBody, wordlist: lists.raw, auth: false })
  cases.push({ name: 'authorization-header', method: 'GET', url: `${BASE}/me`, wordlist: lists.raw, auth: false })
  return cases
}

async function runFfuf (c: Credentials): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  if (!hasCommand('ffuf')) return { status: 'skipped', findings: 0, note: 'ffuf not installed' }
  if (!existsSync(WORDLIST_DIR)) return { status: 'skipped', findings: 0, note: `${WORDLIST_DIR} missing (package wfuzz)` }
  const outDir = join(OUT_DIR, 'ffuf')
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const lists = buildWordlists(outDir)
  const cases = fuzzCases(c, lists)
  let requests = 0
  let errors = 0
  await pool(cases, 2, async (fc) => {
    const report = join(outDir, `${fc.name}.json`)
    const argv = ['-u', fc.url, '-X', fc.method, '-w', lists.raw === fc.wordlist ? lists.raw : lists.escaped, '-mc', 'all', '-o', report, '-of', 'json', '-t', '8', '-timeout', '15', '-s']
    if (fc.body !== undefined) argv.push('-d', fc.body, '-H', 'Content-Type: application/json')
    if (fc.auth) argv.push('-H', `Authorization: ${c.bearer}`)
    if (fc.name === 'webhook-event-header') {
      argv.push('-H', 'X-GitHub-Event: FUZZ', '-H', 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958', '-H', 'X-Hub-Signature-256: sha256=' + '0'.repeat(64))
    }
    if (fc.name === 'authorization-header') argv.push('-H', 'Authorization: Bearer FUZZ')
    const result = await run('ffuf', argv, { timeoutMs: FFUF_TARGET_TIMEOUT_MS, logFile: join(outDir, `${fc.name}.log`) })
    if (!existsSync(report)) { errors++; return }
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { results?: Array<{ status: number, input: { FUZZ: string } }> }
    const rows = parsed.results ?? []
    requests += rows.length
    for (const row of rows) {
      if (row.status >= 500) findings.push({ tool: 'ffuf', target: `${fc.method} ${fc.url}`, detail: `HTTP ${row.status} for payload ${JSON.stringify(row.input.FUZZ).slice(0, 120)}` })
      if (row.status === 0) errors++
    }
    if (result.timedOut) log(`ffuf ${fc.name}: stopped at the bound after ${rows.length} requests`)
  })
  return { status: errors > 0 ? 'error' : 'clean', findings: 0, note: `${cases.length} parameter/field cases × ${lists.count} payloads = ${requests} requests answered${errors > 0 ? `, ${errors} errors` : ''}; fails on any 5xx` }
}

// --- nikto ------------------------------------------------------------------------------------

async function runNikto (): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  if (!hasCommand('nikto')) return { status: 'skipped', findings: 0, note: 'nikto not installed' }
  const outDir = join(OUT_DIR, 'nikto')
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const report = join(outDir, 'report.xml')
  const result = await run('nikto', ['-h', BASE, '-Format', 'xml', '-o', report, '-maxtime', `${Math.floor(NIKTO_TIMEOUT_MS / 1000) - 20}s`, '-nointeractive', '-ask', 'no'], { timeoutMs: NIKTO_TIMEOUT_MS, logFile: join(outDir, 'nikto.log') })
  if (!existsSync(report)) return { status: 'error', findings: 0, note: `no report (exit ${String(result.code)})` }
  let ignored = 0
  let items = 0
  const xml = readFileSync(report, 'utf8')
  for (const match of xml.matchAll(/<item id="(\d+)"[^>]*method="([^"]*)"[^>]*>([\s\S]*?)<\/item>/g)) {
    items++
    const [, id, method, inner] = match
    const description = /<description><!\[CDATA\[([\s\S]*?)\]\]><\/description>/.exec(inner)?.[1] ?? ''
    const uri = /<uri><!\[CDATA\[([\s\S]*?)\]\]><\/uri>/.exec(inner)?.[1] ?? ''
    const header = /^Uncommon header '([^']+)' found/.exec(description)?.[1]
    if (id === '999100' && header !== undefined && NIKTO_EXPECTED_HEADERS.has(header.toLowerCase())) { ignored++; continue }
    findings.push({ tool: 'nikto', target: `${method} ${uri}`, detail: `${id}: ${description}` })
  }
  if (!/<niktoscan|<scandetails/.test(xml)) return { status: 'error', findings: 0, note: 'unreadable nikto report' }
  return { status: 'clean', findings: 0, note: `${items} items, ${ignored} reviewed "uncommon header" items for the gateway's own security headers ignored` }
}

// --- OpenAPI: spectral (OWASP ruleset) and portman + newman ------------------------------------

async function fetchOpenApi (): Promise<string> {
  const file = join(OUT_DIR, 'openapi.json')
  const res = await fetch(`${BASE}/docs/json`)
  if (res.status !== 200) throw new Error(`/docs/json answered ${res.status}`)
  writeFileSync(file, JSON.stringify(await res.json(), null, 2))
  return file
}

async function runSpectral (openapi: string): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  const outDir = join(OUT_DIR, 'spectral')
  mkdirSync(outDir, { recursive: true })
  const report = join(outDir, 'report.json')
  await run(join(BIN, 'spectral'), ['lint', openapi, '--ruleset', join(ROOT, '.spectral.yaml'), '-f', 'json', '-o', report, '--fail-severity', 'error'], { timeoutMs: TOOL_TIMEOUT_MS, logFile: join(outDir, 'spectral.log') })
  if (!existsSync(report)) return { status: 'error', findings: 0, note: 'no report' }
  const issues = JSON.parse(readFileSync(report, 'utf8')) as Array<{ code: string, severity: number, path: string[], message: string }>
  const bySeverity = [0, 0, 0, 0]
  for (const issue of issues) {
    bySeverity[issue.severity]++
    if (issue.severity === 0) findings.push({ tool: 'spectral', target: issue.path.join('.'), detail: `${issue.code}: ${issue.message}` })
  }
  return { status: 'clean', findings: 0, note: `errors ${bySeverity[0]}, warnings ${bySeverity[1]}, info ${bySeverity[2]}, hints ${bySeverity[3]} (fails on errors)` }
}

async function runPortman (openapiFile: string, c: Credentials): Promise<Omit<ToolResult, 'tool' | 'seconds'>> {
  const outDir = join(OUT_DIR, 'portman')
  mkdirSync(outDir, { recursive: true })
  // The document already lists fields with a default as optional (plugins/docs.ts).
  const openapi = openapiFile
  const collection = join(outDir, 'collection.json')
  const gen = await run(join(BIN, 'portman'), [
    '-l', openapi, '-b', BASE, '-c', join(ROOT, 'scripts', 'security', 'portman-config.json'),
    '-s', join(ROOT, 'scripts', 'security', 'portman-postman-config.json'), '-o', collection, '--includeTests', 'true'
  ], { timeoutMs: TOOL_TIMEOUT_MS, logFile: join(outDir, 'portman.log') })
  if (!existsSync(collection)) return { status: 'error', findings: 0, note: `portman did not write a collection (exit ${String(gen.code)})` }
  const report = join(outDir, 'newman.json')
  await run(join(BIN, 'newman'), [
    'run', collection, '--env-var', `bearerToken=${c.bearer.slice('Bearer '.length)}`, '--env-var', `baseUrl=${BASE}`,
    '--env-var', `apiKey=${c.apiKey}`, '--env-var', `adminEmail=${ADMIN.email}`, '--env-var', `adminPassword=${ADMIN.password}`, '--reporters', 'cli,json', '--reporter-json-export', report, '--timeout-request', '15000', '--color', 'off'
  ], { timeoutMs: TOOL_TIMEOUT_MS, logFile: join(outDir, 'newman.log') })
  if (!existsSync(report)) return { status: 'error', findings: 0, note: 'newman wrote no report' }
  const run_ = (JSON.parse(readFileSync(report, 'utf8')) as { run: { stats: Record<string, { total: number, failed: number }>, failures: Array<{ source?: { name?: string }, error: { test?: string, message: string } }> } }).run
  for (const failure of run_.failures) {
    findings.push({ tool: 'portman', target: failure.source?.name ?? '?', detail: `${failure.error.test ?? ''}: ${failure.error.message}`.slice(0, 300) })
  }
  const stats = run_.stats
  return { status: 'clean', findings: 0, note: `${stats.requests.total} requests, ${stats.assertions.total} assertions, ${stats.assertions.failed} failed` }
}

// --- 5xx in the gateway log ----------------------------------------------------------------------

// Contract 5xx that a scan may legitimately provoke with fakes answering cleanly: none is expected,
// but an upstream code is reported as a note, not as a vulnerability; a 500 always fails.
function scanGatewayLog (logFile: string): void {
  if (!existsSync(logFile)) return
  const counts = new Map<string, number>()
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    let entry: { res?: { statusCode?: number }, req?: { method?: string, url?: string }, msg?: string, reqId?: string }
    try { entry = JSON.parse(line) } catch { continue }
    const status = entry.res?.statusCode
    if (status === undefined || status < 500) continue
    const key = `${status}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    if (status === 500) findings.push({ tool: 'gateway-log', target: entry.reqId ?? '?', detail: 'HTTP 500 answered during the scan' })
  }
  const summary = [...counts.entries()].map(([s, n]) => `${s}×${n}`).join(', ')
  results.push({ tool: 'gateway-log', status: counts.has('500') ? 'findings' : 'clean', seconds: 0, findings: counts.get('500') ?? 0, note: summary === '' ? 'no 5xx answered during the whole scan' : `5xx answered: ${summary}` })
  log(`gateway log: ${summary === '' ? 'no 5xx' : summary}`)
}

// --- self-test: the gate must fail on a vulnerable app ---------------------------------------

async function selfTest (): Promise<number> {
  const outDir = join(OUT_DIR, 'self-test')
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  if (!hasCommand('sqlmap')) {
    log('self-test: sqlmap is not installed')
    return 1
  }
  const app = await startVulnerableApp()
  try {
    const outcome = await sqlmapTarget(`${app.url}/search`, 'POST', JSON.stringify({ name: 'apple' }), [], outDir, 'vulnerable-search')
    const query = await sqlmapTarget(`${app.url}/items?name=apple`, 'GET', undefined, [], outDir, 'vulnerable-items')
    if (outcome.injectable && query.injectable) {
      log('self-test: OK — sqlmap reports both injectable routes of test/fixtures/vulnerable-app.ts, so the DAST gate would fail')
      return 0
    }
    log(`self-test: FAILED — sqlmap did not flag the vulnerable app (body: ${String(outcome.injectable)}, query: ${String(query.injectable)})`)
    return 1
  } finally {
    await app.close()
  }
}

// --- main ---------------------------------------------------------------------------------------

async function main (): Promise<number> {
  mkdirSync(OUT_DIR, { recursive: true })
  if (SELF_TEST) return await selfTest()

  const started = performance.now()
  const fakes = await startFakeUpstreams()
  let gateway: Gateway | undefined
  try {
    gateway = await startGateway(fakes)
    const c = await credentials()
    log(`gateway up at ${BASE}; fakes: ${Object.values(fakes.env).filter((v) => v.startsWith('http')).join(' ')}`)
    const openapi = await fetchOpenApi()
    await timed('spectral', () => runSpectral(openapi))
    await timed('portman', () => runPortman(openapi, c))
    // The heavy scanners run two at a time: the machine has two cores, shared with the gateway.
    await Promise.all([
      timed('sqlmap', () => runSqlmap(c)),
      (async () => {
        await timed('ffuf', () => runFfuf(c))
        await timed('nikto', () => runNikto())
        await timed('wapiti', () => runWapiti(c))
      })()
    ])
  } finally {
    await gateway?.stop()
    await fakes.close()
  }
  if (gateway !== undefined) scanGatewayLog(gateway.logFile)

  const seconds = Math.round((performance.now() - started) / 1000)
  writeFileSync(join(OUT_DIR, 'dast-summary.json'), JSON.stringify({ seconds, results, findings }, null, 2))
  log(`done in ${seconds}s`)
  for (const r of results) log(`  ${r.tool.padEnd(12)} ${r.status.padEnd(8)} ${String(r.findings).padStart(4)} findings ${String(r.seconds).padStart(6)}s  ${r.note ?? ''}`)
  for (const f of findings.slice(0, 40)) log(`  FINDING ${f.tool} ${f.target}: ${f.detail}`)
  if (findings.length > 40) log(`  … ${findings.length - 40} more in dast-summary.json`)
  const bad = results.filter((r) => r.status === 'findings' || r.status === 'error')
  return bad.length === 0 ? 0 : 1
}

process.exitCode = await main()
