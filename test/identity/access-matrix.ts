// Every protected route × every kind of credential: the contract's status and code for each.
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { build } from '../helper.ts'
import { credentials } from './fixtures.ts'
import type { CredentialSet } from './fixtures.ts'

type Role = 'viewer' | 'user' | 'admin'
export interface ProtectedRoute { method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: () => Record<string, unknown>, roles: readonly Role[] }

/** The protected routes of the contract and the roles that may call each. */
export const PROTECTED_ROUTES: ProtectedRoute[] = [
  { method: 'GET', url: '/me', roles: ['viewer', 'user', 'admin'] },
  { method: 'POST', url: '/users', body: () => ({ email: `u-${randomBytes(4).toString('hex')}@example.test`, password: 'Another-Strong-Pass-42', role: 'viewer' }), roles: ['admin'] },
  { method: 'GET', url: '/users', roles: ['admin'] },
  { method: 'POST', url: '/keys', body: () => ({ name: 'matrix' }), roles: ['user', 'admin'] },
  { method: 'GET', url: '/keys', roles: ['user', 'admin'] },
  { method: 'DELETE', url: `/keys/${randomUUID()}`, roles: ['user', 'admin'] },
  { method: 'GET', url: '/security/events', roles: ['admin'] },
  { method: 'GET', url: '/metrics', roles: ['admin'] },
  { method: 'PUT', url: '/provider-keys/openai', body: () => ({ apiKey: 'sk-' + 'a'.repeat(20) + 'T3BlbkFJ' + 'b'.repeat(20) }), roles: ['user', 'admin'] },
  { method: 'GET', url: '/provider-keys', roles: ['user', 'admin'] },
  { method: 'POST', url: '/openai/secure-generate', body: () => ({ text: 'A short note about rivers.' }), roles: ['user', 'admin'] },
  { method: 'POST', url: '/anthropic/secure-generate', body: () => ({ text: 'A short note about rivers.' }), roles: ['user', 'admin'] },
  { method: 'POST', url: '/huggingface/secure-inference', body: () => ({ text: 'A short note about rivers.' }), roles: ['user', 'admin'] },
  { method: 'GET', url: '/kubernetes/secure-list-pods', roles: ['viewer', 'user', 'admin'] },
  { method: 'GET', url: '/github/user-repos/octocat', roles: ['viewer', 'user', 'admin'] },
  { method: 'GET', url: '/github/events', roles: ['user', 'admin'] }
]

const BAD: Array<keyof CredentialSet> = ['none', 'malformed', 'expiredJwt', 'tamperedJwt', 'algNoneJwt', 'rsHsConfusedJwt', 'revokedKey', 'expiredKey', 'unknownKey']

export async function runAccessMatrix (t: TestContext, env: Record<string, string>, routes: ProtectedRoute[] = PROTECTED_ROUTES): Promise<void> {
  const jwtSecret = randomBytes(48).toString('base64url')
  const app = await build(t, { ...env, JWT_SECRET: jwtSecret, RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_KEY: '100000' })
  const creds = await credentials(app, jwtSecret)
  for (const route of routes) {
    for (const kind of BAD) {
      const value = creds[kind]
      const res = await app.inject({ method: route.method, url: route.url, headers: value === undefined ? {} : { authorization: value as string }, ...(route.body ? { payload: route.body() } : {}) })
      assert.equal(res.statusCode, 401, `${route.method} ${route.url} with ${kind}`)
      assert.equal(res.json().code, 'UNAUTHORIZED', `${route.method} ${route.url} with ${kind}`)
    }
    for (const role of ['viewer', 'user', 'admin'] as const) {
      const res = await app.inject({ method: route.method, url: route.url, headers: { authorization: creds[role] }, ...(route.body ? { payload: route.body() } : {}) })
      if (route.roles.includes(role)) {
        assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${route.method} ${route.url} as ${role}: ${res.statusCode}`)
        assert.ok(res.statusCode < 500 || res.statusCode === 503 || res.statusCode === 502, `${route.method} ${route.url} as ${role}: ${res.statusCode}`)
      } else {
        assert.equal(res.statusCode, 403, `${route.method} ${route.url} as ${role}`)
        assert.equal(res.json().code, 'FORBIDDEN')
      }
    }
  }
}
