// A fake OpenAI chat-completions upstream: a real HTTP server on 127.0.0.1 speaking OpenAI's wire format.
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown
}

/**
 * What the fake answers next. A `sequence` is consumed one reply per request; its last reply
 * repeats once the sequence is exhausted.
 */
export type FakeReply =
  | { content: string, model?: string }
  | { compute: (request: RecordedRequest) => string }
  | { status: number, retryAfter?: number | string, message?: string }
  | { malformed: true }
  | { hangMs: number }
  | { sequence: FakeReply[] }

export interface FakeUpstream {
  /** Base URL to give the SDK (OpenAI: includes `/v1`; Anthropic: the origin). */
  url: string
  requests: RecordedRequest[]
  setReply (reply: FakeReply): void
  /** Requests whose client disconnected before the reply was sent. */
  readonly aborted: number
  /** Resolves once `aborted` reaches `count` (rejects after `timeoutMs`). */
  waitForAborted (count: number, timeoutMs?: number): Promise<void>
  close (): Promise<void>
}

/** How one provider shapes success and error bodies; the HTTP mechanics are shared. */
export interface WireFormat {
  path: string
  basePath: string
  success (content: string, model: string): unknown
  error (status: number, message: string): unknown
}

const OPENAI_ERROR_TYPES: Record<number, { type: string, code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
  503: { type: 'server_error', code: null }
}

const OPENAI_WIRE: WireFormat = {
  path: '/v1/chat/completions',
  basePath: '/v1',
  success (content, model) {
    return {
      id: 'chatcmpl-' + Math.random().toString(36).slice(2, 14),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{
        index: 0,
        message: { role: 'assistant', content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop'
      }],
      usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
      system_fingerprint: 'fp_fake'
    }
  },
  error (status, message) {
    const kind = OPENAI_ERROR_TYPES[status] ?? { type: 'server_error', code: null }
    return { error: { message, type: kind.type, param: null, code: kind.code } }
  }
}

function modelOf (body: unknown): string {
  const model = (body as { model?: unknown } | null)?.model
  return typeof model === 'string' ? model : 'fake-model'
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Start a fake upstream speaking `wire` on 127.0.0.1 (port 0). */
export async function startFakeLlmServer (wire: WireFormat): Promise<FakeUpstream> {
  let reply: FakeReply = { content: 'A fake answer.' }
  let sequenceIndex = 0
  let aborted = 0
  const abortWaiters = new Set<() => void>()
  const requests: RecordedRequest[] = []

  function nextReply (): FakeReply {
    if (!('sequence' in reply)) return reply
    const steps = reply.sequence
    const step = steps[Math.min(sequenceIndex, steps.length - 1)]
    sequenceIndex++
    return step
  }

  function send (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': 'req_fake',
      ...headers
    })
    res.end(body)
  }

  const server = createServer((req, res) => {
    let answered = false
    res.on('finish', () => { answered = true })
    // A client that goes away before `finish` is an abort the tests want to observe.
    res.on('close', () => {
      if (answered) return
      aborted++
      for (const wake of abortWaiters) wake()
    })
    readBody(req).then((body) => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body })
      if (req.method !== 'POST' || req.url !== wire.path) {
        send(res, 404, JSON.stringify(wire.error(404, 'Unknown route ' + String(req.url))))
        return
      }
      let step = nextReply()
      while ('sequence' in step) step = step.sequence[0]
      if ('compute' in step) {
        // An answer built from the request, e.g. one that echoes the canary the gateway sent.
        send(res, 200, JSON.stringify(wire.success(step.compute(requests[requests.length - 1]), modelOf(body))))
      } else if ('content' in step) {
        send(res, 200, JSON.stringify(wire.success(step.content, step.model ?? modelOf(body))))
      } else if ('status' in step) {
        const headers: Record<string, string> = {}
        if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter)
        send(res, step.status, JSON.stringify(wire.error(step.status, step.message ?? 'fake upstream error')), headers)
      } else if ('malformed' in step) {
        send(res, 200, '{"id":"broken","choices":[{"message":')
      } else {
        const timer = setTimeout(() => send(res, 200, JSON.stringify(wire.success('late', modelOf(body)))), step.hangMs)
        res.on('close', () => clearTimeout(timer))
      }
    }, () => res.destroy())
  })
  // Why: hanging tests must not keep idle keep-alive sockets open past close().
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}${wire.basePath}`,
    requests,
    setReply (next: FakeReply) {
      reply = next
      sequenceIndex = 0
    },
    get aborted () { return aborted },
    waitForAborted (count: number, timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        if (aborted >= count) return resolve()
        const timer = setTimeout(() => {
          abortWaiters.delete(check)
          reject(new Error(`fake upstream saw ${aborted} aborted requests, expected ${count}`))
        }, timeoutMs)
        function check (): void {
          if (aborted < count) return
          clearTimeout(timer)
          abortWaiters.delete(check)
          resolve()
        }
        abortWaiters.add(check)
      })
    },
    close () {
      server.closeAllConnections()
      return new Promise<void>((resolve, reject) => server.close((err) => err ? reject(err) : resolve()))
    }
  }
}

/** Start a fake OpenAI API; `url` is the base URL including `/v1`. */
export function startFakeOpenAi (): Promise<FakeUpstream> {
  return startFakeLlmServer(OPENAI_WIRE)
}
