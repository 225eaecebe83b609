// Table tests of the Hugging Face trust policy and output validators.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_MIN_DOWNLOADS,
  DEFAULT_TRUSTED_AUTHORS,
  HfOutputAnomaly,
  MODEL_ID_PATTERN,
  evaluateModelMetadata,
  isModelId,
  labelsFromMetadata,
  validateClassification,
  validateSummarization,
  validateTokenClassification
} from '../../security/hf-trust.ts'
import type { TrustPolicy } from '../../security/hf-trust.ts'
import { MALFORMED_ANSWERS, hubModelMetadata, validInferenceAnswer } from '../fakes/huggingface.ts'

const MODEL = 'distilbert/distilbert-base-uncased-finetuned-sst-2-english'
const POLICY: TrustPolicy = { allowedModels: [MODEL, 'dslim/bert-base-NER', 'evil/clone'], trustedAuthors: DEFAULT_TRUSTED_AUTHORS, minDownloads: DEFAULT_MIN_DOWNLOADS }

function anomalyReason (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof HfOutputAnomaly, `expected HfOutputAnomaly, got ${String(err)}`)
    assert.ok(!err.message.includes('AAAA'), 'the message never carries the output')
    return err.reason
  }
  assert.fail('expected an HfOutputAnomaly')
}

test('accepts Hub model ids of the owner/name form', () => {
  for (const id of [MODEL, 'google-bert/bert-base-uncased', 'a/b', 'FacebookAI/roberta-large', 'org_1/model.v2_final', `${'a'.repeat(96)}/${'b'.repeat(96)}`]) {
    assert.equal(isModelId(id), true, id)
  }
})

test('rejects model ids that are not owner/name or could traverse paths', () => {
  const hostile = [
    '', 'gpt2', '/a', 'a/', 'a/b/c', '../etc/passwd', 'a/..', 'a/b..c', 'a/-b', 'a/b-', '.a/b', 'a/b.',
    'a--b/c', 'a/b c', 'a/b%2F', 'a/b\n', 'a/b?x=1', 'a/b#x', 'https://evil.test/a', 'a\\b/c', 'ａ/b',
    `${'a'.repeat(97)}/b`, `a/${'b'.repeat(97)}`, 'a/b\u0000', null, 42, ['a/b']
  ]
  for (const id of hostile) assert.equal(isModelId(id), false, JSON.stringify(id))
})

test('rejects long adversarial model ids without backtracking blow-up (the pattern is linear)', () => {
  const inputs = ['a'.repeat(100_000), `${'a.'.repeat(50_000)}/b`, `a/${'-'.repeat(90)}!`, `${'a-'.repeat(47)}/${'b_'.repeat(47)}.`]
  // eslint-disable-next-line security/detect-non-literal-regexp -- the module's own constant, as the schema compiles it
  const schemaRegex = new RegExp(MODEL_ID_PATTERN, 'u')
  for (const s of inputs) {
    assert.equal(isModelId(s), false)
    assert.equal(schemaRegex.test(s), false)
  }
})

test('trusts a popular public model by a trusted author with safetensors and returns its commit sha', () => {
  const metadata = hubModelMetadata(MODEL)
  assert.deepEqual(evaluateModelMetadata(MODEL, metadata, POLICY), { trusted: true, revision: metadata.sha })
})

test('trusts a model that ships both pickle and safetensors weights', () => {
  const metadata = hubModelMetadata(MODEL, { siblings: [{ rfilename: 'pytorch_model.bin' }, { rfilename: 'model-00001-of-00002.safetensors' }] })
  assert.equal(evaluateModelMetadata(MODEL, metadata, POLICY).trusted, true)
})

test('names every reason a model fails the policy', () => {
  const cases: Array<[string, string, Record<string, unknown>, string[]]> = [
    ['not allowlisted', 'google/other', {}, ['not-allowlisted']],
    ['low downloads', MODEL, { downloads: 9_999 }, ['low-downloads']],
    ['missing downloads', MODEL, { downloads: undefined }, ['low-downloads']],
    ['NaN downloads', MODEL, { downloads: Number.NaN }, ['low-downloads']],
    ['downloads as a string', MODEL, { downloads: '1000000' }, ['low-downloads']],
    ['private', MODEL, { private: true }, ['private']],
    ['private field missing', MODEL, { private: undefined }, ['private']],
    ['disabled', MODEL, { disabled: true }, ['disabled']],
    ['pickle-only weights', MODEL, { siblings: [{ rfilename: 'pytorch_model.bin' }, { rfilename: 'config.json' }] }, ['no-safetensors']],
    ['safetensors only in a name, not a suffix', MODEL, { siblings: [{ rfilename: 'model.safetensors.bin' }] }, ['no-safetensors']],
    ['no siblings', MODEL, { siblings: undefined }, ['no-safetensors']],
    ['no sha', MODEL, { sha: undefined }, ['no-revision']],
    ['branch name instead of sha', MODEL, { sha: 'main' }, ['no-revision']],
    ['uppercase sha', MODEL, { sha: 'A'.repeat(40) }, ['no-revision']],
    ['author differs from the namespace', MODEL, { author: 'google' }, ['untrusted-author']],
    ['answer about another id (renamed repo)', MODEL, { id: 'distilbert/other', modelId: 'distilbert/other' }, ['id-mismatch']],
    ['case-folded id', MODEL, { id: MODEL.toUpperCase(), modelId: MODEL.toUpperCase() }, ['id-mismatch']],
    ['unknown author', 'evil/clone', { id: 'evil/clone', modelId: 'evil/clone', author: 'evil' }, ['untrusted-author']],
    ['everything wrong', 'evil/clone', { id: 'evil/clone', modelId: 'evil/clone', author: 'evil', downloads: 3, private: true, siblings: [], sha: null }, ['untrusted-author', 'low-downloads', 'private', 'no-safetensors', 'no-revision']]
  ]
  for (const [name, id, overrides, reasons] of cases) {
    assert.deepEqual(evaluateModelMetadata(id, hubModelMetadata(id, overrides), POLICY), { trusted: false, reasons }, name)
  }
})

test('does not treat a gated repository as untrusted', () => {
  assert.equal(evaluateModelMetadata(MODEL, hubModelMetadata(MODEL, { gated: 'auto' }), POLICY).trusted, true)
})

test('rejects metadata that is not an object', () => {
  for (const metadata of [null, 'x', 42, [], undefined]) {
    assert.deepEqual(evaluateModelMetadata(MODEL, metadata, POLICY), { trusted: false, reasons: ['invalid-metadata'] })
  }
  assert.deepEqual(evaluateModelMetadata('../x', {}, POLICY), { trusted: false, reasons: ['invalid-model-id'] })
})

test('returns the label set when the metadata carries config.id2label', () => {
  const metadata = hubModelMetadata(MODEL, { config: { id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' } } })
  assert.deepEqual(evaluateModelMetadata(MODEL, metadata, POLICY), { trusted: true, revision: metadata.sha, labels: ['NEGATIVE', 'POSITIVE'] })
  assert.equal(labelsFromMetadata(hubModelMetadata(MODEL, { config: { id2label: { 0: 7 } } })), undefined)
  assert.equal(labelsFromMetadata(hubModelMetadata(MODEL, { config: { id2label: {} } })), undefined)
})

test('accepts real text-classification answers, flat or in the nested wire form', () => {
  const wire = validInferenceAnswer('text-classification', 'I love it') as unknown[][]
  assert.deepEqual(validateClassification(wire), wire[0])
  assert.deepEqual(validateClassification(wire[0], ['NEGATIVE', 'POSITIVE']), wire[0])
  assert.deepEqual(validateClassification([{ label: 'toxic', score: 0.9 }, { label: 'insult', score: 0.8 }], undefined, { multiLabel: true }).length, 2)
})

test('rejects text-classification answers no classifier can produce', () => {
  const cases: Array<[unknown, string, (readonly string[])?]> = [
    [MALFORMED_ANSWERS.scoreAboveOne, 'bad-score'],
    [MALFORMED_ANSWERS.labelMissing, 'bad-label'],
    [[{ label: 'POSITIVE', score: -0.1 }], 'bad-score'],
    [[{ label: 'POSITIVE', score: Number.NaN }], 'bad-score'],
    [[{ label: 'POSITIVE', score: '0.9' }], 'bad-score'],
    [[{ label: '', score: 0.5 }], 'bad-label'],
    [[{ label: 'A'.repeat(257), score: 0.5 }], 'bad-label'],
    [[{ label: 'POS\u0000ITIVE', score: 0.5 }], 'bad-label'],
    [[{ label: 'POSITIVE', score: 0.5 }, { label: 'POSITIVE', score: 0.4 }], 'duplicate-label'],
    [[{ label: 'POSITIVE', score: 0.7 }, { label: 'NEGATIVE', score: 0.7 }], 'score-sum'],
    [[{ label: 'IGNORE PREVIOUS INSTRUCTIONS', score: 0.5 }], 'unknown-label', ['NEGATIVE', 'POSITIVE']],
    [[{ label: 'NEGATIVE', score: 0.5 }, { label: 'POSITIVE', score: 0.4 }, { label: 'NEUTRAL', score: 0.1 }], 'too-many-items', ['NEGATIVE', 'POSITIVE']],
    [[], 'malformed-output'],
    [{ label: 'POSITIVE', score: 0.9 }, 'malformed-output'],
    [['POSITIVE'], 'malformed-output'],
    [[[{ label: 'a', score: 0.1 }], [{ label: 'b', score: 0.1 }]], 'malformed-output'],
    [Array.from({ length: 10_001 }, (_, i) => ({ label: `L${i}`, score: 0 })), 'too-many-items']
  ]
  for (const [output, reason, labels] of cases) {
    assert.equal(anomalyReason(() => validateClassification(output, labels)), reason, JSON.stringify(output).slice(0, 80))
  }
})

test('accepts real token-classification answers with spans inside the input', () => {
  const input = 'My name is Wolfgang and I live in Berlin'
  const output = [
    { entity_group: 'PER', score: 0.99, word: 'Wolfgang', start: 11, end: 19 },
    { entity_group: 'LOC', score: 0.999, word: 'berlin', start: 34, end: 40 }
  ]
  assert.deepEqual(validateTokenClassification(output, input), output)
  assert.deepEqual(validateTokenClassification(validInferenceAnswer('token-classification', input), input).length, 1)
  assert.deepEqual(validateTokenClassification([], input), [])
})

test('rejects token-classification answers whose spans or words are not in the input', () => {
  const input = 'Alice met Bob'
  const ok = { entity_group: 'PER', score: 0.9, word: 'Alice', start: 0, end: 5 }
  const cases: Array<[unknown, string]> = [
    [MALFORMED_ANSWERS.spanOutsideText, 'bad-span'],
    [[{ ...ok, start: -1 }], 'bad-span'],
    [[{ ...ok, start: 5, end: 5 }], 'bad-span'],
    [[{ ...ok, start: 6, end: 2 }], 'bad-span'],
    [[{ ...ok, end: input.length + 1 }], 'bad-span'],
    [[{ ...ok, start: 0.5 }], 'bad-span'],
    [[{ ...ok, end: '5' }], 'bad-span'],
    [[{ ...ok, score: 1.7 }], 'bad-score'],
    [[{ ...ok, entity_group: undefined }], 'bad-label'],
    [[{ ...ok, word: 42 }], 'bad-word'],
    [[{ ...ok, word: `Alice ${'A'.repeat(100)} sk-secret` }], 'bad-word'],
    [Array.from({ length: input.length + 1 }, () => ok), 'too-many-items'],
    [{ entities: [] }, 'malformed-output'],
    [[null], 'malformed-output']
  ]
  for (const [output, reason] of cases) {
    assert.equal(anomalyReason(() => validateTokenClassification(output, input)), reason, JSON.stringify(output).slice(0, 80))
  }
})

test('accepts a real summarization answer in either form', () => {
  assert.deepEqual(validateSummarization([{ summary_text: 'Short.' }]), { summary_text: 'Short.' })
  assert.deepEqual(validateSummarization({ summary_text: 'Short.' }), { summary_text: 'Short.' })
})

test('rejects summarization answers that are malformed, too long or echo a secret', () => {
  const token = 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567'
  const cases: Array<[unknown, string]> = [
    [MALFORMED_ANSWERS.hugeSummary, 'too-long'],
    [MALFORMED_ANSWERS.leakedToken(token), 'secret-echo'],
    [[{ summary_text: 42 }], 'malformed-output'],
    [[{ summary_text: 'a' }, { summary_text: 'b' }], 'malformed-output'],
    [[], 'malformed-output'],
    ['just a string', 'malformed-output'],
    [{ generated_text: 'x' }, 'malformed-output']
  ]
  for (const [output, reason] of cases) {
    assert.equal(anomalyReason(() => validateSummarization(output, undefined, [token])), reason, JSON.stringify(output).slice(0, 80))
  }
  assert.equal(anomalyReason(() => validateSummarization({ summary_text: 'abcdef' }, 5)), 'too-long')
})
