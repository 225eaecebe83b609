// Output scanner: decides whether an upstream (LLM) answer may reach the client or must be discarded.
import { domainToASCII } from 'node:url'
import { AWS_SECRET_ANCHOR_WORDS, TOKEN_PREFIX_WORDS, awsSecretKeyAt, looksRandom, scanStructuredSecrets, tokenAt } from './secret-patterns.ts'
import type { AddFinding } from './secret-patterns.ts'

/** Per-deployment and per-request facts the scanner compares the output against. */
export interface ScanOptions {
  /** Hosts that output may link to or load images from; subdomains included. Empty: none. */
  allowedHosts?: readonly string[]
  /** The request's canary token: it must never appear in the output. */
  canary?: string
  /** The fixed system prompt: long verbatim runs of it must not appear in the output. */
  systemPrompt?: string
  /** The request's data boundary marker: it must not appear in the output. */
  boundary?: string
}

/** `findings` holds finding types ('secret:jwt', 'html:script', …), never the matched text. */
export interface ScanResult {
  safe: boolean
  findings: string[]
}

// why: zero-width and bidi characters can split a token or a keyword without changing what a
// reader (or a copy-paste) sees; removing them first makes every later check see the real text.
// The word pass detects them (isInvisible) so that clean text costs no extra pass.
const INVISIBLE_RE = /\u034F|[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g

/** Same set as INVISIBLE_RE. */
function isInvisible (c: number): boolean {
  return c === 0xAD || c === 0x34F || c === 0x61C || c === 0x180E || (c >= 0x200B && c <= 0x200F) ||
    (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c === 0xFEFF
}

// why 8: the firewall's canaries and boundaries are random strings; a short one would match prose.
const MIN_MARKER_LENGTH = 8
// why 12: the random core of a marker (e.g. the hex in `CANARY-5e1f…`) is what a model may echo alone.
const MIN_MARKER_CORE = 12
// why 8 words: long enough that ordinary prose never repeats a sentence of the prompt by chance,
// short enough to catch a paraphrase that keeps a clause verbatim.
const SHINGLE_WORDS = 8
// why 4: a shorter prompt is checked as a whole only when it has at least this many words.
const MIN_PROMPT_WORDS = 4

// Bases to resolve relative URLs against, never fetched (.invalid); two, because an http page
// resolves `https:host` as absolute where an https page finds it relative.
const RELATIVE_BASES = ['https://relative.microgate.invalid/', 'http://relative.microgate.invalid/']
const RELATIVE_HOST = 'relative.microgate.invalid'

// ---------------------------------------------------------------------------------------------
// Options

function normalizeHosts (hosts: unknown): string[] {
  if (hosts === undefined) return []
  if (!Array.isArray(hosts)) throw new TypeError('output scanner: allowedHosts must be an array of host names (OUTPUT_ALLOWED_HOSTS, comma-separated)')
  const out: string[] = []
  for (const raw of hosts) {
    if (typeof raw !== 'string') throw new TypeError('output scanner: every allowedHosts entry must be a string')
    const trimmed = raw.trim().toLowerCase().replace(/\.$/, '')
    if (trimmed === '') continue
    if (/[/:@*?#\s\\]/.test(trimmed)) {
      throw new TypeError(`output scanner: allowedHosts entry "${raw}" must be a bare host name such as docs.example.com (no scheme, port, path or wildcard; subdomains are allowed automatically)`)
    }
    const ascii = domainToASCII(trimmed)
    if (ascii === '') throw new TypeError(`output scanner: allowedHosts entry "${raw}" is not a valid host name`)
    out.push(ascii)
  }
  return out
}

function normalizeMarker (name: string, value: unknown): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string' || value.trim().length < MIN_MARKER_LENGTH) {
    throw new TypeError(`output scanner: ${name} must be a string of at least ${MIN_MARKER_LENGTH} characters (use a random token)`)
  }
  return value
}

/** A marker as lowercase alphanumerics, plus its random-looking cores, all matched loosely. */
interface Marker {
  readonly exact: string
  /** Lowercase alphanumerics only, matched in any case and with separators ("M G C - 7 f…"). */
  readonly compact: string
  /** Random-looking alphanumeric runs (the part a model may echo alone), lowercase. */
  readonly cores: string[]
}

const MARKER_CORE_RE = /[A-Za-z0-9]{12,}/g
const NOT_ALNUM_RE = /[^a-z0-9]/g

function buildMarker (name: string, value: string): Marker {
  const compact = value.toLowerCase().replace(NOT_ALNUM_RE, '')
  if (compact.length < MIN_MARKER_LENGTH) {
    throw new TypeError(`output scanner: ${name} must hold at least ${MIN_MARKER_LENGTH} letters or digits (use a random token)`)
  }
  const cores: string[] = []
  for (const match of value.matchAll(MARKER_CORE_RE)) {
    if (match[0].length >= MIN_MARKER_CORE && looksRandom(match[0])) cores.push(match[0].toLowerCase())
  }
  return { exact: value, compact, cores }
}

/** Lowercases ASCII and Latin-1 capitals; enough for case-insensitive matching without toLowerCase(). */
function foldCode (c: number): number {
  if (c >= 65 && c <= 90) return c + 32
  if (c >= 0xC0 && c <= 0xDE && c !== 0xD7) return c + 32
  return c
}

function isSeparator (c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 45 || c === 95 || c === 46 || c === 96 || c === 42
}

// why 3: "c-a-n-a-r-y", "c a n" or "**c**" spelling; more separators than that is no longer a word.
const MAX_SEPARATORS = 3

function matchesAt (text: string, at: number, compact: string): boolean {
  let p = at + 1
  for (let k = 1; k < compact.length; k++) {
    const want = compact.charCodeAt(k)
    let skipped = 0
    while (p < text.length && foldCode(text.charCodeAt(p)) !== want && isSeparator(text.charCodeAt(p))) {
      if (++skipped > MAX_SEPARATORS) return false
      p++
    }
    if (p >= text.length || foldCode(text.charCodeAt(p)) !== want) return false
    p++
  }
  return true
}

/** The compact marker in any case, with up to 3 separators between characters. Linear in text × marker. */
function containsMarker (text: string, compact: string): boolean {
  const lower = compact[0]
  const upper = lower.toUpperCase()
  for (const first of lower === upper ? [lower] : [lower, upper]) {
    let at = text.indexOf(first)
    while (at !== -1) {
      if (matchesAt(text, at, compact)) return true
      at = text.indexOf(first, at + 1)
    }
  }
  return false
}

function leaksMarker (text: string, marker: Marker): boolean {
  // why exact only without a random core: loose matching of a word-like marker
  // ("=====BOUNDARY=====") would flag prose that uses the word
  if (marker.cores.length === 0) return text.includes(marker.exact) || text.toLowerCase().includes(marker.exact.toLowerCase())
  // why cores alone when there are some: the full marker contains them, and a core usually
  // starts with a digit, rare in prose, so its search is cheap
  for (const core of marker.cores) if (containsMarker(text, core)) return true
  return false
}

// ---------------------------------------------------------------------------------------------
// One pass over the words of the answer: system-prompt shingles and "obeyed the data" phrases.
// Words are hashed (32-bit FNV-1a of case-folded characters) as they are read; strings are
// built only on a hit, so clean prose costs one character loop.

// Case-folded code of each ASCII word character (letters and digits), 0 for every other ASCII code.
const WORD_FOLD = new Uint8Array(128)
for (let c = 48; c <= 57; c++) WORD_FOLD[c] = c
for (let c = 97; c <= 122; c++) WORD_FOLD[c] = c
for (let c = 65; c <= 90; c++) WORD_FOLD[c] = c + 32
const FNV_OFFSET = 0x811C9DC5
const FNV_PRIME = 0x01000193
// why 16 bits: a 64 KB bitmap rejects almost every word that is not in a small vocabulary in one read
const BITMAP_MASK = 0xFFFF

/** The case-folded code of a word character, or 0 for a separator. */
function wordFold (c: number): number {
  if (c < 128) return WORD_FOLD[c]
  // why: general punctuation, CJK punctuation, no-break space and BOM separate words in every script
  if (c === 0xA0 || (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) || c === 0xFEFF) return 0
  return foldCode(c)
}

function isWordCode (c: number): boolean {
  return wordFold(c) !== 0
}

/** The hashes and bounds of every word of `text` (used at construction only). */
function words (text: string): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = []
  let i = 0
  while (i < text.length) {
    if (!isWordCode(text.charCodeAt(i))) { i++; continue }
    const start = i
    let hash = FNV_OFFSET
    while (i < text.length && isWordCode(text.charCodeAt(i))) hash = Math.imul(hash ^ wordFold(text.charCodeAt(i++)), FNV_PRIME)
    out.push([hash, start, i])
  }
  return out
}

// ----- anchors: words at which a check runs

/** A check run at an anchor word [start, end); returns where the word pass resumes (>= end). */
type AnchorCheck = (text: string, start: number, end: number, add: AddFinding) => number
const ANCHORS = new Map<number, AnchorCheck>()
// bit 1 of a word bitmap: the word may be an anchor (bit 2: it may be in the system prompt)
const ANCHOR_BIT = 1
const VOCABULARY_BIT = 2
const ANCHOR_BITS = new Uint8Array(BITMAP_MASK + 1)

function addAnchor (word: string, check: AnchorCheck): void {
  const [[hash]] = words(word)
  ANCHORS.set(hash, check)
  ANCHOR_BITS[hash & BITMAP_MASK] = ANCHOR_BIT
}

// Each rule: the words that anchor it and a sticky, case-insensitive pattern that starts at the
// anchor word (left context in a lookbehind). Patterns run only where an anchor word stands.
const OBEYED_RULES: ReadonlyArray<readonly [readonly string[], RegExp]> = [
  // en
  [['been'], /(?<=\b(?:i|we|you)(?:['’]ve| have| has) )been (?:pwned|hacked|jailbroken)\b/iy],
  [['developer'], /developer mode (?:enabled|activated|output|is (?:now )?(?:enabled|active|on))\b/iy],
  [['jailbreak', 'jailbroken'], /(?:jailbreak (?:successful|succeeded|complete|mode (?:enabled|activated|on))\b|(?<=\bi(?:['’]m| am) (?:now )?)jailbroken\b)/iy],
  [['instructions'], /(?:(?<=\bmy (?:initial|original|hidden|secret) )instructions (?:is|are|was|were|say|says|read|reads|state|states)\b|(?<=\bhere(?: is|['’]s| are) (?:my|the) (?:full |complete |entire |exact )?(?:initial|original|hidden|secret) )instructions\b)/iy],
  // en, es, fr, de, it, pt: "(I am) ignoring the previous instructions"
  [['ignoring', 'ignore', 'ignorando', 'ignoraré', 'ignorare', 'ignorant', 'ignorerai', 'ignoriere', 'ignoro', 'ignorerò'],
    /(?:ignoring (?:all |the |my |your |any )?(?:previous|prior|above|earlier|original|system) (?:instructions|rules|prompts?)\b|(?<=\bi(?:['’]ll| will| am going to| shall) (?:now )?)ignore (?:all |the |my |your |any )?(?:previous|prior|above|earlier|original|system) (?:instructions|rules|prompts?)\b|ignorando (?:todas )?(?:las |mis |tus )?instrucciones (?:anteriores|previas|originales)|ignorar[ée] (?:todas )?(?:las |mis |tus )?instrucciones (?:anteriores|previas|originales)|(?<=\ben |\bj['’])ignor(?:ant|e|erai) (?:toutes )?(?:les |mes |vos )?instructions (?:précédentes|antérieures|initiales)|(?<=\bich )ignoriere (?:alle )?(?:vorherigen|bisherigen|früheren|ursprünglichen) (?:anweisungen|instruktionen)|(?:ignorando|ignoro|ignorerò) (?:tutte )?le (?:mie )?istruzioni (?:precedenti|originali)|ignorando (?:todas )?as (?:minhas )?instruções (?:anteriores|originais))/iy],
  // en, es, fr, de, it, pt: "my system prompt is" / "here is my system prompt"
  [['prompt', 'systemprompt'],
    /(?:(?<=\bmy (?:system|initial|original) )prompt (?:is|are|was|were|says|reads|states)\b|(?<=\bhere(?: is|['’]s| are) (?:my|the) (?:full |complete |entire |exact )?(?:system|initial|original) )prompt\b|(?<=\bmi )prompt (?:del|de) sistema|(?<=\bmon )prompt (?:système|systeme)|(?<=\bmein system-?)prompt|(?<=\bmein )systemprompt|(?<=\bmio )prompt di sistema|(?<=\bmeu )prompt (?:do|de) sistema)/iy],
  // es
  [['sido'], /(?<=\b(?:he|hemos|has) )sido (?:pwned|hackead[oa]s?|pirateado|jaqueado)/iy],
  [['desarrollador'], /(?<=\bmodo (?:de )?)desarrollador (?:activado|habilitado)/iy],
  // fr
  [['été'], /(?<=\bj['’]ai )été (?:pwned|piraté|hacké)/iy],
  [['développeur'], /(?<=\bmode )développeur (?:activé|active)/iy],
  // de
  [['wurde'], /(?<=\bich )wurde (?:gepwnt|gehackt|pwned)/iy],
  [['entwicklermodus'], /entwicklermodus (?:aktiviert|aktiv)/iy],
  // it
  [['stato', 'stata'], /(?<=\bsono )stat[oa] (?:pwned|hackerat[oa])/iy],
  [['sviluppatore'], /(?<=\bmodalità )sviluppatore (?:attivata|abilitata)/iy],
  // pt
  [['fui'], /(?<![a-z])fui (?:pwned|hackead[oa]|invadid[oa])/iy],
  [['desenvolvedor'], /(?<=\bmodo (?:de )?)desenvolvedor ativado/iy]
]
for (const [anchors, pattern] of OBEYED_RULES) {
  const check: AnchorCheck = (text, start, end, add) => {
    pattern.lastIndex = start
    if (pattern.test(text)) add('obeyed-data')
    return end
  }
  for (const anchor of anchors) addAnchor(anchor, check)
}

// Case-sensitive shouts of the classic injection payloads: "HACKED" or "PWNED" alone on a line
// (decoration allowed), "I have been PWNED", "as DAN", "DAN Mode", "DAN:".
const SHOUT_DECORATION = new Set([32, 9, 42, 35, 62, 95, 45, 33, 46]) // space tab * # > _ - ! .
const SHOUT_PHRASE_RE = /\bI have been PWNED\b|\b(?:[Aa]s|[Aa]m|I'm|I am) DAN\b|\bDAN(?: Mode| mode enabled|:)/
// why 16: room for "I have been " or "I'm " before the word and " mode enabled" after it
const SHOUT_WINDOW = 16

/** Only decoration between `from` and the line edge in direction `step`; linear in the decoration. */
function aloneOnLine (text: string, from: number, step: number): boolean {
  for (let p = from; p >= 0 && p < text.length; p += step) {
    const c = text.charCodeAt(p)
    if (c === 10) return true
    if (!SHOUT_DECORATION.has(c)) return false
  }
  return true
}

function shoutAt (text: string, start: number, end: number, word: string): boolean {
  if (!text.startsWith(word, start)) return false
  if (word !== 'DAN') {
    const lead = text.startsWith('I have been ', start - 12) ? start - 12 : start
    if (aloneOnLine(text, lead - 1, -1) && aloneOnLine(text, end, 1)) return true
  }
  return SHOUT_PHRASE_RE.test(text.slice(Math.max(0, start - SHOUT_WINDOW), end + SHOUT_WINDOW))
}

for (const shout of ['HACKED', 'PWNED', 'DAN']) {
  addAnchor(shout, (text, start, end, add) => {
    if (shoutAt(text, start, end, shout)) add('obeyed-data')
    return end
  })
}

for (const anchor of AWS_SECRET_ANCHOR_WORDS) {
  addAnchor(anchor, (text, start, end, add) => {
    if (awsSecretKeyAt(text, start)) add('secret:aws-secret-key')
    return end
  })
}

// `ghp` + `_`, `sk` + `-`, `SG` + `.`: a token may start here
for (const word of TOKEN_PREFIX_WORDS) {
  addAnchor(word, (text, start, end, add) => {
    const next = text.charCodeAt(end)
    return next === 45 || next === 95 || next === 46 ? Math.max(end, tokenAt(text, start, add)) : end
  })
}

// ----- system-prompt shingles

interface Shingles {
  readonly size: number
  /** ANCHOR_BITS plus VOCABULARY_BIT over the low 16 bits of the prompt's word hashes. */
  readonly wordBits: Uint8Array
  readonly hashes: Set<number>
  /** The shingles as lowercase strings, to confirm a hash hit. */
  readonly texts: Set<string>
  /** Ring buffers of the word pass, shared by the scanners of this prompt (a scan is synchronous). */
  readonly ring: Int32Array
  readonly starts: Int32Array
  readonly ends: Int32Array
}

/** Hash of `size` word hashes read from a ring buffer starting at `from`. */
function combine (hashes: ArrayLike<number>, from: number, size: number): number {
  let h = FNV_OFFSET
  for (let k = from; k < size; k++) h = Math.imul(h ^ hashes[k], FNV_PRIME)
  for (let k = 0; k < from; k++) h = Math.imul(h ^ hashes[k], FNV_PRIME)
  return h
}

// why a cache: canary and boundary change with every request, so a scanner may be built per
// request; the system prompt is fixed per task, and its shingles are built once.
const SHINGLE_CACHE = new Map<string, Shingles | null>()
// why 32: a handful of tasks (summarize, classify…) each with one prompt; the bound stops growth
const SHINGLE_CACHE_SIZE = 32

function buildShingles (systemPrompt: unknown): Shingles | null {
  if (systemPrompt === undefined) return null
  if (typeof systemPrompt !== 'string') throw new TypeError('output scanner: systemPrompt must be a string')
  const cached = SHINGLE_CACHE.get(systemPrompt)
  if (cached !== undefined) return cached
  const found = words(systemPrompt)
  let shingles: Shingles | null = null
  if (found.length >= MIN_PROMPT_WORDS) {
    const size = Math.min(SHINGLE_WORDS, found.length)
    const hashes = new Set<number>()
    const texts = new Set<string>()
    const wordBits = new Uint8Array(ANCHOR_BITS)
    for (const [hash] of found) wordBits[hash & BITMAP_MASK] |= VOCABULARY_BIT
    for (let i = 0; i + size <= found.length; i++) {
      const window = found.slice(i, i + size)
      hashes.add(combine(window.map(([hash]) => hash), 0, size))
      texts.add(window.map(([, start, end]) => systemPrompt.slice(start, end).toLowerCase()).join(' '))
    }
    shingles = { size, wordBits, hashes, texts, ring: new Int32Array(size), starts: new Int32Array(size), ends: new Int32Array(size) }
  }
  if (SHINGLE_CACHE.size >= SHINGLE_CACHE_SIZE) SHINGLE_CACHE.delete(SHINGLE_CACHE.keys().next().value as string)
  SHINGLE_CACHE.set(systemPrompt, shingles)
  return shingles
}

// ----- the pass

/** Bits of scanWords' answer. */
const ECHOES_PROMPT = 1
const HAS_INVISIBLE = 2

/**
 * The word pass: runs the anchor checks (token prefixes, AWS secret key names, "obeyed"
 * phrases) at their words, tells whether the text repeats a shingle of the system prompt
 * (ECHOES_PROMPT) and whether it holds invisible characters (HAS_INVISIBLE: the caller then
 * strips them and scans again).
 */
function scanWords (text: string, shingles: Shingles | null, add: AddFinding): number {
  const wordBits = shingles === null ? ANCHOR_BITS : shingles.wordBits
  const size = shingles === null ? 0 : shingles.size
  let result = 0
  let slot = 0
  let run = 0
  const n = text.length
  let i = 0
  while (i < n) {
    let c = text.charCodeAt(i)
    let f = c < 128 ? WORD_FOLD[c] : wordFold(c)
    if (f === 0) {
      if (c >= 128 && isInvisible(c)) return HAS_INVISIBLE
      i++
      continue
    }
    const start = i
    // `AKIA…`, `ASIA…`, `AIza…`, `eyJ…`: tokens that are words of their own
    const second = text.charCodeAt(i + 1)
    const tokenLike = (c === 65 && (second === 75 || second === 83 || second === 73)) || (c === 101 && second === 121)
    let hash = FNV_OFFSET
    do {
      hash = Math.imul(hash ^ f, FNV_PRIME)
      i++
      c = i < n ? text.charCodeAt(i) : 32
      f = c < 128 ? WORD_FOLD[c] : wordFold(c)
    } while (f !== 0)
    if (tokenLike) {
      const resume = tokenAt(text, start, add)
      if (resume > i) { i = resume; run = 0; continue }
    }
    const bits = wordBits[hash & BITMAP_MASK]
    if (bits === 0) { run = 0; continue }
    if ((bits & ANCHOR_BIT) !== 0) {
      const check = ANCHORS.get(hash)
      if (check !== undefined) {
        const resume = check(text, start, i, add)
        if (resume > i) { i = resume; run = 0; continue }
      }
    }
    if (shingles === null || result !== 0) continue
    // vocabulary by bitmap only: a rare false hit just lengthens the run; hashes and texts decide
    if ((bits & VOCABULARY_BIT) === 0) { run = 0; continue }
    const { ring, starts, ends } = shingles
    ring[slot] = hash
    starts[slot] = start
    ends[slot] = i
    slot = slot + 1 === size ? 0 : slot + 1
    if (++run < size) continue
    // `slot` now points at the oldest of the last `size` words
    if (!shingles.hashes.has(combine(ring, slot, size))) continue
    const parts: string[] = []
    for (let k = 0; k < size; k++) {
      const s = (slot + k) % size
      parts.push(text.slice(starts[s], ends[s]).toLowerCase())
    }
    if (shingles.texts.has(parts.join(' '))) result = ECHOES_PROMPT
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// Code regions: fenced blocks and inline code spans, where markup is shown, not rendered.

/** Sorted, non-overlapping [start, end) pairs, flattened. */
type Ranges = number[]

function leadingSpaces (text: string, from: number, to: number): number {
  let p = from
  while (p < to && text.charCodeAt(p) === 32) p++
  return p - from
}

/** Length of the run of `c` at `from` (0 when `c` is not there). */
function runLength (text: string, from: number, to: number, c: number): number {
  let p = from
  while (p < to && text.charCodeAt(p) === c) p++
  return p - from
}

function isBlank (text: string, from: number, to: number): boolean {
  for (let p = from; p < to; p++) if (!isSpaceCode(text.charCodeAt(p))) return false
  return true
}

/**
 * CommonMark-style code regions. Chosen to fail towards "not code" (so markup is checked):
 * a fence may be indented by at most 3 spaces; inside an indented fence a line indented less
 * ends the region (in a list item it would end the item and the block); an inline span never
 * crosses a line, since a block such as `<script>` may start on the next line.
 */
function codeRanges (text: string): Ranges {
  const ranges: Ranges = []
  const n = text.length
  let lineStart = 0
  let fenceChar = 0
  let fenceLength = 0
  let fenceIndent = 0
  let regionStart = 0
  let nextBacktick = -1
  while (lineStart <= n) {
    let lineEnd = text.indexOf('\n', lineStart)
    if (lineEnd === -1) lineEnd = n
    const indent = leadingSpaces(text, lineStart, lineEnd)
    const first = text.charCodeAt(lineStart + indent)
    const fenceLike = indent <= 3 && (first === 96 || first === 126)
    const length = fenceLike ? runLength(text, lineStart + indent, lineEnd, first) : 0
    if (fenceChar !== 0) {
      if (first === fenceChar && length >= fenceLength && isBlank(text, lineStart + indent + length, lineEnd)) {
        ranges.push(regionStart, lineEnd)
        fenceChar = 0
      } else if (indent < fenceIndent && !isBlank(text, lineStart, lineEnd)) {
        ranges.push(regionStart, lineStart)
        fenceChar = 0
        continue
      }
    } else if (length >= 3 && !(first === 96 && text.slice(lineStart + indent + length, lineEnd).includes('`'))) {
      fenceChar = first
      fenceLength = length
      fenceIndent = indent
      regionStart = lineStart
    } else {
      // cached so that many lines and one late backtick stay linear
      if (nextBacktick < lineStart && nextBacktick !== n) {
        nextBacktick = text.indexOf('`', lineStart)
        if (nextBacktick === -1) nextBacktick = n
      }
      if (nextBacktick < lineEnd) inlineSpans(text, lineStart, lineEnd, ranges)
    }
    lineStart = lineEnd + 1
  }
  if (fenceChar !== 0) ranges.push(regionStart, n)
  return ranges
}

/** Code spans of one line: an opening backtick run closes at the next run of the same length. */
function inlineSpans (text: string, from: number, to: number, ranges: Ranges): void {
  const runs: number[] = []
  let p = from
  while (p < to) {
    if (text.charCodeAt(p) !== 96) { p++; continue }
    const start = p
    while (p < to && text.charCodeAt(p) === 96) p++
    runs.push(start, p - start)
  }
  // per run length, the index (in runs) of the next run with that length: keeps this linear
  const nextSame = new Array<number>(runs.length / 2).fill(-1)
  const lastByLength = new Map<number, number>()
  for (let r = runs.length / 2 - 1; r >= 0; r--) {
    const length = runs[r * 2 + 1]
    nextSame[r] = lastByLength.get(length) ?? -1
    lastByLength.set(length, r)
  }
  let r = 0
  while (r < runs.length / 2) {
    const close = nextSame[r]
    if (close === -1) { r++; continue }
    ranges.push(runs[r * 2], runs[close * 2] + runs[close * 2 + 1])
    r = close + 1
  }
}

function inRanges (ranges: Ranges, pos: number): boolean {
  let lo = 0
  let hi = ranges.length / 2 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (pos < ranges[mid * 2]) hi = mid - 1
    else if (pos >= ranges[mid * 2 + 1]) lo = mid + 1
    else return true
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// URLs: scheme after obfuscation, host against the allowlist, "carries data"

const NAMED_ENTITIES = new Map<string, string>([
  ['colon', ':'], ['tab', '\t'], ['newline', '\n'], ['sol', '/'], ['lpar', '('], ['rpar', ')'], ['amp', '&'],
  ['quot', '"'], ['apos', "'"], ['lt', '<'], ['gt', '>'], ['nbsp', ' '], ['period', '.'], ['comma', ','],
  ['excl', '!'], ['quest', '?'], ['num', '#'], ['equals', '='], ['semi', ';']
])
const ENTITY_RE = /&(?:#[xX]([0-9a-fA-F]{1,8})|#(\d{1,9})|([A-Za-z]{2,10}));?/g

function decodeEntities (value: string): string {
  if (!value.includes('&')) return value
  return value.replace(ENTITY_RE, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (hex !== undefined || dec !== undefined) {
      const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec as string, 10)
      return code > 0 && code <= 0x10FFFF ? String.fromCodePoint(code) : ''
    }
    return NAMED_ENTITIES.get((name as string).toLowerCase()) ?? whole
  })
}

/**
 * Browsers drop ASCII tab/newline anywhere in a URL and C0 controls/spaces at its ends; all
 * of them, and the two-character escapes `\t` `\n` `\r` (a client might unescape them), are
 * removed here, which can only make a scheme easier to see.
 */
function stripUrlNoise (url: string): string {
  let clean = true
  for (let i = 0; i < url.length && clean; i++) {
    const c = url.charCodeAt(i)
    clean = c > 32 && c !== 92
  }
  if (clean) return url
  let out = ''
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c <= 32) continue
    if (c === 92) {
      const next = url[i + 1]
      if (next === 't' || next === 'n' || next === 'r') { i++; continue }
    }
    out += url[i]
  }
  return out
}

const SCHEME_RE = /^([a-z][a-z0-9+.-]{0,31}):/

/** The lowercased scheme a browser would see, or '' for a relative URL. */
function schemeOf (url: string): string {
  const match = SCHEME_RE.exec(stripUrlNoise(url).toLowerCase())
  return match === null ? '' : match[1]
}

interface UrlPolicy {
  readonly allowed: readonly string[]
  readonly allowedSuffixes: readonly string[]
}

function hostAllowed (host: string, policy: UrlPolicy): boolean {
  const h = host.endsWith('.') ? host.slice(0, -1) : host
  for (let i = 0; i < policy.allowed.length; i++) {
    if (h === policy.allowed[i] || h.endsWith(policy.allowedSuffixes[i])) return true
  }
  return false
}

const DANGEROUS_SCHEMES: Record<string, string> = { javascript: 'url:javascript', vbscript: 'url:javascript', livescript: 'url:javascript', data: 'url:data' }

// why the character limits: anything else in the authority (`@`, `%`, `\`, non-ASCII, `[`) goes
// through the WHATWG parser, which resolves it exactly as a browser would
const SIMPLE_HTTP_URL_RE = /^https?:\/\/([A-Za-z0-9.-]{1,253})(?=[/?#:]|$)(?![^/?#]*@)/i

/**
 * Classifies one URL found in a link, image or attribute. `kind` is the finding for a
 * non-allowed host. Relative URLs stay on the client's own origin and pass.
 */
function checkUrl (raw: string, kind: string, policy: UrlPolicy, add: AddFinding): void {
  const url = decodeEntities(raw)
  const scheme = schemeOf(url)
  const dangerous = DANGEROUS_SCHEMES[scheme]
  if (dangerous !== undefined) { add(dangerous); return }
  if (scheme === 'mailto') {
    // why: `?body=`/`?subject=` carry data to a mailbox of the attacker's choosing
    if (url.includes('?')) add('exfiltration:link')
    return
  }
  if (scheme === 'tel' || scheme === 'sms') return
  const cleaned = stripUrlNoise(url)
  // fast path for the common `https://host/…`: plain ASCII host, no userinfo, escapes or backslashes
  const simple = SIMPLE_HTTP_URL_RE.exec(cleaned)
  if (simple !== null) {
    if (!hostAllowed(simple[1].toLowerCase(), policy)) add(kind)
    return
  }
  // why two bases: `https:evil.example` is relative on an https page but absolute on an http one
  for (const base of RELATIVE_BASES) {
    const parsed = URL.parse(cleaned, base)
    if (parsed === null) {
      // why: an absolute or protocol-relative URL that does not parse cannot be proven allowed
      if (scheme !== '' || /^[/\\]{2}/.test(url.trim())) add(kind)
      return
    }
    if (parsed.hostname === RELATIVE_HOST) continue
    if (parsed.hostname === '' || !hostAllowed(parsed.hostname, policy)) { add(kind); return }
  }
}

// why 24 and 16: hashes, base64 and hex blobs are long unbroken runs mixing digits and letters;
// slugs, file names and identifiers (`colorbar_tick_labelling_demo.html`) are words and separators
const DATA_SEGMENT_LENGTH = 24
const DATA_RUN_LENGTH = 16
// why 24: a DNS label that long is an encoded payload far more often than a name (dns exfiltration)
const DATA_LABEL_LENGTH = 24
const DIGIT_RE = /\d/
const LETTER_RE = /[A-Za-z]/
const ALNUM_RUN_RE = /[A-Za-z0-9]{16,}/g
const PERCENT_ESCAPE_RE = /%[0-9A-Fa-f]{2}/g
// why 5: a word or two may be percent-encoded in a doc URL; an encoded payload has many escapes
const MIN_PERCENT_ESCAPES = 5

function looksLikeData (segment: string): boolean {
  if (segment.length < DATA_SEGMENT_LENGTH) return false
  if ((segment.match(PERCENT_ESCAPE_RE)?.length ?? 0) >= MIN_PERCENT_ESCAPES) return true
  for (const [run] of segment.matchAll(ALNUM_RUN_RE)) {
    if (run.length >= DATA_RUN_LENGTH && DIGIT_RE.test(run) && LETTER_RE.test(run)) return true
  }
  return false
}

/** A bare URL "carries data" when a query, or a long encoded userinfo, path segment or label could encode it. */
function carriesData (parsed: URL): boolean {
  if (parsed.search.length > 1 || looksLikeData(parsed.username) || looksLikeData(parsed.password)) return true
  for (const label of parsed.hostname.split('.')) if (label.length >= DATA_LABEL_LENGTH) return true
  for (const segment of parsed.pathname.split('/')) if (looksLikeData(segment)) return true
  return false
}

// ---------------------------------------------------------------------------------------------
// HTML

const TAG_START_RE = /<\/?[A-Za-z]/g
const TAG_FINDINGS: Record<string, string> = {
  script: 'html:script',
  iframe: 'html:iframe',
  frame: 'html:iframe',
  frameset: 'html:iframe',
  object: 'html:object',
  embed: 'html:object',
  applet: 'html:object',
  form: 'html:form',
  base: 'html:base',
  style: 'html:style'
}
// attributes whose URL the browser fetches without a click
const LOAD_ATTRS = new Set(['src', 'poster', 'background', 'data', 'lowsrc', 'dynsrc', 'codebase', 'manifest', 'icon', 'srcset', 'imagesrcset'])
// attributes whose URL is followed on a click or a submit
const LINK_ATTRS = new Set(['href', 'xlink:href', 'action', 'formaction', 'cite', 'ping', 'longdesc'])
// tags whose href is fetched on load
const LOADING_HREF_TAGS = new Set(['link', 'image', 'use', 'feimage'])
const STYLE_DANGER_RE = /url\s*\(|expression\s*\(|@import|javascript:/i
const META_URL_RE = /url\s*=\s*['"]?([^'";\s]+)/i

function isTagNameCode (c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 58
}

function isSpaceCode (c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12
}

function checkAttribute (tag: string, name: string, value: string, policy: UrlPolicy, add: AddFinding): void {
  // why: every on* attribute is an event handler (onerror, onload, onfocus, onanimationstart…)
  if (name.length > 4 && name.startsWith('on')) { add('html:event-handler'); return }
  if (name === 'style') {
    if (STYLE_DANGER_RE.test(decodeEntities(value))) add('html:style')
    return
  }
  if (name === 'srcdoc') { add('html:iframe'); return }
  if (tag === 'meta' && name === 'http-equiv') { add('html:meta-refresh'); return }
  if (tag === 'meta' && name === 'content') {
    const target = META_URL_RE.exec(decodeEntities(value))
    if (target !== null) checkUrl(target[1], 'exfiltration:link', policy, add)
    return
  }
  const loads = LOAD_ATTRS.has(name) || (name.endsWith('href') && LOADING_HREF_TAGS.has(tag))
  if (!loads && !LINK_ATTRS.has(name)) return
  const kind = loads ? 'exfiltration:html-resource' : 'exfiltration:link'
  if (name === 'srcset' || name === 'imagesrcset') {
    for (const candidate of value.split(',')) checkUrl(candidate.trim().split(/\s/)[0] ?? '', kind, policy, add)
    return
  }
  checkUrl(value, kind, policy, add)
}

/** Parses one tag from `start` (at '<'); reports findings; returns where the tag ends. Linear. */
function parseTag (text: string, start: number, policy: UrlPolicy, add: AddFinding): number {
  const n = text.length
  let p = start + 1
  const closing = text.charCodeAt(p) === 47
  if (closing) p++
  const nameStart = p
  while (p < n && isTagNameCode(text.charCodeAt(p))) p++
  const tag = text.slice(nameStart, p).toLowerCase()
  const tagFinding = TAG_FINDINGS[tag]
  // why closing tags too: a stray `</script>` ends a script block of a page embedding the text
  if (tagFinding !== undefined && (!closing || tag === 'script')) add(tagFinding)
  if (closing) return p
  while (p < n) {
    while (p < n && (isSpaceCode(text.charCodeAt(p)) || text.charCodeAt(p) === 47)) p++
    if (p >= n) return n
    const c = text.charCodeAt(p)
    if (c === 62) return p + 1 // '>'
    if (c === 60) return p // '<' starts the next tag
    const attrStart = p
    while (p < n) {
      const a = text.charCodeAt(p)
      if (isSpaceCode(a) || a === 61 || a === 62 || a === 47 || a === 60) break
      p++
    }
    if (p === attrStart) { p++; continue } // a stray '=' or similar
    const name = text.slice(attrStart, p).toLowerCase()
    while (p < n && isSpaceCode(text.charCodeAt(p))) p++
    let value = ''
    if (text.charCodeAt(p) === 61) {
      p++
      while (p < n && isSpaceCode(text.charCodeAt(p))) p++
      const q = text.charCodeAt(p)
      if (q === 34 || q === 39) {
        // why stop at '<': a renderer that rejects this malformed tag would render the next one
        let end = p + 1
        while (end < n && text.charCodeAt(end) !== q && text.charCodeAt(end) !== 60) end++
        value = text.slice(p + 1, end)
        p = end < n && text.charCodeAt(end) === q ? end + 1 : end
      } else {
        const valueStart = p
        while (p < n && !isSpaceCode(text.charCodeAt(p)) && text.charCodeAt(p) !== 62) p++
        value = text.slice(valueStart, p)
      }
    }
    checkAttribute(tag, name, value, policy, add)
  }
  return n
}

const AUTOLINK_RE = /<([A-Za-z][A-Za-z0-9+.-]{1,31}):([^\s<>]*)>/y

function scanHtml (text: string, code: Ranges, policy: UrlPolicy, add: AddFinding): void {
  TAG_START_RE.lastIndex = 0
  let match: RegExpExecArray | null
  while ((match = TAG_START_RE.exec(text)) !== null) {
    const at = match.index
    if (inRanges(code, at)) continue
    AUTOLINK_RE.lastIndex = at
    const autolink = AUTOLINK_RE.exec(text)
    if (autolink !== null) checkUrl(autolink[1] + ':' + autolink[2], 'exfiltration:link', policy, add)
    const end = parseTag(text, at, policy, add)
    if (end > TAG_START_RE.lastIndex) TAG_START_RE.lastIndex = end
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown links and images

// why 256: bounds the backward search for `[`, keeping `](](](…` linear; an image whose alt text
// is longer is still reported, as a link.
const MAX_LABEL_BACKTRACK = 256
const MAX_DESTINATION = 4096
const MARKDOWN_ESCAPE_RE = /\\([!-/:-@[-`{-~])/g

function isImageLabel (text: string, close: number): boolean {
  let depth = 0
  const stop = Math.max(0, close - MAX_LABEL_BACKTRACK)
  for (let p = close - 1; p >= stop; p--) {
    const c = text.charCodeAt(p)
    if (c === 93) depth++
    else if (c === 91) {
      if (depth === 0) return p > 0 && text.charCodeAt(p - 1) === 33
      depth--
    }
  }
  return false
}

/** The destination after `](` and where it ends (so that the caller never reads it twice). */
function readDestination (text: string, from: number): [string, number] {
  const n = text.length
  let p = from
  while (p < n && (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9)) p++
  if (text.charCodeAt(p) === 10) p++
  while (p < n && (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9)) p++
  if (text.charCodeAt(p) === 60) {
    const limit = Math.min(n, p + MAX_DESTINATION)
    let end = p + 1
    while (end < limit && text.charCodeAt(end) !== 62 && text.charCodeAt(end) !== 10) end++
    return [text.slice(p + 1, end), end]
  }
  const start = p
  const limit = Math.min(n, p + MAX_DESTINATION)
  let depth = 0
  while (p < limit) {
    const c = text.charCodeAt(p)
    if (c <= 32) break
    if (c === 92) { p += 2; continue }
    if (c === 40) depth++
    else if (c === 41) {
      if (depth === 0) break
      depth--
    }
    p++
  }
  const end = Math.min(p, limit)
  return [text.slice(start, end), end]
}

// why sticky from the line start: checked only on lines holding `]:`; `[^…]` footnotes are not links
const REFERENCE_DEFINITION_RE = / {0,3}\[(?!\^)[^\]\n]{1,500}\]:[ \t]*<?([^\s>]+)/y

/**
 * A markdown destination is checked as written and with backslash escapes removed: CommonMark
 * renderers remove them (`evil.example\\@docs.example.com` becomes userinfo), others do not
 * (the backslash becomes a path separator). Either reading must be allowed.
 */
function checkDestination (raw: string, kind: string, policy: UrlPolicy, add: AddFinding): void {
  checkUrl(raw, kind, policy, add)
  const unescaped = raw.replace(MARKDOWN_ESCAPE_RE, '$1')
  if (unescaped !== raw) checkUrl(unescaped, kind, policy, add)
}

function scanMarkdown (text: string, code: Ranges, policy: UrlPolicy, add: AddFinding): void {
  let at = text.indexOf('](')
  while (at !== -1) {
    let next = at + 2
    if (!inRanges(code, at)) {
      const kind = isImageLabel(text, at) ? 'exfiltration:markdown-image' : 'exfiltration:link'
      const [destination, end] = readDestination(text, at + 2)
      checkDestination(destination, kind, policy, add)
      next = Math.max(next, end)
    }
    at = text.indexOf('](', next)
  }
  let colon = text.indexOf(']:')
  while (colon !== -1) {
    const lineStart = text.lastIndexOf('\n', colon) + 1
    REFERENCE_DEFINITION_RE.lastIndex = lineStart
    const match = REFERENCE_DEFINITION_RE.exec(text)
    if (match !== null && !inRanges(code, lineStart)) checkDestination(match[1], 'exfiltration:link', policy, add)
    const lineEnd = text.indexOf('\n', colon)
    colon = lineEnd === -1 ? -1 : text.indexOf(']:', lineEnd)
  }
}

// ---------------------------------------------------------------------------------------------
// Bare URLs: rendered as links by GFM-style clients; reported when they carry data

const BARE_URL_SCHEMES = new Set(['http', 'https', 'ftp'])
const URL_END_CODES = new Set([32, 9, 10, 13, 60, 62, 34, 39, 96, 124])
const TRAILING_PUNCTUATION_RE = /[).,;:!?*_\]]+$/

function scanBareUrls (text: string, code: Ranges, policy: UrlPolicy, add: AddFinding): void {
  const n = text.length
  let at = text.indexOf('://')
  while (at !== -1) {
    let start = at
    while (start > 0 && at - start < 8 && /[A-Za-z]/.test(text[start - 1])) start--
    // why the context check: destinations of links, autolinks and attributes are checked elsewhere
    const before = start > 0 ? text.charCodeAt(start - 1) : 0
    const handled = before === 60 || before === 34 || before === 39 || before === 61 || (before === 40 && text.charCodeAt(start - 2) === 93)
    if (!handled && BARE_URL_SCHEMES.has(text.slice(start, at).toLowerCase()) && !inRanges(code, at)) {
      let end = at + 3
      const limit = Math.min(n, end + MAX_DESTINATION)
      while (end < limit && !URL_END_CODES.has(text.charCodeAt(end))) end++
      const url = text.slice(start, end).replace(TRAILING_PUNCTUATION_RE, '')
      const parsed = URL.parse(url)
      if (parsed !== null && !hostAllowed(parsed.hostname, policy) && carriesData(parsed)) add('exfiltration:link')
    }
    at = text.indexOf('://', at + 3)
  }
}

// ---------------------------------------------------------------------------------------------
// The scanner

/**
 * Builds a scanner for one configuration. Options are validated here (a bad host or a short
 * canary throws a TypeError that names the fix) and everything constant is precomputed (the
 * system prompt's shingles are cached across scanners), so the per-answer call only scans.
 *
 * Policy, following the contract ("hosts that model output may link to or load images from"):
 * - images (markdown, HTML `src`/`srcset`/`poster`…, `<link href>`) to a host outside
 *   `allowedHosts` are exfiltration: they load without a click;
 * - links (markdown, reference definitions, autolinks, `<a href>`, `action`) to such a host are
 *   flagged too, with or without a query; with no allowed host (the default) no link passes;
 * - bare URLs are flagged only when they carry data (query, long encoded segment or label), since
 *   prose often cites documentation; a GFM client would render them as links;
 * - HTML inside code fences and inline code is shown, not rendered: not flagged (secrets are);
 * - tokens with a checksum (GitHub classic, npm, `gw_`) are flagged only when it is valid.
 */
export function createOutputScanner (options: ScanOptions): (text: string) => ScanResult {
  if (options === null || typeof options !== 'object') throw new TypeError('output scanner: options must be an object')
  const allowed = normalizeHosts(options.allowedHosts)
  const policy: UrlPolicy = { allowed, allowedSuffixes: allowed.map((host) => '.' + host) }
  const canaryValue = normalizeMarker('canary', options.canary)
  const boundaryValue = normalizeMarker('boundary', options.boundary)
  const canary = canaryValue === null ? null : buildMarker('canary', canaryValue)
  const boundary = boundaryValue === null ? null : buildMarker('boundary', boundaryValue)
  const shingles = buildShingles(options.systemPrompt)

  return function scan (input: string): ScanResult {
    if (typeof input !== 'string') throw new TypeError('output scanner: text must be a string')
    const findings: string[] = []
    const add: AddFinding = (type) => { if (!findings.includes(type)) findings.push(type) }
    let text = input
    let words = scanWords(text, shingles, add)
    if ((words & HAS_INVISIBLE) !== 0) {
      text = input.replace(INVISIBLE_RE, '')
      findings.length = 0
      words = scanWords(text, shingles, add)
    }
    if ((words & ECHOES_PROMPT) !== 0) add('prompt-leak:system-prompt')
    scanStructuredSecrets(text, add)
    if (canary !== null && leaksMarker(text, canary)) add('prompt-leak:canary')
    if (boundary !== null && leaksMarker(text, boundary)) add('prompt-leak:boundary')

    const hasTag = text.includes('<')
    const hasMarkdownLink = text.includes('](') || text.includes(']:')
    const hasUrl = text.includes('://')
    if (hasTag || hasMarkdownLink || hasUrl) {
      const code = text.includes('`') || text.includes('~~~') ? codeRanges(text) : []
      if (hasTag) scanHtml(text, code, policy, add)
      if (hasMarkdownLink) scanMarkdown(text, code, policy, add)
      if (hasUrl) scanBareUrls(text, code, policy, add)
    }
    return { safe: findings.length === 0, findings }
  }
}

/** One-off scan; prefer createOutputScanner when the options are reused. */
export function scanOutput (text: string, options: ScanOptions): ScanResult {
  return createOutputScanner(options)(text)
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const HTML_SPECIAL_RE = /[&<>"']/g
const HTML_SPECIAL_TEST_RE = /[&<>"']/

/** Escapes `& < > " '` as HTML entities, for upstream text that could end up in a page. */
export function escapeHtml (text: string): string {
  return HTML_SPECIAL_TEST_RE.test(text) ? text.replace(HTML_SPECIAL_RE, (c) => HTML_ESCAPES[c]) : text
}
