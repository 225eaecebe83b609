// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file/package, inclusive time per function.
// Usage: node bench/profile-summary.ts <file.cpuprofile | dir> [--top=25] [--match=<substring of function or file>]
//        node bench/profile-summary.ts <file | dir> --callers=<function> [--depth=2]   (who spends that self time)
/* eslint-disable security/detect-non-literal-fs-filename -- reads the profile paths given on the command line */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

const ROOT = resolve(import.meta.dirname, '..')
// Pseudo-frames that are not JavaScript work of the process.
const NOT_WORK = new Set(['(idle)'])

/** The place a frame's code lives: a package name, a node: module, or a repository path. */
export function areaOf (url: string): string {
  if (url === '') return '(native/V8)'
  if (url.startsWith('node:')) return url.replace(/^node:internal\/deps\/([^/]+).*/, 'node:internal/deps/$1').replace(/^node:internal\/([^/]+)\/.*/, 'node:internal/$1/*')
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  return relative(ROOT, path)
}

function frameKey (frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
  if (frame.url === '') return name
  return `${name} ${areaOf(frame.url)}:${frame.lineNumber + 1}`
}

export interface Summary {
  totalMs: number
  idleMs: number
  byFunction: Array<{ key: string, selfMs: number, pct: number }>
  byArea: Array<{ key: string, selfMs: number, pct: number }>
  inclusive: Array<{ key: string, totalMs: number, pct: number, repository: boolean }>
}

/** Self time of the functions whose key contains `match`, split by their callers (`depth` frames up). */
export function callersOf (profile: CpuProfile, match: string, depth = 2): Array<{ key: string, ms: number }> {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byStack = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i])
    if (node === undefined || !frameKey(node.callFrame).includes(match)) continue
    const stack: string[] = [frameKey(node.callFrame)]
    for (let at = parent.get(node.id), k = 0; at !== undefined && k < depth; at = parent.get(at), k++) stack.push(frameKey(nodes.get(at)!.callFrame))
    const key = stack.join(' <- ')
    byStack.set(key, (byStack.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  return [...byStack].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, ms: us / 1000 }))
}

export function summarise (profile: CpuProfile): Summary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  let total = 0
  let idle = 0
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const repositoryKeys = new Set<string>()
  for (const [id, us] of self) {
    const node = nodes.get(id)
    if (node === undefined) continue
    if (NOT_WORK.has(node.callFrame.functionName)) { idle += us; continue }
    total += us
    const key = frameKey(node.callFrame)
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    const area = node.callFrame.url === '' ? node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : '(native/V8)' : areaOf(node.callFrame.url)
    byArea.set(area, (byArea.get(area) ?? 0) + us)
    // Each function on the stack once per node, so recursion is not counted twice.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nodes.get(at)?.callFrame
      if (frame === undefined || frame.functionName === '(root)') continue
      const k = frameKey(frame)
      if (seen.has(k)) continue
      seen.add(k)
      if (frame.url.startsWith('file://') && !frame.url.includes('/node_modules/')) repositoryKeys.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
  const rank = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, ms: us / 1000, pct: total === 0 ? 0 : us / total * 100 }))
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    byFunction: rank(byFunction).map(({ key, ms, pct }) => ({ key, selfMs: ms, pct })),
    byArea: rank(byArea).map(({ key, ms, pct }) => ({ key, selfMs: ms, pct })),
    inclusive: rank(inclusive).map(({ key, ms, pct }) => ({ key, totalMs: ms, pct, repository: repositoryKeys.has(key) }))
  }
}

function profilesIn (path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f))
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, match: { type: 'string' }, callers: { type: 'string' }, depth: { type: 'string', default: '2' } }, allowPositionals: true })
  const top = Number(values.top)
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile | dir> [--top=25] [--match=text]\n')
    process.exit(2)
  }
  for (const file of positionals.flatMap(profilesIn)) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    if (values.callers !== undefined) {
      const rows = callersOf(profile, values.callers, Number(values.depth))
      process.stdout.write([`# ${file}: callers of "${values.callers}"`, ...rows.slice(0, top).map((r) => `${r.ms.toFixed(0).padStart(7)} ms  ${r.key}`)].join('\n') + '\n\n')
      continue
    }
    const s = summarise(profile)
    const keep = (key: string) => values.match === undefined || key.includes(values.match)
    const pct = (n: number) => `${n.toFixed(1).padStart(5)}%`
    const out = [
      `# ${file}`,
      `busy ${(s.totalMs / 1000).toFixed(2)} s, idle ${(s.idleMs / 1000).toFixed(2)} s (percentages are of busy time)`,
      '', '## self time by file / package',
      ...s.byArea.slice(0, top).map((r) => `${pct(r.pct)} ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.key}`),
      '', '## self time by function',
      ...s.byFunction.filter((r) => keep(r.key)).slice(0, top).map((r) => `${pct(r.pct)} ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.key}`),
      '', '## inclusive time by function (repository code only)',
      ...s.inclusive.filter((r) => r.repository && keep(r.key)).slice(0, top).map((r) => `${pct(r.pct)} ${r.totalMs.toFixed(0).padStart(7)} ms  ${r.key}`)
    ]
    process.stdout.write(out.join('\n') + '\n\n')
  }
}
