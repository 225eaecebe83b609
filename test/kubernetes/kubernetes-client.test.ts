// The Kubernetes adapter against a fake API server (HTTPS, bearer tokens, RBAC from deploy/k8s) — not a real cluster.
import { before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { createKubernetesClient } from '../../providers/kubernetes.ts'
import type { KubernetesOptions } from '../../providers/kubernetes.ts'
import {
  createServiceAccountDir,
  fakeToken,
  FakeKubernetesMode,
  generateTlsMaterial,
  generateUnrelatedCaCertificate,
  makeFakePod,
  startFakeKubernetesApi
} from '../fakes/kubernetes-api.ts'
import type { FakeKubernetesApi, ServiceAccountDir, TlsMaterial } from '../fakes/kubernetes-api.ts'

const NAMESPACE = 'microgate'
const TIMEOUT_MS = 5000

let tls: TlsMaterial
let fake: FakeKubernetesApi
let sa: ServiceAccountDir
let token: string

function clientOptions (overrides: Partial<KubernetesOptions> = {}): KubernetesOptions {
  return { serviceAccountDir: sa.dir, host: fake.host, port: fake.port, timeoutMs: TIMEOUT_MS, ...overrides }
}

function errorWith (code: string, extra: Record<string, unknown> = {}) {
  return (error: unknown): boolean => {
    const e = error as Record<string, unknown>
    assert.equal(e.code, code)
    for (const [key, value] of Object.entries(extra)) assert.equal(e[key], value, key)
    assert.doesNotMatch(String(e.message), /etcd|Forbidden|forbidden:|system:serviceaccount/)
    return true
  }
}

before(async () => {
  tls = generateTlsMaterial()
})

beforeEach(async () => {
  token = fakeToken()
  fake = await startFakeKubernetesApi({
    tls,
    token,
    pods: { [NAMESPACE]: [makeFakePod('api-0'), makeFakePod('api-1', { ready: [true, false], restarts: [2, 3] })] }
  })
  sa = createServiceAccountDir({ caCert: tls.caCert, token, namespace: NAMESPACE })
})

describe('Kubernetes adapter against the fake API server (not a real apiserver)', { concurrency: false }, () => {
  test('lists pods through the fake API server, authorized by the shipped Role, over verified TLS', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    assert.equal(client.defaultNamespace, NAMESPACE)

    const page = await client.listPods(NAMESPACE, { limit: 50 })

    assert.deepEqual(page, {
      namespace: NAMESPACE,
      pods: [
        { name: 'api-0', phase: 'Running', ready: '1/1', restarts: 0, createdAt: '2025-03-01T10:15:30.000Z' },
        { name: 'api-1', phase: 'Running', ready: '1/2', restarts: 5, createdAt: '2025-03-01T10:15:30.000Z' }
      ],
      next: null
    })
    assert.equal(fake.requests.length, 1)
    assert.equal(fake.requests[0].path, `/api/v1/namespaces/${NAMESPACE}/pods?limit=50`)
    assert.equal(fake.requests[0].authorization, `Bearer ${token}`)
    client.close()
  })

  test('passes only name, phase, ready, restarts and createdAt from a pod full of sensitive fields', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    const page = await client.listPods(NAMESPACE, { limit: 10 })

    assert.deepEqual(Object.keys(page).sort(), ['namespace', 'next', 'pods'])
    for (const pod of page.pods) {
      assert.deepEqual(Object.keys(pod).sort(), ['createdAt', 'name', 'phase', 'ready', 'restarts'])
    }
    const json = JSON.stringify(page)
    for (const secret of [
      '10.244.55.66', '10.99.88.77', 'node-secret-host-7', 'label-value-must-not-leak', 'team-secret-label',
      'annotation-value-must-not-leak', 'registry.internal.example', 'env-value-must-not-leak', 'DB_PASSWORD',
      'payments', 'containerd', 'sha256', 'uid', 'ReplicaSet'
    ]) {
      assert.ok(!json.includes(secret), `output leaks ${secret}`)
    }
    client.close()
  })

  test('refuses a namespace outside the allowlist before any request reaches the API server', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    assert.equal(client.isNamespaceAllowed('kube-system'), false)
    assert.equal(client.isNamespaceAllowed(NAMESPACE), true)

    await assert.rejects(client.listPods('kube-system', { limit: 10 }), errorWith('FORBIDDEN', { statusCode: 403 }))
    assert.equal(fake.requests.length, 0)
    client.close()
  })

  test('rejects namespaces that are not DNS-1123 labels, including path tricks, without calling the API server', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions({ allowedNamespaces: [NAMESPACE] }))
    for (const bad of ['', 'Microgate', '../secrets', 'microgate/secrets', 'micro gate', 'a'.repeat(64), '-lead', 'trail-', 'ns%2Fx', 'ns\u0000']) {
      await assert.rejects(client.listPods(bad, { limit: 10 }), errorWith('BAD_REQUEST', { statusCode: 400 }), JSON.stringify(bad))
    }
    assert.equal(fake.requests.length, 0)
    client.close()
  })

  test('rejects page sizes outside 1..100 and malformed continue tokens before calling the API server', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    for (const limit of [0, -1, 101, 1.5, Number.NaN]) {
      await assert.rejects(client.listPods(NAMESPACE, { limit }), errorWith('BAD_REQUEST'), String(limit))
    }
    for (const continueToken of ['', 'a&limit=1000', 'x'.repeat(4097), 'tok en']) {
      await assert.rejects(client.listPods(NAMESPACE, { limit: 5, continueToken }), errorWith('BAD_REQUEST'), continueToken.slice(0, 20))
    }
    assert.equal(fake.requests.length, 0)
    client.close()
  })

  test('the shipped Role denies the same service account reading secrets (403 from the fake API server)', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const dispatcher = new Agent({ connect: { ca: tls.caCert } })
    t.after(() => dispatcher.close())
    const base = `https://${fake.host}:${fake.port}`
    const auth = { authorization: `Bearer ${token}` }

    const secrets = await request(`${base}/api/v1/namespaces/${NAMESPACE}/secrets`, { headers: auth, dispatcher })
    const body = await secrets.body.json() as Record<string, unknown>
    assert.equal(secrets.statusCode, 403)
    assert.equal(body.kind, 'Status')
    assert.equal(body.reason, 'Forbidden')
    assert.equal(body.code, 403)

    // Other widenings are denied too: a single secret, pod logs, deleting a pod, watching pods.
    const denied = [
      ['GET', `/api/v1/namespaces/${NAMESPACE}/secrets/microgate-secrets`],
      ['GET', `/api/v1/namespaces/${NAMESPACE}/pods/api-0/log`],
      ['DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/api-0`],
      ['GET', `/api/v1/namespaces/${NAMESPACE}/pods?watch=true`],
      ['GET', '/api/v1/namespaces/kube-system/pods']
    ] as const
    for (const [method, path] of denied) {
      const response = await request(`${base}${path}`, { method, headers: auth, dispatcher })
      await response.body.dump()
      assert.equal(response.statusCode, 403, `${method} ${path}`)
    }
    // ...while what the Role does grant works with the same token.
    const pod = await request(`${base}/api/v1/namespaces/${NAMESPACE}/pods/api-0`, { headers: auth, dispatcher })
    assert.equal(pod.statusCode, 200)
    assert.equal((await pod.body.json() as { kind: string }).kind, 'Pod')
  })

  test('maps a 403 from the API server to UpstreamError with securityEvent k8s-forbidden', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    // The operator allows a namespace the Role does not cover: the cluster refuses.
    const client = createKubernetesClient(clientOptions({ allowedNamespaces: [NAMESPACE, 'kube-system'] }))
    await assert.rejects(client.listPods('kube-system', { limit: 10 }),
      errorWith('UPSTREAM_ERROR', { statusCode: 502, securityEvent: 'k8s-forbidden' }))
    assert.equal(fake.requests.length, 1)
    client.close()
  })

  test('maps a 401 (token the API server does not accept) to UpstreamError without a security event', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    fake.acceptedToken = fakeToken()
    const client = createKubernetesClient(clientOptions())
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), (error: unknown) => {
      errorWith('UPSTREAM_ERROR', { statusCode: 502 })(error)
      assert.equal((error as { securityEvent?: string }).securityEvent, undefined)
      return true
    })
    client.close()
  })

  test('picks up a rotated token file on the next call without recreating the client', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    await client.listPods(NAMESPACE, { limit: 10 })

    const rotated = fakeToken()
    sa.rotateToken(rotated)
    fake.acceptedToken = rotated // the old token is now rejected by the fake

    const page = await client.listPods(NAMESPACE, { limit: 10 })
    assert.equal(page.pods.length, 2)
    assert.equal(fake.requests.length, 2)
    assert.equal(fake.requests[1].authorization, `Bearer ${rotated}`)
    client.close()
  })

  test('pages with limit and passes the continue token through as next', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    fake.pods.set(NAMESPACE, ['e', 'a', 'd', 'b', 'c'].map((name) => makeFakePod(`pod-${name}`)))
    const client = createKubernetesClient(clientOptions())

    const names: string[] = []
    let next: string | null | undefined
    let pages = 0
    do {
      const page = await client.listPods(NAMESPACE, { limit: 2, continueToken: next ?? undefined })
      assert.ok(page.pods.length <= 2)
      names.push(...page.pods.map((pod) => pod.name))
      next = page.next
      pages++
    } while (next !== null && pages < 10)

    assert.deepEqual(names, ['pod-a', 'pod-b', 'pod-c', 'pod-d', 'pod-e'])
    assert.equal(pages, 3)
    assert.match(fake.requests[1].path, /[?&]continue=[^&]+/)
    assert.match(fake.requests[1].path, /[?&]limit=2(&|$)/)
    client.close()
  })

  test('bounds the answer to the page size even when the API server ignores limit', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    fake.pods.set(NAMESPACE, Array.from({ length: 30 }, (_, i) => makeFakePod(`p-${String(i).padStart(2, '0')}`)))
    fake.ignoreLimit = true
    const client = createKubernetesClient(clientOptions())
    const page = await client.listPods(NAMESPACE, { limit: 7 })
    assert.deepEqual(page.pods.map((pod) => pod.name), ['p-00', 'p-01', 'p-02', 'p-03', 'p-04', 'p-05', 'p-06'])
    client.close()
  })

  test('maps the API server\'s 400 for a continue token it cannot decode to UpstreamError', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    // Well-formed base64, so it passes the gateway's shape check, but not a token the fake issued.
    await assert.rejects(client.listPods(NAMESPACE, { limit: 7, continueToken: 'bm90LWpzb24=' }), errorWith('UPSTREAM_ERROR', { statusCode: 502 }))
    assert.equal(fake.requests.length, 1)
    client.close()
  })

  test('times out a hanging API server with UpstreamTimeoutError', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    fake.mode = FakeKubernetesMode.hang
    const client = createKubernetesClient(clientOptions({ timeoutMs: 300 }))
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_TIMEOUT', { statusCode: 504 }))
    assert.equal(fake.requests.length, 1)
    client.close()
  })

  test('maps a 500 and an unparseable answer to UpstreamError without the upstream body', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    fake.mode = FakeKubernetesMode.fail
    fake.failStatus = 500
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_ERROR', { statusCode: 502 }))
    fake.mode = FakeKubernetesMode.garbage
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_ERROR', { statusCode: 502 }))
    client.close()
  })

  test('discards the whole answer when the API server returns a pod whose name carries markup', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const hostile = makeFakePod('api-2')
    ;(hostile.metadata as Record<string, unknown>).name = '<img src=x onerror=alert(1)>'
    fake.pods.get(NAMESPACE)?.push(hostile)
    const client = createKubernetesClient(clientOptions())
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_ERROR', { statusCode: 502 }))
    client.close()
  })

  test('maps API priority-and-fairness 429 to UpstreamRateLimitedError with its Retry-After', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions())
    fake.mode = FakeKubernetesMode.fail
    fake.failStatus = 429
    fake.failHeaders = { 'retry-after': '7' }
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_RATE_LIMITED', { statusCode: 503, retryAfterSeconds: 7 }))
    client.close()
  })

  test('refuses a server certificate that the service-account CA did not sign', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    // An unrelated CA in ca.crt: the gateway must not send its token to a server it cannot verify.
    const other = createServiceAccountDir({ caCert: generateUnrelatedCaCertificate(), token, namespace: NAMESPACE })
    t.after(() => other.remove())
    const client = createKubernetesClient(clientOptions({ serviceAccountDir: other.dir }))
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_ERROR'))
    assert.equal(fake.requests.length, 0)
    client.close()
  })

  test('answers ProviderNotConfigured when service-account files or the API server address are missing', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const empty = createServiceAccountDir({})
    t.after(() => empty.remove())
    const noFiles = createKubernetesClient(clientOptions({ serviceAccountDir: empty.dir, allowedNamespaces: [NAMESPACE] }))
    assert.equal(noFiles.defaultNamespace, '')
    await assert.rejects(noFiles.listPods(NAMESPACE, { limit: 10 }), errorWith('PROVIDER_NOT_CONFIGURED', { statusCode: 503 }))

    const noHost = createKubernetesClient(clientOptions({ host: '', port: '' }))
    await assert.rejects(noHost.listPods(NAMESPACE, { limit: 10 }), errorWith('PROVIDER_NOT_CONFIGURED'))

    // The token disappears after start (unmounted): the next call reports not configured.
    const client = createKubernetesClient(clientOptions())
    rmSync(join(sa.dir, 'token'))
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('PROVIDER_NOT_CONFIGURED'))
    assert.equal(fake.requests.length, 0)
  })

  test('defaults the allowlist to the pod\'s own namespace and rejects an invalid configured namespace', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    const client = createKubernetesClient(clientOptions({ allowedNamespaces: [] }))
    assert.equal(client.isNamespaceAllowed(NAMESPACE), true)
    assert.equal(client.isNamespaceAllowed('default'), false)
    assert.throws(() => createKubernetesClient(clientOptions({ allowedNamespaces: ['Bad_NS'] })), /K8S_NAMESPACES/)
  })

  test('close() aborts a call in flight and later calls fail', async (t) => {
    t.after(async () => { await fake.close(); sa.remove() })
    fake.mode = FakeKubernetesMode.hang
    const client = createKubernetesClient(clientOptions())
    const pending = client.listPods(NAMESPACE, { limit: 10 })
    for (let i = 0; i < 500 && fake.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(fake.requests.length, 1)
    client.close()
    await assert.rejects(pending, errorWith('UPSTREAM_ERROR'))
    await assert.rejects(client.listPods(NAMESPACE, { limit: 10 }), errorWith('UPSTREAM_ERROR'))
  })
})
