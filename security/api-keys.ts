// Gateway API keys: format, generation without modulo bias, checksum, hashing for storage.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { crc32Base62 } from './checksum.ts'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
export const API_KEY_PREFIX = 'gw_'
const RANDOM_LENGTH = 26 // 26 base62 characters ≈ 154 bits: far beyond guessing, so a fast hash is right
// The last 6 characters are the CRC32 of the random part in base62 (GitHub's scheme): scanners,
// ours included, can tell a real key from a look-alike.
export const API_KEY_PATTERN = /^gw_[A-Za-z0-9]{32}$/
/** Redis channel on which a revoked key's hash reaches every instance (servers and the CLI publish). */
export const REVOCATION_CHANNEL = 'microgate:api-key-revoked'
export const DISPLAY_PREFIX_LENGTH = 10 // 'gw_' + 7 characters: enough to recognise a key, useless to guess it

/** Uniform base62 characters by rejection sampling: bytes ≥ 248 are dropped, so 248 = 4 × 62 maps evenly. */
function randomBase62 (length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62]
    }
  }
  return out
}

/** A new key: `gw_` + 26 random base62 + 6-character CRC32 checksum of the random part. */
export function generateApiKey (): string {
  const body = randomBase62(RANDOM_LENGTH)
  return API_KEY_PREFIX + body + crc32Base62(body)
}

/** Shape and checksum: a key that fails is rejected without a database lookup. */
export function isWellFormedApiKey (key: string): boolean {
  if (!API_KEY_PATTERN.test(key)) return false
  const body = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + RANDOM_LENGTH)
  return crc32Base62(body) === key.slice(API_KEY_PREFIX.length + RANDOM_LENGTH)
}

/** SHA-256 hex of the key: what the database stores. */
export function hashApiKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export function displayPrefix (key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH)
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameDigest (a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}
