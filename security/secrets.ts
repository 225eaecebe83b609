// Start-up secrets: generation for a first run and strength checks that stop a weak start.
import { randomBytes } from 'node:crypto'

/** Fresh secrets for a first run outside production: 48 random bytes for HS256, 32 for AES-256. */
export function generateSecrets (): { JWT_SECRET: string, MASTER_KEY: string } {
  return {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MASTER_KEY: randomBytes(32).toString('base64')
  }
}

// Placeholders people paste from docs; a secret containing one is treated as weak whatever its length.
const PLACEHOLDER_MARKERS = ['change', 'secret', 'password', 'example', 'replace', 'default', 'xxxx', '1234', 'test']

/**
 * Estimated entropy in bits from the character distribution (Shannon, per character × length).
 * Why an estimate: it cannot prove randomness, but it rejects repeated or dictionary-like values.
 */
export function estimateEntropyBits (value: string): number {
  if (value.length === 0) return 0
  const counts = new Map<string, number>()
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let perChar = 0
  for (const n of counts.values()) {
    const p = n / value.length
    perChar -= p * Math.log2(p)
  }
  return perChar * value.length
}

// HS256 wants at least 256 bits of key; 128 estimated bits leaves room for the estimate's coarseness.
const MIN_JWT_SECRET_BITS = 128

/** A reason the JWT secret is weak, or null when it is acceptable. */
export function jwtSecretWeakness (value: string | undefined): string | null {
  if (value === undefined || value === '') return 'JWT_SECRET is missing: set at least 32 random bytes (e.g. `openssl rand -base64 48`)'
  if (value.length < 32) return 'JWT_SECRET is too short: use at least 32 random bytes (e.g. `openssl rand -base64 48`)'
  const lower = value.toLowerCase()
  if (PLACEHOLDER_MARKERS.some((m) => lower.includes(m)) && estimateEntropyBits(value) < 200) {
    return 'JWT_SECRET looks like a placeholder: generate one with `openssl rand -base64 48`'
  }
  if (estimateEntropyBits(value) < MIN_JWT_SECRET_BITS) return 'JWT_SECRET has too little entropy: generate one with `openssl rand -base64 48`'
  return null
}

/** A reason a MASTER_KEY-like value is weak, or null. It must be base64 of exactly 32 bytes that are not trivially patterned. */
export function masterKeyWeakness (name: string, value: string | undefined): string | null {
  if (value === undefined || value === '') return `${name} is missing: set base64 of 32 random bytes (e.g. \`openssl rand -base64 32\`)`
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length !== 32 || bytes.toString('base64') !== value) return `${name} must be base64 of exactly 32 bytes (e.g. \`openssl rand -base64 32\`)`
  // 32 random bytes almost never have fewer than 20 distinct values; a patterned key does.
  if (new Set(bytes).size < 20) return `${name} is not random enough: generate one with \`openssl rand -base64 32\``
  return null
}
