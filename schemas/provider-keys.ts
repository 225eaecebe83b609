// Bring-your-own-key routes: provider names, the submitted key and the masked listing.
import { Type } from 'typebox'
import type { Static } from 'typebox'
import { MAX_PROVIDER_KEY_LENGTH } from '../security/provider-key-formats.ts'

export const ProviderSchema = Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('huggingface')])

export const ProviderParamsSchema = Type.Object({ provider: ProviderSchema }, { additionalProperties: false })

// Length is bounded here; the provider's shape is checked by security/provider-key-formats.ts (400
// INVALID_PROVIDER_KEY), so the key never appears in a schema error message.
export const PutProviderKeyBodySchema = Type.Object({
  apiKey: Type.String({ minLength: 1, maxLength: MAX_PROVIDER_KEY_LENGTH, description: 'stored encrypted; never returned' })
}, { additionalProperties: false })

export const ProviderKeySummarySchema = Type.Object({
  provider: ProviderSchema,
  last4: Type.String({ description: 'the last 4 characters of the stored key' }),
  updatedAt: Type.String()
})
export const ProviderKeyListSchema = Type.Object({ providerKeys: Type.Array(ProviderKeySummarySchema) })

export type ProviderParams = Static<typeof ProviderParamsSchema>
export type PutProviderKeyBody = Static<typeof PutProviderKeyBodySchema>
