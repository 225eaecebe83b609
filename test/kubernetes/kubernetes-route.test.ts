// GET /kubernetes/secure-list-pods through the gateway against a FAKE Kubernetes API server (not a real
// cluster) that authorizes each request with the Role and RoleBinding shipped in deploy/k8s.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { build, createUser, loginAs, TEST_ADMIN } from '../helper.ts'
import { createServiceAccountDir, fakeToken, generateTlsMaterial, makeFakePod, startFakeKubernetesApi, FakeKubernetesMode } from '../fakes/kubernetes-api.ts'

async function setup (t: TestContext, env: Record<string, string> = {}) {
  const tls = generateTlsMaterial()
  const token = fakeToken()
  const rich = makeFakePod('web-1', { ready: [true, false], restarts: [2, 1] }) as Record<string, any>
  rich.metadata.labels = { app: 'web', secretLabel: 'LABEL-MARKER' }
  rich.metadata.annotations = { note: 'ANNOTATION-MARKER' }
  rich.status.podIP = '10.244.1.77'
  rich.status.hostIP = '192.168.49.2'
  rich.spec.nodeName = 'node-MARKER'
  rich.spec.containers = [{ name: 'web', image: 'registry.example/web:IMAGE-MARKER', env: [{ name: 'DB_PASSWORD', value: 'ENV-MARKER' }] }]
  const fake = await startFakeKubernetesApi({ tls, token, pods: { microgate: [rich, makeFakePod('web-2')], other: [makeFakePod('x')] } })
  t.after(() => fake.close())
  const sa = createServiceAccountDir({ caCert: tls.caCert, token, namespace: 'microgate' })
  t.after(() => sa.remove())
  const app = await build(t, { K8S_SERVICEACCOUNT_DIR: sa.dir, KUBERNETES_SERVICE_HOST: fake.host, KUBERNETES_SERVICE_PORT: fake.port, UPSTREAM_TIMEOUT_MS: '1500', ...env })
  const viewer = await createUser(app, 'viewer')
  return { app, fake, sa, viewer }
}

test('fake API server: a viewer lists pods of the pod\'s own namespace, five fields each and nothing else', async (t) => {
  const { app, fake, viewer } = await setup(t)
  const res = await app.inject({ url: '/kubernetes/secure-list-pods', headers: { authorization: viewer.auth } })
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json()
  assert.equal(body.namespace, 'microgate')
  assert.equal(body.pods.length, 2)
  for (const pod of body.pods) assert.deepEqual(Object.keys(pod).sort(), ['createdAt', 'name', 'phase', 'ready', 'restarts'])
  const web = body.pods.find((p: { name: string }) => p.name === 'web-1')
  assert.equal(web.ready, '1/2')
  assert.equal(web.restarts, 3)
  for (const marker of ['MARKER', '10.244.1.77', '192.168.49.2', 'DB_PASSWORD']) assert.ok(!res.body.includes(marker), marker)
  assert.ok(fake.requests.every((r) => r.path.startsWith('/api/v1/namespaces/microgate/pods')))
})

test('fake API server: a namespace outside K8S_NAMESPACES is refused before any call', async (t) => {
  const { app, fake, viewer } = await setup(t)
  const res = await app.inject({ url: '/kubernetes/secure-list-pods?namespace=kube-system', headers: { authorization: viewer.auth } })
  assert.equal(res.statusCode, 403)
  assert.equal(res.json().code, 'FORBIDDEN')
  const bad = await app.inject({ url: '/kubernetes/secure-list-pods?namespace=..%2Fsecrets', headers: { authorization: viewer.auth } })
  assert.equal(bad.statusCode, 400)
  assert.equal(fake.requests.length, 0)
})

test('fake API server: a cluster that refuses (403) is a 502 and a security event; 401 is 502; a hang is 504', async (t) => {
  // "other" is allowed by configuration but the shipped Role only covers the pod's own namespace.
  const { app, fake, viewer } = await setup(t, { K8S_NAMESPACES: 'microgate,other' })
  const refused = await app.inject({ url: '/kubernetes/secure-list-pods?namespace=other', headers: { authorization: viewer.auth } })
  assert.equal(refused.statusCode, 502)
  assert.equal(refused.json().code, 'UPSTREAM_ERROR')
  const admin = await loginAs(app, TEST_ADMIN.email, TEST_ADMIN.password)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const events = (await app.inject({ url: '/security/events?type=upstream-refused', headers: { authorization: admin } })).json().events
  assert.equal(events.length, 1)
  assert.equal(events[0].reason, 'k8s-forbidden')
  const token = fake.acceptedToken
  fake.acceptedToken = 'another-token'
  assert.equal((await app.inject({ url: '/kubernetes/secure-list-pods', headers: { authorization: viewer.auth } })).statusCode, 502)
  fake.acceptedToken = token
  fake.mode = FakeKubernetesMode.hang
  const slow = await app.inject({ url: '/kubernetes/secure-list-pods', headers: { authorization: viewer.auth } })
  assert.equal(slow.statusCode, 504)
  assert.equal(slow.json().code, 'UPSTREAM_TIMEOUT')
})

test('fake API server: a rotated token file is picked up without restart, and pages follow the continue token', async (t) => {
  const { app, fake, sa, viewer } = await setup(t)
  const next = fakeToken()
  sa.rotateToken(next)
  fake.acceptedToken = next
  const first = await app.inject({ url: '/kubernetes/secure-list-pods?limit=1', headers: { authorization: viewer.auth } })
  assert.equal(first.statusCode, 200)
  assert.equal(first.json().pods.length, 1)
  assert.equal(typeof first.json().next, 'string')
  const second = await app.inject({ url: `/kubernetes/secure-list-pods?limit=1&continue=${encodeURIComponent(first.json().next)}`, headers: { authorization: viewer.auth } })
  assert.equal(second.statusCode, 200)
  assert.notEqual(second.json().pods[0].name, first.json().pods[0].name)
  assert.equal((await app.inject({ url: '/kubernetes/secure-list-pods?limit=500', headers: { authorization: viewer.auth } })).statusCode, 400)
})

test('without a service account the route answers 503 PROVIDER_NOT_CONFIGURED', async (t) => {
  const app = await build(t, { K8S_SERVICEACCOUNT_DIR: '/nonexistent/sa' })
  const viewer = await createUser(app, 'viewer')
  const res = await app.inject({ url: '/kubernetes/secure-list-pods', headers: { authorization: viewer.auth } })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().code, 'PROVIDER_NOT_CONFIGURED')
})
