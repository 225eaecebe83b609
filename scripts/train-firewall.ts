// Trains the prompt firewall's hashed linear model and its signal weights; writes security/model/firewall-model.json.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { normalizeViews } from '../security/normalize.ts'
import {
  FEATURE_BITS, WINDOW_CHARS, WINDOW_STRIDE, RULE_CATEGORIES, bucketFeatures, conceptFeatures, windowRanges,
  scanCues, scanStructure, scanExfiltration
} from '../security/firewall-signals.ts'
import type { RuleHits } from '../security/firewall-signals.ts'
import { mulberry32 } from './seeded-random.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PUBLIC_DIR = join(ROOT, '..', 'shared', 'data', 'prompt-injection')
const FIXTURES_DIR = join(ROOT, 'test', 'fixtures', 'firewall')
const MODEL_PATH = join(ROOT, 'security', 'model', 'firewall-model.json')
// Own corpora the trainer may use. attacks.jsonl and every *-holdout.jsonl (development and final
// ones) are never read here.
const OWN_TRAINING_FILES = ['hard-negatives.jsonl', 'train-hard-negatives.jsonl', 'train-attacks.jsonl']

const SEED = 20240611
const EPOCHS = 20
const LEARNING_RATE = 1
const L2 = 1e-6

const EMPTY_WEIGHTS = new Float32Array(0)
// Same clamp as security/firewall.ts.
const MODEL_LOGIT_LIMIT = 8
// why 5 folds: each out-of-fold model still sees 80% of the data, and training stays near a minute
const FOLDS = 5
// why 3: the own corpora are small next to the public data but hold the cases that matter most
const OWN_WEIGHT = 3
const OWN_SAMPLE_WEIGHT = 2
// Out-of-fold false-positive limits for the grid search. why above the 2% target: out of fold the
// model has not seen the hard negatives' own sentences, so these rates overstate what the final
// model does on its training data; why looser for public texts: out of fold the model misses the
// memorised near-duplicates (about 4% out of fold came out near 1% on all public files).
const OWN_MAX_FPR = 0.03
const PUBLIC_MAX_FPR = 0.04
const GRID_MODEL = [0.6, 0.8, 1, 1.2, 1.5]
const GRID_RULE = [0, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5]
// The model alone must reject at least this share of the public training attacks out of fold,
// which keeps the public attacks that no rule describes detected (the public all-files target).
// why a share, not a fixed logit: the concept features changed the logits' scale; 72% is where
// the earlier fixed cap (logit 2.3) sat out of fold
const MODEL_ONLY_PUBLIC_RECALL = 0.76
// Rule categories whose full-strength hit must reject on its own when the model's logit is 0.
// why these two: their strong rules are precise ("ignore all previous instructions", "send the
// conversation history to https://..."), and the model alone misses some of them out of fold
const SELF_SUFFICIENT_RULES: readonly string[] = ['override', 'exfiltration']
// Candidate floors for the model's logit (see security/firewall.ts).
const MODEL_FLOORS = [-1, -0.5, 0]

interface Row { text: string, label: 'injection' | 'benign', lang: string, source: string, group?: string }
interface Example { index: Int32Array, value: number, y: number, weight: number }
interface Doc { y: number, windows: Example[] }

/** Same split as scripts/eval-firewall.ts: a fifth of the public data, chosen by text hash, is held out. */
export function isHeldOut (text: string): boolean {
  return createHash('sha256').update(text).digest()[0] % 5 === 0
}

function readJsonl (path: string, source?: string): Row[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
    const r = JSON.parse(l)
    // group: texts built from one sentence share it, so cross-fitting keeps them in one fold
    return { text: r.text, label: r.label, lang: r.lang ?? 'unknown', source: r.source ?? source ?? r.kind ?? 'own', group: r.group }
  })
}

function commonPrefix (a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}
function commonSuffix (a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++
  return i
}

/**
 * The public "embedded" texts are benign documents with an attack inserted at the start, middle
 * or end. Finding the document around it isolates the attack, which then trains as a positive
 * of its own: the model learns the attack, not the e-mail or article it was hidden in.
 */
function isolateInsertedAttack (text: string, benignTexts: string[]): string | null {
  let best: string | null = null
  let bestLength = 0
  for (const b of benignTexts) {
    if (b.length <= bestLength || b.length >= text.length) continue
    const p = commonPrefix(text, b)
    if (p < 20 && commonSuffix(text, b) < 20) continue
    const s = commonSuffix(text, b)
    if (p + s >= b.length) {
      best = text.slice(Math.min(p, text.length - s), text.length - s).trim()
      bestLength = b.length
    }
  }
  return best !== null && best.length >= 10 ? best : null
}

/** Windows of one view exactly as security/firewall.ts scores them. */
function viewWindows (view: string, y: number, weight: number): Example[] {
  const buckets = Math.max(1, Math.ceil(view.length / WINDOW_STRIDE))
  const perBucket: number[][] = Array.from({ length: buckets }, () => [])
  const sums = new Float64Array(buckets)
  const counts = new Float64Array(buckets)
  bucketFeatures(view, EMPTY_WEIGHTS, sums, counts, perBucket)
  // concept features come from the cue scan of the same view, as in security/firewall.ts
  scanCues(view, new Map())
  conceptFeatures(EMPTY_WEIGHTS, sums, counts, perBucket)
  const out: Example[] = []
  for (const [start, end] of windowRanges(buckets)) {
    const idx: number[] = []
    for (let b = start; b < end; b++) idx.push(...perBucket[b])
    out.push({ index: Int32Array.from(idx), value: 1 / Math.sqrt(Math.max(idx.length, 1)), y, weight })
  }
  return out
}

function makeDoc (row: Row): Doc {
  const { folded, views } = normalizeViews(row.text)
  const y = row.label === 'injection' ? 1 : 0
  const windows: Example[] = []
  // why heavier own texts: they are few next to the public ones but hold the hard negatives and
  // reworded attacks the public data lacks
  const weight = row.source.startsWith('own/') ? OWN_SAMPLE_WEIGHT : 1
  for (const view of [folded, ...views]) windows.push(...viewWindows(view, y, weight))
  return { y, windows }
}

interface Model { w: Float32Array, bias: number }

function score (model: Model, ex: Example): number {
  let s = 0
  for (let k = 0; k < ex.index.length; k++) s += model.w[ex.index[k]]
  return model.bias + s * ex.value
}

function sgd (examples: Example[], seed: number): Model {
  const w = new Float32Array(1 << FEATURE_BITS)
  let bias = 0
  const pos = examples.filter((e) => e.y === 1).length
  const neg = examples.length - pos
  // why: balanced classes, so the many benign windows do not drown the few attacks
  const weightPos = examples.length / (2 * Math.max(pos, 1))
  const weightNeg = examples.length / (2 * Math.max(neg, 1))
  const random = mulberry32(seed)
  const order = examples.map((_, i) => i)
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const t = order[i]
      order[i] = order[j]
      order[j] = t
    }
    const lr = LEARNING_RATE / (1 + 0.3 * epoch)
    for (const i of order) {
      const ex = examples[i]
      const z = score({ w, bias }, ex)
      const p = 1 / (1 + Math.exp(-z))
      const g = (p - ex.y) * (ex.y === 1 ? weightPos : weightNeg) * ex.weight
      const step = lr * g * ex.value
      for (let k = 0; k < ex.index.length; k++) {
        const f = ex.index[k]
        w[f] -= step + lr * L2 * w[f]
      }
      bias -= lr * g * 0.1
    }
  }
  return { w, bias }
}

/** Multiple-instance training: benign docs give all their windows; an attack gives its most suspicious window. */
function trainModel (docs: Doc[], seed: number): Model {
  const negatives = docs.filter((d) => d.y === 0).flatMap((d) => d.windows)
  const shortPositives = docs.filter((d) => d.y === 1 && d.windows.length === 1).map((d) => d.windows[0])
  let model = sgd([...negatives, ...shortPositives], seed)
  for (let round = 0; round < 2; round++) {
    const positives = docs.filter((d) => d.y === 1).map((d) => {
      let best = d.windows[0]
      let bestScore = -Infinity
      for (const ex of d.windows) {
        const s = score(model, ex)
        if (s > bestScore) {
          bestScore = s
          best = ex
        }
      }
      return best
    })
    model = sgd([...negatives, ...positives], seed + round + 1)
  }
  return model
}

/**
 * Obfuscation weights are set, not searched: the training data holds too few obfuscated texts to
 * fit them. The model and rule weights below are starting values; searchStack() replaces them.
 */
const SIGNAL_WEIGHTS: Record<string, number> = {
  model: 1,
  override: 2.5,
  persona: 2.5,
  'prompt-extraction': 2.5,
  'fake-structure': 2.5,
  exfiltration: 2.5,
  'addressed-to-ai': 2.5,
  // tag characters are invisible ASCII and have no innocent use in prose; the others do occur.
  // why 1 for zero-width and bidi: pasted text carries both, and together they must not reject a
  // text the model finds benign (they are removed before use)
  'obfuscation:zero-width': 1,
  'obfuscation:bidi': 1,
  'obfuscation:tag-chars': 3,
  'obfuscation:homoglyph': 1,
  'obfuscation:leetspeak': 1,
  'obfuscation:letter-spacing': 1,
  'obfuscation:base64': 0.5,
  'obfuscation:rot13': 1,
  'obfuscation:reversed': 1
}

function round3 (x: number): number {
  return Math.round(x * 1000) / 1000
}

// Rule and obfuscation signals of a text, exactly as security/firewall.ts collects them (without the model).
interface SignalRow { y: number, rules: Float64Array, offset: number, own: boolean, publicBenign: boolean }
const RULE_INDEX = new Map<string, number>(RULE_CATEGORIES.map((c, i) => [c, i]))

function ruleSignals (row: Row): SignalRow {
  const { folded, views, signals } = normalizeViews(row.text)
  const hits: RuleHits = new Map()
  for (const view of [folded, ...views]) {
    scanStructure(view, hits, scanCues(view, hits))
    scanExfiltration(view, hits)
  }
  const rules = new Float64Array(RULE_CATEGORIES.length)
  for (const [category, strength] of hits) rules[RULE_INDEX.get(category) ?? 0] = strength
  let offset = 0
  for (const name of signals) offset += SIGNAL_WEIGHTS[name] ?? 0
  return { y: row.label === 'injection' ? 1 : 0, rules, offset, own: row.source.startsWith('own/'), publicBenign: row.label === 'benign' && !row.source.startsWith('own/') }
}

/** The model's logit for a document as the firewall computes it: the best window of any view, clamped. */
function docLogit (model: Model, doc: Doc): number {
  let best = -Infinity
  for (const ex of doc.windows) best = Math.max(best, score(model, ex))
  return Math.max(-MODEL_LOGIT_LIMIT, Math.min(MODEL_LOGIT_LIMIT, best))
}

/** Fold of a row for cross-fitting; an isolated attack shares the fold of the document it came from. */
function foldOf (row: Row): number {
  return createHash('sha256').update(row.group ?? row.text).digest()[1] % FOLDS
}

interface Stack { bias: number, model: number, floor: number, rules: number[] }

function stackLogit (st: Stack, logit: number, sig: SignalRow): number {
  let z = st.bias + st.model * Math.max(logit, st.floor) + sig.offset
  for (let k = 0; k < st.rules.length; k++) z += st.rules[k] * sig.rules[k]
  return z
}

/**
 * Chooses the signal weights (bias, model weight, model floor, one weight shared by the rule
 * categories) by a grid search on out-of-fold model logits, so the choice reflects how far the
 * model can be trusted on texts it has not seen. Objective: recall on the training attacks (own
 * ones weigh OWN_WEIGHT times more: they hold the cases the public data lacks), subject to
 * out-of-fold false-positive rates of at most OWN_MAX_FPR on the own hard negatives and
 * PUBLIC_MAX_FPR on the public benign texts. A logistic fit was tried first: the rules fire on
 * hard negatives and the model explains the public attacks, so it drove rule weights to zero and
 * let a confident "benign" from the model cancel any rule, which failed on unseen attacks.
 * Calibrated on training data only.
 */
/** The highest bias meeting both false-positive limits for the other weights of `st`; null if none does. */
function fitBias (st: Stack, logits: Float64Array, sigs: SignalRow[], ownNeg: number, pubNeg: number): number | null {
  const negZ: Array<[number, boolean]> = []
  for (let i = 0; i < sigs.length; i++) if (sigs[i].y === 0) negZ.push([stackLogit({ ...st, bias: 0 }, logits[i], sigs[i]), sigs[i].own])
  negZ.sort((x, y) => y[0] - x[0])
  let ownFp = 0
  let pubFp = 0
  for (const [z, own] of negZ) {
    // a negative is rejected when bias + z >= 0: stop just before the one that breaks a limit
    if (own ? (ownFp + 1) / ownNeg > OWN_MAX_FPR : (pubFp + 1) / pubNeg > PUBLIC_MAX_FPR) return -z - 1e-6
    if (own) ownFp++
    else pubFp++
  }
  return null
}

function objective (st: Stack, logits: Float64Array, sigs: SignalRow[]): number {
  let score = 0
  for (let i = 0; i < sigs.length; i++) {
    if (sigs[i].y === 1 && stackLogit(st, logits[i], sigs[i]) >= 0) score += sigs[i].own ? OWN_WEIGHT : 1
  }
  return score
}

function searchStack (logits: Float64Array, sigs: SignalRow[], requireSelfSufficient: boolean): Stack | null {
  const ownNeg = sigs.filter((x) => x.y === 0 && x.own).length
  const pubNeg = sigs.filter((x) => x.publicBenign).length
  const found: { best: Stack | null, score: number } = { best: null, score: -1 }
  const publicAttackLogits = sigs.map((x, i) => x.y === 1 && !x.own ? logits[i] : NaN).filter((z) => !Number.isNaN(z)).sort((a, b) => b - a)
  const modelOnlyMax = publicAttackLogits[Math.floor(MODEL_ONLY_PUBLIC_RECALL * (publicAttackLogits.length - 1))]
  console.log(`model alone must reject from logit ${modelOnlyMax.toFixed(2)}`)
  const consider = (st: Stack): void => {
    const bias = fitBias(st, logits, sigs, ownNeg, pubNeg)
    // why the cap: the model alone must still reject above modelOnlyMax, or the public attacks
    // that no rule describes would pass
    if (bias === null || -bias / st.model > modelOnlyMax) return
    // why: a full-strength rule ("send the conversation history to https://...") must reject on its
    // own when the model is undecided (logit 0); the rules carry over to unseen texts, the model less
    const neutral = bias + st.model * Math.max(st.floor, 0)
    if (requireSelfSufficient && st.rules.some((w, k) => SELF_SUFFICIENT_RULES.includes(RULE_CATEGORIES[k]) && neutral + w < 0)) return
    const candidate = { ...st, rules: [...st.rules], bias }
    const score = objective(candidate, logits, sigs)
    if (score > found.score) {
      found.score = score
      found.best = candidate
    }
  }
  for (const floor of MODEL_FLOORS) {
    for (const model of GRID_MODEL) {
      for (const rule of GRID_RULE) consider({ bias: 0, model, floor, rules: RULE_CATEGORIES.map(() => rule) })
    }
  }
  if (found.best === null) return null
  // then one weight per rule category, a coordinate at a time
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < RULE_CATEGORIES.length; k++) {
      for (const w of GRID_RULE) {
        const st = found.best
        const rules = [...st.rules]
        rules[k] = w
        consider({ ...st, rules })
      }
    }
  }
  return found.best
}

function rates (st: Stack, logits: Float64Array, sigs: SignalRow[]): string {
  const count = (f: (x: SignalRow) => boolean): string => {
    let n = 0
    let hit = 0
    for (let i = 0; i < sigs.length; i++) {
      if (!f(sigs[i])) continue
      n++
      if (stackLogit(st, logits[i], sigs[i]) >= 0) hit++
    }
    return `${(100 * hit / Math.max(n, 1)).toFixed(1)}% of ${n}`
  }
  return `recall own ${count((x) => x.y === 1 && x.own)}, public ${count((x) => x.y === 1 && !x.own)}; ` +
    `FPR own ${count((x) => x.y === 0 && x.own)}, public ${count((x) => x.publicBenign)}`
}

function main (): void {
  if (!existsSync(PUBLIC_DIR)) {
    console.error(`public data not found at ${PUBLIC_DIR}: cannot train`)
    process.exit(1)
  }
  const rows: Row[] = []
  const allPublic: Row[] = []
  for (const file of readdirSync(PUBLIC_DIR).filter((f) => f.endsWith('.jsonl')).sort()) allPublic.push(...readJsonl(join(PUBLIC_DIR, file)))
  rows.push(...allPublic.filter((r) => !isHeldOut(r.text)))
  const publicCount = rows.length
  // why only benign texts as anchors: they locate the attack; no held-out injection is read
  const benignTexts = allPublic.filter((r) => r.label === 'benign').map((r) => r.text)
  let isolated = 0
  for (const r of rows.slice(0, publicCount)) {
    if (r.label !== 'injection' || !r.source.startsWith('embedded/')) continue
    const attack = isolateInsertedAttack(r.text, benignTexts)
    if (attack !== null) {
      rows.push({ text: attack, label: 'injection', lang: r.lang, source: 'isolated/' + r.source, group: r.text })
      isolated++
    }
  }
  console.log(`isolated ${isolated} inserted attacks`)
  for (const file of OWN_TRAINING_FILES) {
    const path = join(FIXTURES_DIR, file)
    if (existsSync(path)) rows.push(...readJsonl(path, 'own/' + file))
  }
  console.log(`training rows: ${rows.length} (public train split ${publicCount}, own ${rows.length - publicCount})`)
  const started = Date.now()
  const docs = rows.map(makeDoc)
  console.log(`featurized in ${Date.now() - started} ms; windows: ${docs.reduce((n, d) => n + d.windows.length, 0)}`)

  // Cross-fitting: every training text gets a logit from a model that did not see it.
  const folds = rows.map(foldOf)
  const oof = new Float64Array(rows.length)
  for (let f = 0; f < FOLDS; f++) {
    const m = trainModel(docs.filter((_, i) => folds[i] !== f), SEED + 100 * (f + 1))
    for (let i = 0; i < rows.length; i++) if (folds[i] === f) oof[i] = docLogit(m, docs[i])
    console.log(`fold ${f + 1}/${FOLDS} done at ${Date.now() - started} ms`)
  }
  const sigs = rows.map(ruleSignals)
  for (const t of [1, 2, 3, 4]) {
    const only: Stack = { bias: -t, model: 1, floor: -8, rules: RULE_CATEGORIES.map(() => 0) }
    console.log(`model alone at logit ${t}: ${rates({ ...only }, oof, sigs.map((x) => ({ ...x, offset: 0 })))}`)
  }
  // why the fallback: with the self-sufficiency condition no weights may meet the limits
  const stack = searchStack(oof, sigs, true) ?? searchStack(oof, sigs, false)
  if (stack === null) throw new Error('no signal weights meet the false-positive limits')
  console.log(`out of fold: ${rates(stack, oof, sigs)}; floor ${stack.floor}`)
  const model = trainModel(docs, SEED)
  let max = 0
  for (const v of model.w) max = Math.max(max, Math.abs(v))
  const scale = max / 127
  const q = new Int8Array(model.w.length)
  for (let i = 0; i < q.length; i++) q[i] = Math.round(model.w[i] / scale)

  const signalWeights: Record<string, number> = { ...SIGNAL_WEIGHTS, model: round3(stack.model) }
  RULE_CATEGORIES.forEach((c, k) => { signalWeights[c] = round3(stack.rules[k]) })
  const out = {
    format: 2,
    featureBits: FEATURE_BITS,
    windowChars: WINDOW_CHARS,
    windowStride: WINDOW_STRIDE,
    trainedOn: { publicTrainRows: publicCount, ownRows: rows.length - publicCount, seed: SEED, epochs: EPOCHS },
    bias: model.bias,
    scale,
    signalBias: round3(stack.bias),
    modelLogitFloor: stack.floor,
    signalWeights,
    weights: Buffer.from(q.buffer).toString('base64')
  }
  writeFileSync(MODEL_PATH, JSON.stringify(out) + '\n')
  console.log('signal weights:', JSON.stringify({ bias: out.signalBias, ...signalWeights }))
  console.log(`wrote ${MODEL_PATH} (${Math.round(JSON.stringify(out).length / 1024)} KB) in ${Date.now() - started} ms`)
}

main()
