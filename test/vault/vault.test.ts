// The vault: AES-256-GCM round trips, fresh nonces, and a VaultError for every kind of tampering.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createVault, VaultError } from '../../security/vault.ts'
import { fakeKeys, masterKey } from './fixtures.ts'

const ALICE = { userId: '6f1c2b9e-4a53-4f7e-9a3c-1d2e3f4a5b6c', provider: 'openai' }
const BOB = { userId: '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d', provider: 'openai' }

/** Asserts a VaultError (of the given reason) whose message and stack hold none of the secrets. */
function assertVaultError (fn: () => unknown, secrets: string[], reason?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VaultError, `expected VaultError, got ${String(err)}`)
    if (reason !== undefined) assert.equal(err.reason, reason)
    assert.equal(err.message, 'the stored provider key could not be decrypted')
    for (const secret of secrets) assert.ok(!String(err.stack).includes(secret), 'a secret leaked into the error')
    return true
  })
}

/** Flips one bit of the byte at `index` (negative: from the end) of the base64url body part. */
function flipBody (ciphertext: string, index: number): string {
  const parts = ciphertext.split('.')
  const body = Buffer.from(parts[3], 'base64url')
  body[index < 0 ? body.length + index : index] ^= 0x01
  parts[3] = body.toString('base64url')
  return parts.join('.')
}

test('a key encrypted for a user and provider decrypts back to the same text', () => {
  const vault = createVault({ masterKey: masterKey() })
  for (const make of Object.values(fakeKeys)) {
    const key = make()
    const sealed = vault.encrypt(key, ALICE)
    assert.equal(vault.decrypt(sealed, ALICE), key)
    assert.ok(!sealed.includes(key))
  }
  assert.equal(vault.decrypt(vault.encrypt('ünïcødé ✓', ALICE), ALICE), 'ünïcødé ✓')
})

test('the ciphertext names format version v1 and the current key id, and carries a 96-bit nonce and a full tag', () => {
  const vault = createVault({ masterKey: masterKey() })
  const [version, keyId, nonce, body] = vault.encrypt('x', ALICE).split('.')
  assert.equal(version, 'v1')
  assert.equal(keyId, vault.keyId)
  assert.match(keyId, /^[0-9a-f]{16}$/)
  assert.equal(Buffer.from(nonce, 'base64url').length, 12)
  assert.equal(Buffer.from(body, 'base64url').length, 1 + 16, 'one byte of ciphertext plus a 16-byte tag')
})

test('two encryptions of the same key differ (a fresh random nonce each time)', () => {
  const vault = createVault({ masterKey: masterKey() })
  const key = fakeKeys.anthropic()
  const sealed = new Set<string>()
  const nonces = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const s = vault.encrypt(key, ALICE)
    sealed.add(s)
    nonces.add(s.split('.')[2])
  }
  assert.equal(sealed.size, 200)
  assert.equal(nonces.size, 200)
})

test('the key id is stable for one MASTER_KEY, differs between keys, and is not a hash of the master key itself', () => {
  const key = masterKey()
  assert.equal(createVault({ masterKey: key }).keyId, createVault({ masterKey: key }).keyId)
  assert.notEqual(createVault({ masterKey: key }).keyId, createVault({ masterKey: masterKey() }).keyId)
  assert.notEqual(createVault({ masterKey: key }).keyId, createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 16))
})

test('a tampered ciphertext byte, a tampered tag or a tampered nonce throws VaultError', () => {
  const vault = createVault({ masterKey: masterKey() })
  const key = fakeKeys.openaiProject()
  const sealed = vault.encrypt(key, ALICE)
  assertVaultError(() => vault.decrypt(flipBody(sealed, 0), ALICE), [key], 'authentication-failed')
  assertVaultError(() => vault.decrypt(flipBody(sealed, 40), ALICE), [key], 'authentication-failed')
  assertVaultError(() => vault.decrypt(flipBody(sealed, -1), ALICE), [key], 'authentication-failed')
  assertVaultError(() => vault.decrypt(flipBody(sealed, -16), ALICE), [key], 'authentication-failed')
  const parts = sealed.split('.')
  const nonce = Buffer.from(parts[2], 'base64url')
  nonce[0] ^= 0x80
  assertVaultError(() => vault.decrypt([parts[0], parts[1], nonce.toString('base64url'), parts[3]].join('.'), ALICE), [key], 'authentication-failed')
  // A truncated tag (body shortened by one byte) fails too, rather than verifying fewer tag bits.
  const body = Buffer.from(parts[3], 'base64url')
  assertVaultError(() => vault.decrypt([parts[0], parts[1], parts[2], body.subarray(0, body.length - 1).toString('base64url')].join('.'), ALICE), [key])
})

test("a ciphertext copied to another user's row or to another provider does not decrypt", () => {
  const vault = createVault({ masterKey: masterKey() })
  const key = fakeKeys.openaiLegacy()
  const sealed = vault.encrypt(key, ALICE)
  assertVaultError(() => vault.decrypt(sealed, BOB), [key], 'authentication-failed')
  assertVaultError(() => vault.decrypt(sealed, { ...ALICE, provider: 'anthropic' }), [key], 'authentication-failed')
  // The binding is unambiguous: moving a separator between user id and provider is another binding.
  const tricky = vault.encrypt(key, { userId: 'a|b', provider: 'c' })
  assertVaultError(() => vault.decrypt(tricky, { userId: 'a', provider: 'b|c' }), [key], 'authentication-failed')
})

test('a ciphertext made under another MASTER_KEY throws VaultError (unknown key id, or a forged id with the wrong key)', () => {
  const vault = createVault({ masterKey: masterKey() })
  const other = createVault({ masterKey: masterKey() })
  const key = fakeKeys.huggingface()
  const foreign = other.encrypt(key, ALICE)
  assertVaultError(() => vault.decrypt(foreign, ALICE), [key], 'unknown-key')
  // Relabelled with this vault's key id: the id is only a hint, the tag still decides.
  const relabelled = foreign.replace(`.${other.keyId}.`, `.${vault.keyId}.`)
  assertVaultError(() => vault.decrypt(relabelled, ALICE), [key], 'authentication-failed')
})

test('malformed ciphertexts throw VaultError with reason bad-format', () => {
  const vault = createVault({ masterKey: masterKey() })
  const good = vault.encrypt('secret-value-123', ALICE)
  const [, id, nonce, body] = good.split('.')
  const hostile = [
    '', 'v1', 'v1...', 'not a ciphertext', `v2.${id}.${nonce}.${body}`, `V1.${id}.${nonce}.${body}`,
    `v1.${id.toUpperCase()}.${nonce}.${body}`, `v1.${id.slice(1)}.${nonce}.${body}`, `v1.${id}.${nonce}.${body}.extra`,
    `v1.${id}.${nonce}A.${body}`, `v1.${id}.${nonce.slice(1)}.${body}`, `v1.${id}.${nonce}.${body.slice(0, 10)}`,
    `v1.${id}.${nonce}.${body}=`, `v1.${id}.${nonce}.${body.replace(/.$/, '+')}`, `v1.${id}.${nonce}.${'A'.repeat(9000)}`,
    `v1.${id}.${nonce}.${body}\n`, 'v1.'.repeat(10_000)
  ]
  for (const value of hostile) assertVaultError(() => vault.decrypt(value, ALICE), ['secret-value-123'], 'bad-format')
  assertVaultError(() => vault.decrypt(undefined as unknown as string, ALICE), [], 'bad-format')
})

test('with MASTER_KEY_PREVIOUS, ciphertexts under the old key still decrypt and new ones use the new key', () => {
  const oldKey = masterKey()
  const newKey = masterKey()
  const before = createVault({ masterKey: oldKey })
  const key = fakeKeys.anthropic()
  const sealed = before.encrypt(key, ALICE)
  const during = createVault({ masterKey: newKey, previousKey: oldKey })
  assert.equal(during.decrypt(sealed, ALICE), key)
  assert.equal(during.isCurrent(sealed), false)
  const resealed = during.encrypt(key, ALICE)
  assert.equal(during.isCurrent(resealed), true)
  assert.equal(resealed.split('.')[1], createVault({ masterKey: newKey }).keyId)
  // Once MASTER_KEY_PREVIOUS is gone, only the re-encrypted ciphertext decrypts.
  const after = createVault({ masterKey: newKey })
  assert.equal(after.decrypt(resealed, ALICE), key)
  assertVaultError(() => after.decrypt(sealed, ALICE), [key], 'unknown-key')
})

test('isCurrent is false for malformed text and for ciphertexts under another key', () => {
  const vault = createVault({ masterKey: masterKey() })
  assert.equal(vault.isCurrent(vault.encrypt('k', ALICE)), true)
  assert.equal(vault.isCurrent(createVault({ masterKey: masterKey() }).encrypt('k', ALICE)), false)
  assert.equal(vault.isCurrent(''), false)
  assert.equal(vault.isCurrent(`v1.${vault.keyId}`), false)
})

test('a malformed MASTER_KEY or MASTER_KEY_PREVIOUS is rejected at construction with a message naming it', () => {
  const bad = ['', 'c2hvcnQ=', Buffer.alloc(31, 7).toString('base64'), Buffer.alloc(33, 7).toString('base64'), `${masterKey().slice(0, -1)}`, `${masterKey()} `, masterKey().replace(/^./, '*')]
  for (const value of bad) {
    assert.throws(() => createVault({ masterKey: value }), /^Error: MASTER_KEY must be base64 of exactly 32 bytes/)
    assert.throws(() => createVault({ masterKey: masterKey(), previousKey: value }), /^Error: MASTER_KEY_PREVIOUS must be base64 of exactly 32 bytes/)
  }
  const same = masterKey()
  assert.throws(() => createVault({ masterKey: same, previousKey: same }), /MASTER_KEY_PREVIOUS must differ from MASTER_KEY/)
})
