// Password hashing (argon2id) and the password policy.
import { hash, verify } from '@node-rs/argon2'

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~20-40 ms here, slow enough for
// offline guessing, fast enough that login is not itself a denial-of-service lever.
const ARGON2ID = 2 // @node-rs/argon2's Algorithm.Argon2id (a const enum, which type stripping cannot inline)
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 }
export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 256

// The commonest passwords (and their obvious stretchings to 12+ characters): length alone lets these through.
const COMMON_PASSWORDS = new Set([
  'password', 'password1', 'password12', 'password123', 'password1234', 'password12345', 'password123456',
  '123456789012', '1234567890123', '12345678910', '123456123456', '111111111111', '000000000000',
  'qwertyuiopas', 'qwerty123456', 'qwertyuiop12', '1q2w3e4r5t6y', '1qaz2wsx3edc', 'zaq12wsxcde3',
  'iloveyou1234', 'administrator', 'admin1234567', 'adminadmin12', 'welcome12345', 'welcome123456',
  'letmein12345', 'changeme1234', 'changeme12345', 'passw0rd1234', 'p@ssw0rd1234', 'p@ssword1234',
  'abc123456789', 'abcdefghijkl', 'aaaaaaaaaaaa', 'monkey123456', 'dragon123456', 'sunshine1234',
  'football1234', 'baseball1234', 'princess1234', 'superman1234', 'trustno11234', 'masterkey123',
  'microgate123', 'microgate1234', 'correcthorsebatterystaple', 'passwordpassword', 'qwertyqwerty',
  'asdfghjkl123', 'zxcvbnm12345', 'contraseña123', 'contrasena123', 'motdepasse123', 'passwort1234'
])

/** A reason the password is unacceptable, or null. */
export function passwordWeakness (password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`
  const lower = password.toLowerCase()
  if (COMMON_PASSWORDS.has(lower)) return 'password is too common'
  if (new Set(lower).size < 4) return 'password is too repetitive'
  if (email !== undefined && lower.includes(email.toLowerCase().split('@')[0] ?? '\u0000') && lower.length - email.split('@')[0].length < 6) {
    return 'password must not be based on the email address'
  }
  return null
}

export async function hashPassword (password: string): Promise<string> {
  return await hash(password, ARGON2_OPTIONS)
}

/** Verifies a password; false (never a throw) for a malformed stored hash. */
export async function verifyPassword (storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined
/**
 * A hash to verify against when the email is unknown, so an unknown email and a wrong
 * password take the same time (no user enumeration by timing).
 */
export async function dummyPasswordHash (): Promise<string> {
  dummyHash ??= hashPassword('microgate-dummy-password-for-timing')
  return await dummyHash
}
