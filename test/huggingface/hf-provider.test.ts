// The Hugging Face provider against fake Hub and inference servers: trust checks, caching, pinning, retries, errors.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHuggingFaceProvider, REVISION_HEADER } from '../../providers/huggingface.ts'
import type { HuggingFaceProviderOptions } from '../../providers/huggingface.ts'
import { DEFAULT_MIN_DOWNLOADS, DEFAULT_TRUSTED_AUTHORS, HfOutputAnomaly, validateClassification, validateSummarization, validateTokenClassification } from '../../security/hf-trust.ts'
import { MALFORMED_ANSWERS, hubModelMetadata, startFakeHub, startFakeInference } from '../fakes/huggingface.ts'
import type { FakeHub, FakeInference } from '../fakes/huggingface.ts'

const SST2 = 'distilbert/distilbert-base-uncased-finetuned-sst-2-english'
const NER = 'dslim/bert-base-NER'
const BART = 'facebook/bart-large-cnn'
const UNTRUSTED = 'someone/bert-finetuned'
const ALLOWED = [SST2, NER, BART, UNTRUSTED]
const TOKEN = 'hf_FakeTokenForTests0123456789abcdefgh'
const TTL_MS = 60_000
const GRACE_MS = 3_600_000

interface Setup {
  hub: FakeHub
  inference: FakeInference
  clock: { now: number }
  provider: ReturnType<typeof createHuggingFaceProvider>
}

async function setup (t: TestContext, overrides: Partial<HuggingFaceProviderOptions> = {}): Promise<Setup> {
  const hub = await startFakeHub()
  const inference = await startFakeInference()
  t.after(async () => { await Promise.all([hub.close(), inference.close()]) })
  for (const id of [SST2, NER, BART]) hub.setModel(id, hubModelMetadata(id))
  hub.setModel(UNTRUSTED, hubModelMetadata(UNTRUSTED))
  inference.setModel(SST2, 'text-classification', hubModelMetadata(SST2).sha as string)
  inference.setModel(NER, 'token-classification', hubModelMetadata(NER).sha as string)
  inference.setModel(BART, 'summarization', hubModelMetadata(BART).sha as string)
  const clock = { now: 1_700_000_000_000 }
  const provider = createHuggingFaceProvider({
    hubUrl: hub.url,
    endpointUrl: inference.url,
    policy: { allowedModels: ALLOWED, trustedAuthors: DEFAULT_TRUSTED_AUTHORS, minDownloads: DEFAULT_MIN_DOWNLOADS },
    timeoutMs: 2000,
    trustTtlMs: TTL_MS,
    staleGraceMs: GRACE_MS,
    now: () => clock.now,
    ...overrides
  })
  return { hub, inference, clock, provider }
}

async function rejectsWith (promise: Promise<unknown>, code: string, reasons?: string[]): Promise<Error> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof Error, 'expected a rejection')
  assert.equal((caught as Error & { code?: string }).code, code, `got ${String(caught)}`)
  if (reasons) assert.deepEqual((caught as Error & { reasons?: string[] }).reasons, reasons)
  // Upstream bodies and the token never appear in what the gateway throws.
  assert.ok(!caught.message.includes(TOKEN) && !/loading|Rate limit reached|Internal Error/i.test(caught.message), caught.message)
  return caught
}

test('returns the Hub commit sha of a trusted model', async (t) => {
  const { provider, hub } = await setup(t)
  assert.deepEqual(await provider.checkModel(SST2), { revision: hubModelMetadata(SST2).sha })
  assert.equal(hub.requests.length, 1)
  assert.equal(hub.requests[0].path, `/api/models/${SST2}`)
  assert.equal(hub.requests[0].headers.authorization, undefined, 'the Hub lookup does not carry a token')
})

test('rejects a model outside the allowlist without asking the Hub', async (t) => {
  const { provider, hub } = await setup(t)
  hub.setModel('google/gemma-7b', hubModelMetadata('google/gemma-7b'))
  await rejectsWith(provider.checkModel('google/gemma-7b'), 'MODEL_NOT_TRUSTED', ['not-allowlisted'])
  await rejectsWith(provider.checkModel('distilbert/Distilbert-base-uncased-finetuned-sst-2-english'), 'MODEL_NOT_TRUSTED', ['not-allowlisted'])
  await rejectsWith(provider.checkModel('../../api/whoami-v2'), 'MODEL_NOT_TRUSTED', ['invalid-model-id'])
  assert.equal(hub.requests.length, 0)
})

test('rejects allowlisted models that fail the Hub trust policy, with the reason', async (t) => {
  const { provider, hub } = await setup(t)
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{ downloads: 12 }, ['low-downloads']],
    [{ private: true }, ['private']],
    [{ siblings: [{ rfilename: 'config.json' }, { rfilename: 'pytorch_model.bin' }] }, ['no-safetensors']],
    [{ sha: 'main' }, ['no-revision']],
    [{ disabled: true }, ['disabled']]
  ]
  for (const [overrides, reasons] of cases) {
    hub.setModel(SST2, hubModelMetadata(SST2, overrides))
    // A provider per case, so no cached verdict answers for the Hub.
    const uncached = createHuggingFaceProvider({
      hubUrl: hub.url,
      policy: { allowedModels: ALLOWED, trustedAuthors: DEFAULT_TRUSTED_AUTHORS, minDownloads: DEFAULT_MIN_DOWNLOADS },
      timeoutMs: 2000
    })
    await rejectsWith(uncached.checkModel(SST2), 'MODEL_NOT_TRUSTED', reasons)
  }
  await rejectsWith(provider.checkModel(UNTRUSTED), 'MODEL_NOT_TRUSTED', ['untrusted-author'])
})

test('treats a model the Hub does not know as not trusted', async (t) => {
  const { provider, hub } = await setup(t)
  hub.setModel(SST2, null)
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['not-found'])
})

test('answers a second check from the cache without asking the Hub', async (t) => {
  const { provider, hub, clock } = await setup(t)
  await provider.checkModel(SST2)
  clock.now += TTL_MS - 1
  assert.deepEqual(await provider.checkModel(SST2), { revision: hubModelMetadata(SST2).sha })
  assert.equal(hub.requests.length, 1)
  clock.now += 2
  await provider.checkModel(SST2)
  assert.equal(hub.requests.length, 2, 'an expired verdict is checked again')
})

test('shares one Hub request between concurrent checks of a model', async (t) => {
  const { provider, hub } = await setup(t)
  await Promise.all([provider.checkModel(SST2), provider.checkModel(SST2), provider.checkModel(SST2)])
  assert.equal(hub.requests.length, 1)
})

test('keeps an expired good verdict during a Hub outage, within the grace period', async (t) => {
  const { provider, hub, clock } = await setup(t)
  await provider.checkModel(SST2)
  for (const mode of ['500', 'close'] as const) {
    hub.down = mode
    clock.now += TTL_MS + 1
    assert.deepEqual(await provider.checkModel(SST2), { revision: hubModelMetadata(SST2).sha }, mode)
  }
  assert.equal(hub.requests.length, 3, 'the Hub was asked again each time')
  clock.now += GRACE_MS
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])
})

test('fails closed when the Hub is down and no good verdict is cached', async (t) => {
  const { provider, hub, clock } = await setup(t)
  hub.down = '500'
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])
  hub.down = 'close'
  await rejectsWith(provider.checkModel(NER), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])

  // A cached negative verdict is never turned into a positive one by an outage.
  hub.down = false
  await rejectsWith(provider.checkModel(UNTRUSTED), 'MODEL_NOT_TRUSTED', ['untrusted-author'])
  hub.down = '500'
  clock.now += TTL_MS + 1
  await rejectsWith(provider.checkModel(UNTRUSTED), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])
})

test('a verdict that turns bad replaces the good one, even for a later outage', async (t) => {
  const { provider, hub, clock } = await setup(t)
  await provider.checkModel(SST2)
  hub.setModel(SST2, hubModelMetadata(SST2, { private: true }))
  clock.now += TTL_MS + 1
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['private'])
  hub.down = '500'
  clock.now += TTL_MS + 1
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])
})

test('fails closed when the Hub check times out', async (t) => {
  const { createServer } = await import('node:http')
  const hanging = createServer(() => {})
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.after(() => { hanging.closeAllConnections(); hanging.close() })
  const address = hanging.address() as { port: number }
  const provider = createHuggingFaceProvider({
    hubUrl: `http://127.0.0.1:${address.port}`,
    policy: { allowedModels: [SST2], trustedAuthors: DEFAULT_TRUSTED_AUTHORS, minDownloads: DEFAULT_MIN_DOWNLOADS },
    timeoutMs: 100
  })
  await rejectsWith(provider.checkModel(SST2), 'MODEL_NOT_TRUSTED', ['hub-unavailable'])
})

test('sends the pinned revision, the bearer token and the text to the model URL', async (t) => {
  const { provider, inference } = await setup(t)
  const { revision } = await provider.checkModel(SST2)
  const output = await provider.infer({ token: TOKEN, modelId: SST2, revision, task: 'text-classification', text: 'I love this gateway' })
  assert.deepEqual(validateClassification(output), [{ label: 'POSITIVE', score: 0.9998352527618408 }, { label: 'NEGATIVE', score: 0.00016469 }])

  assert.equal(inference.requests.length, 1)
  const [request] = inference.requests
  assert.equal(request.method, 'POST')
  assert.equal(request.path, `/models/${SST2}`)
  assert.equal(request.revision, revision)
  assert.equal(request.headers[REVISION_HEADER.toLowerCase()], revision)
  assert.equal(request.headers.authorization, `Bearer ${TOKEN}`)
  assert.deepEqual(request.body, { inputs: 'I love this gateway' })
})

test('a server that does not serve the pinned revision makes the call fail', async (t) => {
  const { provider, inference } = await setup(t)
  const otherSha = 'f'.repeat(40)
  await rejectsWith(provider.infer({ token: TOKEN, modelId: SST2, revision: otherSha, task: 'text-classification', text: 'x' }), 'UPSTREAM_ERROR')
  assert.equal(inference.requests[0].revision, otherSha)
})

test('each task returns output that passes its validator', async (t) => {
  const { provider, inference } = await setup(t)
  const ner = await provider.infer({ token: TOKEN, modelId: NER, revision: (await provider.checkModel(NER)).revision, task: 'token-classification', text: 'my name is Wolfgang and I live in Berlin' })
  assert.deepEqual(validateTokenClassification(ner, 'my name is Wolfgang and I live in Berlin'), [{ entity_group: 'PER', score: 0.9987, word: 'Wolfgang', start: 11, end: 19 }])
  assert.deepEqual(inference.requests[0].body, { inputs: 'my name is Wolfgang and I live in Berlin', parameters: { aggregation_strategy: 'simple' } })

  const summary = await provider.infer({ token: TOKEN, modelId: BART, revision: (await provider.checkModel(BART)).revision, task: 'summarization', text: 'A long article.' })
  assert.deepEqual(validateSummarization(summary), { summary_text: 'Summary: A long article.' })
})

test('malformed answers of every kind end as an HfOutputAnomaly', async (t) => {
  const { provider, inference } = await setup(t)
  const sst2 = { token: TOKEN, modelId: SST2, revision: (await provider.checkModel(SST2)).revision, task: 'text-classification' as const, text: 'hello' }
  const ner = { token: TOKEN, modelId: NER, revision: (await provider.checkModel(NER)).revision, task: 'token-classification' as const, text: 'Alice met Bob' }
  const bart = { token: TOKEN, modelId: BART, revision: (await provider.checkModel(BART)).revision, task: 'summarization' as const, text: 'Some text' }

  const cases: Array<[string, typeof sst2 | typeof ner | typeof bart, unknown, (output: unknown) => unknown, string]> = [
    ['score 1.7', sst2, MALFORMED_ANSWERS.scoreAboveOne, (o) => validateClassification(o), 'bad-score'],
    ['span outside the text', ner, MALFORMED_ANSWERS.spanOutsideText, (o) => validateTokenClassification(o, ner.text), 'bad-span'],
    ['1 MB of summary', bart, MALFORMED_ANSWERS.hugeSummary, (o) => validateSummarization(o), 'too-long'],
    ['the token echoed in the summary', bart, MALFORMED_ANSWERS.leakedToken(TOKEN), (o) => validateSummarization(o, undefined, [TOKEN]), 'secret-echo']
  ]
  for (const [name, input, body, validate, reason] of cases) {
    inference.queue.push({ kind: 'json', body })
    const output = await provider.infer(input)
    assert.throws(() => validate(output), (err: unknown) => err instanceof HfOutputAnomaly && err.reason === reason, name)
  }

  // A shape the SDK itself refuses (no label) is reported by infer as the same anomaly.
  inference.queue.push({ kind: 'json', body: MALFORMED_ANSWERS.labelMissing })
  await assert.rejects(provider.infer(sst2), (err: unknown) => err instanceof HfOutputAnomaly && err.reason === 'malformed-output')
})

test('retries a loading model at most twice, then answers', async (t) => {
  const { provider, inference } = await setup(t)
  const { revision } = await provider.checkModel(SST2)
  inference.queue.push({ kind: 'loading', estimatedTime: 0.02 }, { kind: 'loading', estimatedTime: 0.01 })
  const output = await provider.infer({ token: TOKEN, modelId: SST2, revision, task: 'text-classification', text: 'hi' })
  assert.equal(validateClassification(output)[0].label, 'POSITIVE')
  assert.equal(inference.requests.length, 3)
  assert.ok(inference.requests.every((r) => r.revision === revision))
})

test('gives up with UPSTREAM_ERROR when the model keeps loading', async (t) => {
  const { provider, inference } = await setup(t)
  const { revision } = await provider.checkModel(SST2)
  inference.fallback = { kind: 'loading', estimatedTime: 0.01 }
  await rejectsWith(provider.infer({ token: TOKEN, modelId: SST2, revision, task: 'text-classification', text: 'hi' }), 'UPSTREAM_ERROR')
  assert.equal(inference.requests.length, 3)
})

test('maps a hanging inference server to UPSTREAM_TIMEOUT', async (t) => {
  const { provider, inference } = await setup(t, { timeoutMs: 150 })
  inference.fallback = { kind: 'hang' }
  await rejectsWith(provider.infer({ token: TOKEN, modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification', text: 'hi' }), 'UPSTREAM_TIMEOUT')
})

test('maps 429 to UPSTREAM_RATE_LIMITED with the upstream Retry-After', async (t) => {
  const { provider, inference } = await setup(t)
  const input = { token: TOKEN, modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification' as const, text: 'hi' }
  inference.queue.push({ kind: 'rate-limited', retryAfter: '17' })
  const err = await rejectsWith(provider.infer(input), 'UPSTREAM_RATE_LIMITED')
  assert.equal((err as Error & { retryAfterSeconds?: number }).retryAfterSeconds, 17)
  inference.queue.push({ kind: 'rate-limited' })
  const noHeader = await rejectsWith(provider.infer(input), 'UPSTREAM_RATE_LIMITED')
  assert.equal((noHeader as Error & { retryAfterSeconds?: number }).retryAfterSeconds, 60)
  assert.equal(inference.requests.length, 2, '429 is not retried')
})

test('maps other upstream failures to UPSTREAM_ERROR without their body', async (t) => {
  const { provider, inference } = await setup(t)
  const input = { token: TOKEN, modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification' as const, text: 'hi' }
  const bodies: Array<{ status: number, body: unknown }> = [
    { status: 500, body: { error: `Internal Error, token ${TOKEN}` } },
    { status: 400, body: { error: 'Input validation error: `inputs` must be... Rate limit reached' } },
    { status: 503, body: { error: 'Service Unavailable' } }
  ]
  for (const { status, body } of bodies) {
    inference.queue.push({ kind: 'json', status, body })
    await rejectsWith(provider.infer(input), 'UPSTREAM_ERROR')
  }
  inference.queue.push({ kind: 'raw', contentType: 'application/json', body: '[[{"label": "POSITIVE", "score": 0.9' })
  await rejectsWith(provider.infer(input), 'UPSTREAM_ERROR')
  inference.queue.push({ kind: 'raw', status: 502, contentType: 'text/html', body: `<html>Bad gateway ${TOKEN}</html>` })
  await rejectsWith(provider.infer(input), 'UPSTREAM_ERROR')
  // 302 to elsewhere: the redirect is refused, so the token and the text stay where they were sent.
  inference.queue.push({ kind: 'json', status: 302, body: {}, headers: { location: 'http://127.0.0.1:9/steal' } })
  await rejectsWith(provider.infer(input), 'UPSTREAM_ERROR')
  assert.equal(inference.requests.length, bodies.length + 3, 'a plain 503 is not retried')
})

test('refuses answers larger than the response cap', async (t) => {
  const { provider, inference } = await setup(t)
  inference.queue.push({ kind: 'json', body: [{ summary_text: 'A'.repeat(5 * 1024 * 1024) }] })
  await rejectsWith(provider.infer({ token: TOKEN, modelId: BART, revision: hubModelMetadata(BART).sha as string, task: 'summarization', text: 'x' }), 'UPSTREAM_ERROR')
})

test('answers PROVIDER_NOT_CONFIGURED without a token, and refuses unpinned calls', async (t) => {
  const { provider, inference } = await setup(t)
  await rejectsWith(provider.infer({ token: '', modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification', text: 'hi' }), 'PROVIDER_NOT_CONFIGURED')
  await rejectsWith(provider.infer({ token: TOKEN, modelId: SST2, revision: 'main', task: 'text-classification', text: 'hi' }), 'MODEL_NOT_TRUSTED', ['no-revision'])
  await rejectsWith(provider.infer({ token: TOKEN, modelId: '../x', revision: hubModelMetadata(SST2).sha as string, task: 'text-classification', text: 'hi' }), 'MODEL_NOT_TRUSTED', ['invalid-model-id'])
  assert.equal(inference.requests.length, 0)
})

test('passes the caller\'s abort through instead of a timeout', async (t) => {
  const { provider, inference } = await setup(t)
  inference.fallback = { kind: 'hang' }
  const controller = new AbortController()
  const pending = provider.infer({ token: TOKEN, modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification', text: 'hi', signal: controller.signal })
  setTimeout(() => controller.abort(new Error('client went away')), 20)
  await assert.rejects(pending, /client went away/)
})

test('refuses invalid options at construction', () => {
  const policy = { allowedModels: [], trustedAuthors: [], minDownloads: 0 }
  assert.throws(() => createHuggingFaceProvider({ hubUrl: 'not a url', policy, timeoutMs: 1000 }), TypeError)
  assert.throws(() => createHuggingFaceProvider({ hubUrl: 'https://huggingface.co', policy, timeoutMs: 0 }), /timeoutMs/)
})

test('a caller that gives up on a check does not fail the others sharing the Hub request', async (t) => {
  const { provider, hub } = await setup(t)
  const controller = new AbortController()
  const first = provider.checkModel(SST2, controller.signal)
  const second = provider.checkModel(SST2)
  controller.abort(new Error('client went away'))
  await assert.rejects(first, /client went away/)
  assert.deepEqual(await second, { revision: hubModelMetadata(SST2).sha })
  assert.equal(hub.requests.length, 1)
})

test('returns the label set with the revision when the Hub metadata has id2label', async (t) => {
  const { provider, hub } = await setup(t)
  hub.setModel(SST2, hubModelMetadata(SST2, { config: { id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' } } }))
  assert.deepEqual(await provider.checkModel(SST2), { revision: hubModelMetadata(SST2).sha, labels: ['NEGATIVE', 'POSITIVE'] })
})

test('bounds the Retry-After it passes on', async (t) => {
  const { provider, inference } = await setup(t)
  const input = { token: TOKEN, modelId: SST2, revision: hubModelMetadata(SST2).sha as string, task: 'text-classification' as const, text: 'hi' }
  const cases: Array<[string, number]> = [['999999999', 3600], ['0', 1], ['soon', 60]]
  for (const [header, expected] of cases) {
    inference.queue.push({ kind: 'rate-limited', retryAfter: header })
    const err = await rejectsWith(provider.infer(input), 'UPSTREAM_RATE_LIMITED')
    assert.equal((err as Error & { retryAfterSeconds?: number }).retryAfterSeconds, expected, header)
  }
})
