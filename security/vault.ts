// The provider-key vault: AES-256-GCM under a key derived from MASTER_KEY, with a key id per ciphertext for rotation.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

const FORMAT_VERSION = 'v1'
// Domain separation: the same MASTER_KEY used elsewhere (or a future v2 scheme) yields an unrelated key.
const HKDF_INFO = 'microgate provider-key vault v1'
// The input is already 32 uniformly random bytes, so HKDF's salt adds nothing (RFC 5869 §3.1): left empty.
const HKDF_SALT = Buffer.alloc(0)
const KEY_BYTES = 32 // AES-256
const NONCE_BYTES = 12 // GCM's native 96-bit nonce: random per encryption, collision risk negligible below 2^32 messages per key
const TAG_BYTES = 16 // full-length GCM tag: truncated tags weaken forgery resistance
const KEY_ID_HEX = 16 // 64 bits of SHA-256(derived key): tells keys apart, reveals nothing about them
const MAX_CIPHERTEXT_CHARS = 8192 // provider keys are ≤ 512 characters; anything far longer is not ours
const NONCE_B64URL = /^[A-Za-z0-9_-]{16}$/ // 12 bytes in unpadded base64url
const BODY_B64URL = /^[A-Za-z0-9_-]{22,8000}$/ // at least the 16-byte tag
const KEY_ID = /^[0-9a-f]{16}$/

/** What a ciphertext is bound to: copying it to another row or provider makes it undecryptable. */
export interface VaultBinding { userId: string, provider: string }

export interface Vault {
  /** Key id of MASTER_KEY's derived key; every new ciphertext carries it. */
  keyId: string
  encrypt: (plaintext: string, binding: VaultBinding) => string
  /** Decrypts with the current or the previous key (picked by the ciphertext's key id); throws VaultError on any failure. */
  decrypt: (ciphertext: string, binding: VaultBinding) => string
  /** Whether the ciphertext is already under the current key (rotation skips it). */
  isCurrent: (ciphertext: string) => boolean
}

export type VaultFailure = 'bad-format' | 'unknown-key' | 'authentication-failed'

/**
 * A ciphertext that cannot be decrypted. The message is fixed: it never carries plaintext, key or
 * ciphertext; `reason` says which check failed, for logs.
 */
export class VaultError extends Error {
  override name = 'VaultError'
  readonly reason: VaultFailure
  constructor (reason: VaultFailure) {
    super('the stored provider key could not be decrypted')
    this.reason = reason
  }
}

interface DerivedKey { id: string, key: KeyObject }

function deriveKey (name: string, masterKey: string): DerivedKey {
  const bytes = Buffer.from(masterKey, 'base64')
  // Canonical base64 only: a typo that still decodes (stray characters are skipped by Buffer) must not pass.
  if (bytes.length !== KEY_BYTES || bytes.toString('base64') !== masterKey) {
    throw new Error(`${name} must be base64 of exactly 32 bytes (generate one with \`openssl rand -base64 32\`)`)
  }
  const derived = Buffer.from(hkdfSync('sha256', bytes, HKDF_SALT, HKDF_INFO, KEY_BYTES))
  const id = createHash('sha256').update(derived).digest('hex').slice(0, KEY_ID_HEX)
  // A KeyObject keeps the key out of ordinary Buffers; the copies are wiped.
  const key = createSecretKey(derived)
  derived.fill(0)
  bytes.fill(0)
  return { id, key }
}

/** Additional authenticated data: JSON so that no user id or provider can forge another's boundary. */
function aad (binding: VaultBinding): Buffer {
  return Buffer.from(JSON.stringify(['microgate', FORMAT_VERSION, binding.userId, binding.provider]), 'utf8')
}

interface Parsed { keyId: string, nonce: Buffer, body: Buffer }

function parse (ciphertext: string): Parsed | null {
  if (typeof ciphertext !== 'string' || ciphertext.length > MAX_CIPHERTEXT_CHARS) return null
  const parts = ciphertext.split('.')
  if (parts.length !== 4) return null
  const [version, keyId, nonce, body] = parts
  if (version !== FORMAT_VERSION || !KEY_ID.test(keyId) || !NONCE_B64URL.test(nonce) || !BODY_B64URL.test(body)) return null
  const nonceBytes = Buffer.from(nonce, 'base64url')
  const bodyBytes = Buffer.from(body, 'base64url')
  if (nonceBytes.length !== NONCE_BYTES || bodyBytes.length < TAG_BYTES) return null
  return { keyId, nonce: nonceBytes, body: bodyBytes }
}

/**
 * Builds a vault from MASTER_KEY (and MASTER_KEY_PREVIOUS during a rotation), both base64 of 32 bytes.
 * Throws at construction, naming the variable, when a key is malformed.
 */
export function createVault (options: { masterKey: string, previousKey?: string }): Vault {
  const current = deriveKey('MASTER_KEY', options.masterKey)
  const keys = new Map<string, KeyObject>([[current.id, current.key]])
  if (options.previousKey !== undefined) {
    const previous = deriveKey('MASTER_KEY_PREVIOUS', options.previousKey)
    if (previous.id === current.id) throw new Error('MASTER_KEY_PREVIOUS must differ from MASTER_KEY')
    keys.set(previous.id, previous.key)
  }

  return {
    keyId: current.id,
    encrypt (plaintext, binding) {
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', current.key, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(aad(binding))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
      return `${FORMAT_VERSION}.${current.id}.${nonce.toString('base64url')}.${body.toString('base64url')}`
    },
    decrypt (ciphertext, binding) {
      const parsed = parse(ciphertext)
      if (parsed === null) throw new VaultError('bad-format')
      const key = keys.get(parsed.keyId)
      if (key === undefined) throw new VaultError('unknown-key')
      const sealed = parsed.body.subarray(0, parsed.body.length - TAG_BYTES)
      const tag = parsed.body.subarray(parsed.body.length - TAG_BYTES)
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, parsed.nonce, { authTagLength: TAG_BYTES })
        decipher.setAAD(aad(binding))
        decipher.setAuthTag(tag)
        // final() throws unless the tag verifies: no unauthenticated byte is ever returned.
        return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8')
      } catch {
        throw new VaultError('authentication-failed')
      }
    },
    isCurrent (ciphertext) {
      return parse(ciphertext)?.keyId === current.id
    }
  }
}
