// Hugging Face model trust policy (Hub metadata → verdict) and per-task output validation.

/** What a model must satisfy before the gateway sends it a user's text. */
export interface TrustPolicy {
  allowedModels: readonly string[]
  trustedAuthors: readonly string[]
  minDownloads: number
}

/**
 * Organisations whose public repositories are widely used and maintained; an operator
 * widens or narrows this with HF_TRUSTED_AUTHORS.
 */
export const DEFAULT_TRUSTED_AUTHORS: readonly string[] = Object.freeze([
  'google',
  'google-bert',
  'distilbert',
  'FacebookAI',
  'facebook',
  'microsoft',
  'meta-llama',
  'openai-community',
  'sentence-transformers',
  'huggingface',
  'cardiffnlp',
  'dslim'
])

/** Why 10,000: a repository this used has had many eyes on it; fresh look-alike uploads have not. */
export const DEFAULT_MIN_DOWNLOADS = 10_000

/**
 * owner/name as the Hub allows it: alphanumerics, '.', '_', '-', at most 96 characters per part,
 * starting and ending with an alphanumeric, no '..' (path traversal in URLs built from it) and
 * no '--' (reserved by the Hub). The lookahead is anchored and the quantifiers bounded, so
 * matching is linear in the input length.
 */
export const MODEL_ID_PATTERN = '^(?!.*(?:\\.\\.|--))[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$'
const MODEL_ID_RE = new RegExp(MODEL_ID_PATTERN)
// Longest id the pattern can match; checked first so the regex never sees huge inputs.
const MODEL_ID_MAX_LENGTH = 96 * 2 + 1

/** True when `s` is a syntactically valid Hub model id (owner/name). */
export function isModelId (s: unknown): s is string {
  return typeof s === 'string' && s.length <= MODEL_ID_MAX_LENGTH && MODEL_ID_RE.test(s)
}

/** A full git commit sha: the only revision form that cannot move under us (branches and tags can). */
export const REVISION_PATTERN = /^[0-9a-f]{40}$/

/** Stable reason codes a verdict or a ModelNotTrustedError carries. */
export const TRUST_REASONS = Object.freeze({
  invalidModelId: 'invalid-model-id',
  notAllowlisted: 'not-allowlisted',
  notFound: 'not-found',
  moved: 'moved',
  invalidMetadata: 'invalid-metadata',
  idMismatch: 'id-mismatch',
  untrustedAuthor: 'untrusted-author',
  lowDownloads: 'low-downloads',
  private: 'private',
  disabled: 'disabled',
  noSafetensors: 'no-safetensors',
  noRevision: 'no-revision',
  hubUnavailable: 'hub-unavailable'
} as const)

export type TrustVerdict =
  | { trusted: true, revision: string, labels?: readonly string[] }
  | { trusted: false, reasons: string[] }

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Judge a model from the Hub's `GET /api/models/<id>` JSON. Every criterion is checked (not
 * just the first failure) so the security log says everything that is wrong at once. All
 * comparisons are exact and case-sensitive: the Hub answers with the canonical spelling, and
 * a case-folded match would let `Google/x` pass for `google/x`.
 */
export function evaluateModelMetadata (modelId: string, metadata: unknown, policy: TrustPolicy): TrustVerdict {
  if (!isModelId(modelId)) return { trusted: false, reasons: [TRUST_REASONS.invalidModelId] }
  if (!policy.allowedModels.includes(modelId)) return { trusted: false, reasons: [TRUST_REASONS.notAllowlisted] }
  if (!isRecord(metadata)) return { trusted: false, reasons: [TRUST_REASONS.invalidMetadata] }

  const reasons: string[] = []
  const owner = modelId.slice(0, modelId.indexOf('/'))

  // The Hub redirects renamed repositories; an answer about another id is not about this model.
  const id = metadata.id ?? metadata.modelId
  if (id !== modelId) reasons.push(TRUST_REASONS.idMismatch)

  // The author is the namespace that can push to the repo: it must be the id's owner and trusted.
  if (metadata.author !== owner || !policy.trustedAuthors.includes(owner)) reasons.push(TRUST_REASONS.untrustedAuthor)

  const downloads = metadata.downloads
  if (typeof downloads !== 'number' || !Number.isFinite(downloads) || downloads < policy.minDownloads) {
    reasons.push(TRUST_REASONS.lowDownloads)
  }

  // Only an explicit `false` counts as public: a missing field fails closed.
  if (metadata.private !== false) reasons.push(TRUST_REASONS.private)
  if (metadata.disabled === true) reasons.push(TRUST_REASONS.disabled)
  // `gated` (a licence-acceptance gate) is not a reason: gated repos are public and the
  // contract's criteria do not exclude them.

  // Pickle weights (.bin/.pt/.ckpt) can run code when loaded; safetensors cannot. A repo that
  // ships both is accepted: loaders (transformers, TGI) pick safetensors when present.
  const siblings = Array.isArray(metadata.siblings) ? metadata.siblings : []
  const hasSafetensors = siblings.some((s) => isRecord(s) && typeof s.rfilename === 'string' && s.rfilename.endsWith('.safetensors'))
  if (!hasSafetensors) reasons.push(TRUST_REASONS.noSafetensors)

  const sha = metadata.sha
  if (typeof sha !== 'string' || !REVISION_PATTERN.test(sha)) reasons.push(TRUST_REASONS.noRevision)

  if (reasons.length > 0) return { trusted: false, reasons }
  const labels = labelsFromMetadata(metadata)
  return labels ? { trusted: true, revision: sha as string, labels } : { trusted: true, revision: sha as string }
}

// Why 10,000: far above any real classifier head, small enough to bound the work per answer.
const MAX_LABELS = 10_000

/**
 * The label names a classifier can emit, from `config.id2label` when the Hub metadata carries
 * it; undefined when unknown (then only the label format is checked).
 */
export function labelsFromMetadata (metadata: unknown): readonly string[] | undefined {
  if (!isRecord(metadata) || !isRecord(metadata.config) || !isRecord(metadata.config.id2label)) return undefined
  const values = Object.values(metadata.config.id2label)
  if (values.length === 0 || values.length > MAX_LABELS || !values.every((v) => typeof v === 'string' && v.length > 0)) {
    return undefined
  }
  return Object.freeze(values as string[])
}

/** Stable reason codes for output anomalies. */
export const OUTPUT_ANOMALIES = Object.freeze({
  malformed: 'malformed-output',
  badLabel: 'bad-label',
  unknownLabel: 'unknown-label',
  duplicateLabel: 'duplicate-label',
  badScore: 'bad-score',
  scoreSum: 'score-sum',
  badSpan: 'bad-span',
  badWord: 'bad-word',
  tooMany: 'too-many-items',
  tooLong: 'too-long',
  secretEcho: 'secret-echo'
} as const)

/**
 * The upstream answered something a model of this task cannot produce. The caller answers
 * 502 UNSAFE_OUTPUT and records a security event with `reason`; the message never contains
 * the output itself.
 */
export class HfOutputAnomaly extends Error {
  readonly reason: string
  constructor (reason: string) {
    super(`Hugging Face output rejected: ${reason}`)
    this.name = 'HfOutputAnomaly'
    this.reason = reason
  }
}

// Why 256: real label names are short ('POSITIVE', 'LABEL_3', 'B-PER'); longer ones are a channel for text.
const MAX_LABEL_LENGTH = 256
// Why 1e-3: softmax scores are float32 and rounded in JSON; real sums land within 1e-6 of 1.
const SCORE_SUM_TOLERANCE = 1e-3

function isScore (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1
}

function isLabel (value: unknown): value is string {
  // Control characters in a label only serve to smuggle text or break logs.
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_LABEL_LENGTH && !/[\u0000-\u001f\u007f-\u009f]/.test(value)
}

/**
 * Validate a text-classification answer: `[{label, score}]` (or the wire form `[[{label, score}]]`).
 * Labels are non-empty, short, distinct and, when the model's label set is known, members of
 * it. Scores are finite and in [0, 1]; unless `multiLabel` (sigmoid heads, whose scores are
 * independent) their sum is at most 1, since single-label heads answer softmax probabilities.
 */
export function validateClassification (
  output: unknown,
  labelSet?: readonly string[],
  options: { multiLabel?: boolean } = {}
): Array<{ label: string, score: number }> {
  let items = output
  if (Array.isArray(items) && items.length === 1 && Array.isArray(items[0])) items = items[0]
  if (!Array.isArray(items) || items.length === 0) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
  if (items.length > (labelSet?.length ?? MAX_LABELS)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.tooMany)

  const seen = new Set<string>()
  const result: Array<{ label: string, score: number }> = []
  let sum = 0
  for (const item of items) {
    if (!isRecord(item)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
    const { label, score } = item
    if (!isLabel(label)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badLabel)
    if (labelSet && !labelSet.includes(label)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.unknownLabel)
    if (seen.has(label)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.duplicateLabel)
    if (!isScore(score)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badScore)
    seen.add(label)
    sum += score
    result.push({ label, score })
  }
  if (options.multiLabel !== true && sum > 1 + SCORE_SUM_TOLERANCE) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.scoreSum)
  return result
}

// Why 2x + 16: a token's decoded word differs from its span only by case, accents, a leading
// space or '##' markers; anything much longer is text that was not in the input.
const WORD_SLACK_FACTOR = 2
const WORD_SLACK_CHARS = 16

/**
 * Validate a token-classification answer (aggregated: `[{entity_group, score, word, start, end}]`).
 * Every span lies inside the input (0 ≤ start < end ≤ input.length) and its `word` is not
 * much longer than the span, so the answer cannot carry text the input did not contain.
 * Offsets are Python code-point offsets; input.length counts UTF-16 units, which is never
 * smaller, so the bound stays sound for astral characters.
 */
export function validateTokenClassification (
  output: unknown,
  input: string
): Array<{ entity_group: string, score: number, word: string, start: number, end: number }> {
  if (!Array.isArray(output)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
  // Aggregated spans do not overlap and are non-empty, so there are at most input.length of them.
  if (output.length > input.length) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.tooMany)

  const result: Array<{ entity_group: string, score: number, word: string, start: number, end: number }> = []
  for (const item of output) {
    if (!isRecord(item)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
    const { entity_group: group, score, word, start, end } = item
    if (!isLabel(group)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badLabel)
    if (!isScore(score)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badScore)
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badSpan)
    const from = start as number
    const to = end as number
    if (from < 0 || from >= to || to > input.length) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badSpan)
    if (typeof word !== 'string' || word.length > WORD_SLACK_FACTOR * (to - from) + WORD_SLACK_CHARS) {
      throw new HfOutputAnomaly(OUTPUT_ANOMALIES.badWord)
    }
    result.push({ entity_group: group, score, word, start: from, end: to })
  }
  return result
}

/** Why 10,000 characters: a summary longer than that is not a summary of a 16,000-character input. */
export const MAX_SUMMARY_LENGTH = 10_000

/**
 * Validate a summarization answer: `{summary_text}` (or the wire form `[{summary_text}]`) with a
 * string of at most `maxLength` characters that contains none of `forbidden` (the secrets the
 * gateway holds for this call, e.g. the upstream token: a model must never echo them).
 */
export function validateSummarization (
  output: unknown,
  maxLength: number = MAX_SUMMARY_LENGTH,
  forbidden: readonly string[] = []
): { summary_text: string } {
  let item = output
  if (Array.isArray(item)) {
    if (item.length !== 1) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
    item = item[0]
  }
  if (!isRecord(item) || typeof item.summary_text !== 'string') throw new HfOutputAnomaly(OUTPUT_ANOMALIES.malformed)
  const text = item.summary_text
  if (text.length > maxLength) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.tooLong)
  if (forbidden.some((secret) => secret.length > 0 && text.includes(secret))) throw new HfOutputAnomaly(OUTPUT_ANOMALIES.secretEcho)
  return { summary_text: text }
}
