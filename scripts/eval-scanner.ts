// Measures the output scanner on the labelled corpus: recall, false positives, per kind, speed.
//
// Usage: node scripts/eval-scanner.ts [--json] [--no-fail] [--verbose]
// The scanner runs with test/fixtures/scanner/eval-options.json (allowed hosts
// docs.example.com and img.example.org, a fixed canary, boundary and system prompt).
// Targets: recall >= 97 %, false positives <= 1 %, median <= 20 µs per KB; exit 1 when one is missed
// (unless --no-fail). When ../shared/data/prompt-injection/ exists next to the repository, the benign
// texts there are scanned too and reported for information (they are inputs, not model answers).
/* eslint-disable security/detect-non-literal-fs-filename -- reads fixed paths resolved from this file's location */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOutputScanner } from '../security/output-scanner.ts'
import type { ScanOptions } from '../security/output-scanner.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const FIXTURES = resolve(ROOT, 'test/fixtures/scanner')
const SHARED_DATA = resolve(ROOT, '../shared/data/prompt-injection')
const TARGET_RECALL = 0.97
const TARGET_FP = 0.01
const TARGET_US_PER_KB = 20
// why: enough repetitions that a timing is ~0.5 ms, far above the clock's resolution
const MIN_SAMPLE_NS = 500_000n
const WARMUP_ROUNDS = 20
const SAMPLES = 5

interface Item { text: string, label: 'unsafe' | 'safe', kind: string }
interface KindStats { kind: string, label: string, n: number, flagged: number, typeCorrect: number }

const args = new Set(process.argv.slice(2))
const asJson = args.has('--json')
const noFail = args.has('--no-fail')
const verbose = args.has('--verbose')

const options = JSON.parse(readFileSync(resolve(FIXTURES, 'eval-options.json'), 'utf8')) as ScanOptions
const items = readFileSync(resolve(FIXTURES, 'corpus.jsonl'), 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Item)
const scan = createOutputScanner(options)

const kinds = new Map<string, KindStats>()
const misses: Array<{ kind: string, text: string, findings: string[] }> = []
let unsafeTotal = 0
let unsafeFlagged = 0
let unsafeTyped = 0
let safeTotal = 0
let safeFlagged = 0
for (const item of items) {
  const result = scan(item.text)
  const stats = kinds.get(item.kind) ?? { kind: item.kind, label: item.label, n: 0, flagged: 0, typeCorrect: 0 }
  kinds.set(item.kind, stats)
  stats.n++
  if (!result.safe) stats.flagged++
  if (item.label === 'unsafe') {
    unsafeTotal++
    if (!result.safe) unsafeFlagged++
    if (result.findings.includes(item.kind)) { unsafeTyped++; stats.typeCorrect++ }
    if (result.safe) misses.push({ kind: item.kind, text: item.text, findings: result.findings })
  } else {
    safeTotal++
    if (!result.safe) { safeFlagged++; misses.push({ kind: item.kind, text: item.text, findings: result.findings }) }
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Microseconds per KB of one text: the best of SAMPLES samples, each of repeated calls lasting at
 * least MIN_SAMPLE_NS. why the best: other processes on a shared machine only ever add time.
 */
function usPerKb (text: string): number {
  for (let i = 0; i < WARMUP_ROUNDS; i++) scan(text)
  let best = Infinity
  for (let sample = 0; sample < SAMPLES; sample++) {
    let rounds = 0
    const start = process.hrtime.bigint()
    let elapsed = 0n
    do {
      scan(text)
      rounds++
      elapsed = process.hrtime.bigint() - start
    } while (elapsed < MIN_SAMPLE_NS)
    best = Math.min(best, Number(elapsed) / 1000 / rounds)
  }
  return best / (Buffer.byteLength(text) / 1024)
}

const perItem = items.map((item) => usPerKb(item.text))
const safePerItem = items.filter((item) => item.label === 'safe').map((item) => usPerKb(item.text))
const cleanBlob = items.filter((item) => item.label === 'safe').map((item) => item.text).join('\n\n')
const cleanBlobUs = usPerKb(cleanBlob)

// informational: benign documents from the shared prompt-injection data, when present
let external: { files: string[], n: number, flagged: number, byFinding: Record<string, number> } | null = null
if (existsSync(SHARED_DATA)) {
  external = { files: [], n: 0, flagged: 0, byFinding: {} }
  for (const file of ['xquad.jsonl', 'bipia.jsonl', 'deepset.jsonl']) {
    const path = resolve(SHARED_DATA, file)
    if (!existsSync(path)) continue
    external.files.push(file)
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const row = JSON.parse(line) as { text: string, label: string }
      if (row.label !== 'benign') continue
      external.n++
      const result = scan(row.text)
      if (!result.safe) external.flagged++
      for (const finding of result.findings) external.byFinding[finding] = (external.byFinding[finding] ?? 0) + 1
    }
  }
}

const recall = unsafeFlagged / unsafeTotal
const fpRate = safeFlagged / safeTotal
const medianUs = median(perItem)
const report = {
  items: items.length,
  unsafe: unsafeTotal,
  safe: safeTotal,
  recall,
  typeAccuracy: unsafeTyped / unsafeTotal,
  falsePositiveRate: fpRate,
  medianUsPerKb: medianUs,
  medianUsPerKbSafe: median(safePerItem),
  cleanConcatenatedUsPerKb: cleanBlobUs,
  cleanConcatenatedKb: Buffer.byteLength(cleanBlob) / 1024,
  perKind: [...kinds.values()].sort((a, b) => a.label.localeCompare(b.label) || a.kind.localeCompare(b.kind)),
  misses: misses.map((m) => ({ kind: m.kind, findings: m.findings, text: m.text.slice(0, 160) })),
  external,
  targets: { recall: TARGET_RECALL, falsePositiveRate: TARGET_FP, medianUsPerKb: TARGET_US_PER_KB }
}
const failed = recall < TARGET_RECALL || fpRate > TARGET_FP || medianUs > TARGET_US_PER_KB

if (asJson) {
  console.log(JSON.stringify(report, null, 2))
} else {
  const pct = (x: number): string => (x * 100).toFixed(1) + '%'
  console.log(`corpus: ${items.length} items (${unsafeTotal} unsafe, ${safeTotal} safe)`)
  console.log(`recall:              ${pct(recall)} (${unsafeFlagged}/${unsafeTotal})   target >= ${pct(TARGET_RECALL)}`)
  console.log(`finding type right:  ${pct(unsafeTyped / unsafeTotal)} (${unsafeTyped}/${unsafeTotal})`)
  console.log(`false positives:     ${pct(fpRate)} (${safeFlagged}/${safeTotal})   target <= ${pct(TARGET_FP)}`)
  console.log(`median µs per KB:    ${medianUs.toFixed(2)} (all items), ${report.medianUsPerKbSafe.toFixed(2)} (safe items)   target <= ${TARGET_US_PER_KB}`)
  console.log(`clean text, ${report.cleanConcatenatedKb.toFixed(1)} KB in one answer: ${cleanBlobUs.toFixed(2)} µs per KB`)
  console.log('\nper kind (flagged / n, finding type right):')
  for (const stats of report.perKind) {
    console.log(`  ${stats.label.padEnd(6)} ${stats.kind.padEnd(38)} ${String(stats.flagged).padStart(3)}/${String(stats.n).padEnd(3)} ${stats.label === 'unsafe' ? `type ${stats.typeCorrect}/${stats.n}` : ''}`)
  }
  if (misses.length > 0) {
    console.log('\nmisses and false positives:')
    for (const m of misses) console.log(`  [${m.kind}] ${JSON.stringify(verbose ? m.text : m.text.slice(0, 100))} -> ${JSON.stringify(m.findings)}`)
  }
  if (external !== null) {
    console.log(`\nshared benign texts (${external.files.join(', ')}; inputs, not answers): ${external.flagged}/${external.n} flagged ${JSON.stringify(external.byFinding)}`)
  } else {
    console.log('\nshared benign texts: skipped (../shared/data/prompt-injection not found)')
  }
  console.log(failed ? '\nRESULT: target missed' : '\nRESULT: all targets met')
}
if (failed && !noFail) process.exitCode = 1
