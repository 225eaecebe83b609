// `npm run bench`: autocannon scenarios against the gateway (every control on) and the bare forwarder, alternated, medians.
// Flags: --quick, --json, --only=a,b, --rounds=N, --duration=S, --warmup=S, --connections=N, --soak-seconds=S, --no-soak,
// --no-baseline, --cpu-prof=DIR (profiles the gateway child; see bench/profile-summary.ts), --node-flags='…' (extra Node
// flags for the gateway child, after those of `npm start`, for experiments).
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { request } from 'undici'
import autocannon from 'autocannon'
import type { Request as AutocannonRequest, Result } from 'autocannon'
import { createApiKey, createWorkspace, startBaseline, startFakes, startGateway } from './processes.ts'
import type { Child } from './processes.ts'
import { GENERATE_BODY, SCENARIOS, soakRequests } from './scenarios.ts'
import type { Scenario } from './scenarios.ts'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    'soak-seconds': { type: 'string' },
    'no-soak': { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string' }
  },
  strict: true
})

const quick = flags.quick
const ROUNDS = Number(flags.rounds ?? (quick ? 1 : 3))
const DURATION_S = Number(flags.duration ?? (quick ? 2 : 10))
const WARMUP_S = Number(flags.warmup ?? (quick ? 1 : 3))
const CONNECTIONS = Number(flags.connections)
const SOAK_S = flags['no-soak'] || (quick && flags['soak-seconds'] === undefined) ? 0 : Number(flags['soak-seconds'] ?? 300)
const SOAK_SAMPLE_MS = 10_000
// The budget the rate-limit scenario configures, and how many requests it sends one after another.
const RATE_LIMIT_BUDGET = 100
const RATE_LIMIT_SENT = 130
const only = flags.only === undefined ? null : new Set(flags.only.split(',').map((s) => s.trim()))
const wanted = (name: string): boolean => only === null || only.has(name)

function log (line: string): void {
  process.stderr.write(`${line}\n`)
}

interface Run {
  scenario: string
  /** 'reference': the scenario's in-gateway reference route, on the same gateway process. */
  target: 'baseline' | 'gateway' | 'reference'
  round: number
  reqPerSec: number
  p50: number
  p99: number
  errors: number
  statuses: Record<string, number>
  /** The server process's CPU time per answered request (user + system), from its probe. */
  cpuUsPerReq: number
  /** The server process's RSS right after the run. */
  rssMb: number
}

function median (values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function cannon (url: string, requests: AutocannonRequest[], durationS: number, connections = CONNECTIONS): Promise<Result> {
  return await autocannon({ url, connections, duration: durationS, requests, timeout: 10 })
}

async function measure (scenario: Scenario, target: Child, kind: Run['target'], round: number, apiKey: string): Promise<Run> {
  const before = await target.probe()
  const requests = kind === 'reference' ? scenario.reference!.requests() : scenario.requests(apiKey)
  const result = await cannon(target.url, requests, DURATION_S)
  const after = await target.probe()
  const statuses: Record<string, number> = {}
  let ok = 0
  let unexpected = 0
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    const count = stats?.count ?? 0
    statuses[code] = count
    if (scenario.expected.includes(Number(code))) ok += count
    else unexpected += count
  }
  const cpuMs = (after.cpuUserMs + after.cpuSystemMs) - (before.cpuUserMs + before.cpuSystemMs)
  return {
    scenario: scenario.name,
    target: kind,
    round,
    reqPerSec: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: unexpected + result.errors,
    statuses,
    cpuUsPerReq: ok > 0 ? cpuMs * 1000 / ok : Number.NaN,
    rssMb: after.rssBytes / 2 ** 20
  }
}

/** Sends requests one after another and reports where the first 429 came. */
async function rateLimitScenario (gateway: Child, apiKey: string): Promise<{ budget: number, sent: number, first429: number | null, statuses: number[], errors: number }> {
  const statuses: number[] = []
  for (let i = 0; i < RATE_LIMIT_SENT; i++) {
    const res = await request(`${gateway.url}/openai/secure-generate`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: GENERATE_BODY })
    await res.body.dump()
    statuses.push(res.statusCode)
  }
  const index = statuses.indexOf(429)
  const first429 = index < 0 ? null : index + 1
  // Exactly the budget passes, everything after it is refused.
  const errors = statuses.filter((status, i) => i < RATE_LIMIT_BUDGET ? status !== 200 : status !== 429).length
  return { budget: RATE_LIMIT_BUDGET, sent: RATE_LIMIT_SENT, first429, statuses, errors }
}

interface SoakSample { t: number, rssMb: number, heapMb: number, heapTotalMb: number, externalMb: number, eldP50Ms: number, eldP99Ms: number, eldMaxMs: number, reqPerSec: number }

async function soak (gateway: Child, apiKey: string, seconds: number): Promise<{ samples: SoakSample[], errors: number, rssDriftPct: number, warmupS: number, flat: boolean }> {
  const samples: SoakSample[] = []
  let counted = 0
  let lastCount = 0
  let lastAt = Date.now()
  const started = Date.now()
  let instance: autocannon.Instance | undefined
  const finished = new Promise<Result>((resolve, reject) => {
    instance = autocannon({ url: gateway.url, connections: CONNECTIONS, duration: seconds, requests: soakRequests(apiKey), timeout: 10 }, (err, result) => { if (err !== null && err !== undefined) reject(err); else resolve(result) })
  })
  // The typings declare 'tick' without its argument; autocannon passes { counter, bytes } for the last second.
  ;(instance as NodeJS.EventEmitter | undefined)?.on('tick', ({ counter }: { counter: number }) => { counted += counter })
  const sample = async (): Promise<void> => {
    const probe = await gateway.probe()
    const now = Date.now()
    samples.push({
      t: Math.round((now - started) / 1000),
      rssMb: probe.rssBytes / 2 ** 20,
      heapMb: probe.heapUsedBytes / 2 ** 20,
      heapTotalMb: probe.heapTotalBytes / 2 ** 20,
      externalMb: probe.externalBytes / 2 ** 20,
      eldP50Ms: probe.eldP50Ms,
      eldP99Ms: probe.eldP99Ms,
      eldMaxMs: probe.eldMaxMs,
      reqPerSec: (counted - lastCount) / ((now - lastAt) / 1000)
    })
    lastCount = counted
    lastAt = now
    log(`soak t=${samples.at(-1)!.t}s rss=${samples.at(-1)!.rssMb.toFixed(1)}MB eld p99=${probe.eldP99Ms.toFixed(1)}ms`)
  }
  await sample()
  const timer = setInterval(() => { void sample() }, SOAK_SAMPLE_MS)
  const result = await finished
  clearInterval(timer)
  // A closing sample only when the last periodic one is not just as recent (its rate would be meaningless).
  if (Date.now() - lastAt > SOAK_SAMPLE_MS / 2) await sample()
  let errors = result.errors
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) if (code !== '200' && code !== '202') errors += stats?.count ?? 0
  // Warm-up: the first fifth of the soak (at least one sample) is excluded from the flatness check.
  const warmupS = Math.max(SOAK_SAMPLE_MS / 1000, Math.round(seconds / 5))
  const steady = samples.filter((s) => s.t >= warmupS).map((s) => s.rssMb)
  const reference = median(steady)
  const rssDriftPct = steady.length === 0 ? Number.NaN : Math.max(...steady.map((v) => Math.abs(v - reference) / reference)) * 100
  return { samples, errors, rssDriftPct, warmupS, flat: rssDriftPct <= 10 }
}

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toFixed(digits) : '-'

async function main (): Promise<void> {
  const scenarios = SCENARIOS.filter((s) => wanted(s.name))
  const needK8s = scenarios.some((s) => s.kubernetes === true)
  const ws = await createWorkspace(needK8s)
  const children: Child[] = []
  let keepWorkspace = false
  const cleanup = async (): Promise<void> => {
    await Promise.all(children.map(async (c) => { await c.stop() }))
    // After a failure the children's logs and the database stay for inspection.
    if (keepWorkspace) log(`bench: logs kept in ${ws.dir}`)
    else ws.cleanup()
  }
  process.once('SIGINT', () => { void cleanup().finally(() => process.exit(130)) })
  try {
    log(`bench: ${quick ? 'quick' : 'full'} mode, ${ROUNDS} round(s) of ${DURATION_S}s per target, ${WARMUP_S}s warm-up, ${CONNECTIONS} connections, node ${process.version}`)
    const fakes = await startFakes(ws)
    children.push(fakes.child)
    const active = scenarios.filter((s) => s.kubernetes !== true || fakes.ports.kubernetes !== null)
    const skipped = scenarios.filter((s) => !active.includes(s)).map((s) => s.name)

    const profileDir = flags['cpu-prof'] === undefined ? undefined : resolve(flags['cpu-prof'])
    const extraFlags = flags['node-flags'] === undefined ? [] : flags['node-flags'].split(' ').filter((f) => f !== '')
    const gateway = await startGateway(ws, fakes.ports, { name: 'gateway', execArgv: [...extraFlags, ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])] })
    children.push(gateway)
    const baseline = flags['no-baseline'] ? null : await startBaseline(ws, fakes.ports)
    if (baseline !== null) children.push(baseline)
    const apiKey = await createApiKey(gateway)

    const runs: Run[] = []
    if (active.length > 0) {
      for (const scenario of active) {
        log(`warm-up ${scenario.name}`)
        for (const target of [baseline, gateway]) if (target !== null) await cannon(target.url, scenario.requests(apiKey), WARMUP_S)
        if (scenario.reference !== undefined) await cannon(gateway.url, scenario.reference.requests(), WARMUP_S)
      }
      for (let round = 1; round <= ROUNDS; round++) {
        for (const scenario of active) {
          // Alternate which target goes first, so drift in background load hits both alike.
          const targets: Array<[Run['target'], Child | null]> = [['baseline', baseline], ...(scenario.reference === undefined ? [] : [['reference', gateway] as [Run['target'], Child]]), ['gateway', gateway]]
          const order = round % 2 === 1 ? targets : [...targets].reverse()
          for (const [kind, target] of order) {
            if (target === null) continue
            const run = await measure(scenario, target, kind, round, apiKey)
            runs.push(run)
            log(`round ${round} ${scenario.name.padEnd(12)} ${kind.padEnd(9)} ${fmt(run.reqPerSec).padStart(6)} req/s p50 ${run.p50} ms p99 ${run.p99} ms errors ${run.errors} cpu ${fmt(run.cpuUsPerReq)} µs/req rss ${fmt(run.rssMb)} MB ${JSON.stringify(run.statuses)}`)
          }
        }
      }
    }

    let rateLimit: Awaited<ReturnType<typeof rateLimitScenario>> | null = null
    if (wanted('rate-limit')) {
      log('rate-limit: a gateway with RATE_LIMIT_PER_KEY=100')
      const limited = await startGateway(ws, fakes.ports, { name: 'gateway-rate-limited', env: { RATE_LIMIT_PER_KEY: String(RATE_LIMIT_BUDGET) } })
      children.push(limited)
      rateLimit = await rateLimitScenario(limited, await createApiKey(limited))
      await limited.stop()
    }

    let soakResult: Awaited<ReturnType<typeof soak>> | null = null
    if (SOAK_S > 0 && wanted('soak')) {
      log(`soak: ${SOAK_S}s of mixed traffic, a sample every ${SOAK_SAMPLE_MS / 1000}s`)
      soakResult = await soak(gateway, apiKey, SOAK_S)
    }

    // Summary: medians over rounds; the ratio is the median of per-round gateway/baseline ratios
    // (each pair ran back to back, so it is less exposed to background load than a ratio of medians).
    const pairedWith = (mine: Run[], other: Run['target']) => mine
      .map((g) => ({ g, b: runs.find((r) => r.scenario === g.scenario && r.target === other && r.round === g.round) }))
      .filter((p): p is { g: Run, b: Run } => p.b !== undefined)
    // Medians of the per-round ratios (req/s, p99 with the other's p99 floored at 1 ms); NaN without pairs.
    const pairRatios = (pairs: Array<{ g: Run, b: Run }>) => pairs.length === 0
      ? { reqPerSec: Number.NaN, p99: Number.NaN }
      : { reqPerSec: median(pairs.map((p) => p.g.reqPerSec / p.b.reqPerSec)), p99: median(pairs.map((p) => p.g.p99 / Math.max(1, p.b.p99))) }
    const rows = active.flatMap((scenario) => (['baseline', 'reference', 'gateway'] as const).map((target) => {
      const mine = runs.filter((r) => r.scenario === scenario.name && r.target === target)
      if (mine.length === 0) return null
      const vsBaseline = pairRatios(target === 'baseline' ? [] : pairedWith(mine, 'baseline'))
      const vsReference = pairRatios(target === 'gateway' ? pairedWith(mine, 'reference') : [])
      return {
        scenario: scenario.name,
        target: target === 'reference' ? `gateway, ${scenario.reference!.label}` : target,
        reqPerSec: median(mine.map((r) => r.reqPerSec)),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        cpuUsPerReq: median(mine.map((r) => r.cpuUsPerReq)),
        ratio: vsBaseline.reqPerSec,
        p99Ratio: vsBaseline.p99,
        /** Against the scenario's in-gateway reference route, per round (NaN when it has none). */
        refRatio: vsReference.reqPerSec,
        refP99Ratio: vsReference.p99
      }
    }).filter((row) => row !== null))

    const totalErrors = rows.reduce((sum, r) => sum + r.errors, 0) + (rateLimit?.errors ?? 0) + (soakResult?.errors ?? 0)
    if (flags.json) {
      process.stdout.write(JSON.stringify({ node: process.version, rounds: ROUNDS, durationS: DURATION_S, connections: CONNECTIONS, rows, runs, skipped, rateLimit, soak: soakResult, totalErrors }, null, 2) + '\n')
    } else {
      const lines = [
        '| scenario | target | req/s | p50 ms | p99 ms | errors | server CPU µs/req | req/s vs baseline | p99 vs baseline | req/s vs in-gateway reference |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rows.map((r) => `| ${r.scenario} | ${r.target} | ${fmt(r.reqPerSec)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.errors} | ${fmt(r.cpuUsPerReq)} | ${r.target === 'baseline' ? '' : fmt(r.ratio, 2) + 'x'} | ${r.target === 'baseline' ? '' : fmt(r.p99Ratio, 2) + 'x'} | ${Number.isFinite(r.refRatio) ? fmt(r.refRatio, 2) + 'x' : ''} |`)
      ]
      if (rateLimit !== null) {
        lines.push(`| rate-limit (RATE_LIMIT_PER_KEY=${rateLimit.budget}, ${rateLimit.sent} sequential) | gateway | first 429 at request #${rateLimit.first429 ?? 'none'} (expected #${rateLimit.budget + 1}) | | | ${rateLimit.errors} | | | | |`)
      }
      if (skipped.length > 0) lines.push('', `skipped: ${skipped.join(', ')} (no HTTPS fake: openssl unavailable)`)
      if (soakResult !== null) {
        lines.push('', `soak ${SOAK_S}s (mixed openai/anthropic/webhook/repos, ${CONNECTIONS} connections): errors ${soakResult.errors}, RSS drift after ${soakResult.warmupS}s warm-up ${fmt(soakResult.rssDriftPct, 1)}% (${soakResult.flat ? 'flat' : 'NOT flat'} at ±10%)`, '',
          '| t s | RSS MB | heap used MB | heap total MB | external MB | ELD p50 ms | ELD p99 ms | ELD max ms | req/s |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...soakResult.samples.map((s) => `| ${s.t} | ${fmt(s.rssMb, 1)} | ${fmt(s.heapMb, 1)} | ${fmt(s.heapTotalMb, 1)} | ${fmt(s.externalMb, 1)} | ${fmt(s.eldP50Ms, 1)} | ${fmt(s.eldP99Ms, 1)} | ${fmt(s.eldMaxMs, 1)} | ${fmt(s.reqPerSec)} |`))
      }
      process.stdout.write(lines.join('\n') + '\n')
    }
    keepWorkspace = totalErrors > 0
    if (profileDir !== undefined) log(`cpu profile of the gateway child: ${profileDir} (summarise with: node bench/profile-summary.ts ${profileDir})`)
    await cleanup()
    if (totalErrors > 0) {
      log(`bench: ${totalErrors} unexpected answers or socket errors`)
      process.exitCode = 1
    }
  } catch (err) {
    for (const child of children) log(`--- ${child.name} log tail ---\n${child.tail()}`)
    keepWorkspace = true
    await cleanup()
    throw err
  }
}

await main()
