// Credentials of every kind for the access matrix: valid roles, and each way a credential can be bad.
import { createHmac, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createUser, loginAs, TEST_ADMIN } from '../helper.ts'

export const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An HS256 token signed with `secret` and arbitrary header/claims. */
export function signJwt (secret: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const head = `${b64url(header)}.${b64url(claims)}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}

export interface CredentialSet {
  viewer: string
  user: string
  admin: string
  userId: string
  none: undefined
  malformed: string
  expiredJwt: string
  tamperedJwt: string
  algNoneJwt: string
  rsHsConfusedJwt: string
  revokedKey: string
  expiredKey: string
  unknownKey: string
}

export async function credentials (app: FastifyInstance, jwtSecret: string): Promise<CredentialSet> {
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  const viewer = await createUser(app, 'viewer', admin)
  const user = await createUser(app, 'user', admin)
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: user.id, email: user.email, role: 'user', iat: now }
  const expiredJwt = `Bearer ${signJwt(jwtSecret, { alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 3600, exp: now - 60 })}`
  const valid = signJwt(jwtSecret, { alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now + 600 })
  const [h, , s] = valid.split('.')
  const tamperedJwt = `Bearer ${h}.${b64url({ ...claims, role: 'admin', exp: now + 600 })}.${s}`
  const algNoneJwt = `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims, role: 'admin', exp: now + 600 })}.`
  const rsHsConfusedJwt = `Bearer ${signJwt(jwtSecret, { alg: 'RS256', typ: 'JWT' }, { ...claims, role: 'admin', exp: now + 600 })}`

  const mk = async (auth: string, body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/keys', headers: { authorization: auth }, payload: body })
    if (res.statusCode !== 201) throw new Error(`key creation failed ${res.statusCode}`)
    return res.json() as { id: string, key: string }
  }
  const revoked = await mk(user.auth, { name: 'to-revoke' })
  const del = await app.inject({ method: 'DELETE', url: `/keys/${revoked.id}`, headers: { authorization: user.auth } })
  if (del.statusCode !== 204) throw new Error('revocation failed')
  const expired = await mk(user.auth, { name: 'to-expire', expiresInDays: 1 })
  await app.store.db.updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', expired.id).execute()
  const { generateApiKey } = await import('../../security/api-keys.ts')
  return {
    viewer: viewer.auth,
    user: user.auth,
    admin,
    userId: user.id,
    none: undefined,
    malformed: `Bearer ${randomBytes(10).toString('hex')}.x.y`,
    expiredJwt,
    tamperedJwt,
    algNoneJwt,
    rsHsConfusedJwt,
    revokedKey: `Bearer ${revoked.key}`,
    expiredKey: `Bearer ${expired.key}`,
    unknownKey: `Bearer ${generateApiKey()}`
  }
}
