// Behaviour of the OpenAI and Anthropic adapters against real fake upstreams: requests, retries, deadline, abort, error mapping.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ClientAbortedError, createAnthropicProvider, createOpenAiProvider, llmClientCacheSize } from '../../providers/llm.ts'
import type { LlmProvider, LlmProviderOptions } from '../../providers/llm.ts'
import { UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError } from '../../errors.ts'
import { buildPrompt } from '../../security/prompt-builder.ts'
import { startFakeOpenAi } from '../fakes/openai.ts'
import type { FakeUpstream } from '../fakes/openai.ts'
import { startFakeAnthropic } from '../fakes/anthropic.ts'

const MARKER = 'UPSTREAM-BODY-MARKER-7f3a'
const PROMPT = buildPrompt('summarize', 'The annual report shows revenue grew 12% in 2024.')
const INPUT = { system: PROMPT.system, user: PROMPT.user, maxTokens: 300 }

interface Kind {
  name: 'openai' | 'anthropic'
  fake: FakeUpstream
  make (overrides?: Partial<LlmProviderOptions>): LlmProvider
}

const kinds: Kind[] = []

before(async () => {
  const openai = await startFakeOpenAi()
  const anthropic = await startFakeAnthropic()
  // Short backoff keeps retry tests fast; the production defaults are exercised by the bounds tests.
  const fast = { timeoutMs: 5_000, retryBaseDelayMs: 5 }
  kinds.push({
    name: 'openai',
    fake: openai,
    make: (overrides = {}) => createOpenAiProvider({ apiKey: 'sk-test-openai', baseURL: openai.url, model: 'gpt-test', ...fast, ...overrides })
  }, {
    name: 'anthropic',
    fake: anthropic,
    make: (overrides = {}) => createAnthropicProvider({ apiKey: 'sk-ant-test', baseURL: anthropic.url, model: 'claude-test', ...fast, ...overrides })
  })
})

after(async () => {
  for (const kind of kinds) await kind.fake.close()
})

function reset (kind: Kind): void {
  kind.fake.requests.length = 0
  kind.fake.setReply({ content: 'Revenue grew 12% in 2024.' })
}

async function rejection (promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise
  } catch (err) {
    return err as Error & Record<string, unknown>
  }
  assert.fail('expected the call to fail')
}

function assertNoUpstreamBody (err: Error & Record<string, unknown>): void {
  assert.ok(!err.message.includes(MARKER))
  assert.ok(!JSON.stringify(err).includes(MARKER))
  assert.ok(!String(err.stack).includes(MARKER))
  assert.equal(err.cause, undefined)
}

async function until (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.ok(condition(), 'condition never became true')
}

for (const name of ['openai', 'anthropic'] as const) {
  const kindOf = (): Kind => kinds.find((k) => k.name === name) as Kind

  test(`${name}: returns the model's answer and the model name`, async () => {
    const kind = kindOf()
    reset(kind)
    const result = await kind.make().call(INPUT)
    assert.deepEqual(result, { output: 'Revenue grew 12% in 2024.', model: name === 'openai' ? 'gpt-test' : 'claude-test' })
  })

  test(`${name}: sends the system prompt first and the text only inside the boundary of the user message`, async () => {
    const kind = kindOf()
    reset(kind)
    await kind.make().call(INPUT)
    assert.equal(kind.fake.requests.length, 1)
    const { method, path, body } = kind.fake.requests[0]
    assert.equal(method, 'POST')
    const sent = body as { model: string, system?: string, max_tokens?: number, max_completion_tokens?: number, messages: Array<{ role: string, content: string }> }
    if (name === 'openai') {
      assert.equal(path, '/v1/chat/completions')
      assert.deepEqual(sent.messages.map((m) => m.role), ['system', 'user'])
      assert.equal(sent.messages[0].content, PROMPT.system)
      assert.equal(sent.max_completion_tokens, 300)
      assert.equal(sent.model, 'gpt-test')
    } else {
      assert.equal(path, '/v1/messages')
      assert.equal(sent.system, PROMPT.system)
      assert.deepEqual(sent.messages.map((m) => m.role), ['user'])
      assert.equal(sent.max_tokens, 300)
      assert.equal(sent.model, 'claude-test')
    }
    const user = sent.messages[sent.messages.length - 1].content
    assert.equal(user, PROMPT.user)
    const start = user.indexOf(PROMPT.boundary)
    const text = user.indexOf('The annual report')
    const end = user.indexOf('<<END_' + PROMPT.boundary.slice(2))
    assert.ok(start >= 0 && start < text && text < end)
  })

  test(`${name}: authenticates with the configured key`, async () => {
    const kind = kindOf()
    reset(kind)
    await kind.make().call(INPUT)
    const { headers } = kind.fake.requests[0]
    if (name === 'openai') {
      assert.equal(headers.authorization, 'Bearer sk-test-openai')
    } else {
      // Anthropic's API takes the key as `x-api-key`; the installed SDK (1.x) sends it as a bearer token.
      const viaApiKeyHeader = headers['x-api-key'] === 'sk-ant-test'
      const viaBearer = headers.authorization === 'Bearer sk-ant-test'
      assert.ok(viaApiKeyHeader !== viaBearer, 'the key is sent exactly one way')
      assert.match(String(headers['anthropic-version']), /^\d{4}-\d{2}-\d{2}$/)
    }
  })

  test(`${name}: succeeds after a 429 followed by a good answer`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ sequence: [{ status: 429, retryAfter: 0 }, { content: 'second time lucky' }] })
    const result = await kind.make().call(INPUT)
    assert.equal(result.output, 'second time lucky')
    assert.equal(kind.fake.requests.length, 2)
  })

  test(`${name}: reports a persistent 429 as UPSTREAM_RATE_LIMITED with the upstream's retry-after`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ status: 429, retryAfter: 30, message: MARKER })
    const err = await rejection(kind.make({ maxRetryWaitMs: 10 }).call(INPUT))
    assert.ok(err instanceof UpstreamRateLimitedError)
    assert.equal(err.code, 'UPSTREAM_RATE_LIMITED')
    assert.equal(err.statusCode, 503)
    assert.equal(err.retryAfterSeconds, 30)
    assert.equal(kind.fake.requests.length, 3)
    assertNoUpstreamBody(err)
  })

  test(`${name}: suggests 1 to 5 seconds when a 429 carries no retry-after`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ status: 429 })
    const err = await rejection(kind.make().call(INPUT))
    assert.ok(err instanceof UpstreamRateLimitedError)
    assert.ok(Number(err.retryAfterSeconds) >= 1 && Number(err.retryAfterSeconds) <= 5)
  })

  test(`${name}: gives up at once when the retry-after would outlast the deadline`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ status: 429, retryAfter: 1 })
    const err = await rejection(kind.make({ timeoutMs: 300 }).call(INPUT))
    assert.ok(err instanceof UpstreamRateLimitedError)
    assert.equal(kind.fake.requests.length, 1)
  })

  test(`${name}: reports a persistent 500 as UPSTREAM_ERROR after exactly 3 attempts`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ status: 500, message: MARKER })
    const err = await rejection(kind.make().call(INPUT))
    assert.ok(err instanceof UpstreamError)
    assert.equal(err.statusCode, 502)
    assert.equal(err.code, 'UPSTREAM_ERROR')
    assert.equal(kind.fake.requests.length, 3)
    assertNoUpstreamBody(err)
  })

  test(`${name}: reports a rejected provider key (401, 403) as UPSTREAM_ERROR without retrying`, async () => {
    const kind = kindOf()
    for (const status of [401, 403]) {
      reset(kind)
      kind.fake.setReply({ status, message: MARKER + ' Incorrect API key provided: sk-test...' })
      const err = await rejection(kind.make().call(INPUT))
      assert.ok(err instanceof UpstreamError)
      assert.equal(err.upstreamStatus, status)
      assert.equal(kind.fake.requests.length, 1)
      assertNoUpstreamBody(err)
    }
  })

  test(`${name}: reports malformed JSON as UPSTREAM_ERROR`, async () => {
    const kind = kindOf()
    reset(kind)
    kind.fake.setReply({ malformed: true })
    const err = await rejection(kind.make().call(INPUT))
    assert.ok(err instanceof UpstreamError)
    assert.equal(kind.fake.requests.length, 1)
  })

  test(`${name}: reports an empty or whitespace-only answer as UPSTREAM_ERROR`, async () => {
    const kind = kindOf()
    for (const content of ['', '  \n\t ']) {
      reset(kind)
      kind.fake.setReply({ content })
      const err = await rejection(kind.make().call(INPUT))
      assert.ok(err instanceof UpstreamError)
      assert.equal(err.reason, 'empty_output')
    }
  })

  test(`${name}: times out a hanging upstream with UPSTREAM_TIMEOUT and closes the request`, async () => {
    const kind = kindOf()
    reset(kind)
    const abortedBefore = kind.fake.aborted
    kind.fake.setReply({ hangMs: 10_000 })
    const err = await rejection(kind.make({ timeoutMs: 300 }).call(INPUT))
    assert.ok(err instanceof UpstreamTimeoutError)
    assert.equal(err.statusCode, 504)
    await kind.fake.waitForAborted(abortedBefore + 1)
  })

  test(`${name}: aborts the upstream request when the caller's signal aborts`, async () => {
    const kind = kindOf()
    reset(kind)
    const abortedBefore = kind.fake.aborted
    kind.fake.setReply({ hangMs: 10_000 })
    const controller = new AbortController()
    const pending = kind.make().call({ ...INPUT, signal: controller.signal })
    await until(() => kind.fake.requests.length === 1)
    controller.abort()
    const err = await rejection(pending)
    assert.ok(err instanceof ClientAbortedError)
    assert.equal(err.code, 'CLIENT_ABORTED')
    await kind.fake.waitForAborted(abortedBefore + 1)
    assert.equal(kind.fake.requests.length, 1, 'no retry after an abort')
  })

  test(`${name}: does not call the upstream when the caller's signal is already aborted`, async () => {
    const kind = kindOf()
    reset(kind)
    const err = await rejection(kind.make().call({ ...INPUT, signal: AbortSignal.abort() }))
    assert.ok(err instanceof ClientAbortedError)
    assert.equal(kind.fake.requests.length, 0)
  })

  test(`${name}: reports a refused connection as UPSTREAM_ERROR`, async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const kind = kindOf()
    const baseURL = name === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`
    const err = await rejection(kind.make({ baseURL }).call(INPUT))
    assert.ok(err instanceof UpstreamError)
    assert.equal(err.reason, 'connection_failed')
  })
}

test('openai: reports an answer without choices or content as UPSTREAM_ERROR', async () => {
  const kind = kinds[0]
  reset(kind)
  kind.fake.setReply({ content: null as unknown as string })
  const err = await rejection(kind.make().call(INPUT))
  assert.ok(err instanceof UpstreamError)
  assert.equal(err.reason, 'invalid_answer')
})

test('openai: can send max_tokens for servers that do not know max_completion_tokens', async () => {
  const kind = kinds[0]
  reset(kind)
  await createOpenAiProvider({ apiKey: 'sk-test-openai', baseURL: kind.fake.url, model: 'gpt-test', timeoutMs: 5_000, maxTokensParam: 'max_tokens' }).call(INPUT)
  const sent = kind.fake.requests[0].body as Record<string, unknown>
  assert.equal(sent.max_tokens, 300)
  assert.equal(sent.max_completion_tokens, undefined)
})

test('openai: caps a huge retry-after at maxRetryWaitMs instead of waiting it out', async () => {
  const kind = kinds[0]
  reset(kind)
  kind.fake.setReply({ sequence: [{ status: 429, retryAfter: 3600 }, { content: 'after a short wait' }] })
  const result = await kind.make({ maxRetryWaitMs: 20 }).call(INPUT)
  assert.equal(result.output, 'after a short wait')
  assert.equal(kind.fake.requests.length, 2)
})

test('openai: refuses an answer larger than 4 MiB without retrying it', async () => {
  const kind = kinds[0]
  reset(kind)
  kind.fake.setReply({ content: 'x'.repeat(5 * 1024 * 1024) })
  const err = await rejection(kind.make().call(INPUT))
  assert.ok(err instanceof UpstreamError)
  assert.equal(err.reason, 'response_too_large')
  assert.equal(kind.fake.requests.length, 1)
})

test('reuses one SDK client per key and base URL', () => {
  const kind = kinds[0]
  const options = { apiKey: 'sk-cache-a', baseURL: kind.fake.url, model: 'm', timeoutMs: 1_000 }
  createOpenAiProvider(options)
  const size = llmClientCacheSize()
  createOpenAiProvider(options)
  createOpenAiProvider({ ...options, model: 'other-model', timeoutMs: 2_000 })
  assert.equal(llmClientCacheSize(), size)
  createOpenAiProvider({ ...options, apiKey: 'sk-cache-b' })
  assert.equal(llmClientCacheSize(), size + 1)
})

test('rejects invalid options when the provider is created', () => {
  const good = { apiKey: 'k', baseURL: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs: 1_000 }
  assert.throws(() => createOpenAiProvider({ ...good, apiKey: '' }), /apiKey/)
  assert.throws(() => createOpenAiProvider({ ...good, baseURL: 'not a url' }), /baseURL/)
  assert.throws(() => createAnthropicProvider({ ...good, baseURL: 'file:///etc/passwd' }), /baseURL/)
  assert.throws(() => createAnthropicProvider({ ...good, timeoutMs: 0 }), /timeoutMs/)
  assert.throws(() => createOpenAiProvider({ ...good, maxRetries: 10 }), /maxRetries/)
})
