// Bring-your-own-key: users' upstream API keys, encrypted by the vault, and the key each upstream call uses.
import fp from 'fastify-plugin'
import createError from '@fastify/error'
import type { FastifyInstance } from 'fastify'
import { ProviderNotConfiguredError } from '../errors.ts'
import { createVault, VaultError } from '../security/vault.ts'
import type { Vault } from '../security/vault.ts'
import { isPlausibleProviderKey, isProvider, last4 } from '../security/provider-key-formats.ts'
import type { Provider } from '../security/provider-key-formats.ts'
import { createProviderKeyRepository } from '../store/provider-keys.ts'
import type { ProviderKeySummary } from '../store/provider-keys.ts'

/** 400: the submitted key does not have the provider's published shape (the key itself is never echoed). */
export const InvalidProviderKeyError = createError('INVALID_PROVIDER_KEY', 'The API key does not have the shape of a key of this provider', 400)
/**
 * 500: a stored key cannot be decrypted (wrong MASTER_KEY, a rotation without MASTER_KEY_PREVIOUS, a
 * tampered row). A server-side fault, not "not configured": falling back to the default key would
 * silently bill the operator for a user who chose their own key.
 */
export const VaultFailureError = createError('VAULT_ERROR', 'A stored provider key could not be used', 500)

export interface ResolvedProviderKey { apiKey: string, source: 'user' | 'default' }
export type ProviderKeyListing = ProviderKeySummary & { provider: Provider }

export interface ProviderKeys {
  /** Validates the key's shape, encrypts it bound to (user, provider) and stores it, replacing any previous one. */
  set: (userId: string, provider: Provider, apiKey: string) => Promise<void>
  /** The user's stored providers with only the last 4 characters of each key. */
  list: (userId: string) => Promise<ProviderKeyListing[]>
  /** Deletes the user's key for a provider; false when there was none. */
  remove: (userId: string, provider: Provider) => Promise<boolean>
  /** The key an upstream call must use: the user's own, else the configured default, else PROVIDER_NOT_CONFIGURED. */
  resolve: (userId: string | null, provider: Provider) => Promise<ResolvedProviderKey>
}

declare module 'fastify' {
  interface FastifyInstance {
    providerKeys: ProviderKeys
  }
}

// Why 5 s: a key changed on another instance is used there within 5 s; the per-call query it saves
// is most of a provider call's local cost. The bound keeps a flood of users from growing the map.
const ROW_CACHE_TTL_MS = 5000
const ROW_CACHE_MAX_ENTRIES = 10_000

async function providerKeys (fastify: FastifyInstance) {
  const { config } = fastify
  let vault: Vault
  try {
    vault = createVault({ masterKey: config.MASTER_KEY, previousKey: config.MASTER_KEY_PREVIOUS })
  } catch (err) {
    // The message names MASTER_KEY or MASTER_KEY_PREVIOUS and the fix; the start stops here.
    throw new Error(`provider-key vault: ${(err as Error).message}`)
  }
  const repository = createProviderKeyRepository(fastify.store.db)
  const defaults: Record<Provider, string | undefined> = {
    openai: config.OPENAI_API_KEY,
    anthropic: config.ANTHROPIC_API_KEY,
    huggingface: config.HF_TOKEN
  }

  // Which ciphertext (or none) a user has per provider, so an upstream call costs no query: only
  // the ciphertext is cached — it is decrypted per call, so no plaintext key outlives its call.
  // Changes on this instance apply at once; other instances see them within the TTL.
  const rows = new Map<string, { row: Awaited<ReturnType<typeof repository.get>>, until: number }>()
  const cachedRow = async (userId: string, provider: Provider) => {
    const key = `${userId}|${provider}`
    const now = Date.now()
    const hit = rows.get(key)
    if (hit !== undefined && hit.until > now) return hit.row
    const row = await repository.get(userId, provider)
    if (rows.size >= ROW_CACHE_MAX_ENTRIES) rows.clear()
    rows.set(key, { row, until: now + ROW_CACHE_TTL_MS })
    return row
  }

  fastify.decorate('providerKeys', {
    async set (userId, provider, apiKey) {
      if (!isPlausibleProviderKey(provider, apiKey)) throw new InvalidProviderKeyError()
      const binding = { userId, provider }
      await repository.upsert({ userId, provider, ciphertext: vault.encrypt(apiKey, binding), last4: last4(apiKey) })
      rows.delete(`${userId}|${provider}`)
    },
    async list (userId) {
      // Only the providers this version knows: a row written by a newer version is not shown as something it is not.
      return (await repository.listByUser(userId)).filter((row): row is ProviderKeyListing => isProvider(row.provider))
    },
    async remove (userId, provider) {
      const removed = await repository.remove(userId, provider)
      rows.delete(`${userId}|${provider}`)
      return removed
    },
    async resolve (userId, provider) {
      const row = userId === null ? undefined : await cachedRow(userId, provider)
      if (row !== undefined) {
        try {
          return { apiKey: vault.decrypt(row.ciphertext, { userId: row.userId, provider }), source: 'user' }
        } catch (err) {
          if (!(err instanceof VaultError)) throw err
          // Which row and which check failed; never the ciphertext, the key or the master key.
          fastify.log.error({ userId: row.userId, provider, reason: err.reason, vaultKeyId: vault.keyId }, 'stored provider key could not be decrypted')
          throw new VaultFailureError()
        }
      }
      const fallback = defaults[provider]
      if (fallback === undefined || fallback === '') throw new ProviderNotConfiguredError()
      return { apiKey: fallback, source: 'default' }
    }
  } satisfies ProviderKeys)

  if (config.MASTER_KEY_PREVIOUS !== undefined) {
    fastify.log.info({ vaultKeyId: vault.keyId }, 'MASTER_KEY_PREVIOUS is set: old provider keys stay readable; run `npm run cli -- rotate-master-key` then remove it')
  }
}

export default fp(providerKeys, { name: 'provider-keys', dependencies: ['env', 'store'] })
