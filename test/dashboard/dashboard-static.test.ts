import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, loginAs, TEST_ADMIN } from '../helper.ts'

const DASHBOARD_DIR = join(import.meta.dirname, '..', '..', 'dashboard')

/** Parses a CSP header into directive → sources. */
function parseCsp (header: unknown): Map<string, string[]> {
  assert.equal(typeof header, 'string', 'no content-security-policy header')
  const directives = new Map<string, string[]>()
  for (const part of String(header).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') directives.set(name, sources)
  }
  return directives
}

function assertDashboardCsp (header: unknown, label: string) {
  const csp = parseCsp(header)
  assert.ok(!String(header).includes('unsafe-inline'), `${label}: 'unsafe-inline' present`)
  assert.ok(!String(header).includes('unsafe-eval'), `${label}: 'unsafe-eval' present`)
  assert.deepEqual(csp.get('default-src'), ["'none'"], `${label}: default-src`)
  assert.deepEqual(csp.get('script-src'), ["'self'"], `${label}: script-src`)
  assert.deepEqual(csp.get('style-src'), ["'self'"], `${label}: style-src`)
  assert.deepEqual(csp.get('connect-src'), ["'self'"], `${label}: connect-src`)
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], `${label}: frame-ancestors`)
  assert.deepEqual(csp.get('base-uri'), ["'none'"], `${label}: base-uri`)
  assert.ok(csp.has('form-action'), `${label}: form-action missing`)
}

function assertApiCsp (header: unknown, label: string) {
  const csp = parseCsp(header)
  assert.deepEqual(csp.get('default-src'), ["'none'"], `${label}: default-src`)
  assert.equal(csp.has('script-src'), false, `${label}: the API CSP gained script-src`)
  assert.equal(csp.has('style-src'), false, `${label}: the API CSP gained style-src`)
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], `${label}: frame-ancestors`)
}

test('/dashboard redirects to /dashboard/, which serves index.html under the dashboard CSP', async (t) => {
  const app = await build(t)
  const redirect = await app.inject({ url: '/dashboard' })
  assert.equal(redirect.statusCode, 302)
  assert.equal(redirect.headers.location, '/dashboard/')

  const res = await app.inject({ url: '/dashboard/' })
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/html/)
  assert.ok(res.body.includes('<script type="module" src="/dashboard/app.js"></script>'))
  assert.equal(res.body, readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8'))
  assertDashboardCsp(res.headers['content-security-policy'], '/dashboard/')
  // The other contract headers stay on the dashboard too.
  assert.equal(res.headers['x-content-type-options'], 'nosniff')
  assert.equal(res.headers['x-frame-options'], 'DENY')
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.ok(res.headers['strict-transport-security'])
  assert.ok(res.headers['x-request-id'])
})

test('the script and the stylesheet are served with their types and the dashboard CSP', async (t) => {
  const app = await build(t)
  const js = await app.inject({ url: '/dashboard/app.js' })
  assert.equal(js.statusCode, 200)
  assert.match(String(js.headers['content-type']), /^(application|text)\/javascript/)
  assertDashboardCsp(js.headers['content-security-policy'], 'app.js')
  const css = await app.inject({ url: '/dashboard/styles.css' })
  assert.equal(css.statusCode, 200)
  assert.match(String(css.headers['content-type']), /^text\/css/)
  assertDashboardCsp(css.headers['content-security-policy'], 'styles.css')
})

test('only the page files are served: README, unknown names and traversal answer the JSON 404', async (t) => {
  const app = await build(t)
  for (const url of ['/dashboard/README.md', '/dashboard/nope.js', '/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/..%2fapp.ts']) {
    const res = await app.inject({ url })
    assert.equal(res.statusCode, 404, url)
    assert.equal(res.json().code, 'NOT_FOUND', url)
  }
})

test('API routes keep the API CSP default-src \'none\' next to the dashboard', async (t) => {
  const app = await build(t)
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const answers = [
    ['GET /healthz', await app.inject({ url: '/healthz' })],
    ['GET /me', await app.inject({ url: '/me', headers: { authorization: admin } })],
    ['GET /security/events', await app.inject({ url: '/security/events', headers: { authorization: admin } })],
    ['GET /metrics', await app.inject({ url: '/metrics', headers: { authorization: admin } })],
    ['POST /auth/login', await app.inject({ method: 'POST', url: '/auth/login', payload: { email: TEST_ADMIN.email, password: 'wrong-password' } })],
    ['404', await app.inject({ url: '/dashboardx' })]
  ] as const
  for (const [label, res] of answers) assertApiCsp(res.headers['content-security-policy'], label)
})

test('index.html has no inline script, no inline style and no inline event handler', () => {
  const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8')
  const scripts = html.match(/<script\b[^>]*>[^<]*<\/script>/gi) ?? []
  assert.ok(scripts.length > 0, 'no script tag found')
  for (const tag of scripts) {
    assert.match(tag, /\ssrc="\/dashboard\/[a-z-]+\.js"/, `script without src: ${tag}`)
    assert.match(tag, /^<script\b[^>]*><\/script>$/i, `script with a body: ${tag}`)
  }
  assert.doesNotMatch(html, /<style\b/i, 'inline <style> element')
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'style= attribute')
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler attribute')
  assert.doesNotMatch(html, /javascript:/i, 'javascript: URL')
  assert.doesNotMatch(html, /https?:\/\//i, 'a resource from another origin')
})

test('app.js never uses an HTML-parsing sink nor stores the token', () => {
  const js = readFileSync(join(DASHBOARD_DIR, 'app.js'), 'utf8')
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'createContextualFragment', 'DOMParser', 'eval(', 'new Function', 'srcdoc']) {
    assert.ok(!js.includes(sink), `app.js contains ${sink}`)
  }
  for (const storage of ['localStorage', 'sessionStorage', 'document.cookie', 'indexedDB']) {
    assert.ok(!js.includes(storage), `app.js touches ${storage}`)
  }
  assert.ok(js.includes('textContent'), 'app.js renders text with textContent')
})

test('every form control in index.html has a label and every table header a scope', () => {
  const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8')
  const ids = [...html.matchAll(/<(?:input|select|textarea)\b[^>]*\sid="([^"]+)"/g)].map((m) => m[1])
  assert.ok(ids.length >= 10, `only ${ids.length} form controls found`)
  for (const id of ids) assert.ok(html.includes(`<label for="${id}"`), `#${id} has no <label for>`)
  const headers = [...html.matchAll(/<th\b[^>]*>/g)].map((m) => m[0])
  assert.ok(headers.length > 0)
  for (const th of headers) assert.match(th, /\sscope="(col|row)"/, `table header without scope: ${th}`)
  assert.match(html, /aria-live="polite"/)
  assert.doesNotMatch(html, /<div\b[^>]*\sonclick|role="button"/, 'a div playing a button')
})

test('the metrics parser reads labels with escapes and sums requests, errors and latency by route', async () => {
  // A runtime URL: the dashboard is plain browser JavaScript outside the TypeScript project.
  const appUrl = pathToFileURL(join(DASHBOARD_DIR, 'app.js')).href
  const { parseSampleLine, summarizeMetrics } = await import(appUrl) as {
    parseSampleLine: (line: string) => { name: string, labels: Record<string, string>, value: number } | null
    summarizeMetrics: (text: string) => {
      routes: Map<string, { requests: number, c4xx: number, c429: number, c5xx: number, durationSum: number, durationCount: number }>
      upstream: Map<string, { provider: string, outcome: string, sum: number, count: number }>
    }
  }
  const line = parseSampleLine('microgate_http_requests_total{method="GET",route="/a\\"b,c}",status="200"} 7')
  assert.deepEqual({ ...line, labels: { ...line?.labels } }, { name: 'microgate_http_requests_total', labels: { method: 'GET', route: '/a"b,c}', status: '200' }, value: 7 })
  assert.equal(parseSampleLine('x_bucket{le="+Inf"} +Inf')?.value, Number.POSITIVE_INFINITY)
  assert.equal(parseSampleLine('broken{route="/x} 1'), null)
  assert.equal(parseSampleLine('no_value{a="b"}'), null)
  // A long hostile line is parsed in linear time (no regex over the label block).
  assert.equal(parseSampleLine(`m{a="${'\\'.repeat(100_000)}`), null)

  const text = [
    '# HELP microgate_http_requests_total Requests answered',
    '# TYPE microgate_http_requests_total counter',
    'microgate_http_requests_total{method="GET",route="/keys",status="200"} 10',
    'microgate_http_requests_total{method="POST",route="/keys",status="201"} 2',
    'microgate_http_requests_total{method="POST",route="/keys",status="429"} 3',
    'microgate_http_requests_total{method="POST",route="/keys",status="403"} 1',
    'microgate_http_requests_total{method="GET",route="/metrics",status="502"} 4',
    'microgate_http_request_duration_seconds_sum{route="/keys"} 0.5',
    'microgate_http_request_duration_seconds_count{route="/keys"} 16',
    'microgate_upstream_duration_seconds_sum{provider="openai",outcome="ok"} 3',
    'microgate_upstream_duration_seconds_count{provider="openai",outcome="ok"} 2',
    'process_cpu_seconds_total 12'
  ].join('\n')
  const summary = summarizeMetrics(text)
  assert.deepEqual(summary.routes.get('/keys'), { requests: 16, c4xx: 4, c429: 3, c5xx: 0, durationSum: 0.5, durationCount: 16 })
  assert.deepEqual(summary.routes.get('/metrics'), { requests: 4, c4xx: 0, c429: 0, c5xx: 4, durationSum: 0, durationCount: 0 })
  assert.deepEqual([...summary.upstream.values()], [{ provider: 'openai', outcome: 'ok', sum: 3, count: 2 }])
})
