// Benchmark upstreams in one child process: OpenAI, Anthropic, GitHub (ETag/304) and a Kubernetes pod list (HTTPS).
// Every answer is a precomputed Buffer and request bodies are drained unparsed, so the fakes cost as little CPU as possible.
/* eslint-disable security/detect-non-literal-fs-filename -- certificate paths handed over by the bench in a temp dir */
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'

/** A ~500-byte benign answer: it must pass the gateway's output scanner. */
export const ANSWER_TEXT = 'The text describes a routine quarterly planning meeting. The team reviewed delivery dates for the ' +
  'next release, agreed to move the design review to Thursday, and asked for updated cost estimates. Nobody raised ' +
  'blocking issues. Action items: Alice updates the schedule, Bob collects estimates from suppliers, and the group ' +
  'meets again next week to confirm the plan and the budget.'

export const GITHUB_ETAG = '"bench-etag-0001"'
export const K8S_NAMESPACE = 'microgate'
export const REPO_COUNT = 10
export const POD_COUNT = 5

function openAiAnswer (): Buffer {
  return Buffer.from(JSON.stringify({
    id: 'chatcmpl-bench0001',
    object: 'chat.completion',
    created: 1_760_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER_TEXT, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 300, completion_tokens: 80, total_tokens: 380 },
    system_fingerprint: 'fp_bench'
  }))
}

function anthropicAnswer (): Buffer {
  return Buffer.from(JSON.stringify({
    id: 'msg_bench0001',
    type: 'message',
    role: 'assistant',
    model: 'claude-3-5-haiku-latest',
    content: [{ type: 'text', text: ANSWER_TEXT }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 300, output_tokens: 80 }
  }))
}

/** GitHub's repository object, trimmed to the fields a real answer always carries plus a few extra. */
function repo (owner: string, index: number): Record<string, unknown> {
  const name = `project-${index}`
  return {
    id: 1_296_269 + index,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name,
    full_name: `${owner}/${name}`,
    private: false,
    owner: { login: owner, id: 1, type: 'User', site_admin: false, html_url: `https://github.com/${owner}` },
    html_url: `https://github.com/${owner}/${name}`,
    description: `Bench repository number ${index}, with a plain description.`,
    fork: false,
    url: `https://api.github.com/repos/${owner}/${name}`,
    homepage: null,
    language: 'TypeScript',
    forks_count: 3,
    stargazers_count: 40 + index,
    watchers_count: 40 + index,
    size: 108,
    default_branch: 'main',
    open_issues_count: 0,
    topics: ['bench'],
    visibility: 'public',
    pushed_at: '2025-01-26T19:06:43Z',
    created_at: '2024-01-26T19:01:12Z',
    updated_at: '2025-01-26T19:14:43Z'
  }
}

function podList (): Buffer {
  const items = Array.from({ length: POD_COUNT }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `payments-${i}`,
      namespace: K8S_NAMESPACE,
      uid: `6f1c2a1e-0c55-4d3e-9a51-2f4c1a9b7e1${i}`,
      resourceVersion: '48001',
      creationTimestamp: '2025-03-01T10:15:30Z',
      labels: { app: 'payments' }
    },
    spec: { nodeName: 'node-7', serviceAccountName: 'payments', containers: [{ name: 'c0', image: 'registry.internal.example/payments:1.0', ports: [{ containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      hostIP: '10.0.0.7',
      podIP: `10.1.0.${i + 2}`,
      startTime: '2025-03-01T10:15:31Z',
      containerStatuses: [{ name: 'c0', ready: true, restartCount: 0, image: 'registry.internal.example/payments:1.0', imageID: '', started: true, state: { running: { startedAt: '2025-03-01T10:15:35Z' } } }]
    }
  }))
  return Buffer.from(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '48001' }, items }))
}

const JSON_HEADERS = (body: Buffer): Record<string, string> => ({ 'content-type': 'application/json', 'content-length': String(body.length) })

/** Drain the request body (needed for keep-alive), then answer. */
function afterBody (req: IncomingMessage, answer: () => void): void {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    answer()
    req.resume()
    return
  }
  req.on('end', answer)
  req.resume()
}

function notFound (res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': '2' })
  res.end('{}')
}

async function listen (server: Server | ReturnType<typeof createHttpsServer>): Promise<number> {
  // Clients keep connections alive between rounds; a long idle timeout avoids reconnects mid-run.
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

export interface FakePorts { openai: number, anthropic: number, github: number, kubernetes: number | null }

/** Start every fake; Kubernetes only when a certificate and key are given (it speaks HTTPS only). */
export async function startFakes (options: { tlsCertFile?: string, tlsKeyFile?: string, k8sToken?: string } = {}): Promise<{ ports: FakePorts, close: () => void }> {
  const openai = openAiAnswer()
  const anthropic = anthropicAnswer()
  const reposBody = Buffer.from(JSON.stringify(Array.from({ length: REPO_COUNT }, (_, i) => repo('octocat', i))))
  const pods = podList()
  const servers: Array<{ close: () => void, closeAllConnections: () => void }> = []

  const openaiServer = createServer((req, res) => {
    afterBody(req, () => {
      if (req.url !== '/v1/chat/completions') return notFound(res)
      res.writeHead(200, JSON_HEADERS(openai))
      res.end(openai)
    })
  })
  const anthropicServer = createServer((req, res) => {
    afterBody(req, () => {
      if (req.url !== '/v1/messages') return notFound(res)
      res.writeHead(200, JSON_HEADERS(anthropic))
      res.end(anthropic)
    })
  })
  const githubServer = createServer((req, res) => {
    afterBody(req, () => {
      if (req.url === undefined || !req.url.startsWith('/users/octocat/repos')) return notFound(res)
      // Conditional request with the current validator: 304 and no body, as GitHub does.
      if (req.headers['if-none-match'] === GITHUB_ETAG) {
        res.writeHead(304, { etag: GITHUB_ETAG })
        res.end()
        return
      }
      res.writeHead(200, { ...JSON_HEADERS(reposBody), etag: GITHUB_ETAG })
      res.end(reposBody)
    })
  })
  servers.push(openaiServer, anthropicServer, githubServer)
  const ports: FakePorts = {
    openai: await listen(openaiServer),
    anthropic: await listen(anthropicServer),
    github: await listen(githubServer),
    kubernetes: null
  }

  if (options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined) {
    const expected = `Bearer ${options.k8sToken ?? ''}`
    const podsPath = `/api/v1/namespaces/${K8S_NAMESPACE}/pods`
    const k8sServer = createHttpsServer({ cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile), minVersion: 'TLSv1.2' }, (req, res) => {
      afterBody(req, () => {
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'content-type': 'application/json', 'content-length': '2' })
          res.end('{}')
          return
        }
        if (req.url === undefined || !req.url.startsWith(podsPath)) return notFound(res)
        res.writeHead(200, JSON_HEADERS(pods))
        res.end(pods)
      })
    })
    servers.push(k8sServer)
    ports.kubernetes = await listen(k8sServer)
  }
  return {
    ports,
    close () {
      for (const server of servers) {
        server.closeAllConnections()
        server.close()
      }
    }
  }
}

// Child-process entry: start, report the ports over IPC, stay up until the parent says stop.
if (import.meta.main) {
  const { ports } = await startFakes({
    tlsCertFile: process.env.BENCH_TLS_CERT_FILE,
    tlsKeyFile: process.env.BENCH_TLS_KEY_FILE,
    k8sToken: process.env.BENCH_K8S_TOKEN
  })
  process.send?.({ type: 'ready', ports })
  process.on('message', (message: { type?: string }) => { if (message?.type === 'exit') process.exit(0) })
  process.on('disconnect', () => process.exit(0))
}
