// A fake Kubernetes API server (not a real kube-apiserver): HTTPS with a test CA, service-account
// bearer tokens, and RBAC decided by the Role/RoleBinding YAML that deploy/k8s ships.
/* eslint-disable security/detect-non-literal-fs-filename -- test fixture paths: temporary directories and the repository's manifests */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'

export const SHIPPED_MANIFESTS_DIR = resolve(import.meta.dirname, '..', '..', 'deploy', 'k8s')

/** What the fake does with an authenticated request. */
export const FakeKubernetesMode = {
  normal: 'normal',
  /** Accept the request and never answer (timeout tests). */
  hang: 'hang',
  /** Answer every authenticated request with `failStatus` and a Status body. */
  fail: 'fail',
  /** Answer 200 with a body that is not JSON. */
  garbage: 'garbage'
} as const
export type FakeKubernetesModeValue = typeof FakeKubernetesMode[keyof typeof FakeKubernetesMode]

export interface RecordedRequest {
  method: string
  /** Path and query string as received. */
  path: string
  authorization: string | undefined
}

export interface TlsMaterial { caCert: string, serverCert: string, serverKey: string }

type Obj = Record<string, unknown>
interface Subject { kind: string, name: string, namespace?: string }
interface PolicyRule { apiGroups?: string[], resources?: string[], verbs?: string[], resourceNames?: string[] }
interface RbacObjects { roles: Obj[], roleBindings: Obj[], clusterRoles: Obj[], clusterRoleBindings: Obj[] }

export interface RequestAttributes { namespace: string, apiGroup: string, resource: string, name?: string, verb: string }

export interface FakeKubernetesApi {
  host: string
  port: string
  /** The service account the accepted token authenticates as. */
  user: { name: string, namespace: string }
  requests: RecordedRequest[]
  mode: FakeKubernetesModeValue
  failStatus: number
  /** Extra headers for `fail` mode answers (e.g. Retry-After with 429). */
  failHeaders: Record<string, string>
  /** Answer lists whole, as an apiserver may when it does not support `limit`. */
  ignoreLimit: boolean
  /** Pods per namespace, in the real V1Pod JSON shape. */
  pods: Map<string, Obj[]>
  secrets: Map<string, Obj[]>
  /** Only this bearer token is accepted; change it to simulate rotation or revocation. */
  acceptedToken: string
  /** RBAC decision for a request, as the fake takes it (exported for direct assertions). */
  authorize (attributes: RequestAttributes): boolean
  close (): Promise<void>
}

export interface FakeKubernetesApiOptions {
  tls: TlsMaterial
  token: string
  /** Directory whose kustomization-listed YAML supplies the ServiceAccount, Roles and bindings. */
  manifestsDir?: string
  pods?: Record<string, Obj[]>
}

let cachedTls: TlsMaterial | undefined

/** Generate a throwaway CA and a 127.0.0.1 server certificate with the openssl CLI (once per process). */
export function generateTlsMaterial (): TlsMaterial {
  if (cachedTls !== undefined) return cachedTls
  const dir = mkdtempSync(join(tmpdir(), 'fake-k8s-tls-'))
  try {
    const run = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }) }
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fake-kubernetes-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=fake-kube-apiserver'])
    writeFileSync(join(dir, 'server.ext'), [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth'
    ].join('\n'))
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'])
    cachedTls = {
      caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      serverCert: readFileSync(join(dir, 'server.crt'), 'utf8'),
      serverKey: readFileSync(join(dir, 'server.key'), 'utf8')
    }
    return cachedTls
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A self-signed CA that signed nothing the fake serves: trusting it must make TLS verification fail. */
export function generateUnrelatedCaCertificate (): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-k8s-ca-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=unrelated-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE'], { cwd: dir, stdio: 'pipe' })
    return readFileSync(join(dir, 'ca.crt'), 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface ServiceAccountDir {
  dir: string
  /** Replace the token the way the kubelet does: write aside, then rename over the old file. */
  rotateToken (token: string): void
  remove (): void
}

/** A temporary directory laid out like /var/run/secrets/kubernetes.io/serviceaccount. */
export function createServiceAccountDir (files: { caCert?: string, token?: string, namespace?: string }): ServiceAccountDir {
  const dir = mkdtempSync(join(tmpdir(), 'fake-k8s-sa-'))
  if (files.caCert !== undefined) writeFileSync(join(dir, 'ca.crt'), files.caCert)
  if (files.token !== undefined) writeFileSync(join(dir, 'token'), files.token, { mode: 0o600 })
  if (files.namespace !== undefined) writeFileSync(join(dir, 'namespace'), files.namespace)
  return {
    dir,
    rotateToken (token: string): void {
      const next = join(dir, '.token.next')
      writeFileSync(next, token, { mode: 0o600 })
      renameSync(next, join(dir, 'token'))
    },
    remove (): void { rmSync(dir, { recursive: true, force: true }) }
  }
}

/** A fresh random token, shaped like nothing real. */
export function fakeToken (): string {
  return `fake-sa-token.${randomBytes(18).toString('base64url')}`
}

function obj (value: unknown): Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Obj : {}
}

/** Load exactly what `kubectl apply -k` would create from the directory: the kustomization's resources. */
export function loadRbac (manifestsDir: string): { rbac: RbacObjects, serviceAccount: { name: string, namespace: string } } {
  const kustomization = obj(parseAllDocuments(readFileSync(join(manifestsDir, 'kustomization.yaml'), 'utf8'))[0]?.toJS())
  const files = (kustomization.resources as unknown[] | undefined ?? []).map(String)
  const rbac: RbacObjects = { roles: [], roleBindings: [], clusterRoles: [], clusterRoleBindings: [] }
  let serviceAccount: { name: string, namespace: string } | undefined
  for (const file of files) {
    const path = join(manifestsDir, file)
    if (!existsSync(path)) continue
    for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
      const object = obj(document.toJS())
      const metadata = obj(object.metadata)
      switch (object.kind) {
        case 'Role': rbac.roles.push(object); break
        case 'RoleBinding': rbac.roleBindings.push(object); break
        case 'ClusterRole': rbac.clusterRoles.push(object); break
        case 'ClusterRoleBinding': rbac.clusterRoleBindings.push(object); break
        case 'ServiceAccount':
          serviceAccount ??= { name: String(metadata.name), namespace: String(metadata.namespace ?? 'default') }
          break
      }
    }
  }
  if (serviceAccount === undefined) throw new Error(`no ServiceAccount in ${manifestsDir}`)
  return { rbac, serviceAccount }
}

function ruleAllows (rule: PolicyRule, attributes: RequestAttributes): boolean {
  const has = (values: string[] | undefined, wanted: string): boolean => (values ?? []).some((v) => v === wanted || v === '*')
  if (!has(rule.apiGroups, attributes.apiGroup)) return false
  if (!has(rule.resources, attributes.resource)) return false
  if (!has(rule.verbs, attributes.verb)) return false
  const names = rule.resourceNames ?? []
  return names.length === 0 || (attributes.name !== undefined && names.includes(attributes.name))
}

/** The RBAC authorizer's decision (union of allow rules, no deny) for a namespaced request. */
export function rbacAllows (rbac: RbacObjects, user: { name: string, namespace: string }, attributes: RequestAttributes): boolean {
  const isUser = (bindingNamespace: string) => (subject: Subject): boolean =>
    subject.kind === 'ServiceAccount' && subject.name === user.name && (subject.namespace ?? bindingNamespace) === user.namespace
  const rulesOf = (roles: Obj[], name: string, namespace?: string): PolicyRule[] =>
    roles
      .filter((role) => obj(role.metadata).name === name && (namespace === undefined || obj(role.metadata).namespace === namespace))
      .flatMap((role) => (role.rules as PolicyRule[] | undefined) ?? [])

  const granted: PolicyRule[] = []
  for (const binding of rbac.roleBindings) {
    const namespace = String(obj(binding.metadata).namespace ?? 'default')
    if (namespace !== attributes.namespace) continue
    if (!((binding.subjects as Subject[] | undefined) ?? []).some(isUser(namespace))) continue
    const ref = obj(binding.roleRef)
    granted.push(...(ref.kind === 'ClusterRole'
      ? rulesOf(rbac.clusterRoles, String(ref.name))
      : rulesOf(rbac.roles, String(ref.name), namespace)))
  }
  for (const binding of rbac.clusterRoleBindings) {
    if (!((binding.subjects as Subject[] | undefined) ?? []).some(isUser(''))) continue
    granted.push(...rulesOf(rbac.clusterRoles, String(obj(binding.roleRef).name)))
  }
  return granted.some((rule) => ruleAllows(rule, attributes))
}

function status (res: ServerResponse, code: number, reason: string, message: string, details?: Obj, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details !== undefined ? { details } : {}), code })
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', ...headers })
  res.end(body)
}

function verbOf (method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET': case 'HEAD': return named ? 'get' : watch ? 'watch' : 'list'
    case 'POST': return 'create'
    case 'PUT': return 'update'
    case 'PATCH': return 'patch'
    case 'DELETE': return named ? 'delete' : 'deletecollection'
    default: return method.toLowerCase()
  }
}

const RESOURCE_VERSION = '48213'

function encodeContinue (start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(RESOURCE_VERSION), start })).toString('base64')
}

function decodeContinue (token: string): string | null {
  try {
    const value = obj(JSON.parse(Buffer.from(token, 'base64').toString('utf8')))
    return value.v === 'meta.k8s.io/v1' && typeof value.start === 'string' ? value.start : null
  } catch {
    return null
  }
}

function listBody (kind: string, items: Obj[], query: URLSearchParams, res: ServerResponse, ignoreLimit: boolean): void {
  const sorted = [...items].sort((a, b) => String(obj(a.metadata).name).localeCompare(String(obj(b.metadata).name)))
  let start = 0
  const token = query.get('continue')
  if (token !== null && token !== '') {
    const startName = decodeContinue(token)
    if (startName === null) {
      status(res, 400, 'BadRequest', 'continue key is not valid: illegal base64 data')
      return
    }
    start = sorted.findIndex((item) => String(obj(item.metadata).name) >= startName)
    if (start === -1) start = sorted.length
  }
  const limit = ignoreLimit ? 0 : Number(query.get('limit') ?? '0')
  const end = Number.isInteger(limit) && limit > 0 ? Math.min(sorted.length, start + limit) : sorted.length
  const page = sorted.slice(start, end)
  const metadata: Obj = { resourceVersion: RESOURCE_VERSION }
  if (end < sorted.length) {
    metadata.continue = encodeContinue(String(obj(sorted[end].metadata).name))
    metadata.remainingItemCount = sorted.length - end
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ kind, apiVersion: 'v1', metadata, items: page }))
}

/** Start the fake on 127.0.0.1 with an OS-assigned port. */
export async function startFakeKubernetesApi (options: FakeKubernetesApiOptions): Promise<FakeKubernetesApi> {
  const { rbac, serviceAccount } = loadRbac(options.manifestsDir ?? SHIPPED_MANIFESTS_DIR)
  const username = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`
  const sockets = new Set<Socket>()

  const state: FakeKubernetesApi = {
    host: '127.0.0.1',
    port: '',
    user: serviceAccount,
    requests: [],
    mode: FakeKubernetesMode.normal,
    failStatus: 500,
    failHeaders: {},
    ignoreLimit: false,
    pods: new Map(Object.entries(options.pods ?? {})),
    secrets: new Map([[serviceAccount.namespace, [{
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'microgate-secrets', namespace: serviceAccount.namespace },
      type: 'Opaque',
      data: { JWT_SECRET: Buffer.from('fake-value-that-must-never-be-readable').toString('base64') }
    }]]]),
    acceptedToken: options.token,
    authorize: (attributes) => rbacAllows(rbac, serviceAccount, attributes),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  function handle (req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake.invalid')
    state.requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, authorization: req.headers.authorization })

    // Authentication, as the real apiserver does it: before anything else, 401 on any mismatch.
    if (req.headers.authorization !== `Bearer ${state.acceptedToken}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized')
      return
    }

    // /api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
    const segments = url.pathname.split('/')
    const isResourcePath = segments.length >= 6 && segments.length <= 8 &&
      segments[0] === '' && segments[1] === 'api' && segments[2] === 'v1' && segments[3] === 'namespaces' &&
      segments.slice(4).every((segment) => segment !== '')
    if (!isResourcePath) {
      status(res, 403, 'Forbidden', `forbidden: User "${username}" cannot get path "${url.pathname}"`)
      return
    }
    const [namespace, resource, name, subresource] = [segments[4], segments[5], segments[6], segments[7]] as [string, string, string | undefined, string | undefined]
    const verb = verbOf(req.method ?? 'GET', name !== undefined, ['true', '1'].includes(url.searchParams.get('watch') ?? ''))
    const fullResource = subresource !== undefined ? `${resource}/${subresource}` : resource
    if (!state.authorize({ namespace, apiGroup: '', resource: fullResource, name, verb })) {
      const what = name !== undefined ? `${resource} "${name}"` : resource
      status(res, 403, 'Forbidden',
        `${what} is forbidden: User "${username}" cannot ${verb} resource "${fullResource}" in API group "" in the namespace "${namespace}"`,
        { ...(name !== undefined ? { name } : {}), kind: resource })
      return
    }

    if (state.mode === FakeKubernetesMode.hang) return
    if (state.mode === FakeKubernetesMode.fail) {
      status(res, state.failStatus, 'InternalError', 'etcdserver: internal detail that must not reach clients', undefined, state.failHeaders)
      return
    }
    if (state.mode === FakeKubernetesMode.garbage) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('<html>not json</html>')
      return
    }

    const store = resource === 'pods' ? state.pods : resource === 'secrets' ? state.secrets : null
    if (store === null || subresource !== undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      status(res, 404, 'NotFound', 'the server could not find the requested resource')
      return
    }
    const items = store.get(namespace) ?? []
    if (name === undefined) {
      listBody(resource === 'pods' ? 'PodList' : 'SecretList', items, url.searchParams, res, state.ignoreLimit)
      return
    }
    const item = items.find((entry) => obj(entry.metadata).name === name)
    if (item === undefined) {
      status(res, 404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource })
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(item))
  }

  const server = createServer({ key: options.tls.serverKey, cert: options.tls.serverCert, minVersion: 'TLSv1.2' }, handle)
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  state.port = String((server.address() as AddressInfo).port)
  return state
}

/** A pod in the full V1Pod JSON shape, including the fields the gateway must never pass on. */
export function makeFakePod (name: string, overrides: { phase?: string, ready?: boolean[], restarts?: number[], createdAt?: string } = {}): Obj {
  const ready = overrides.ready ?? [true]
  const restarts = overrides.restarts ?? ready.map(() => 0)
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'microgate',
      uid: '6f1c2a1e-0c55-4d3e-9a51-2f4c1a9b7e10',
      resourceVersion: '48001',
      creationTimestamp: overrides.createdAt ?? '2025-03-01T10:15:30Z',
      labels: { app: 'payments', 'team-secret-label': 'label-value-must-not-leak' },
      annotations: { 'vault.hashicorp.com/role': 'annotation-value-must-not-leak' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: 'x', controller: true }]
    },
    spec: {
      nodeName: 'node-secret-host-7',
      serviceAccountName: 'payments',
      containers: ready.map((_, index) => ({
        name: `c${index}`,
        image: `registry.internal.example/payments:${index}.9.9-leak`,
        env: [{ name: 'DB_PASSWORD', value: 'env-value-must-not-leak' }],
        ports: [{ containerPort: 8080 }]
      }))
    },
    status: {
      phase: overrides.phase ?? 'Running',
      hostIP: '10.99.88.77',
      podIP: '10.244.55.66',
      podIPs: [{ ip: '10.244.55.66' }],
      startTime: '2025-03-01T10:15:31Z',
      qosClass: 'Burstable',
      containerStatuses: ready.map((isReady, index) => ({
        name: `c${index}`,
        ready: isReady,
        restartCount: restarts[index] ?? 0,
        image: `registry.internal.example/payments:${index}.9.9-leak`,
        imageID: 'registry.internal.example/payments@sha256:0000000000000000000000000000000000000000000000000000000000000000',
        containerID: 'containerd://abcdef',
        started: isReady,
        state: { running: { startedAt: '2025-03-01T10:15:40Z' } }
      }))
    }
  }
}
