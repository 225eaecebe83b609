// The shipped deploy/k8s manifests pass the schema and policy checks, and every rule fires on a broken variant.
/* eslint-disable security/detect-non-literal-fs-filename -- reads the repository's manifests and writes a temporary copy */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import {
  checkManifestFiles,
  checkManifests,
  isImagePinned,
  parseManifests,
  RULES,
  selectorMatches
} from '../../security/k8s-policy.ts'
import type { Finding, ManifestDoc, ManifestFile, RuleId } from '../../security/k8s-policy.ts'
import { loadRbac, rbacAllows, SHIPPED_MANIFESTS_DIR } from '../fakes/kubernetes-api.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const NODE = process.execPath
const SCRIPT = join(ROOT, 'scripts', 'check-manifests.ts')

type Obj = Record<string, any>

function shippedFiles (): ManifestFile[] {
  return readdirSync(SHIPPED_MANIFESTS_DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(SHIPPED_MANIFESTS_DIR, file), 'utf8') }))
}

function find (docs: ManifestDoc[], kind: string): Obj {
  const doc = docs.find((d) => d.object.kind === kind)
  assert.ok(doc, `shipped manifests contain a ${kind}`)
  return doc.object
}

function container (docs: ManifestDoc[]): Obj {
  return find(docs, 'Deployment').spec.template.spec.containers[0]
}

/** Parse the shipped manifests, apply one in-memory mutation, and run every rule. */
function findingsAfter (mutate: (docs: ManifestDoc[], files: string[]) => void): Finding[] {
  const files = shippedFiles()
  const { docs, findings } = parseManifests(files)
  assert.deepEqual(findings, [])
  const copy = structuredClone(docs)
  const names = files.map((f) => f.file)
  mutate(copy, names)
  return checkManifests(copy, names)
}

function rulesOf (findings: Finding[]): Set<RuleId> {
  return new Set(findings.map((f) => f.rule))
}

describe('shipped Kubernetes manifests', () => {
  test('deploy/k8s validates against the Kubernetes schemas and passes every policy rule', () => {
    assert.deepEqual(checkManifestFiles(shippedFiles()), [])
  })

  test('the check-manifests script exits 0 on deploy/k8s and names the directory it checked', () => {
    const result = spawnSync(NODE, [SCRIPT], { cwd: ROOT, encoding: 'utf8' })
    assert.equal(result.status, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /deploy\/k8s/)
  })

  test('the check-manifests script exits 1 and prints the rule on a broken copy of the manifests', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-broken-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    for (const { file, text } of shippedFiles()) writeFileSync(join(dir, file), text)
    const role = readFileSync(join(dir, 'role.yaml'), 'utf8')
    writeFileSync(join(dir, 'role.yaml'), role.replace('verbs: ["get", "list"]', 'verbs: ["*"]'))
    writeFileSync(join(dir, 'extra.yaml'), stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'microgate' } }))

    const result = spawnSync(NODE, [SCRIPT, dir], { encoding: 'utf8' })
    assert.equal(result.status, 1)
    assert.match(result.stdout, /\[rbac-wildcard\] role\.yaml Role\/microgate-pod-reader/)
    assert.match(result.stdout, /\[kustomization\] extra\.yaml/)
  })

  test('kubectl kustomize renders deploy/k8s offline, without the example Secret, and the rendered set passes the policy', (t) => {
    const which = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
    if (which.error !== undefined || which.status !== 0) {
      t.skip('kubectl is not installed on this machine')
      return
    }
    const rendered = spawnSync('kubectl', ['kustomize', SHIPPED_MANIFESTS_DIR], { encoding: 'utf8' })
    assert.equal(rendered.status, 0, rendered.stderr)
    const { docs, findings } = parseManifests([{ file: 'rendered.yaml', text: rendered.stdout }])
    assert.deepEqual(findings, [])
    assert.deepEqual(docs.map((d) => d.object.kind).sort(),
      ['Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'])
    // Everything but the kustomization rule applies to the rendered stream as it would be applied.
    assert.deepEqual(checkManifests(docs, ['rendered.yaml']).filter((f) => f.rule !== 'kustomization'), [])
  })

  test('the Role grants exactly get and list on pods in its own namespace, nothing else', () => {
    const { rbac, serviceAccount } = loadRbac(SHIPPED_MANIFESTS_DIR)
    assert.deepEqual(serviceAccount, { name: 'microgate', namespace: 'microgate' })
    const allows = (verb: string, resource: string, namespace = 'microgate', apiGroup = ''): boolean =>
      rbacAllows(rbac, serviceAccount, { namespace, apiGroup, resource, verb })
    assert.equal(allows('list', 'pods'), true)
    assert.equal(allows('get', 'pods'), true)
    for (const verb of ['watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate']) {
      assert.equal(allows(verb, 'pods'), false, verb)
    }
    for (const resource of ['secrets', 'configmaps', 'pods/log', 'pods/exec', 'serviceaccounts/token', 'roles']) {
      assert.equal(allows('get', resource), false, resource)
    }
    assert.equal(allows('list', 'pods', 'kube-system'), false)
    assert.equal(allows('list', 'pods', 'default'), false)
    assert.equal(allows('list', 'deployments', 'microgate', 'apps'), false)
  })

  test('the Deployment mounts the service-account token and keeps the embedded database in an emptyDir', () => {
    const { docs } = parseManifests(shippedFiles())
    const spec = find(docs, 'Deployment').spec.template.spec
    assert.equal(spec.automountServiceAccountToken, true)
    assert.equal(spec.serviceAccountName, 'microgate')
    const env = Object.fromEntries(spec.containers[0].env.map((e: Obj) => [e.name, e.value ?? e.valueFrom?.secretKeyRef?.name]))
    assert.equal(env.HOST, '0.0.0.0')
    assert.equal(env.NODE_ENV, 'production')
    assert.equal(env.DATABASE_URL, 'sqlite:/app/data/microgate.db')
    assert.equal(env.JWT_SECRET, 'microgate-secrets')
    assert.equal(env.MASTER_KEY, 'microgate-secrets')
    const dataMount = spec.containers[0].volumeMounts.find((m: Obj) => m.mountPath === '/app/data')
    assert.ok(spec.volumes.some((v: Obj) => v.name === dataMount.name && v.emptyDir !== undefined))
    assert.equal(spec.containers[0].livenessProbe.httpGet.path, '/healthz')
    assert.equal(spec.containers[0].readinessProbe.httpGet.path, '/readyz')
    assert.equal(spec.containers[0].ports[0].containerPort, 3000)
  })

  test('the NetworkPolicy admits ingress only on 3000 and egress only to DNS, 443 and 6443', () => {
    const { docs } = parseManifests(shippedFiles())
    const spec = find(docs, 'NetworkPolicy').spec
    assert.deepEqual(spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => `${p.protocol}/${p.port}`)), ['TCP/3000'])
    assert.deepEqual(spec.egress.flatMap((r: Obj) => r.ports.map((p: Obj) => `${p.protocol}/${p.port}`)).sort(),
      ['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53'])
  })

  test('the example Secret is not applied by the kustomization and holds only placeholders', () => {
    const { docs } = parseManifests(shippedFiles())
    const kustomization = docs.find((d) => d.object.kind === 'Kustomization')
    assert.ok(kustomization)
    assert.ok(!(kustomization.object.resources as string[]).includes('secret.example.yaml'))
    const secret = find(docs, 'Secret')
    for (const value of Object.values(secret.stringData as Record<string, string>)) assert.match(value, /^REPLACE_ME/)
  })
})

describe('manifest policy rules fire on broken variants', () => {
  const cases: Array<[RuleId, string, (docs: ManifestDoc[], files: string[]) => void]> = [
    ['schema', 'a replica count that is a string', (docs) => { find(docs, 'Deployment').spec.replicas = 'two' }],
    ['schema', 'a container name that is a number', (docs) => { container(docs).name = 42 }],
    ['schema', 'an unknown kind', (docs) => { find(docs, 'Service').kind = 'Servicee' }],
    ['rbac-wildcard', 'verbs ["*"]', (docs) => { find(docs, 'Role').rules[0].verbs = ['*'] }],
    ['rbac-wildcard', 'resources ["*"]', (docs) => { find(docs, 'Role').rules[0].resources = ['*'] }],
    ['rbac-wildcard', 'apiGroups ["*"]', (docs) => { find(docs, 'Role').rules[0].apiGroups = ['*'] }],
    ['rbac-cluster-scope', 'a ClusterRole instead of a Role', (docs) => {
      const role = find(docs, 'Role')
      role.kind = 'ClusterRole'
      delete role.metadata.namespace
    }],
    ['rbac-cluster-scope', 'a RoleBinding to a ClusterRole', (docs) => { find(docs, 'RoleBinding').roleRef.kind = 'ClusterRole' }],
    ['rbac-cluster-scope', 'a ClusterRoleBinding', (docs) => {
      const binding = find(docs, 'RoleBinding')
      binding.kind = 'ClusterRoleBinding'
      binding.roleRef.kind = 'ClusterRole'
      delete binding.metadata.namespace
    }],
    ['rbac-verbs', 'watch added', (docs) => { find(docs, 'Role').rules[0].verbs.push('watch') }],
    ['rbac-verbs', 'delete added', (docs) => { find(docs, 'Role').rules[0].verbs.push('delete') }],
    ['rbac-resources', 'secrets added', (docs) => { find(docs, 'Role').rules[0].resources.push('secrets') }],
    ['rbac-resources', 'pods/exec added', (docs) => { find(docs, 'Role').rules[0].resources.push('pods/exec') }],
    ['run-as-non-root', 'runAsUser 0 on the container', (docs) => { container(docs).securityContext.runAsUser = 0 }],
    ['run-as-non-root', 'runAsNonRoot missing everywhere', (docs) => {
      delete container(docs).securityContext.runAsNonRoot
      delete find(docs, 'Deployment').spec.template.spec.securityContext.runAsNonRoot
    }],
    ['run-as-non-root', 'no runAsUser anywhere (image user may be root)', (docs) => {
      delete container(docs).securityContext.runAsUser
      delete find(docs, 'Deployment').spec.template.spec.securityContext.runAsUser
    }],
    ['read-only-root', 'readOnlyRootFilesystem false', (docs) => { container(docs).securityContext.readOnlyRootFilesystem = false }],
    ['privilege-escalation', 'allowPrivilegeEscalation missing', (docs) => { delete container(docs).securityContext.allowPrivilegeEscalation }],
    ['capabilities', 'nothing dropped', (docs) => { container(docs).securityContext.capabilities.drop = [] }],
    ['capabilities', 'NET_ADMIN added', (docs) => { container(docs).securityContext.capabilities.add = ['NET_ADMIN'] }],
    ['seccomp', 'no seccomp profile at either level', (docs) => {
      delete container(docs).securityContext.seccompProfile
      delete find(docs, 'Deployment').spec.template.spec.securityContext.seccompProfile
    }],
    ['seccomp', 'Unconfined on the container overriding the pod', (docs) => { container(docs).securityContext.seccompProfile = { type: 'Unconfined' } }],
    ['host-access', 'hostNetwork', (docs) => { find(docs, 'Deployment').spec.template.spec.hostNetwork = true }],
    ['host-access', 'a privileged container', (docs) => { container(docs).securityContext.privileged = true }],
    ['host-access', 'a hostPath volume', (docs) => { find(docs, 'Deployment').spec.template.spec.volumes.push({ name: 'h', hostPath: { path: '/' } }) }],
    ['resources', 'no limits', (docs) => { delete container(docs).resources.limits }],
    ['resources', 'no memory request', (docs) => { delete container(docs).resources.requests.memory }],
    ['probes', 'no readiness probe', (docs) => { delete container(docs).readinessProbe }],
    ['probes', 'no liveness probe', (docs) => { delete container(docs).livenessProbe }],
    ['image-pin', 'the latest tag', (docs) => { container(docs).image = 'microgate:latest' }],
    ['image-pin', 'no tag at all', (docs) => { container(docs).image = 'microgate' }],
    ['image-pin', 'a registry port mistaken for a tag', (docs) => { container(docs).image = 'registry.local:5000/microgate' }],
    ['network-policy', 'a podSelector that selects other pods', (docs) => {
      find(docs, 'NetworkPolicy').spec.podSelector.matchLabels['app.kubernetes.io/name'] = 'something-else'
    }],
    ['network-policy', 'no Egress policy type', (docs) => { find(docs, 'NetworkPolicy').spec.policyTypes = ['Ingress'] }],
    ['network-policy', 'no NetworkPolicy at all', (docs) => {
      docs.splice(docs.findIndex((d) => d.object.kind === 'NetworkPolicy'), 1)
    }],
    ['kustomization', 'a manifest missing from resources', (docs) => {
      const k = find(docs, 'Kustomization')
      k.resources = k.resources.filter((r: string) => r !== 'networkpolicy.yaml')
    }],
    ['kustomization', 'a resource that does not exist', (docs) => { find(docs, 'Kustomization').resources.push('ingress.yaml') }],
    ['kustomization', 'no kustomization at all', (docs) => {
      docs.splice(docs.findIndex((d) => d.object.kind === 'Kustomization'), 1)
    }]
  ]

  for (const [rule, variant, mutate] of cases) {
    test(`${rule} fires on ${variant}`, () => {
      const findings = findingsAfter(mutate)
      assert.ok(rulesOf(findings).has(rule), `expected ${rule}, got ${JSON.stringify(findings)}`)
    })
  }

  test('every rule in RULES has at least one broken variant above', () => {
    const covered = new Set<string>([...cases.map(([rule]) => rule), 'yaml'])
    assert.deepEqual(Object.keys(RULES).filter((rule) => !covered.has(rule)), [])
  })

  test('a narrow change fires only its own rule (no collateral findings)', () => {
    assert.deepEqual([...rulesOf(findingsAfter((docs) => { container(docs).securityContext.readOnlyRootFilesystem = false }))], ['read-only-root'])
    assert.deepEqual([...rulesOf(findingsAfter((docs) => { find(docs, 'Role').rules[0].verbs.push('watch') }))], ['rbac-verbs'])
    assert.deepEqual([...rulesOf(findingsAfter((docs) => { delete container(docs).readinessProbe }))], ['probes'])
  })

  test('yaml fires on duplicate keys and on a document that is not a mapping', () => {
    const { findings } = parseManifests([
      { file: 'dup.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n' },
      { file: 'scalar.yaml', text: 'just a string\n' }
    ])
    assert.deepEqual(findings.map((f) => [f.rule, f.file]), [['yaml', 'dup.yaml'], ['yaml', 'scalar.yaml']])
  })

  test('the example-secret file is exempt from the kustomization rule, other unlisted files are not', () => {
    const files = shippedFiles()
    assert.ok(files.some((f) => f.file === 'secret.example.yaml'))
    const extra = [...files, { file: 'configmap.yaml', text: stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'microgate' } }) }]
    assert.deepEqual(checkManifestFiles(extra).map((f) => [f.rule, f.file]), [['kustomization', 'configmap.yaml']])
  })
})

describe('manifest policy helpers', () => {
  test('isImagePinned accepts digests and explicit tags and refuses latest, no tag and port-only references', () => {
    const digest = `@sha256:${'a'.repeat(64)}`
    for (const image of ['microgate:0.1.0', 'registry.local:5000/team/microgate:1.2.3', `microgate${digest}`, `microgate:latest${digest}`, 'ghcr.io/o/m:v1_2-rc.1']) {
      assert.equal(isImagePinned(image), true, image)
    }
    for (const image of ['', 'microgate', 'microgate:latest', 'registry.local:5000/microgate', 'microgate:', 'microgate:-bad', `microgate@sha256:${'a'.repeat(63)}`]) {
      assert.equal(isImagePinned(image), false, image)
    }
  })

  test('isImagePinned stays linear on a hostile 100k-character reference', () => {
    assert.equal(isImagePinned(`${'a'.repeat(100_000)}:${'b'.repeat(100_000)}!`), false)
    assert.equal(isImagePinned(`x@sha256:${'a'.repeat(100_000)}`), false)
  })

  test('selectorMatches follows Kubernetes label-selector semantics', () => {
    const labels = { app: 'microgate', tier: 'api' }
    assert.equal(selectorMatches({ matchLabels: { app: 'microgate' } }, labels), true)
    assert.equal(selectorMatches({ matchLabels: { app: 'other' } }, labels), false)
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'web'] }] }, labels), true)
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['api'] }] }, labels), false)
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels), true)
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels), false)
    assert.equal(selectorMatches({}, labels), true, 'an empty selector selects every pod')
  })
})
