// Pure Kubernetes guards: namespace labels, allowlist, page bounds, continue tokens and pod summaries.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  CONTINUE_TOKEN_MAX_LENGTH,
  isContinueToken,
  isDns1123Label,
  isDns1123Subdomain,
  isNamespaceAllowed,
  isValidPageLimit,
  parseNamespaceList,
  summarizePod
} from '../../security/kubernetes.ts'

describe('namespace guards', () => {
  test('isDns1123Label accepts lowercase labels up to 63 characters', () => {
    for (const ok of ['a', '0', 'microgate', 'kube-system', 'a-b-c', 'x1', 'a'.repeat(63)]) {
      assert.equal(isDns1123Label(ok), true, ok)
    }
  })

  test('isDns1123Label refuses hostile and malformed names', () => {
    const bad: unknown[] = [
      '', 'A', 'Microgate', '-a', 'a-', 'a_b', 'a.b', 'a/b', '../x', '..', '%2e%2e', 'a b', 'a\n', '\u0430bc',
      'a'.repeat(64), 'ns\u0000', 'ns?x=1', 'ns#', null, undefined, 42, ['microgate'], { toString: () => 'microgate' }
    ]
    for (const value of bad) assert.equal(isDns1123Label(value), false, JSON.stringify(value))
  })

  test('isDns1123Label stays linear on a 1 MB adversarial input', () => {
    assert.equal(isDns1123Label(`${'a-'.repeat(500_000)}-`), false)
    assert.equal(isDns1123Label('a'.repeat(1_000_000)), false)
  })

  test('isNamespaceAllowed is an exact match against the allowlist', () => {
    const allowed = ['microgate', 'apps']
    assert.equal(isNamespaceAllowed('microgate', allowed), true)
    assert.equal(isNamespaceAllowed('apps', allowed), true)
    for (const value of ['micro', 'microgate-x', 'app', 'MICROGATE', ' microgate', 'kube-system', '']) {
      assert.equal(isNamespaceAllowed(value, allowed), false, value)
    }
    assert.equal(isNamespaceAllowed('microgate', []), false, 'an empty allowlist allows nothing')
  })

  test('parseNamespaceList trims, drops blanks and duplicates, and throws on an invalid label naming the variable', () => {
    assert.deepEqual(parseNamespaceList(undefined), [])
    assert.deepEqual(parseNamespaceList(''), [])
    assert.deepEqual(parseNamespaceList(' microgate , apps,,microgate '), ['microgate', 'apps'])
    assert.throws(() => parseNamespaceList('microgate,*'), /K8S_NAMESPACES.*"\*"/)
    assert.throws(() => parseNamespaceList('Kube_System'), /K8S_NAMESPACES/)
  })
})

describe('paging guards', () => {
  test('isValidPageLimit allows integers 1..100 only', () => {
    for (const ok of [1, 50, 100]) assert.equal(isValidPageLimit(ok), true)
    for (const bad of [0, -1, 101, 1.5, Number.NaN, Infinity, '10', null]) assert.equal(isValidPageLimit(bad), false, String(bad))
  })

  test('isContinueToken accepts bounded base64 and refuses anything that could alter the query', () => {
    const real = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 48213, start: 'pod-c\u0000' })).toString('base64')
    assert.equal(isContinueToken(real), true)
    assert.equal(isContinueToken('abc-_='), true)
    assert.equal(isContinueToken('a'.repeat(CONTINUE_TOKEN_MAX_LENGTH)), true)
    for (const bad of ['', 'a&limit=1000', 'a b', 'a%20', 'a\n', 'a'.repeat(CONTINUE_TOKEN_MAX_LENGTH + 1), 7, null]) {
      assert.equal(isContinueToken(bad), false, String(bad).slice(0, 20))
    }
  })
})

describe('summarizePod', () => {
  test('counts ready containers, sums restarts and formats createdAt from a Date or a string', () => {
    const pod = {
      metadata: { name: 'api-1', creationTimestamp: new Date('2025-03-01T10:15:30Z'), labels: { a: 'b' } },
      spec: { containers: [{}, {}, {}], nodeName: 'n1' },
      status: {
        phase: 'Running',
        podIP: '10.0.0.1',
        containerStatuses: [{ ready: true, restartCount: 2 }, { ready: false, restartCount: 5 }, { ready: true, restartCount: 0 }]
      }
    }
    assert.deepEqual(summarizePod(pod), { name: 'api-1', phase: 'Running', ready: '2/3', restarts: 7, createdAt: '2025-03-01T10:15:30.000Z' })
    assert.equal(summarizePod({ metadata: { name: 'x', creationTimestamp: '2025-03-01T10:15:30Z' } })?.createdAt, '2025-03-01T10:15:30.000Z')
  })

  test('a pending pod without statuses reports 0/N ready and phase Pending', () => {
    const summary = summarizePod({ metadata: { name: 'p' }, spec: { containers: [{}, {}] }, status: { phase: 'Pending' } })
    assert.deepEqual(summary, { name: 'p', phase: 'Pending', ready: '0/2', restarts: 0, createdAt: null })
  })

  test('malformed upstream values never throw and never pass through', () => {
    const summary = summarizePod({
      metadata: { name: 'ok-pod', creationTimestamp: 'not a date' },
      spec: { containers: 'nope' },
      status: { phase: '<script>', containerStatuses: [null, 'x', { ready: 'true', restartCount: -3 }, { ready: true, restartCount: 1.5 }] }
    })
    assert.deepEqual(summary, { name: 'ok-pod', phase: 'Unknown', ready: '1/4', restarts: 0, createdAt: null })
    assert.equal(summarizePod({ metadata: { name: 'p' }, status: { phase: 7 } })?.phase, 'Unknown')
  })

  test('a pod without a valid DNS-1123 name is refused (null), so no markup can ride in a name', () => {
    for (const name of [undefined, '', { $gt: '' }, 'Pod', '<img src=x>', 'a&b', 'a..b', '-a', 'a-', '.a', 'a'.repeat(254)]) {
      assert.equal(summarizePod({ metadata: { name } }), null, JSON.stringify(name))
    }
    assert.equal(summarizePod({}), null)
    assert.equal(summarizePod({ metadata: null, spec: null, status: null }), null)
    assert.equal(summarizePod({ metadata: { name: 'web-7d9f.x-1' } })?.name, 'web-7d9f.x-1')
    assert.equal(summarizePod({ metadata: { name: 'a'.repeat(253) } })?.name, 'a'.repeat(253))
  })

  test('isDns1123Subdomain stays linear on a 1 MB adversarial input', () => {
    assert.equal(isDns1123Subdomain(`${'a.'.repeat(500_000)}-`), false)
  })

  test('the summary has exactly five keys whatever the pod carries', () => {
    const summary = summarizePod({ metadata: { name: 'a', annotations: { x: 'y' }, labels: { l: 'v' } }, status: { hostIP: '1.2.3.4' } } as never)
    assert.ok(summary !== null)
    assert.deepEqual(Object.keys(summary).sort(), ['createdAt', 'name', 'phase', 'ready', 'restarts'])
  })
})
