// TypeBox schemas of POST /huggingface/secure-inference.
import { Type } from 'typebox'
import type { Static } from 'typebox'
import { MODEL_ID_PATTERN } from '../security/hf-trust.ts'

export const HfTaskSchema = Type.Enum(['text-classification', 'summarization', 'token-classification'], {
  description: 'Inference task; the model must support it'
})

export const HfInferenceBodySchema = Type.Object({
  // Why 16,000: the contract's minimum for any text route; larger inputs exceed the
  // context of every allowlistable classifier or summarizer anyway.
  text: Type.String({ minLength: 1, maxLength: 16_000 }),
  model: Type.Optional(Type.String({ pattern: MODEL_ID_PATTERN, maxLength: 193, description: 'Hub model id (owner/name) from HF_ALLOWED_MODELS' })),
  task: Type.Optional(Type.Enum(['text-classification', 'summarization', 'token-classification'], { default: 'text-classification' }))
}, { additionalProperties: false })

export type HfInferenceBody = Static<typeof HfInferenceBodySchema>

export const HfClassificationOutputSchema = Type.Array(Type.Object({
  label: Type.String(),
  score: Type.Number({ minimum: 0, maximum: 1 })
}, { additionalProperties: false }))

export const HfTokenClassificationOutputSchema = Type.Array(Type.Object({
  entity_group: Type.String(),
  score: Type.Number({ minimum: 0, maximum: 1 }),
  word: Type.String(),
  start: Type.Integer({ minimum: 0 }),
  end: Type.Integer({ minimum: 0 })
}, { additionalProperties: false }))

export const HfSummarizationOutputSchema = Type.Object({
  summary_text: Type.String()
}, { additionalProperties: false })

export const HfInferenceResponseSchema = Type.Object({
  output: Type.Union([HfClassificationOutputSchema, HfTokenClassificationOutputSchema, HfSummarizationOutputSchema]),
  model: Type.String(),
  task: HfTaskSchema
}, { additionalProperties: false })

export type HfInferenceResponse = Static<typeof HfInferenceResponseSchema>
