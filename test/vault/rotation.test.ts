// MASTER_KEY rotation: all rows or none re-encrypted, safe to re-run, readable once the old key is gone.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openDatabase } from '../../store/database.ts'
import { migrateToLatest } from '../../store/migrations.ts'
import { createRepositories } from '../../store/repositories.ts'
import { createProviderKeyRepository, rotateProviderKeys } from '../../store/provider-keys.ts'
import type { ProviderKeyRepository } from '../../store/provider-keys.ts'
import { createVault } from '../../security/vault.ts'
import type { Vault } from '../../security/vault.ts'
import { last4 } from '../../security/provider-key-formats.ts'
import { build, createUser, freshPostgresSchema, SKIP_POSTGRES, tempDir } from '../helper.ts'
import { fakeKeys, masterKey } from './fixtures.ts'

interface Seeded { userId: string, provider: string, apiKey: string }

async function openStore (t: TestContext, url = 'sqlite::memory:') {
  const connection = openDatabase(url)
  t.after(async () => { await connection.close() })
  await migrateToLatest(connection.db, connection.dialect)
  return { repos: createRepositories(connection.db), keys: createProviderKeyRepository(connection.db) }
}

/** `users` users, each with a key for every provider, encrypted by `vault`. */
async function seed (store: Awaited<ReturnType<typeof openStore>>, vault: Vault, users: number): Promise<Seeded[]> {
  const seeded: Seeded[] = []
  for (let i = 0; i < users; i++) {
    const user = await store.repos.users.create({ email: `rot-${i}@example.test`, passwordHash: 'x', role: 'user' })
    for (const [provider, apiKey] of [['openai', fakeKeys.openaiProject()], ['anthropic', fakeKeys.anthropic()], ['huggingface', fakeKeys.huggingface()]]) {
      await store.keys.upsert({ userId: user.id, provider, ciphertext: vault.encrypt(apiKey, { userId: user.id, provider }), last4: last4(apiKey) })
      seeded.push({ userId: user.id, provider, apiKey })
    }
  }
  return seeded
}

async function assertAllDecrypt (keys: ProviderKeyRepository, vault: Vault, seeded: Seeded[]): Promise<void> {
  for (const s of seeded) {
    const row = await keys.get(s.userId, s.provider)
    assert.ok(row, `row ${s.provider} of ${s.userId}`)
    assert.equal(vault.decrypt(row.ciphertext, s), s.apiKey)
  }
}

const STORES: Array<{ label: string, skip: string | false, url: (t: TestContext) => Promise<string> }> = [
  { label: 'sqlite', skip: false, url: async () => 'sqlite::memory:' },
  { label: 'postgres', skip: SKIP_POSTGRES, url: freshPostgresSchema }
]

for (const { label, skip, url } of STORES) {
  test(`[${label}] a rotation that crashes mid-way changes no row: every key still decrypts, and a re-run completes`, { skip }, async (t) => {
    await crashThenRerun(t, await url(t))
  })
}

async function crashThenRerun (t: TestContext, url: string): Promise<void> {
  const oldKey = masterKey()
  const newKey = masterKey()
  const store = await openStore(t, url)
  const seeded = await seed(store, createVault({ masterKey: oldKey }), 4)
  const before = await store.keys.listAll()
  const rotating = createVault({ masterKey: newKey, previousKey: oldKey })

  let updated = 0
  await assert.rejects(rotateProviderKeys(store.keys, rotating, {
    afterRow: (index) => {
      updated = index + 1
      if (index === 4) throw new Error('simulated crash after 5 rows')
    }
  }), /simulated crash/)
  assert.equal(updated, 5, 'the crash happened after rows were written inside the transaction')
  assert.deepEqual(await store.keys.listAll(), before, 'the transaction was rolled back: no row changed')
  await assertAllDecrypt(store.keys, createVault({ masterKey: oldKey }), seeded)
  await assertAllDecrypt(store.keys, rotating, seeded)

  assert.deepEqual(await rotateProviderKeys(store.keys, rotating), { rotated: 12, alreadyCurrent: 0, failed: 0, skipped: 0 })
  const after = await store.keys.listAll()
  assert.ok(after.every((r) => rotating.isCurrent(r.ciphertext)))
  assert.deepEqual(after.map((r) => [r.last4, r.updatedAt]), before.map((r) => [r.last4, r.updatedAt]), 'last4 and updatedAt are kept')
  // Idempotent: nothing left to do.
  assert.deepEqual(await rotateProviderKeys(store.keys, rotating), { rotated: 0, alreadyCurrent: 12, failed: 0, skipped: 0 })
  // MASTER_KEY_PREVIOUS removed: everything still decrypts with the new key alone.
  await assertAllDecrypt(store.keys, createVault({ masterKey: newKey }), seeded)
}

test('rows already under the new key are counted, undecryptable rows are reported and left unchanged', async (t) => {
  const oldKey = masterKey()
  const newKey = masterKey()
  const store = await openStore(t)
  const seeded = await seed(store, createVault({ masterKey: oldKey }), 2)
  const rotating = createVault({ masterKey: newKey, previousKey: oldKey })
  // One row written by a server already on the new key, one under a key nobody has any more.
  const current = seeded[0]
  await store.keys.upsert({ userId: current.userId, provider: current.provider, ciphertext: rotating.encrypt(current.apiKey, current), last4: last4(current.apiKey) })
  const lost = seeded[1]
  const lostCiphertext = createVault({ masterKey: masterKey() }).encrypt(lost.apiKey, lost)
  await store.keys.upsert({ userId: lost.userId, provider: lost.provider, ciphertext: lostCiphertext, last4: last4(lost.apiKey) })

  assert.deepEqual(await rotateProviderKeys(store.keys, rotating), { rotated: 4, alreadyCurrent: 1, failed: 1, skipped: 0 })
  assert.equal((await store.keys.get(lost.userId, lost.provider))?.ciphertext, lostCiphertext)
  await assertAllDecrypt(store.keys, createVault({ masterKey: newKey }), seeded.filter((s) => s !== lost))
})

test('rotating without MASTER_KEY_PREVIOUS re-encrypts nothing and reports every old row as failed', async (t) => {
  const store = await openStore(t)
  const oldKey = masterKey()
  const seeded = await seed(store, createVault({ masterKey: oldKey }), 1)
  assert.deepEqual(await rotateProviderKeys(store.keys, createVault({ masterKey: masterKey() })), { rotated: 0, alreadyCurrent: 0, failed: 3, skipped: 0 })
  await assertAllDecrypt(store.keys, createVault({ masterKey: oldKey }), seeded)
})

test('a row its user changed while the rotation ran is left as the user wrote it', async (t) => {
  const oldKey = masterKey()
  const newKey = masterKey()
  const store = await openStore(t)
  const [first] = await seed(store, createVault({ masterKey: oldKey }), 1)
  const rotating = createVault({ masterKey: newKey, previousKey: oldKey })
  const replacement = fakeKeys.openaiLegacy()
  const stale = (await store.keys.get(first.userId, first.provider))!.ciphertext
  await store.keys.upsert({ userId: first.userId, provider: first.provider, ciphertext: createVault({ masterKey: oldKey }).encrypt(replacement, first), last4: last4(replacement) })
  const changed = await store.keys.replaceCiphertexts([{ userId: first.userId, provider: first.provider, expected: stale, ciphertext: rotating.encrypt(first.apiKey, first) }])
  assert.equal(changed, 0)
  assert.equal(rotating.decrypt((await store.keys.get(first.userId, first.provider))!.ciphertext, first), replacement)
})

test('after rotation and removal of MASTER_KEY_PREVIOUS the app still resolves every user key', async (t) => {
  const dir = tempDir(t)
  const url = `sqlite:${join(dir, 'rotation.db')}`
  const oldKey = masterKey()
  const newKey = masterKey()
  const keys = { openai: fakeKeys.openaiLegacy(), anthropic: fakeKeys.anthropic(), huggingface: fakeKeys.huggingface() }
  const first = await build(t, { DATABASE_URL: url, MASTER_KEY: oldKey })
  const user = await createUser(first, 'user')
  for (const [provider, apiKey] of Object.entries(keys)) {
    assert.equal((await first.inject({ method: 'PUT', url: `/provider-keys/${provider}`, headers: { authorization: user.auth }, payload: { apiKey } })).statusCode, 204)
  }
  await first.close()

  // During the rotation window the servers run with both keys: old rows still resolve.
  const during = await build(t, { DATABASE_URL: url, MASTER_KEY: newKey, MASTER_KEY_PREVIOUS: oldKey })
  assert.equal((await during.providerKeys.resolve(user.id, 'anthropic')).apiKey, keys.anthropic)
  const store = await openStore(t, url)
  assert.deepEqual(await rotateProviderKeys(store.keys, createVault({ masterKey: newKey, previousKey: oldKey })), { rotated: 3, alreadyCurrent: 0, failed: 0, skipped: 0 })
  await during.close()

  const after = await build(t, { DATABASE_URL: url, MASTER_KEY: newKey })
  for (const [provider, apiKey] of Object.entries(keys)) {
    assert.deepEqual(await after.providerKeys.resolve(user.id, provider as keyof typeof keys), { apiKey, source: 'user' })
  }
})
