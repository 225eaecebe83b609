// Manifest policy: schema validation with kubernetes-models plus the project's own hardening rules.
import { parseAllDocuments } from 'yaml'
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { CronJob, Job } from 'kubernetes-models/batch/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'

/** Every rule the checker applies, with the sentence printed next to its findings. */
export const RULES = {
  yaml: 'the file must parse as YAML (no duplicate keys)',
  schema: 'every object must validate against its Kubernetes schema',
  'rbac-wildcard': 'RBAC rules must not use "*" in apiGroups, resources or verbs',
  'rbac-cluster-scope': 'only namespaced Role/RoleBinding: no ClusterRole or ClusterRoleBinding',
  'rbac-verbs': 'RBAC verbs are limited to get and list',
  'rbac-resources': 'RBAC rules may only name pods in the core API group',
  'run-as-non-root': 'containers run as non-root: runAsNonRoot true and a numeric runAsUser other than 0',
  'read-only-root': 'containers have readOnlyRootFilesystem: true',
  'privilege-escalation': 'containers have allowPrivilegeEscalation: false',
  capabilities: 'containers drop ALL capabilities and add none',
  seccomp: 'seccompProfile RuntimeDefault at pod or container level',
  'host-access': 'no privileged containers, host namespaces or hostPath volumes',
  resources: 'containers set cpu and memory requests and limits',
  probes: 'long-running containers have liveness and readiness probes',
  'image-pin': 'images are pinned by digest or an explicit tag other than latest',
  'network-policy': 'a NetworkPolicy with Ingress and Egress selects every workload\'s pods',
  kustomization: 'kustomization.yaml lists every manifest file and only existing ones'
} as const

export type RuleId = keyof typeof RULES

export interface Finding {
  rule: RuleId
  file: string
  /** "Kind/name" of the offending object, or '' for file-level findings. */
  object: string
  message: string
}

export interface ManifestFile {
  /** File name relative to the manifest directory. */
  file: string
  text: string
}

export interface ManifestDoc {
  file: string
  object: Record<string, unknown>
}

/** The project's RBAC ceiling: the gateway only ever reads pods. */
const ALLOWED_VERBS: readonly string[] = ['get', 'list']
const ALLOWED_RESOURCES: readonly string[] = ['pods']

/** Files that are documentation, never applied, and so exempt from the kustomization rule. */
const EXAMPLE_FILE = /\.example\.ya?ml$/
export const KUSTOMIZATION_FILE = 'kustomization.yaml'

// A digest reference: name@sha256:<64 hex>. Fixed-length class, linear time.
const IMAGE_DIGEST = /@sha256:[a-f0-9]{64}$/
// A tag: 1-128 characters of the OCI tag alphabet, not starting with '.' or '-'.
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

interface Validatable { validate (): void }
type ModelConstructor = new (data: never) => Validatable

/** apiVersion/kind → kubernetes-models class. An unknown kind is a finding, never silently skipped. */
const MODELS: ReadonlyMap<string, ModelConstructor> = new Map<string, ModelConstructor>([
  ['v1/Namespace', Namespace],
  ['v1/ServiceAccount', ServiceAccount],
  ['v1/Service', Service],
  ['v1/Secret', Secret],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Pod', Pod],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/StatefulSet', StatefulSet],
  ['apps/v1/DaemonSet', DaemonSet],
  ['batch/v1/Job', Job],
  ['batch/v1/CronJob', CronJob],
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['rbac.authorization.k8s.io/v1/Role', Role],
  ['rbac.authorization.k8s.io/v1/RoleBinding', RoleBinding],
  ['rbac.authorization.k8s.io/v1/ClusterRole', ClusterRole],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', ClusterRoleBinding]
])

type Obj = Record<string, unknown>

function isObj (value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function obj (value: unknown): Obj {
  return isObj(value) ? value : {}
}

function list (value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function str (value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function label (doc: ManifestDoc): string {
  return `${str(doc.object.kind) || '?'}/${str(obj(doc.object.metadata).name) || '?'}`
}

function isKustomization (object: Obj): boolean {
  return str(object.apiVersion).startsWith('kustomize.config.k8s.io/') && object.kind === 'Kustomization'
}

/** Parse every YAML document of every file; empty documents are dropped, parse errors are findings. */
export function parseManifests (files: readonly ManifestFile[]): { docs: ManifestDoc[], findings: Finding[] } {
  const docs: ManifestDoc[] = []
  const findings: Finding[] = []
  for (const { file, text } of files) {
    // uniqueKeys (the default) rejects duplicate keys: two `image:` lines are ambiguous to reviewers.
    for (const document of parseAllDocuments(text, { uniqueKeys: true })) {
      if (document.errors.length > 0) {
        findings.push({ rule: 'yaml', file, object: '', message: document.errors[0].message.split('\n')[0] })
        continue
      }
      const value: unknown = document.toJS({ maxAliasCount: 50 })
      if (value === null || value === undefined) continue
      if (!isObj(value)) {
        findings.push({ rule: 'yaml', file, object: '', message: 'document is not a mapping' })
        continue
      }
      docs.push({ file, object: value })
    }
  }
  return { docs, findings }
}

function checkSchema (doc: ManifestDoc): Finding[] {
  if (isKustomization(doc.object)) {
    const resources = doc.object.resources
    const ok = resources === undefined || (Array.isArray(resources) && resources.every((entry) => typeof entry === 'string'))
    return ok ? [] : [{ rule: 'schema', file: doc.file, object: 'Kustomization', message: 'resources must be a list of strings' }]
  }
  const key = `${str(doc.object.apiVersion)}/${str(doc.object.kind)}`
  const Model = MODELS.get(key)
  if (Model === undefined) {
    return [{ rule: 'schema', file: doc.file, object: label(doc), message: `no schema known for ${key}` }]
  }
  try {
    new Model(doc.object as never).validate()
    return []
  } catch (error) {
    return [{ rule: 'schema', file: doc.file, object: label(doc), message: (error as Error).message }]
  }
}

function checkRbac (doc: ManifestDoc): Finding[] {
  const findings: Finding[] = []
  const at = (rule: RuleId, message: string): void => { findings.push({ rule, file: doc.file, object: label(doc), message }) }
  const kind = doc.object.kind
  if (kind === 'ClusterRole' || kind === 'ClusterRoleBinding') {
    at('rbac-cluster-scope', `${kind} grants cluster-wide access`)
  }
  if (kind === 'RoleBinding' && obj(doc.object.roleRef).kind === 'ClusterRole') {
    at('rbac-cluster-scope', 'RoleBinding refers to a ClusterRole')
  }
  if (kind !== 'Role' && kind !== 'ClusterRole') return findings
  // A ClusterRole aggregation pulls in rules written elsewhere; it is already a cluster-scope finding.
  list(doc.object.rules).forEach((entry, index) => {
    const rule = obj(entry)
    for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
      if (list(rule[field]).some((value) => typeof value === 'string' && value.includes('*'))) {
        at('rbac-wildcard', `rules[${index}].${field} contains "*"`)
      }
    }
    const extraVerbs = list(rule.verbs).filter((verb) => !ALLOWED_VERBS.includes(str(verb)))
    if (extraVerbs.length > 0) at('rbac-verbs', `rules[${index}] grants ${extraVerbs.map(String).join(', ')}`)
    const groups = list(rule.apiGroups)
    const extraResources = list(rule.resources).filter((resource) => !ALLOWED_RESOURCES.includes(str(resource)))
    if (extraResources.length > 0 || groups.some((group) => group !== '') || list(rule.nonResourceURLs).length > 0) {
      at('rbac-resources', `rules[${index}] reaches beyond core pods (${[...groups.filter((g) => g !== ''), ...extraResources].map(String).join(', ') || 'nonResourceURLs'})`)
    }
  })
  return findings
}

interface Workload { podSpec: Obj, podLabels: Obj, longRunning: boolean }

/** The pod template of any workload kind, or null when the object runs no pods. */
export function workloadOf (object: Obj): Workload | null {
  const spec = obj(object.spec)
  switch (object.kind) {
    case 'Pod':
      return { podSpec: spec, podLabels: obj(obj(object.metadata).labels), longRunning: true }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return { podSpec: obj(obj(spec.template).spec), podLabels: obj(obj(obj(spec.template).metadata).labels), longRunning: true }
    case 'Job':
      return { podSpec: obj(obj(spec.template).spec), podLabels: obj(obj(obj(spec.template).metadata).labels), longRunning: false }
    case 'CronJob': {
      const template = obj(obj(obj(spec.jobTemplate).spec).template)
      return { podSpec: obj(template.spec), podLabels: obj(obj(template.metadata).labels), longRunning: false }
    }
    default:
      return null
  }
}

/** True when an image reference is pinned by digest or carries an explicit tag other than latest. */
export function isImagePinned (image: string): boolean {
  // With an '@' the reference is a digest reference: it must be a complete sha256 digest.
  if (image.includes('@')) return IMAGE_DIGEST.test(image)
  const lastSlash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  // A colon before the last slash is a registry port (registry:5000/app), not a tag.
  if (colon <= lastSlash) return false
  const tag = image.slice(colon + 1)
  return IMAGE_TAG.test(tag) && tag !== 'latest'
}

function checkWorkload (doc: ManifestDoc, workload: Workload): Finding[] {
  const findings: Finding[] = []
  const { podSpec } = workload
  const podSecurity = obj(podSpec.securityContext)
  const at = (rule: RuleId, message: string): void => { findings.push({ rule, file: doc.file, object: label(doc), message }) }

  if (podSpec.hostNetwork === true || podSpec.hostPID === true || podSpec.hostIPC === true) {
    at('host-access', 'pod shares a host namespace (hostNetwork, hostPID or hostIPC)')
  }
  if (list(podSpec.volumes).some((volume) => isObj(obj(volume).hostPath))) {
    at('host-access', 'pod mounts a hostPath volume')
  }

  const containers = list(podSpec.containers).map((c) => ({ c: obj(c), init: false }))
  const initContainers = list(podSpec.initContainers).map((c) => ({ c: obj(c), init: true }))
  if (containers.length === 0) at('schema', 'pod template has no containers')

  for (const { c, init } of [...initContainers, ...containers]) {
    const name = `${init ? 'initContainer' : 'container'} ${str(c.name) || '?'}`
    const security = obj(c.securityContext)
    // Container-level settings override pod-level ones, as the kubelet applies them.
    const runAsNonRoot = security.runAsNonRoot ?? podSecurity.runAsNonRoot
    const runAsUser = security.runAsUser ?? podSecurity.runAsUser
    if (runAsNonRoot !== true || !Number.isInteger(runAsUser) || runAsUser === 0) {
      at('run-as-non-root', `${name}: needs runAsNonRoot: true and a numeric runAsUser other than 0`)
    }
    if (security.readOnlyRootFilesystem !== true) at('read-only-root', `${name}: readOnlyRootFilesystem is not true`)
    if (security.allowPrivilegeEscalation !== false) at('privilege-escalation', `${name}: allowPrivilegeEscalation is not false`)
    const capabilities = obj(security.capabilities)
    if (!list(capabilities.drop).includes('ALL') || list(capabilities.add).length > 0) {
      at('capabilities', `${name}: capabilities must drop ALL and add none`)
    }
    const seccomp = obj(security.seccompProfile ?? podSecurity.seccompProfile)
    if (seccomp.type !== 'RuntimeDefault') at('seccomp', `${name}: seccompProfile is not RuntimeDefault`)
    if (security.privileged === true) at('host-access', `${name}: privileged`)

    const resources = obj(c.resources)
    const missing: string[] = []
    for (const section of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        const value = obj(resources[section])[resource]
        if (value === undefined || value === null || value === '') missing.push(`${section}.${resource}`)
      }
    }
    if (missing.length > 0) at('resources', `${name}: missing ${missing.join(', ')}`)

    if (!init && workload.longRunning) {
      if (!isObj(c.livenessProbe)) at('probes', `${name}: no livenessProbe`)
      if (!isObj(c.readinessProbe)) at('probes', `${name}: no readinessProbe`)
    }

    const image = str(c.image)
    if (!isImagePinned(image)) at('image-pin', `${name}: image "${image}" is not pinned by digest or explicit tag`)
  }
  return findings
}

function expressionMatches (expression: Obj, labels: Obj): boolean {
  const key = str(expression.key)
  const values = list(expression.values).map(String)
  const has = Object.hasOwn(labels, key)
  switch (expression.operator) {
    case 'In': return has && values.includes(String(labels[key]))
    case 'NotIn': return !has || !values.includes(String(labels[key]))
    case 'Exists': return has
    case 'DoesNotExist': return !has
    default: return false
  }
}

/** Kubernetes LabelSelector semantics: every matchLabels pair and every expression must hold. */
export function selectorMatches (selector: unknown, labels: Obj): boolean {
  const { matchLabels, matchExpressions } = obj(selector)
  const pairs = Object.entries(obj(matchLabels))
  return pairs.every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value) &&
    list(matchExpressions).every((expression) => expressionMatches(obj(expression), labels))
}

function namespaceOf (doc: ManifestDoc): string {
  return str(obj(doc.object.metadata).namespace) || 'default'
}

function checkNetworkPolicies (docs: readonly ManifestDoc[]): Finding[] {
  const policies = docs.filter((doc) => doc.object.kind === 'NetworkPolicy')
  const findings: Finding[] = []
  for (const doc of docs) {
    const workload = workloadOf(doc.object)
    if (workload === null) continue
    const covered = policies.some((policy) => {
      const spec = obj(policy.object.spec)
      const types = list(spec.policyTypes)
      return namespaceOf(policy) === namespaceOf(doc) &&
        types.includes('Ingress') && types.includes('Egress') &&
        selectorMatches(spec.podSelector, workload.podLabels)
    })
    if (!covered) {
      findings.push({ rule: 'network-policy', file: doc.file, object: label(doc), message: 'no NetworkPolicy with Ingress and Egress selects these pods' })
    }
  }
  return findings
}

function checkKustomization (docs: readonly ManifestDoc[], fileNames: readonly string[]): Finding[] {
  const kustomization = docs.find((doc) => doc.file === KUSTOMIZATION_FILE && isKustomization(doc.object))
  if (kustomization === undefined) {
    return [{ rule: 'kustomization', file: KUSTOMIZATION_FILE, object: '', message: 'missing kustomization.yaml with kind Kustomization' }]
  }
  const listed = list(kustomization.object.resources).map(String)
  const findings: Finding[] = []
  for (const file of fileNames) {
    if (file === KUSTOMIZATION_FILE || EXAMPLE_FILE.test(file)) continue
    if (!listed.includes(file)) findings.push({ rule: 'kustomization', file, object: '', message: 'file is not listed in kustomization.yaml resources' })
  }
  for (const entry of listed) {
    if (!fileNames.includes(entry)) findings.push({ rule: 'kustomization', file: KUSTOMIZATION_FILE, object: '', message: `lists ${entry}, which does not exist here` })
  }
  return findings
}

/** Apply every rule to already-parsed documents. `fileNames` are all manifest files in the directory. */
export function checkManifests (docs: readonly ManifestDoc[], fileNames: readonly string[]): Finding[] {
  const findings: Finding[] = []
  for (const doc of docs) {
    findings.push(...checkSchema(doc), ...checkRbac(doc))
    const workload = workloadOf(doc.object)
    if (workload !== null) findings.push(...checkWorkload(doc, workload))
  }
  findings.push(...checkNetworkPolicies(docs), ...checkKustomization(docs, fileNames))
  return findings
}

/** Parse and check a whole manifest directory's files in one call. */
export function checkManifestFiles (files: readonly ManifestFile[]): Finding[] {
  const { docs, findings } = parseManifests(files)
  return [...findings, ...checkManifests(docs, files.map((f) => f.file))]
}
