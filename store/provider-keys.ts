// Parameterized queries over provider_keys (one encrypted key per user and provider) and master-key rotation.
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import type { Vault } from '../security/vault.ts'
import { VaultError } from '../security/vault.ts'

export interface ProviderKeyRow { userId: string, provider: string, ciphertext: string, last4: string, updatedAt: string }
export interface ProviderKeySummary { provider: string, last4: string, updatedAt: string }
/** One row's new ciphertext; `expected` is the ciphertext it replaces (a row changed meanwhile is left alone). */
export interface CiphertextReplacement { userId: string, provider: string, expected: string, ciphertext: string }
export interface ReplaceOptions {
  /** Called after each row is updated, inside the transaction; a throw rolls every row back (tests use it to simulate a crash). */
  afterRow?: (index: number) => void | Promise<void>
}

export function createProviderKeyRepository (db: Kysely<Database>) {
  return {
    /** Inserts or replaces the key of one user for one provider. */
    async upsert (input: { userId: string, provider: string, ciphertext: string, last4: string }): Promise<void> {
      const updatedAt = new Date().toISOString()
      await db.insertInto('provider_keys')
        .values({ user_id: input.userId, provider: input.provider, ciphertext: input.ciphertext, last4: input.last4, updated_at: updatedAt })
        .onConflict((oc) => oc.columns(['user_id', 'provider']).doUpdateSet({ ciphertext: input.ciphertext, last4: input.last4, updated_at: updatedAt }))
        .execute()
    },

    async listByUser (userId: string): Promise<ProviderKeySummary[]> {
      const rows = await db.selectFrom('provider_keys').select(['provider', 'last4', 'updated_at'])
        .where('user_id', '=', userId).orderBy('provider').execute()
      return rows.map((r) => ({ provider: r.provider, last4: r.last4, updatedAt: r.updated_at }))
    },

    async get (userId: string, provider: string): Promise<ProviderKeyRow | undefined> {
      const row = await db.selectFrom('provider_keys').selectAll()
        .where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst()
      return row ? { userId: row.user_id, provider: row.provider, ciphertext: row.ciphertext, last4: row.last4, updatedAt: row.updated_at } : undefined
    },

    /** Deletes one key; false when there was none. */
    async remove (userId: string, provider: string): Promise<boolean> {
      const result = await db.deleteFrom('provider_keys').where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },

    /** Every row, for rotation (a few per user: small enough to hold in memory). */
    async listAll (): Promise<ProviderKeyRow[]> {
      const rows = await db.selectFrom('provider_keys').selectAll().orderBy('user_id').orderBy('provider').execute()
      return rows.map((r) => ({ userId: r.user_id, provider: r.provider, ciphertext: r.ciphertext, last4: r.last4, updatedAt: r.updated_at }))
    },

    /**
     * Writes many new ciphertexts in ONE transaction: all or none. A row whose ciphertext is no longer
     * `expected` (the user replaced or removed the key meanwhile) is skipped. Returns how many rows changed.
     */
    async replaceCiphertexts (rows: readonly CiphertextReplacement[], options: ReplaceOptions = {}): Promise<number> {
      if (rows.length === 0) return 0
      return await db.transaction().execute(async (trx) => {
        let changed = 0
        for (const [index, row] of rows.entries()) {
          // updated_at is left alone: it tells the user when they set the key, not when it was re-encrypted.
          const result = await trx.updateTable('provider_keys').set({ ciphertext: row.ciphertext })
            .where('user_id', '=', row.userId).where('provider', '=', row.provider).where('ciphertext', '=', row.expected)
            .executeTakeFirst()
          changed += Number(result.numUpdatedRows)
          await options.afterRow?.(index)
        }
        return changed
      })
    }
  }
}

export type ProviderKeyRepository = ReturnType<typeof createProviderKeyRepository>

export interface RotationResult {
  /** Rows re-encrypted under the current key. */
  rotated: number
  /** Rows that were already under the current key. */
  alreadyCurrent: number
  /** Rows neither key decrypts (left unchanged). */
  failed: number
  /** Rows changed by their user while the rotation ran (left as the user wrote them). */
  skipped: number
}

/**
 * Re-encrypts every row not already under the vault's current key, in one transaction, so a crash
 * leaves every row under either the old or the new key. Safe to re-run: current rows are skipped.
 */
export async function rotateProviderKeys (repository: ProviderKeyRepository, vault: Vault, options: ReplaceOptions = {}): Promise<RotationResult> {
  const rows = await repository.listAll()
  const replacements: CiphertextReplacement[] = []
  let alreadyCurrent = 0
  let failed = 0
  for (const row of rows) {
    if (vault.isCurrent(row.ciphertext)) {
      alreadyCurrent++
      continue
    }
    const binding = { userId: row.userId, provider: row.provider }
    try {
      // The plaintext exists only inside this expression.
      replacements.push({ userId: row.userId, provider: row.provider, expected: row.ciphertext, ciphertext: vault.encrypt(vault.decrypt(row.ciphertext, binding), binding) })
    } catch (err) {
      if (!(err instanceof VaultError)) throw err
      failed++
    }
  }
  const rotated = await repository.replaceCiphertexts(replacements, options)
  return { rotated, alreadyCurrent, failed, skipped: replacements.length - rotated }
}
