// POST /openai/secure-generate and /anthropic/secure-generate.
import { Type } from 'typebox'
import { TASKS } from '../security/prompt-builder.ts'

// Why 16,000: the contract's minimum for `text`; 32,000 leaves room for any language's
// characters while bounding what one request can send upstream.
export const MAX_TEXT_LENGTH = 32_000
// Why 4,096: the longest answer the tasks need; it bounds the upstream cost of one call.
export const MAX_OUTPUT_TOKENS = 4096

export const GenerateBodySchema = Type.Object({
  text: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, description: 'Data for the task, never instructions' }),
  task: Type.Union(TASKS.map((t) => Type.Literal(t)), { default: 'summarize' }),
  maxTokens: Type.Integer({ minimum: 1, maximum: MAX_OUTPUT_TOKENS, default: 512 })
}, { additionalProperties: false })

export const GenerateResponseSchema = Type.Object({
  output: Type.String({ description: 'The model answer; <, > and & arrive as JSON escapes' }),
  provider: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')]),
  model: Type.String()
})
