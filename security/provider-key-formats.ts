// Upstream provider API keys: the published shapes a key must have before the vault stores it.

export const PROVIDERS = ['openai', 'anthropic', 'huggingface'] as const
export type Provider = typeof PROVIDERS[number]

// No provider key is anywhere near this long; the bound keeps every regex input small.
export const MAX_PROVIDER_KEY_LENGTH = 512

// Every pattern below is anchored, a run of one character class with a bounded count and
// literal prefixes/suffixes: linear-time, no alternation under a quantifier.
const SHAPES: Record<Provider, readonly RegExp[]> = {
  openai: [
    // Legacy user keys: 20 + the marker T3BlbkFJ (base64 of "OpenAI") + 20, all alphanumeric.
    /^sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}$/,
    // Project, service-account and admin keys. OpenAI publishes neither the exact length (seen:
    // about 130–170 characters in total) nor a promise that the marker stays, so the body is any
    // run of 40–400 characters of the published alphabet: strict on prefix and charset only.
    /^sk-proj-[A-Za-z0-9_-]{40,400}$/,
    /^sk-svcacct-[A-Za-z0-9_-]{40,400}$/,
    /^sk-admin-[A-Za-z0-9_-]{40,400}$/
  ],
  // Inference keys only (admin keys, sk-ant-admin01-, cannot call the Messages API): a fixed 93-character
  // body and the fixed `AA` suffix.
  anthropic: [/^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/],
  // User access tokens: `hf_` + 34 ASCII letters.
  huggingface: [/^hf_[A-Za-z]{34}$/]
}

export function isProvider (value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value)
}

/**
 * Whether `key` has the published shape of a `provider` key. Surrounding whitespace is not
 * trimmed: a key pasted with a newline is reported, not silently altered.
 */
export function isPlausibleProviderKey (provider: string, key: string): boolean {
  if (!isProvider(provider) || typeof key !== 'string') return false
  if (key.length === 0 || key.length > MAX_PROVIDER_KEY_LENGTH) return false
  return SHAPES[provider].some((shape) => shape.test(key))
}

/** The last 4 characters: enough for a user to recognise which key is stored, useless to an attacker. */
export function last4 (key: string): string {
  return key.slice(-4)
}
