// The Hugging Face route schemas, compiled by Fastify's own validator.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { HfInferenceBodySchema, HfInferenceResponseSchema } from '../../schemas/huggingface.ts'

async function build (t: TestContext) {
  // removeAdditional: false so unknown fields are rejected, not silently dropped.
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } })
  t.after(() => app.close())
  app.post('/echo', { schema: { body: HfInferenceBodySchema, response: { 200: HfInferenceResponseSchema } } }, async (request) => {
    const body = request.body as { text: string, model?: string, task: string }
    const output = body.task === 'summarization'
      ? { summary_text: body.text }
      : body.task === 'token-classification'
        ? [{ entity_group: 'PER', score: 0.9, word: 'Ada', start: 0, end: 3 }]
        : [{ label: 'POSITIVE', score: 0.9 }]
    return { output, model: body.model ?? 'none', task: body.task }
  })
  return app
}

test('accepts a valid body and defaults the task to text-classification', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'Ada wrote it', model: 'dslim/bert-base-NER' } })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { output: [{ label: 'POSITIVE', score: 0.9 }], model: 'dslim/bert-base-NER', task: 'text-classification' })
  for (const task of ['summarization', 'token-classification']) {
    const r = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'Ada wrote it', task } })
    assert.equal(r.statusCode, 200, task)
    assert.equal(r.json().task, task)
  }
})

test('rejects bodies with a bad text, model, task or an unknown field', async (t) => {
  const app = await build(t)
  const bad = [
    {},
    { text: '' },
    { text: 'x'.repeat(16_001) },
    { text: 'hi', model: '../../etc/passwd' },
    { text: 'hi', model: 'gpt2' },
    { text: 'hi', model: 'a/b/c' },
    { text: 'hi', model: `${'a'.repeat(97)}/b` },
    { text: 'hi', task: 'text-generation' },
    { text: 'hi', provider: 'together' }
  ]
  for (const payload of bad) {
    const res = await app.inject({ method: 'POST', url: '/echo', payload })
    assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
  }
  const ok = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'x'.repeat(16_000) } })
  assert.equal(ok.statusCode, 200)
})
