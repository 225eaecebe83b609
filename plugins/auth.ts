// Authentication (JWT or gw_ API key) and RBAC, applied to every route that declares a permission.
import fp from 'fastify-plugin'
import { randomBytes } from 'node:crypto'
import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, RateLimitedError, UnauthorizedError, withRetryAfter } from '../errors.ts'
import type { ApiKeyRecord, Page } from '../store/repositories.ts'
import { API_KEY_PREFIX, REVOCATION_CHANNEL, displayPrefix, generateApiKey, hashApiKey, isWellFormedApiKey } from '../security/api-keys.ts'
import { can, isPermission, isRole } from '../security/rbac.ts'
import type { Permission, Role } from '../security/rbac.ts'
import { durationToMs } from '../security/durations.ts'
import { dummyPasswordHash, hashPassword, passwordWeakness, verifyPassword } from '../security/passwords.ts'
import { LoginThrottle } from '../security/login-throttle.ts'

export interface Principal { id: string, email: string, role: Role, kind: 'jwt' | 'api-key', keyId?: string }

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
  interface FastifyContextConfig {
    /** The permission a route needs; the auth plugin authenticates and authorizes before the body is read. */
    permission?: Permission
  }
  interface FastifyInstance {
    identity: {
      login: (request: FastifyRequest, email: string, password: string) => Promise<{ token: string, expiresIn: number }>
      createUser: (email: string, password: string, role: Role) => Promise<{ id: string, email: string, role: Role }>
      createApiKey: (userId: string, name: string, expiresInDays?: number) => Promise<{ id: string, name: string, key: string, prefix: string, expiresAt: string | null }>
      revokeApiKey: (id: string) => Promise<void>
      /** Keys the principal may see: its own, or everyone's for holders of keys:manage-any. */
      listApiKeys: (principal: Principal, limit: number, cursor?: string) => Promise<Page<ApiKeyRecord>>
      /** Revokes a key the principal owns (or any key for keys:manage-any); 404 otherwise, so ids are not confirmed. */
      revokeApiKeyAs: (principal: Principal, id: string) => Promise<{ ownKey: boolean }>
    }
    /** Route-level hooks run after authentication (e.g. the per-key rate limit). */
    afterAuthHooks: onRequestHookHandler[]
  }
}

const LAST_USED_FLUSH_MS = 15_000 // lastUsedAt is written in batches, never once per request

interface CachedKey { principal: Principal, expiresAt: number | null, cachedUntil: number }

function unauthorized (reason: string): Error {
  return Object.assign(new UnauthorizedError(), { reason })
}

async function auth (fastify: FastifyInstance) {
  const { config, store } = fastify
  const ttlMs = durationToMs(config.JWT_TTL, 'JWT_TTL')
  await fastify.register(jwt, {
    secret: config.JWT_SECRET,
    // Pinned algorithm: `alg: none` and RS/HS confusion fail verification.
    sign: { algorithm: 'HS256', expiresIn: `${Math.floor(ttlMs / 1000)}s` },
    verify: { algorithms: ['HS256'] }
  })

  // Key cache: hash → principal. Revocation deletes the entry here and, through Redis, on every
  // instance; the TTL bounds staleness where no fan-out exists (PostgreSQL without Redis, CLI writes).
  const cacheTtlMs = fastify.redis !== null ? 60_000 : store.dialect === 'postgres' ? 1000 : 5000
  const keyCache = new Map<string, CachedKey>()
  const lastUsed = new Map<string, number>()
  const flushLastUsed = async () => {
    if (lastUsed.size === 0) return
    const batch = new Map([...lastUsed].map(([id, at]) => [id, new Date(at).toISOString()]))
    lastUsed.clear()
    await store.apiKeys.touchMany(batch).catch((err: Error) => { fastify.log.warn({ err: { message: err.message } }, 'could not record key use') })
  }
  const flushTimer = setInterval(() => { void flushLastUsed() }, LAST_USED_FLUSH_MS)
  flushTimer.unref()

  let publisher: { publish: (channel: string, message: string) => Promise<unknown> } | null = null
  if (fastify.redis !== null) {
    publisher = fastify.redis
    const subscriber = fastify.createRedisConnection()
    // Not awaited: a Redis outage at start must not block the gateway; ioredis resubscribes on reconnect.
    subscriber.subscribe(REVOCATION_CHANNEL).catch((err: Error) => { fastify.log.warn({ err: { message: err.message } }, 'revocation channel unavailable') })
    subscriber.on('message', (_channel: string, keyHash: string) => { keyCache.delete(keyHash) })
  }
  fastify.addHook('onClose', async () => {
    clearInterval(flushTimer)
    await flushLastUsed()
  })

  async function principalFromApiKey (key: string): Promise<Principal> {
    if (!isWellFormedApiKey(key)) throw unauthorized('malformed-key')
    const keyHash = hashApiKey(key)
    const now = Date.now()
    let cached = keyCache.get(keyHash)
    if (cached === undefined || cached.cachedUntil < now) {
      // The lookup is by SHA-256 of the key through a unique index: the equality is on a digest of
      // a 154-bit secret, so it leaks nothing useful by timing.
      const record = await store.apiKeys.findByHash(keyHash)
      if (record === undefined) throw unauthorized('unknown-key')
      if (record.revokedAt !== null) throw unauthorized('revoked-key')
      if (!isRole(record.role)) throw unauthorized('unknown-role')
      cached = {
        principal: { id: record.userId, email: record.email, role: record.role, kind: 'api-key', keyId: record.id },
        expiresAt: record.expiresAt === null ? null : Date.parse(record.expiresAt),
        cachedUntil: now + cacheTtlMs
      }
      keyCache.set(keyHash, cached)
    }
    if (cached.expiresAt !== null && cached.expiresAt <= now) throw unauthorized('expired-key')
    lastUsed.set(cached.principal.keyId as string, now)
    return cached.principal
  }

  function principalFromJwt (token: string): Principal {
    let payload: { sub?: unknown, email?: unknown, role?: unknown }
    try {
      payload = fastify.jwt.verify(token)
    } catch {
      throw unauthorized('invalid-token')
    }
    if (typeof payload.sub !== 'string' || typeof payload.email !== 'string' || typeof payload.role !== 'string' || !isRole(payload.role)) {
      throw unauthorized('invalid-claims')
    }
    return { id: payload.sub, email: payload.email, role: payload.role, kind: 'jwt' }
  }

  /** Reads `Authorization: Bearer <jwt|gw_key>` or `X-API-Key: gw_…`. */
  async function authenticate (request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization
    const apiKeyHeader = request.headers['x-api-key']
    let credential: string | undefined
    if (typeof header === 'string') {
      const space = header.indexOf(' ')
      if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw unauthorized('bad-scheme')
      credential = header.slice(space + 1).trim()
    } else if (typeof apiKeyHeader === 'string') {
      credential = apiKeyHeader.trim()
      if (!credential.startsWith(API_KEY_PREFIX)) throw unauthorized('malformed-key')
    }
    if (credential === undefined || credential === '') throw unauthorized('missing')
    if (credential.length > 4096) throw unauthorized('oversized')
    return credential.startsWith(API_KEY_PREFIX) ? await principalFromApiKey(credential) : principalFromJwt(credential)
  }

  fastify.decorateRequest('principal', null)
  fastify.decorate('afterAuthHooks', [])

  fastify.addHook('onRoute', (route) => {
    const permission = route.config?.permission
    if (permission === undefined) return
    if (!isPermission(permission)) throw new Error(`route ${route.url}: unknown permission "${String(permission)}"`)
    // onRequest: credentials are checked before any body is read or parsed.
    const check: onRequestHookHandler = async (request) => {
      const principal = await authenticate(request)
      request.principal = principal
      if (!can(principal.role, permission)) throw Object.assign(new ForbiddenError(), { reason: permission })
    }
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [...existing, check, ...fastify.afterAuthHooks]
  })

  const throttle = new LoginThrottle()
  fastify.decorate('identity', {
    async login (request: FastifyRequest, email: string, password: string) {
      const keys = [`acct:${email.toLowerCase()}`, `ip:${request.ip}`]
      const wait = throttle.waitMs(keys)
      if (wait > 0) {
        fastify.audit(request, 'login-throttled', { reason: 'backoff' })
        throw Object.assign(withRetryAfter(new RateLimitedError(), wait / 1000), { reason: 'login-backoff' })
      }
      const user = await store.users.findByEmail(email)
      // Unknown email: verify against a dummy hash so both failures take the same time.
      const ok = await verifyPassword(user?.passwordHash ?? await dummyPasswordHash(), password)
      if (user === undefined || !ok || !isRole(user.role)) {
        throttle.failure(keys)
        fastify.audit(request, 'login-failed', { reason: user === undefined ? 'unknown-account' : 'wrong-password' })
        throw Object.assign(new UnauthorizedError(), { reason: 'login' })
      }
      throttle.success([keys[0]])
      const token = fastify.jwt.sign({ sub: user.id, email: user.email, role: user.role })
      return { token, expiresIn: Math.floor(ttlMs / 1000) }
    },
    async createUser (email: string, password: string, role: Role) {
      const weakness = passwordWeakness(password, email)
      if (weakness !== null) {
        throw new BadRequestError(weakness)
      }
      if (await store.users.findByEmail(email) !== undefined) {
        throw new ConflictError('a user with this email already exists')
      }
      const user = await store.users.create({ email, passwordHash: await hashPassword(password), role })
      return { id: user.id, email: user.email, role: user.role }
    },
    async createApiKey (userId: string, name: string, expiresInDays?: number) {
      const key = generateApiKey()
      const expiresAt = expiresInDays === undefined ? null : new Date(Date.now() + expiresInDays * 86_400_000).toISOString()
      const record = await store.apiKeys.create({ userId, name, prefix: displayPrefix(key), keyHash: hashApiKey(key), expiresAt })
      return { id: record.id, name: record.name, key, prefix: record.prefix, expiresAt }
    },
    async revokeApiKey (id: string) {
      const record = await store.apiKeys.findById(id)
      if (record === undefined) return
      await store.apiKeys.revoke(id)
      keyCache.delete(record.keyHash)
      if (publisher !== null) await publisher.publish(REVOCATION_CHANNEL, record.keyHash)
    },
    async listApiKeys (principal: Principal, limit: number, cursor?: string) {
      return await store.apiKeys.list(can(principal.role, 'keys:manage-any') ? null : principal.id, limit, cursor)
    },
    async revokeApiKeyAs (principal: Principal, id: string) {
      const record = await store.apiKeys.findById(id)
      const ownKey = record?.userId === principal.id
      if (record === undefined || record.revokedAt !== null || (!ownKey && !can(principal.role, 'keys:manage-any'))) throw new NotFoundError()
      await fastify.identity.revokeApiKey(record.id)
      return { ownKey }
    }
  })
}

/**
 * First run: with no user yet, create the admin from BOOTSTRAP_ADMIN_* or, outside production when
 * the caller allows it (the server, not tests), a generated admin whose credentials and one API key
 * are printed once.
 */
export async function bootstrapAdmin (fastify: FastifyInstance, printToConsole: boolean): Promise<void> {
  const { config, store, identity } = fastify
  if (await store.users.count() > 0) return
  if (config.BOOTSTRAP_ADMIN_EMAIL !== undefined && config.BOOTSTRAP_ADMIN_PASSWORD !== undefined) {
    await identity.createUser(config.BOOTSTRAP_ADMIN_EMAIL, config.BOOTSTRAP_ADMIN_PASSWORD, 'admin')
    fastify.log.info('bootstrap admin created from BOOTSTRAP_ADMIN_EMAIL')
    return
  }
  if (!printToConsole || config.NODE_ENV === 'production') {
    fastify.log.warn('no user exists: create an admin with `npm run cli -- create-user --role admin` or set BOOTSTRAP_ADMIN_EMAIL/BOOTSTRAP_ADMIN_PASSWORD')
    return
  }
  const password = randomBytes(18).toString('base64url')
  const user = await identity.createUser('admin@microgate.local', password, 'admin')
  const key = await identity.createApiKey(user.id, 'bootstrap')
  process.stdout.write([
    '',
    'microgate: first run: an admin user was created. These credentials are shown ONCE:',
    `  email:    ${user.email}`,
    `  password: ${password}`,
    `  API key:  ${key.key}`,
    'Store them now; change them with the CLI (npm run cli -- --help).',
    ''
  ].join('\n') + '\n')
}

export default fp(auth, { name: 'auth', dependencies: ['env', 'store', 'audit'] })
