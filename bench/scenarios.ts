// The load each scenario sends: one request definition drives both the baseline and the gateway.
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { Request as AutocannonRequest } from 'autocannon'
import { WEBHOOK_SECRET } from './processes.ts'
import { K8S_NAMESPACE } from './fake-upstreams.ts'
import { UNVERIFIED_WEBHOOK_PATH } from './gateway.ts'

export interface Scenario {
  name: string
  /** Only statuses in this list count as success; anything else is an error. */
  expected: number[]
  requests: (apiKey: string) => AutocannonRequest[]
  /** Needs the HTTPS Kubernetes fake (openssl). */
  kubernetes?: boolean
  /** A second comparison inside the gateway itself (same process and controls), for targets defined against one. */
  reference?: { label: string, requests: () => AutocannonRequest[] }
}

/** ~1 KB of ordinary prose: the firewall must let it through, as it does real user text. */
export const PROMPT_TEXT = [
  'Please summarize the notes from our quarterly planning meeting.',
  'The team met on Tuesday morning to review progress on the new billing dashboard and the mobile app release.',
  'Maria reported that the dashboard is nearly finished; two charts still need design feedback, and the export to spreadsheet works for monthly data.',
  'Tom explained that the mobile release slipped by one week because the app store review asked for clearer privacy labels, which are now written.',
  'The support lead shared that ticket volume dropped by twelve percent after the help center articles were rewritten in plain language.',
  'Finance asked every team to send updated cost estimates for cloud hosting before the end of the month, since prices change in the spring.',
  'We agreed to move the design review to Thursday afternoon, to invite two customers to a feedback session, and to keep the launch date for the dashboard.',
  'Open questions: whether to translate the help center into Spanish this quarter, and who will own the onboarding emails after Anna moves to the data team.'
].join(' ')

export const GENERATE_BODY = JSON.stringify({ text: PROMPT_TEXT, task: 'summarize', maxTokens: 256 })

function generate (provider: 'openai' | 'anthropic'): Scenario {
  return {
    name: provider,
    expected: [200],
    requests: (apiKey) => [{
      method: 'POST',
      path: `/${provider}/secure-generate`,
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: GENERATE_BODY
    }]
  }
}

/** A push delivery shaped like GitHub's (trimmed): ~1.3 KB. */
function pushPayload (after: string): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    after,
    created: false,
    deleted: false,
    forced: false,
    compare: 'https://github.com/octo/hello/compare/6113728f27ae...' + after.slice(0, 12),
    commits: [{
      id: after,
      tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
      distinct: true,
      message: 'Update the release notes for version 2.1',
      timestamp: '2025-03-01T10:15:30Z',
      url: `https://github.com/octo/hello/commit/${after}`,
      author: { name: 'Octo Cat', email: 'octocat@example.test', username: 'octocat' },
      committer: { name: 'Octo Cat', email: 'octocat@example.test', username: 'octocat' },
      added: [],
      removed: [],
      modified: ['CHANGELOG.md']
    }],
    repository: { id: 1296269, name: 'hello', full_name: 'octo/hello', private: false, html_url: 'https://github.com/octo/hello', default_branch: 'main' },
    pusher: { name: 'octocat', email: 'octocat@example.test' },
    sender: { login: 'octocat', id: 1, type: 'User', site_admin: false }
  })
}

/**
 * Every delivery is new: a fresh X-GitHub-Delivery id and a fresh body with its own valid
 * signature, computed per request (setupRequest), so deduplication and persistence do real work.
 */
export function webhookRequest (path = '/github/secure-webhook'): AutocannonRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
    setupRequest: (request) => {
      const body = pushPayload(randomBytes(20).toString('hex'))
      const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`
      return { ...request, body, headers: { ...request.headers, 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signature } }
    }
  }
}

export const SCENARIOS: Scenario[] = [
  generate('openai'),
  generate('anthropic'),
  {
    name: 'webhook',
    expected: [202],
    requests: () => [webhookRequest()],
    // The same signed deliveries, sent to the gateway's unverified raw-body route (bench/gateway.ts).
    reference: { label: 'unverified route in the gateway', requests: () => [webhookRequest(UNVERIFIED_WEBHOOK_PATH)] }
  },
  {
    name: 'github-repos',
    expected: [200],
    requests: (apiKey) => [{ method: 'GET', path: '/github/user-repos/octocat', headers: { 'x-api-key': apiKey } }]
  },
  {
    name: 'kubernetes',
    expected: [200],
    kubernetes: true,
    requests: (apiKey) => [{ method: 'GET', path: `/kubernetes/secure-list-pods?namespace=${K8S_NAMESPACE}`, headers: { 'x-api-key': apiKey } }]
  }
]

/** The soak's mix: every route in turn on each connection. */
export function soakRequests (apiKey: string): AutocannonRequest[] {
  return [
    ...generate('openai').requests(apiKey),
    ...generate('anthropic').requests(apiKey),
    webhookRequest(),
    { method: 'GET', path: '/github/user-repos/octocat', headers: { 'x-api-key': apiKey } }
  ]
}
