// microgate operator dashboard: a plain ES module. Every value from the API is rendered as text
// (textContent, Text nodes, setAttribute on SVG geometry), never parsed as HTML.

const POLL_MS = 10_000 // refresh period of the event log, the chart and the traffic samples
const TRAFFIC_SAMPLES = 60 // 60 samples × 10 s: the last ten minutes, in this tab's memory only
const EVENTS_PAGE_SIZE = 25
const CHART_PAGE_SIZE = 100 // the API's maximum page size
const CHART_MAX_PAGES = 5 // at most 500 events counted per refresh; beyond that the chart says "at least"
// The chart is recounted every third auto-refresh (30 s): with the table and the /metrics poll this
// stays near 22 requests a minute, well inside the default per-user budget (RATE_LIMIT_PER_KEY 60).
const CHART_EVERY_TICKS = 3
const WINDOW_MS = { hour: 3_600_000, day: 86_400_000 }
const SVG_NS = 'http://www.w3.org/2000/svg'

const EVENT_TYPES = [
  'login-failed', 'login-throttled', 'credential-invalid', 'forbidden', 'rate-limited', 'validation-failed',
  'prompt-rejected', 'unsafe-output', 'bad-signature', 'model-not-trusted', 'upstream-refused', 'output-anomaly', 'key-revoked'
]
const PROVIDERS = ['openai', 'anthropic', 'huggingface']

// Which role sees which view; the API enforces the same rules whatever the page shows.
const VIEW_ROLES = {
  profile: ['viewer', 'user', 'admin'],
  keys: ['user', 'admin'],
  'provider-keys': ['user', 'admin'],
  events: ['admin'],
  traffic: ['admin'],
  users: ['admin']
}

/**
 * The session: a token held in this module's scope only. Never written to web storage or a
 * cookie, so nothing sends it implicitly (no CSRF) and nothing keeps it at rest (see README.md).
 */
let session = null
let currentView = 'signin'
let pollTimer = null
let expiryTimer = null
let keysCursor = null
let tickCount = 0
const events = { cursors: [undefined], page: 0, next: null, busy: false }
const traffic = { previous: null, series: [], busy: false }

class ApiError extends Error {
  constructor (status, code, message, retryAfter) {
    super(message)
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

/** Thrown when an answer arrives for a session that has since ended: dropped silently. */
class StaleSessionError extends Error {}

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only.

function byId (id) {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`missing element #${id}`)
  return node
}

/** Creates an element; `text` becomes textContent, children are nodes or strings (Text nodes). */
function h (tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue
    if (name === 'text') node.textContent = String(value)
    else if (name === 'className') node.className = value
    else node.setAttribute(name, String(value))
  }
  node.append(...children)
  return node
}

function svg (tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value))
  node.append(...children)
  return node
}

function svgTitle (text) {
  const title = svg('title')
  title.textContent = text
  return title
}

function timeCell (iso) {
  if (iso === null || iso === undefined) return h('td', { text: '—' })
  const date = new Date(iso)
  const label = Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString()
  return h('td', {}, [h('time', { datetime: String(iso), text: label })])
}

function announce (message) {
  const status = byId('status')
  // Emptied first so that the same message twice is announced twice.
  status.textContent = ''
  window.setTimeout(() => { status.textContent = message }, 50)
  byId('error').textContent = ''
}

function showError (message) {
  byId('error').textContent = message
}

function describeError (error) {
  if (error instanceof ApiError) {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : ''
    return `${error.message} (${error.status} ${error.code}).${wait}`
  }
  return 'The request failed: the gateway could not be reached.'
}

/** Runs an async UI action and reports its failure in the alert region. */
function guard (action) {
  return async (...args) => {
    try {
      await action(...args)
    } catch (error) {
      if (error instanceof StaleSessionError) return
      showError(describeError(error))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// API access.

async function readError (response) {
  let body = null
  try { body = await response.json() } catch { /* not JSON: fall back to the status line */ }
  const code = typeof body?.code === 'string' ? body.code : `HTTP_${response.status}`
  const message = typeof body?.message === 'string' ? body.message : (response.statusText || 'Request failed')
  return new ApiError(response.status, code, message, response.headers.get('retry-after'))
}

/** Calls the API with the session's token; a 401 ends the session. */
async function api (method, path, body) {
  const current = session
  if (current === null) throw new StaleSessionError()
  const headers = { authorization: `Bearer ${current.token}` }
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const response = await fetch(path, init)
  if (session !== current) throw new StaleSessionError()
  if (response.status === 401) {
    signOut('Your session has ended (expired or revoked): sign in again.')
    throw new StaleSessionError()
  }
  if (!response.ok) throw await readError(response)
  if (response.status === 204) return null
  const type = response.headers.get('content-type') ?? ''
  return type.includes('json') ? await response.json() : await response.text()
}

// ---------------------------------------------------------------------------------------------
// Sign in and out.

async function signIn (event) {
  event.preventDefault()
  const form = byId('signin-form')
  const email = byId('signin-email').value.trim()
  const password = byId('signin-password').value
  if (!form.reportValidity()) return
  const response = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error'
  })
  if (response.status === 401) {
    showError('Email or password is incorrect.')
    return
  }
  if (!response.ok) throw await readError(response)
  const { token, expiresIn } = await response.json()
  byId('signin-password').value = ''
  session = { token, email, role: null, id: null, expiresAt: Date.now() + expiresIn * 1000 }
  let me
  try {
    me = await api('GET', '/me')
  } catch (error) {
    session = null
    throw error
  }
  session.role = me.role
  session.id = me.id
  session.email = me.email
  expiryTimer = window.setTimeout(() => { signOut('Your session expired: sign in again.') }, expiresIn * 1000)
  startSession()
}

function startSession () {
  byId('signin-form').reset()
  byId('view-signin').hidden = true
  byId('nav').hidden = false
  byId('session-info').hidden = false
  byId('session-user').textContent = `${session.email} (${session.role})`
  for (const button of navButtons()) {
    button.parentElement.hidden = !VIEW_ROLES[button.dataset.view].includes(session.role)
  }
  byId('profile-email').textContent = session.email
  byId('profile-role').textContent = session.role
  byId('profile-id').textContent = session.id
  byId('profile-expires').textContent = new Date(session.expiresAt).toLocaleString()
  byId('profile-readonly').hidden = session.role !== 'viewer'
  announce(`Signed in as ${session.email}, role ${session.role}.`)
  if (session.role === 'admin') {
    pollTimer = window.setInterval(() => { tick() }, POLL_MS)
    guard(pollTraffic)()
  }
  showView(session.role === 'viewer' ? 'profile' : 'keys')
}

/** Forgets the token and everything loaded with it. */
function signOut (message) {
  session = null
  window.clearInterval(pollTimer)
  window.clearTimeout(expiryTimer)
  pollTimer = null
  expiryTimer = null
  clearNewKey()
  for (const id of ['keys-body', 'pk-body', 'events-body', 'traffic-routes-body', 'traffic-upstream-body', 'users-body', 'events-chart', 'traffic-chart']) {
    byId(id).replaceChildren()
  }
  for (const id of ['profile-email', 'profile-role', 'profile-id', 'profile-expires', 'session-user', 'events-updated', 'traffic-updated', 'events-chart-caption', 'traffic-chart-caption', 'events-page']) {
    byId(id).textContent = ''
  }
  for (const id of ['key-create-form', 'pk-form', 'user-create-form']) byId(id).reset()
  keysCursor = null
  events.cursors = [undefined]
  events.page = 0
  events.next = null
  traffic.previous = null
  traffic.series = []
  for (const section of document.querySelectorAll('.view')) section.hidden = true
  byId('nav').hidden = true
  byId('session-info').hidden = true
  byId('view-signin').hidden = false
  currentView = 'signin'
  announce(message)
  byId('signin-email').focus()
}

// ---------------------------------------------------------------------------------------------
// Views.

function navButtons () {
  return Array.from(byId('nav').querySelectorAll('button[data-view]'))
}

async function showView (name) {
  if (session === null || !Object.hasOwn(VIEW_ROLES, name) || !VIEW_ROLES[name].includes(session.role)) return
  if (currentView === 'keys' && name !== 'keys') clearNewKey()
  currentView = name
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${name}`
  for (const button of navButtons()) {
    if (button.dataset.view === name) button.setAttribute('aria-current', 'page')
    else button.removeAttribute('aria-current')
  }
  byId(`view-${name}`).querySelector('h2').focus()
  const loaders = {
    keys: () => loadKeys(false),
    'provider-keys': loadProviderKeys,
    events: () => refreshEvents(true),
    traffic: async () => { renderTraffic() },
    users: loadUsers
  }
  if (Object.hasOwn(loaders, name)) await guard(loaders[name])()
}

async function tick () {
  if (session === null || session.role !== 'admin') return
  tickCount++
  await guard(pollTraffic)()
  if (currentView === 'events' && byId('events-auto').checked) await guard(refreshEvents)(tickCount % CHART_EVERY_TICKS === 0)
}

// ---------------------------------------------------------------------------------------------
// API keys.

function clearNewKey () {
  byId('new-key-value').value = ''
  byId('new-key-name').textContent = ''
  byId('new-key').hidden = true
}

async function loadKeys (append) {
  const query = new URLSearchParams({ limit: '50' })
  if (append && keysCursor !== null) query.set('cursor', keysCursor)
  const data = await api('GET', `/keys?${query}`)
  const body = byId('keys-body')
  if (!append) body.replaceChildren()
  for (const key of data.keys) body.append(keyRow(key))
  keysCursor = data.next
  byId('keys-more').hidden = data.next === null
  byId('keys-empty').hidden = body.children.length > 0
}

function keyRow (key) {
  const actions = h('td', { className: 'actions-cell' })
  const revoke = h('button', { type: 'button', className: 'danger', text: 'Revoke', 'aria-label': `Revoke key ${key.name}` })
  revoke.addEventListener('click', () => { confirmRevoke(actions, key, revoke) })
  actions.append(revoke)
  return h('tr', {}, [
    h('th', { scope: 'row', text: key.name }),
    h('td', { className: 'mono', text: key.prefix }),
    timeCell(key.createdAt),
    timeCell(key.lastUsedAt),
    key.expiresAt === null ? h('td', { text: 'never' }) : timeCell(key.expiresAt),
    actions
  ])
}

/** Two-step revoke inside the row: no modal dialog, and keyboard focus stays where the action is. */
function confirmRevoke (cell, key, revokeButton) {
  const confirm = h('button', { type: 'button', className: 'danger', text: 'Confirm revoke', 'aria-label': `Confirm: revoke key ${key.name}` })
  const cancel = h('button', { type: 'button', text: 'Cancel', 'aria-label': `Cancel revoking key ${key.name}` })
  confirm.addEventListener('click', guard(async () => {
    confirm.disabled = true
    await api('DELETE', `/keys/${encodeURIComponent(key.id)}`)
    announce(`Key ${key.name} revoked: it stops working at once.`)
    await loadKeys(false)
    byId('keys-list-title').focus()
  }))
  cancel.addEventListener('click', () => {
    cell.replaceChildren(revokeButton)
    revokeButton.focus()
  })
  cell.replaceChildren(confirm, cancel)
  confirm.focus()
}

async function createKey (event) {
  event.preventDefault()
  const name = byId('key-name').value.trim()
  const days = byId('key-expires').value
  const body = { name }
  if (days !== '') body.expiresInDays = Number(days)
  const created = await api('POST', '/keys', body)
  byId('key-create-form').reset()
  byId('new-key-name').textContent = created.name
  byId('new-key-value').value = created.key
  byId('new-key').hidden = false
  byId('new-key-title').focus()
  announce(`Key ${created.name} created. Copy it now: it is shown only once.`)
  await loadKeys(false)
}

async function copyNewKey () {
  const input = byId('new-key-value')
  try {
    await navigator.clipboard.writeText(input.value)
    announce('Key copied to the clipboard.')
  } catch {
    input.focus()
    input.select()
    announce('The clipboard is not available: the key is selected, copy it with Ctrl+C.')
  }
}

// ---------------------------------------------------------------------------------------------
// Provider keys.

async function loadProviderKeys () {
  let data
  try {
    data = await api('GET', '/provider-keys')
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      byId('pk-body').replaceChildren()
      byId('pk-empty').textContent = 'This gateway does not offer provider keys (GET /provider-keys answered 404).'
      byId('pk-empty').hidden = false
      return
    }
    throw error
  }
  const body = byId('pk-body')
  body.replaceChildren()
  for (const entry of data.providerKeys) body.append(providerKeyRow(entry))
  byId('pk-empty').textContent = 'No provider key stored.'
  byId('pk-empty').hidden = body.children.length > 0
}

function providerKeyRow (entry) {
  const remove = h('button', { type: 'button', className: 'danger', text: 'Remove', 'aria-label': `Remove the ${entry.provider} key` })
  remove.addEventListener('click', guard(async () => {
    if (!PROVIDERS.includes(entry.provider)) return
    await api('DELETE', `/provider-keys/${encodeURIComponent(entry.provider)}`)
    announce(`The ${entry.provider} key was removed.`)
    await loadProviderKeys()
    byId('pk-list-title').focus()
  }))
  return h('tr', {}, [
    h('th', { scope: 'row', text: entry.provider }),
    h('td', { className: 'mono', text: `…${entry.last4}` }),
    timeCell(entry.updatedAt),
    h('td', {}, [remove])
  ])
}

async function saveProviderKey (event) {
  event.preventDefault()
  const provider = byId('pk-provider').value
  const input = byId('pk-key')
  if (!PROVIDERS.includes(provider)) return
  // Sent as typed: the gateway reports a key with stray whitespace instead of silently altering it.
  const apiKey = input.value
  // The field is cleared before the call: the secret does not linger in the page either way.
  input.value = ''
  await api('PUT', `/provider-keys/${encodeURIComponent(provider)}`, { apiKey })
  announce(`The ${provider} key was saved.`)
  await loadProviderKeys()
}

// ---------------------------------------------------------------------------------------------
// Security events: the log and the per-type chart.

async function refreshEvents (withChart = true) {
  if (events.busy) return
  events.busy = true
  try {
    await Promise.all([loadEventsPage(), withChart ? loadEventsChart() : null])
    byId('events-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`
  } finally {
    events.busy = false
  }
}

async function loadEventsPage () {
  const query = new URLSearchParams({ limit: String(EVENTS_PAGE_SIZE) })
  const type = byId('events-type').value
  if (type !== '') query.set('type', type)
  const cursor = events.cursors[events.page]
  if (cursor !== undefined) query.set('cursor', cursor)
  const data = await api('GET', `/security/events?${query}`)
  events.next = data.next
  const body = byId('events-body')
  body.replaceChildren(...data.events.map(eventRow))
  byId('events-empty').hidden = data.events.length > 0
  byId('events-newer').disabled = events.page === 0
  byId('events-older').disabled = data.next === null
  byId('events-page').textContent = `Page ${events.page + 1}`
}

function eventRow (item) {
  const route = [item.method, item.route].filter((part) => part !== null && part !== '').join(' ')
  return h('tr', {}, [
    h('td', {}, [h('span', { className: 'tag', text: item.type })]),
    timeCell(item.at),
    h('td', { className: 'mono', text: route || '—' }),
    h('td', { className: 'mono', text: item.ip ?? '—' }),
    h('td', { text: item.reason ?? '—' })
  ])
}

function chartWindow () {
  return byId('chart-day').checked ? 'day' : 'hour'
}

async function loadEventsChart () {
  const windowName = chartWindow()
  const since = new Date(Date.now() - WINDOW_MS[windowName]).toISOString()
  const counts = new Map()
  let cursor
  let truncated = false
  for (let page = 0; page < CHART_MAX_PAGES; page++) {
    const query = new URLSearchParams({ since, limit: String(CHART_PAGE_SIZE) })
    if (cursor !== undefined) query.set('cursor', cursor)
    const data = await api('GET', `/security/events?${query}`)
    for (const item of data.events) counts.set(item.type, (counts.get(item.type) ?? 0) + 1)
    if (data.next === null) break
    cursor = data.next
    if (page === CHART_MAX_PAGES - 1) truncated = true
  }
  renderEventsChart(counts, windowName, truncated)
}

function renderEventsChart (counts, windowName, truncated) {
  const entries = Array.from(counts.entries()).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  const total = entries.reduce((sum, [, n]) => sum + n, 0)
  const label = windowName === 'day' ? 'the last day' : 'the last hour'
  const prefix = truncated ? 'at least ' : ''
  byId('events-chart-caption').textContent = total === 0
    ? `No security event in ${label}.`
    : `${prefix}${total} events in ${label}: ${entries.map(([type, n]) => `${type} ${n}`).join(', ')}.`
  const container = byId('events-chart')
  if (total === 0) {
    container.replaceChildren()
    return
  }
  const rowHeight = 28
  const labelWidth = 170
  const barMax = 400
  const width = labelWidth + barMax + 70
  const height = entries.length * rowHeight + 8
  const max = entries[0][1]
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title events-chart-caption', class: 'bar-chart' })
  entries.forEach(([type, count], index) => {
    const y = index * rowHeight + 4
    const barWidth = Math.max(2, Math.round((count / max) * barMax))
    const typeLabel = svg('text', { x: labelWidth - 8, y: y + rowHeight / 2 + 4, 'text-anchor': 'end', class: 'chart-label' })
    typeLabel.textContent = type
    const bar = svg('rect', { x: labelWidth, y: y + 4, width: barWidth, height: rowHeight - 10, rx: 3, class: `bar bar-${EVENT_TYPES.includes(type) ? type : 'other'}` }, [svgTitle(`${type}: ${count}`)])
    const value = svg('text', { x: labelWidth + barWidth + 6, y: y + rowHeight / 2 + 4, class: 'chart-value' })
    value.textContent = String(count)
    chart.append(typeLabel, bar, value)
  })
  container.replaceChildren(chart)
}

function resetEventsPaging () {
  events.cursors = [undefined]
  events.page = 0
}

// ---------------------------------------------------------------------------------------------
// Traffic: /metrics sampled into a rolling series of deltas.

/** Parses one Prometheus text-format sample line; comments and malformed lines give null. */
export function parseSampleLine (line) {
  let i = 0
  while (i < line.length && /[A-Za-z0-9_:]/.test(line[i])) i++
  if (i === 0) return null
  const name = line.slice(0, i)
  const labels = Object.create(null)
  if (line[i] === '{') {
    i++
    while (i < line.length && line[i] !== '}') {
      const equals = line.indexOf('=', i)
      if (equals < 0 || line[equals + 1] !== '"') return null
      const key = line.slice(i, equals).trim()
      let j = equals + 2
      let value = ''
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '\\' && j + 1 < line.length) {
          value += line[j + 1] === 'n' ? '\n' : line[j + 1]
          j += 2
        } else {
          value += line[j]
          j++
        }
      }
      if (j >= line.length) return null
      labels[key] = value
      i = j + 1
      if (line[i] === ',') i++
    }
    if (line[i] !== '}') return null
    i++
  }
  const raw = line.slice(i).trim().split(/\s+/)[0]
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw)
  if (raw === undefined || raw === '' || Number.isNaN(value)) return null
  return { name, labels, value }
}

/** Sums the gateway's own series by route and by upstream provider/outcome. */
export function summarizeMetrics (text) {
  const routes = new Map()
  const upstream = new Map()
  const routeEntry = (route) => {
    if (!routes.has(route)) routes.set(route, { requests: 0, c4xx: 0, c429: 0, c5xx: 0, durationSum: 0, durationCount: 0 })
    return routes.get(route)
  }
  const upstreamEntry = (provider, outcome) => {
    const key = `${provider}\u0000${outcome}`
    if (!upstream.has(key)) upstream.set(key, { provider, outcome, sum: 0, count: 0 })
    return upstream.get(key)
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sample = parseSampleLine(line)
    if (sample === null) continue
    const { name, labels, value } = sample
    if (name === 'microgate_http_requests_total') {
      const entry = routeEntry(labels.route ?? 'unknown')
      const status = Number(labels.status)
      entry.requests += value
      if (status >= 400 && status < 500) entry.c4xx += value
      if (status === 429) entry.c429 += value
      if (status >= 500) entry.c5xx += value
    } else if (name === 'microgate_http_request_duration_seconds_sum') {
      routeEntry(labels.route ?? 'unknown').durationSum += value
    } else if (name === 'microgate_http_request_duration_seconds_count') {
      routeEntry(labels.route ?? 'unknown').durationCount += value
    } else if (name === 'microgate_upstream_duration_seconds_sum') {
      upstreamEntry(labels.provider ?? 'unknown', labels.outcome ?? 'unknown').sum += value
    } else if (name === 'microgate_upstream_duration_seconds_count') {
      upstreamEntry(labels.provider ?? 'unknown', labels.outcome ?? 'unknown').count += value
    }
  }
  return { routes, upstream }
}

/** A counter's increase; a drop means the gateway restarted, so the new value is the increase. */
function increase (current, previous) {
  if (previous === undefined) return current
  return current >= previous ? current - previous : current
}

function deltaSample (current, previous, at) {
  const routes = new Map()
  const totals = { requests: 0, c4xx: 0, c429: 0, c5xx: 0 }
  for (const [route, now] of current.routes) {
    const before = previous.routes.get(route)
    const d = {
      requests: increase(now.requests, before?.requests),
      c4xx: increase(now.c4xx, before?.c4xx),
      c429: increase(now.c429, before?.c429),
      c5xx: increase(now.c5xx, before?.c5xx),
      durationSum: increase(now.durationSum, before?.durationSum),
      durationCount: increase(now.durationCount, before?.durationCount)
    }
    routes.set(route, d)
    totals.requests += d.requests
    totals.c4xx += d.c4xx
    totals.c429 += d.c429
    totals.c5xx += d.c5xx
  }
  const upstream = new Map()
  for (const [key, now] of current.upstream) {
    const before = previous.upstream.get(key)
    upstream.set(key, { provider: now.provider, outcome: now.outcome, count: increase(now.count, before?.count), sum: increase(now.sum, before?.sum) })
  }
  return { at, routes, upstream, totals }
}

async function pollTraffic () {
  if (traffic.busy) return
  traffic.busy = true
  try {
    const text = await api('GET', '/metrics')
    const current = summarizeMetrics(String(text))
    const at = Date.now()
    if (traffic.previous !== null) {
      traffic.series.push(deltaSample(current, traffic.previous, at))
      if (traffic.series.length > TRAFFIC_SAMPLES) traffic.series.shift()
    }
    traffic.previous = current
    byId('traffic-updated').textContent = `Last sample ${new Date(at).toLocaleTimeString()}; ${traffic.series.length} interval(s) kept.`
    if (currentView === 'traffic') renderTraffic()
  } finally {
    traffic.busy = false
  }
}

function formatMs (sumSeconds, count) {
  return count > 0 ? (sumSeconds / count * 1000).toFixed(1) : '—'
}

function renderTraffic () {
  const last = traffic.series.at(-1)
  const routesBody = byId('traffic-routes-body')
  const upstreamBody = byId('traffic-upstream-body')
  if (traffic.previous === null) {
    routesBody.replaceChildren()
    upstreamBody.replaceChildren()
    return
  }
  const rows = []
  for (const [route, totalNow] of traffic.previous.routes) {
    const d = last?.routes.get(route)
    rows.push({ route, totalNow, d })
  }
  rows.sort((a, b) => (b.d?.requests ?? 0) - (a.d?.requests ?? 0) || b.totalNow.requests - a.totalNow.requests)
  routesBody.replaceChildren(...rows.map(({ route, totalNow, d }) => h('tr', {}, [
    h('th', { scope: 'row', className: 'mono', text: route }),
    h('td', { className: 'num', text: d === undefined ? '—' : String(d.requests) }),
    h('td', { className: 'num', text: d === undefined ? '—' : String(d.c4xx) }),
    h('td', { className: 'num', text: d === undefined ? '—' : String(d.c429) }),
    h('td', { className: 'num', text: d === undefined ? '—' : String(d.c5xx) }),
    h('td', { className: 'num', text: d === undefined ? '—' : formatMs(d.durationSum, d.durationCount) }),
    h('td', { className: 'num', text: String(totalNow.requests) }),
    h('td', {}, [sparkline(route)])
  ])))

  const upstreamRows = Array.from(traffic.previous.upstream.entries())
  upstreamBody.replaceChildren(...upstreamRows.map(([key, totalNow]) => {
    const d = last?.upstream.get(key)
    return h('tr', {}, [
      h('th', { scope: 'row', text: totalNow.provider }),
      h('td', { text: totalNow.outcome }),
      h('td', { className: 'num', text: d === undefined ? '—' : String(d.count) }),
      h('td', { className: 'num', text: d === undefined ? '—' : formatMs(d.sum, d.count) }),
      h('td', { className: 'num', text: String(totalNow.count) })
    ])
  }))
  byId('traffic-upstream-empty').hidden = upstreamRows.length > 0
  renderTrafficChart()
}

function sparkline (route) {
  const values = traffic.series.map((sample) => sample.routes.get(route)?.requests ?? 0)
  const width = 120
  const height = 24
  const line = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'sparkline', role: 'img', 'aria-label': `Requests per sample for ${route}: ${values.join(', ') || 'no interval yet'}` })
  line.append(svg('line', { x1: 0, y1: height - 1, x2: width, y2: height - 1, class: 'spark-base' }))
  if (values.length < 2) return line
  const max = Math.max(1, ...values)
  const step = width / (TRAFFIC_SAMPLES - 1)
  const offset = (TRAFFIC_SAMPLES - values.length) * step
  const points = values.map((v, i) => `${(offset + i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ')
  line.append(svg('polyline', { points, class: 'spark' }))
  return line
}

const TRAFFIC_CLASSES = [
  ['ok', 'below 400'],
  ['c4xx', '4xx other than 429'],
  ['c429', '429 rate-limited'],
  ['c5xx', '5xx']
]

function renderTrafficChart () {
  const container = byId('traffic-chart')
  const series = traffic.series
  const caption = byId('traffic-chart-caption')
  if (series.length === 0) {
    container.replaceChildren()
    caption.textContent = 'Collecting: the first interval appears after the second sample.'
    return
  }
  const width = 640
  const height = 200
  const plotTop = 10
  const plotBottom = height - 24
  const left = 40
  const slot = (width - left - 10) / TRAFFIC_SAMPLES
  const max = Math.max(1, ...series.map((s) => s.totals.requests))
  const scale = (v) => (v / max) * (plotBottom - plotTop)
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'traffic-chart-title traffic-chart-caption', class: 'bar-chart' })
  chart.append(
    svg('line', { x1: left, y1: plotBottom, x2: width - 10, y2: plotBottom, class: 'axis' }),
    svg('line', { x1: left, y1: plotTop, x2: left, y2: plotBottom, class: 'axis' })
  )
  const maxLabel = svg('text', { x: left - 6, y: plotTop + 8, 'text-anchor': 'end', class: 'chart-value' })
  maxLabel.textContent = String(max)
  const zeroLabel = svg('text', { x: left - 6, y: plotBottom, 'text-anchor': 'end', class: 'chart-value' })
  zeroLabel.textContent = '0'
  chart.append(maxLabel, zeroLabel)
  const offset = TRAFFIC_SAMPLES - series.length
  series.forEach((sample, index) => {
    const parts = {
      ok: sample.totals.requests - sample.totals.c4xx - sample.totals.c5xx,
      c4xx: sample.totals.c4xx - sample.totals.c429,
      c429: sample.totals.c429,
      c5xx: sample.totals.c5xx
    }
    const x = left + (offset + index) * slot + 1
    let y = plotBottom
    const group = svg('g', {}, [svgTitle(`${new Date(sample.at).toLocaleTimeString()}: ${sample.totals.requests} requests, ${sample.totals.c4xx} 4xx (${sample.totals.c429} 429), ${sample.totals.c5xx} 5xx`)])
    for (const [key] of TRAFFIC_CLASSES) {
      const barHeight = scale(Math.max(0, parts[key]))
      if (barHeight <= 0) continue
      y -= barHeight
      group.append(svg('rect', { x: x.toFixed(1), y: y.toFixed(1), width: Math.max(1, slot - 2).toFixed(1), height: barHeight.toFixed(1), class: `bar traffic-${key}` }))
    }
    chart.append(group)
  })
  let legendX = left
  for (const [key, text] of TRAFFIC_CLASSES) {
    chart.append(svg('rect', { x: legendX, y: height - 14, width: 10, height: 10, class: `bar traffic-${key}` }))
    const label = svg('text', { x: legendX + 14, y: height - 5, class: 'chart-label' })
    label.textContent = text
    chart.append(label)
    legendX += 150
  }
  container.replaceChildren(chart)
  const last = series.at(-1).totals
  caption.textContent = `Last interval: ${last.requests} requests, ${last.c4xx} 4xx of which ${last.c429} were 429, ${last.c5xx} 5xx. Highest interval in the window: ${max} requests.`
}

// ---------------------------------------------------------------------------------------------
// Users (admin): the list from GET /users and the creation form.

async function loadUsers () {
  const page = await api('GET', '/users?limit=100')
  byId('users-body').replaceChildren(...page.users.map((user) => h('tr', {}, [
    h('th', { scope: 'row', text: user.email }),
    h('td', { text: user.role }),
    h('td', { className: 'mono', text: user.id })
  ])))
}

async function createUserFromForm (event) {
  event.preventDefault()
  const email = byId('user-email').value.trim()
  const passwordInput = byId('user-password')
  const role = byId('user-role').value
  const created = await api('POST', '/users', { email, password: passwordInput.value, role })
  passwordInput.value = ''
  byId('user-create-form').reset()
  await loadUsers()
  announce(`User ${created.email} created with role ${created.role}.`)
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function init () {
  const typeSelect = byId('events-type')
  for (const type of EVENT_TYPES) typeSelect.append(h('option', { value: type, text: type }))

  byId('signin-form').addEventListener('submit', (event) => { guard(signIn)(event) })
  byId('sign-out').addEventListener('click', () => { signOut('Signed out.') })
  for (const button of navButtons()) {
    button.addEventListener('click', () => { showView(button.dataset.view) })
  }

  byId('key-create-form').addEventListener('submit', (event) => { guard(createKey)(event) })
  byId('new-key-copy').addEventListener('click', () => { copyNewKey() })
  byId('new-key-done').addEventListener('click', () => {
    clearNewKey()
    announce('The key is no longer displayed.')
    byId('keys-list-title').focus()
  })
  byId('keys-refresh').addEventListener('click', () => { guard(async () => { clearNewKey(); await loadKeys(false); announce('Key list refreshed.') })() })
  byId('keys-more').addEventListener('click', () => { guard(loadKeys)(true) })

  byId('pk-form').addEventListener('submit', (event) => { guard(saveProviderKey)(event) })
  byId('pk-refresh').addEventListener('click', () => { guard(loadProviderKeys)() })

  typeSelect.addEventListener('change', () => { resetEventsPaging(); guard(loadEventsPage)() })
  byId('events-refresh').addEventListener('click', () => { guard(refreshEvents)(true) })
  byId('traffic-sample').addEventListener('click', () => { guard(async () => { await pollTraffic(); renderTraffic(); announce('Traffic sampled.') })() })
  byId('events-older').addEventListener('click', () => {
    if (events.next === null) return
    events.cursors[events.page + 1] = events.next
    events.page++
    guard(loadEventsPage)()
  })
  byId('events-newer').addEventListener('click', () => {
    if (events.page === 0) return
    events.page--
    guard(loadEventsPage)()
  })
  for (const radio of document.querySelectorAll('input[name="chart-window"]')) {
    radio.addEventListener('change', () => { guard(loadEventsChart)() })
  }

  byId('user-create-form').addEventListener('submit', (event) => { guard(createUserFromForm)(event) })
  byId('signin-email').focus()
}

// Guarded so that Node can import the pure helpers (the metrics parser) for tests.
if (typeof document !== 'undefined') init()
