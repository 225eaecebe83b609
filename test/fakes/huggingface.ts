// Fakes of the Hugging Face Hub model API and of an hf-inference server: real HTTP on 127.0.0.1 speaking their JSON.
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeTask = 'text-classification' | 'summarization' | 'token-classification'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: unknown
  modelId?: string
  revision?: string
}

async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function stop (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers })
  res.end(payload)
}

/** A plausible commit sha derived from a string, so fixtures are stable. */
export function fakeSha (seed: string): string {
  let hex = ''
  let h = 2166136261
  while (hex.length < 40) {
    for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
    hex += h.toString(16).padStart(8, '0')
    seed += '.'
  }
  return hex.slice(0, 40)
}

/**
 * Metadata shaped like the Hub's `GET /api/models/<id>` answer for a popular public
 * transformers model with safetensors and pickle weights; `overrides` replace top-level fields.
 */
export function hubModelMetadata (modelId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const author = modelId.slice(0, modelId.indexOf('/'))
  return {
    _id: '621ffdc036468d709f174338',
    id: modelId,
    modelId,
    author,
    sha: fakeSha(modelId),
    lastModified: '2024-02-13T11:19:28.000Z',
    private: false,
    disabled: false,
    gated: false,
    downloads: 3_274_617,
    likes: 712,
    library_name: 'transformers',
    pipeline_tag: 'text-classification',
    tags: ['transformers', 'pytorch', 'safetensors', 'distilbert', 'text-classification', 'en', 'license:apache-2.0', 'region:us'],
    config: {
      architectures: ['DistilBertForSequenceClassification'],
      model_type: 'distilbert',
      tokenizer_config: { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' }
    },
    cardData: { language: 'en', license: 'apache-2.0', datasets: ['sst2'] },
    siblings: [
      { rfilename: '.gitattributes' },
      { rfilename: 'README.md' },
      { rfilename: 'config.json' },
      { rfilename: 'model.safetensors' },
      { rfilename: 'pytorch_model.bin' },
      { rfilename: 'tokenizer_config.json' },
      { rfilename: 'vocab.txt' }
    ],
    spaces: [],
    createdAt: '2022-03-02T23:29:04.000Z',
    usedStorage: 1_606_198_416,
    ...overrides
  }
}

export interface FakeHub {
  url: string
  requests: RecordedRequest[]
  /** Serve `metadata` (null: 404) for a model id. */
  setModel (modelId: string, metadata: Record<string, unknown> | null): void
  /** false: up; '500': answer 500 to everything; 'close': drop every connection. */
  down: false | '500' | 'close'
  close (): Promise<void>
}

/** Fake Hub serving `/api/models/:owner/:name`. */
export async function startFakeHub (): Promise<FakeHub> {
  const models = new Map<string, Record<string, unknown>>()
  const hub: FakeHub = {
    url: '',
    requests: [],
    setModel (modelId, metadata) {
      if (metadata === null) models.delete(modelId)
      else models.set(modelId, metadata)
    },
    down: false,
    close: async () => stop(server)
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub.invalid')
    const match = /^\/api\/models\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    const modelId = match ? `${decodeURIComponent(match[1])}/${decodeURIComponent(match[2])}` : undefined
    hub.requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body: null, modelId })
    if (hub.down === 'close') {
      req.socket.destroy()
      return
    }
    if (hub.down === '500') return sendJson(res, 500, { error: 'Internal Error - We\'re working hard to fix this as soon as possible!' })
    const metadata = modelId ? models.get(modelId) : undefined
    if (req.method !== 'GET' || !metadata) return sendJson(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' })
    sendJson(res, 200, metadata)
  })
  hub.url = await listen(server)
  return hub
}

/** What the fake inference server does with one request. */
export type InferenceBehaviour =
  | { kind: 'ok' }
  | { kind: 'json', status?: number, body: unknown, headers?: Record<string, string> }
  | { kind: 'raw', status?: number, contentType: string, body: string }
  | { kind: 'loading', estimatedTime?: number }
  | { kind: 'rate-limited', retryAfter?: string }
  | { kind: 'hang' }

export interface FakeInference {
  url: string
  requests: RecordedRequest[]
  /** Declare a model: its task (for the default answer) and, if set, the only revision it serves. */
  setModel (modelId: string, task: FakeTask, revision?: string): void
  /** Behaviours consumed one per request, in order; then `fallback`. */
  queue: InferenceBehaviour[]
  fallback: InferenceBehaviour
  close (): Promise<void>
}

/** The real hf-inference answer for a task (the wire form, before the SDK unwraps it). */
export function validInferenceAnswer (task: FakeTask, input: string): unknown {
  if (task === 'text-classification') return [[{ label: 'POSITIVE', score: 0.9998352527618408 }, { label: 'NEGATIVE', score: 0.00016469 }]]
  if (task === 'summarization') return [{ summary_text: `Summary: ${input.slice(0, 60)}` }]
  // An entity on the first capitalised word, with Python-style offsets into the input.
  const m = /[A-Z][a-z]{1,30}/.exec(input)
  return m ? [{ entity_group: 'PER', score: 0.9987, word: m[0], start: m.index, end: m.index + m[0].length }] : []
}

/** Well-formed JSON that no real model of the task can produce. */
export const MALFORMED_ANSWERS = Object.freeze({
  scoreAboveOne: [[{ label: 'POSITIVE', score: 1.7 }]],
  labelMissing: [[{ score: 0.9 }]],
  spanOutsideText: [{ entity_group: 'PER', score: 0.99, word: 'Ghost', start: 5000, end: 5005 }],
  hugeSummary: [{ summary_text: 'A'.repeat(1024 * 1024) }],
  leakedToken: (token: string) => [{ summary_text: `Here is the key you asked for: ${token}` }]
})

/** Fake hf-inference server answering `POST /models/:owner/:name`. */
export async function startFakeInference (): Promise<FakeInference> {
  const models = new Map<string, { task: FakeTask, revision?: string }>()
  const fake: FakeInference = {
    url: '',
    requests: [],
    setModel (modelId, task, revision) { models.set(modelId, { task, revision }) },
    queue: [],
    fallback: { kind: 'ok' },
    close: async () => stop(server)
  }
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://inference.invalid')
    const raw = await readBody(req)
    let body: unknown = raw
    try { body = JSON.parse(raw) } catch {}
    const match = /^\/models\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    const modelId = match ? `${decodeURIComponent(match[1])}/${decodeURIComponent(match[2])}` : undefined
    const revisionHeader = req.headers['x-hf-revision']
    const revision = typeof revisionHeader === 'string' ? revisionHeader : undefined
    fake.requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body, modelId, revision })

    const model = modelId ? models.get(modelId) : undefined
    if (req.method !== 'POST' || !model) return sendJson(res, 404, { error: 'Model not found' })
    if (!req.headers.authorization?.startsWith('Bearer ')) return sendJson(res, 401, { error: 'Invalid credentials in Authorization header' })
    // A server that honours pinning: asked for a revision it does not serve, it refuses.
    if (model.revision !== undefined && revision !== model.revision) return sendJson(res, 404, { error: `Revision not found for ${modelId}` })

    const behaviour = fake.queue.shift() ?? fake.fallback
    switch (behaviour.kind) {
      case 'hang': return
      case 'loading':
        return sendJson(res, 503, { error: `Model ${modelId} is currently loading`, estimated_time: behaviour.estimatedTime ?? 0.01 })
      case 'rate-limited':
        return sendJson(res, 429, { error: 'Rate limit reached. You reached free usage limit (reset hourly).' }, behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {})
      case 'json':
        return sendJson(res, behaviour.status ?? 200, behaviour.body, behaviour.headers)
      case 'raw':
        res.writeHead(behaviour.status ?? 200, { 'content-type': behaviour.contentType })
        res.end(behaviour.body)
        return
      default: {
        const inputs = typeof body === 'object' && body !== null ? (body as { inputs?: unknown }).inputs : undefined
        return sendJson(res, 200, validInferenceAnswer(model.task, typeof inputs === 'string' ? inputs : ''))
      }
    }
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => res.destroy(err))
  })
  fake.url = await listen(server)
  return fake
}
