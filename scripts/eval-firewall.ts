// Measures the prompt firewall: detection rates per data set, source and language, and speed; exits non-zero when targets are missed.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createFirewall } from '../security/firewall.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PUBLIC_DIR = join(ROOT, '..', 'shared', 'data', 'prompt-injection')
const FIXTURES_DIR = join(ROOT, 'test', 'fixtures', 'firewall')

// Acceptance targets: public data (all files) TPR >= 90% at FPR <= 2% and >= 80% per language;
// own attacks never trained on >= 90% recall and hard negatives <= 2% FPR, both on the final
// holdout; hard negatives kept in the test suite <= 2% FPR; <= 50 µs per KB (median).
const TARGET_TPR = 0.9
const TARGET_FPR = 0.02
const TARGET_LANG_TPR = 0.8
const TARGET_LANGS = ['en', 'es', 'fr', 'de', 'it', 'pt']
const TARGET_US_PER_KB = 50
const TIMING_ROUNDS = 9

const args = new Set(process.argv.slice(2))
const asJson = args.has('--json')
const noFail = args.has('--no-fail')
const showMisses = args.has('--misses')

interface Row { text: string, label: 'injection' | 'benign', lang: string, source: string }
interface Stats { tp: number, fn: number, fp: number, tn: number }

/** Same split as scripts/train-firewall.ts: a fifth of the public data, chosen by text hash, is held out. */
function isHeldOut (text: string): boolean {
  return createHash('sha256').update(text).digest()[0] % 5 === 0
}

function readJsonl (path: string, fallbackSource: string): Row[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
    const r = JSON.parse(l)
    return { text: r.text, label: r.label, lang: r.lang ?? 'unknown', source: r.source ?? `${fallbackSource}/${r.kind ?? 'unknown'}` }
  })
}

const firewall = createFirewall()
const verdicts = new Map<string, boolean>()
function rejected (text: string): boolean {
  let v = verdicts.get(text)
  if (v === undefined) {
    v = firewall(text).rejected
    verdicts.set(text, v)
  }
  return v
}

function stats (rows: Row[]): Stats {
  const s = { tp: 0, fn: 0, fp: 0, tn: 0 }
  for (const r of rows) {
    const hit = rejected(r.text)
    if (r.label === 'injection') hit ? s.tp++ : s.fn++
    else hit ? s.fp++ : s.tn++
  }
  return s
}
function rate (a: number, b: number): number | null {
  return a + b === 0 ? null : a / (a + b)
}
function pct (x: number | null): string {
  return x === null ? '   -  ' : (100 * x).toFixed(1).padStart(5) + '%'
}
function groupBy (rows: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const m = new Map<string, Row[]>()
  for (const r of rows) {
    const k = key(r)
    const list = m.get(k) ?? []
    list.push(r)
    m.set(k, list)
  }
  return new Map([...m].sort((a, b) => a[0].localeCompare(b[0])))
}
function sourceKey (r: Row): string {
  return r.source.split('/').slice(0, 2).join('/')
}

interface Report { name: string, rows: number, tpr: number | null, fpr: number | null, injections: number, benign: number, missed: number, falsePositives: number, bySource: Record<string, unknown>, byLang: Record<string, unknown> }
const reports: Report[] = []

function report (name: string, rows: Row[]): Report {
  const s = stats(rows)
  const detail = (groups: Map<string, Row[]>): Record<string, unknown> => Object.fromEntries([...groups].map(([k, g]) => {
    const t = stats(g)
    return [k, { injections: t.tp + t.fn, benign: t.fp + t.tn, tpr: rate(t.tp, t.fn), fpr: rate(t.fp, t.tn), missed: t.fn, falsePositives: t.fp }]
  }))
  const r: Report = {
    name,
    rows: rows.length,
    tpr: rate(s.tp, s.fn),
    fpr: rate(s.fp, s.tn),
    injections: s.tp + s.fn,
    benign: s.fp + s.tn,
    missed: s.fn,
    falsePositives: s.fp,
    bySource: detail(groupBy(rows, sourceKey)),
    byLang: detail(groupBy(rows, (x) => x.lang))
  }
  reports.push(r)
  if (!asJson) {
    console.log(`\n== ${name}: ${rows.length} texts  TPR ${pct(r.tpr)} (${s.tp}/${s.tp + s.fn})  FPR ${pct(r.fpr)} (${s.fp}/${s.fp + s.tn})`)
    for (const [label, groups] of [['source', r.bySource], ['lang', r.byLang]] as const) {
      for (const [k, v] of Object.entries(groups)) {
        const g = v as { injections: number, benign: number, tpr: number | null, fpr: number | null, missed: number, falsePositives: number }
        console.log(`   ${label.padEnd(6)} ${k.padEnd(34)} inj ${String(g.injections).padStart(4)} TPR ${pct(g.tpr)} missed ${String(g.missed).padStart(3)} | benign ${String(g.benign).padStart(4)} FPR ${pct(g.fpr)} fp ${g.falsePositives}`)
      }
    }
    if (showMisses) {
      for (const row of rows) {
        const hit = rejected(row.text)
        if (hit !== (row.label === 'injection')) {
          const v = firewall(row.text)
          console.log(`   ${row.label === 'injection' ? 'MISS' : 'FP  '} ${v.score.toFixed(2)} [${v.signals.join(',')}] ${row.source} ${row.lang}: ${row.text.slice(0, 160).replace(/\s+/g, ' ')}`)
        }
      }
    }
  }
  return r
}

const failures: string[] = []
const publicRows: Row[] = []
if (existsSync(PUBLIC_DIR)) {
  for (const file of readdirSync(PUBLIC_DIR).filter((f) => f.endsWith('.jsonl')).sort()) publicRows.push(...readJsonl(join(PUBLIC_DIR, file), file))
} else if (!asJson) {
  console.log(`public data not found at ${PUBLIC_DIR}: skipped`)
}

const own = (file: string): Row[] => existsSync(join(FIXTURES_DIR, file)) ? readJsonl(join(FIXTURES_DIR, file), 'own/' + file.replace('.jsonl', '')) : []
if (publicRows.length > 0) {
  const all = report('public data, all files', publicRows)
  report('public data, held-out split (never trained on)', publicRows.filter((r) => isHeldOut(r.text)))
  if ((all.tpr ?? 0) < TARGET_TPR) failures.push(`public TPR ${pct(all.tpr)} < ${TARGET_TPR * 100}%`)
  if ((all.fpr ?? 1) > TARGET_FPR) failures.push(`public FPR ${pct(all.fpr)} > ${TARGET_FPR * 100}%`)
  for (const lang of TARGET_LANGS) {
    const l = all.byLang[lang] as { tpr: number | null } | undefined
    if (l === undefined || (l.tpr ?? 0) < TARGET_LANG_TPR) failures.push(`public TPR for ${lang} ${pct(l?.tpr ?? null)} < ${TARGET_LANG_TPR * 100}%`)
  }
}
// Own corpora. The development holdouts were never trained on, but their misses were looked at
// while the rules were written. The final holdout was written before that work and never trained
// on; its first scoring gave 75.0% recall and 14.1% FPR, then its misses were read and general
// fixes followed (rules and training texts, see security/model/README.md), so its figures are no
// longer blind.
report('own attacks.jsonl (dev holdout: never trained, looked at)', own('attacks.jsonl'))
report('own attacks-holdout.jsonl (dev holdout: never trained, looked at)', own('attacks-holdout.jsonl'))
report('own hard-negatives.jsonl (trained on)', own('hard-negatives.jsonl'))
report('own hard-negatives-holdout.jsonl (dev holdout: never trained, looked at)', own('hard-negatives-holdout.jsonl'))
const inSuite = report('hard negatives kept in the test suite (hard-negatives*.jsonl)', [...own('hard-negatives.jsonl'), ...own('hard-negatives-holdout.jsonl')])
const finalAttacks = report('FINAL holdout attacks (never trained; read once, see README)', own('final-holdout-attacks.jsonl'))
const finalNegatives = report('FINAL holdout hard negatives (never trained; read once, see README)', own('final-holdout-hard-negatives.jsonl'))
// Later final holdouts: each written after the previous one was read and before the next round of
// work, scored blind once (figures in security/model/README.md), then read.
const final2Attacks = report('FINAL-2 holdout attacks (never trained; read once, see README)', own('final2-holdout-attacks.jsonl'))
const final2Negatives = report('FINAL-2 holdout hard negatives (never trained; read once, see README)', own('final2-holdout-hard-negatives.jsonl'))
const final3Attacks = report('FINAL-3 holdout attacks (never trained; read once, see README)', own('final3-holdout-attacks.jsonl'))
const final3Negatives = report('FINAL-3 holdout hard negatives (never trained; read once, see README)', own('final3-holdout-hard-negatives.jsonl'))
const final4Attacks = report('FINAL-4 holdout attacks (never trained; read once, see README)', own('final4-holdout-attacks.jsonl'))
const final4Negatives = report('FINAL-4 holdout hard negatives (never trained; read once, see README)', own('final4-holdout-hard-negatives.jsonl'))
report('own train-attacks.jsonl (trained on)', own('train-attacks.jsonl'))
report('own train-hard-negatives.jsonl (trained on)', own('train-hard-negatives.jsonl'))
for (const r of [inSuite, finalNegatives, final2Negatives, final3Negatives, final4Negatives]) if (r.fpr === null || r.fpr > TARGET_FPR) failures.push(`${r.name}: FPR ${pct(r.fpr)} > ${TARGET_FPR * 100}%`)
for (const r of [finalAttacks, final2Attacks, final3Attacks, final4Attacks]) if (r.tpr === null || r.tpr < TARGET_TPR) failures.push(`${r.name}: TPR ${pct(r.tpr)} < ${TARGET_TPR * 100}%`)

// Speed: every text of every corpus, after a warm-up, each timed over a few rounds (best round kept
// to drop GC and scheduler noise); the figure is the median over texts of microseconds per KB.
const timingTexts = [...publicRows, ...own('attacks.jsonl'), ...own('hard-negatives.jsonl')].map((r) => r.text)
for (const t of timingTexts) firewall(t)
const perKb: number[] = []
let totalNs = 0
let totalBytes = 0
for (const t of timingTexts) {
  const bytes = Buffer.byteLength(t)
  let best = Infinity
  for (let k = 0; k < TIMING_ROUNDS; k++) {
    const t0 = process.hrtime.bigint()
    firewall(t)
    best = Math.min(best, Number(process.hrtime.bigint() - t0))
  }
  totalNs += best
  totalBytes += bytes
  perKb.push(best / 1000 / (bytes / 1024))
}
perKb.sort((a, b) => a - b)
const medianUsPerKb = perKb.length === 0 ? 0 : perKb[Math.floor(perKb.length / 2)]
const overallUsPerKb = totalBytes === 0 ? 0 : (totalNs / 1000) / (totalBytes / 1024)
if (medianUsPerKb > TARGET_US_PER_KB) failures.push(`speed ${medianUsPerKb.toFixed(1)} µs/KB > ${TARGET_US_PER_KB}`)

if (asJson) {
  console.log(JSON.stringify({ reports, speed: { medianUsPerKb, overallUsPerKb, texts: perKb.length }, failures }, null, 2))
} else {
  console.log(`\nspeed: median ${medianUsPerKb.toFixed(1)} µs/KB over ${perKb.length} texts (overall ${overallUsPerKb.toFixed(1)} µs/KB)`)
  console.log(failures.length === 0 ? '\nall targets met' : `\ntargets missed:\n  ${failures.join('\n  ')}`)
}
if (failures.length > 0 && !noFail) process.exitCode = 1
