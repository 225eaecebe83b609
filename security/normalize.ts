// Text normalization for the prompt firewall: a cleaned text for the model, folded views for scoring.

// Invisible and control characters an attacker can use to split keywords or hide text. \n and \t
// stay (they carry structure); CR is turned into \n beforehand.
// why each range: C0/C1 controls, soft hyphen, Arabic letter mark, Hangul and Khmer fillers,
// Mongolian selectors, zero-width and bidi marks/overrides/isolates, invisible operators,
// variation selectors, BOM, interlinear annotation, tag block and supplementary variation selectors.
// eslint-disable-next-line no-control-regex, no-misleading-character-class -- invisible and control characters are exactly what these classes must match
const INVISIBLE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu
// eslint-disable-next-line no-control-regex, no-misleading-character-class -- invisible and control characters are exactly what these classes must match
const INVISIBLE_TEST_RE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u
// eslint-disable-next-line no-misleading-character-class -- U+034F is a combining character on purpose: it is invisible
const ZERO_WIDTH_RE = /[\u200B-\u200D\u2060-\u2064\uFEFF\u180E\u034F]/u
const BIDI_RE = /[\u200E\u200F\u202A-\u202E\u2066-\u2069\u061C]/u
const TAG_RE = /[\u{E0000}-\u{E007F}]/u
const CR_RE = /\r\n?/g

/**
 * Removes invisible characters (zero-width, bidi controls, soft hyphen, tag block, variation
 * selectors, C0/C1 controls except \n and \t) and turns CR/CRLF into \n. This is what the
 * upstream model receives: every script stays as written.
 */
export function cleanText (text: string): string {
  let out = text.indexOf('\r') === -1 ? text : text.replace(CR_RE, '\n')
  // why: the test is much cheaper than a replace that finds nothing, and most texts are clean.
  if (INVISIBLE_TEST_RE.test(out)) out = out.replace(INVISIBLE_RE, '')
  return out
}

// Cyrillic and Greek letters that look like Latin ones (lowercase only: folding runs after lowercasing).
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  в: 'b',
  с: 'c',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  ԁ: 'd',
  ѕ: 's',
  т: 't',
  у: 'y',
  х: 'x',
  ԛ: 'q',
  ԝ: 'w',
  ь: 'b',
  г: 'r',
  п: 'n',
  л: 'n',
  ɡ: 'g',
  ı: 'i',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  γ: 'y',
  μ: 'u',
  ω: 'w',
  ς: 's',
  ϲ: 'c',
  ϳ: 'j'
}
const GREEK_CYRILLIC_RE = /[\u0370-\u03FF\u0400-\u04FF\u0500-\u052F\u0261\u0131]/
// Words of Latin, Greek or Cyrillic letters; only those mixing Latin with the others are folded,
// so real Russian or Greek words are left alone.
const SCRIPT_WORD_RE = /[a-z\u0370-\u03FF\u0400-\u052F\u0261\u0131]+/g
const LATIN_RE = /[a-z]/
const CONFUSABLE_CHAR_RE = /[\u0370-\u03FF\u0400-\u052F\u0261\u0131]/g
// Full-width Latin letters and mathematical alphanumerics: NFKC folds them, we only report them.
const FULLWIDTH_MATH_RE = /[\uFF21-\uFF3A\uFF41-\uFF5A\u{1D400}-\u{1D7FF}\u{1F130}-\u{1F189}\u24B6-\u24E9]/u

// why no '|' or '!': they delimit chat-template tokens (<|im_start|>) that must stay visible
const LEET: Record<string, string> = { 0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't', 8: 'b', 9: 'g', '@': 'a', $: 's' }
// why: only words mixing letters with leet digits/symbols are folded, so plain numbers stay numbers.
const LEET_TEST_RE = /(?<=[a-z])[0-9@$]|[0-9@$](?=[a-z])/
const LEET_CHAR_RE = /[0-9@$]/g

// eslint-disable-next-line no-control-regex -- the full ASCII range, NUL included
const NON_ASCII_RE = /[^\u0000-\u007F]/
const COMBINING_RE = /[\u0300-\u036F]/g
// why this shape: single spaces, by far the most common, are not matched (nothing to replace)
const SPACES_RE = /(?: |[^\S \n])[^\S\n]+|[^\S \n]/g
const NEWLINES_RE = /\n\s*/g

// Words whose encoded forms reveal ROT13 or reversed text. Long, distinctive words only, so an
// ordinary sentence rarely contains their encodings by chance.
const INDICATIVE_WORDS = [
  'ignore', 'previous', 'instructions', 'instruction', 'the', 'you', 'your', 'and', 'system', 'prompt', 'password',
  'forget', 'reveal', 'secret', 'tell', 'what', 'please', 'rules', 'print', 'above', 'with', 'this', 'that', 'from',
  'disregard', 'now', 'are', 'all', 'new', 'say', 'user', 'key', 'where', 'does', 'live', 'send', 'data', 'for',
  'ignora', 'todas', 'instrucciones', 'anteriores', 'olvida', 'oublie', 'consignes', 'vergiss', 'anweisungen', 'istruzioni', 'esqueca', 'instrucoes'
]
const INDICATIVE_SET = new Set(INDICATIVE_WORDS)
const COMMON_WORDS = new Set([
  'the', 'and', 'you', 'are', 'for', 'that', 'this', 'with', 'from', 'have', 'not', 'was', 'but', 'all', 'can', 'will', 'what',
  'de', 'la', 'que', 'el', 'en', 'los', 'las', 'del', 'por', 'con', 'una', 'les', 'des', 'est', 'der', 'die', 'und', 'das', 'ist',
  'il', 'di', 'che', 'per', 'non', 'um', 'uma', 'para', 'com', 'nao', 'is', 'of', 'to', 'in', 'it', 'on', 'be', 'as', 'or', 'we'
])
function rot13 (s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out += c >= 97 && c <= 122 ? String.fromCharCode(((c - 97 + 13) % 26) + 97) : s[i]
  }
  return out
}
const ROT13_OF_INDICATIVE = new Set(INDICATIVE_WORDS.map(rot13).filter((w) => !COMMON_WORDS.has(w)))
const REVERSED_OF_INDICATIVE = new Set(INDICATIVE_WORDS.filter((w) => w.length >= 3).map((w) => [...w].reverse().join(''))
  .filter((w) => !COMMON_WORDS.has(w) && !INDICATIVE_WORDS.includes(w) && !['won', 'era', 'yek', 'wen'].includes(w)))
// why 3: one or two hits happen by chance (an odd name, an abbreviation); three are a pattern.
const ENCODED_HITS_MIN = 3

// Base64 runs long enough to hold a sentence; decoded only if the result reads as text.
const BASE64_RUN_MIN = 24
const BASE64_PRINTABLE_MIN = 0.9
const BASE64_SEGMENTS_MAX = 8

// Letter-spaced words (i g n o r e, i.g.n.o.r.e, i-g-n-o-r-e): a cheap test, then a linear scan.
const SPACED_SEPARATORS = new Set([' ', '.', '-', '_', '*', '·', '|', '/'])
// why: the test above asks for a 4-letter run first ("u.s.a." or "a b c" lists are shorter); once
// a text is known to space letters out, shorter runs ("a l l") are collapsed too.
const SPACED_LETTERS_MIN = 3

function isLetter (c: string | undefined): boolean {
  return c !== undefined && c >= 'a' && c <= 'z'
}
function isWordChar (c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
}

function isSeparatorCode (c: number): boolean {
  return c === 32 || c === 46 || c === 45 || c === 95 || c === 42 || c === 183 || c === 124 || c === 47
}
function isLetterCode (c: number): boolean {
  return c >= 97 && c <= 122
}
function isWordCharCode (c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
}

/** Collapses letter-spaced runs; returns null when there is none. */
function collapseSpacing (s: string): string | null {
  let out = ''
  let changed = false
  let i = 0
  while (i < s.length) {
    const c = s[i]
    const sep = s[i + 1]
    if (isLetter(c) && !isWordChar(s[i - 1]) && sep !== undefined && SPACED_SEPARATORS.has(sep) && isLetter(s[i + 2])) {
      let letters = c
      let j = i
      // each step consumes "<sep><single letter>" while the letter stands alone
      while (s[j + 1] === sep && isLetter(s[j + 2]) && !isWordChar(s[j + 3])) {
        letters += s[j + 2]
        j += 2
      }
      if (letters.length >= SPACED_LETTERS_MIN) {
        out += letters
        changed = true
        i = j + 1
        continue
      }
    }
    out += c
    i++
  }
  return changed ? out : null
}

function isLeetCode (c: number): boolean {
  return (c >= 48 && c <= 57) || c === 64 || c === 36
}

/** Folds words mixing letters with leet digits/symbols; one pass, strings built only around such words. */
function foldLeet (s: string, signals: Set<string>): string {
  let out = ''
  let last = 0
  let i = 0
  const n = s.length
  while (i < n) {
    let c = s.charCodeAt(i)
    if (!(c >= 97 && c <= 122) && !isLeetCode(c)) {
      i++
      continue
    }
    let j = i
    let letters = 0
    let leet = 0
    let at = false
    while (j < n) {
      c = s.charCodeAt(j)
      if (c >= 97 && c <= 122) letters++
      else if (isLeetCode(c)) {
        leet++
        if (c === 64) at = true
      } else break
      j++
    }
    // why: "name@host.example" is an e-mail address (a destination the rules look for), not leetspeak
    const email = at && (s.charCodeAt(j) === 46 || s.charCodeAt(j) === 45) && isLetterCode(s.charCodeAt(j + 1))
    if (letters > 0 && leet > 0 && j - i >= 3 && !email) {
      const word = s.slice(i, j)
      const folded = word.replace(LEET_CHAR_RE, (ch) => LEET[ch] ?? ch)
      if (INDICATIVE_SET.has(folded)) signals.add('obfuscation:leetspeak')
      out += s.slice(last, i) + folded
      last = j
    }
    i = j
  }
  return last === 0 ? s : out + s.slice(last)
}

/** Full folding: NFKC, lowercase, no diacritics (NFD, marks dropped, NFC). */
function foldSlow (s: string): string {
  return s.normalize('NFKC').toLowerCase().normalize('NFD').replace(COMBINING_RE, '').normalize('NFC')
}

// Latin letters, combining marks and general punctuation (U+0000-U+036F, U+2000-U+206F) folded one
// character at a time: for these, folding a character alone gives what folding the whole text
// does, and the table avoids three Unicode normalization passes on most European text.
// 0xFFFF marks a character that does not fold to exactly one (those texts take the slow path).
const LATIN_FOLD = new Uint16Array(0x370 + 0x70)
for (let k = 0; k < LATIN_FOLD.length; k++) {
  const c = k < 0x370 ? k : k - 0x370 + 0x2000
  const folded = foldSlow(String.fromCharCode(c))
  LATIN_FOLD[k] = folded.length === 1 ? folded.charCodeAt(0) : folded.length === 0 ? 0xFFFE : 0xFFFF
}
const FOLD_DECODER = new TextDecoder('utf-16le')

/** Folds a text of table characters only; null when another character occurs. */
let foldBuffer = new Uint16Array(4096)
function foldLatin (s: string): string | null {
  // why a reused buffer: one allocation per text showed up as garbage-collection time
  if (foldBuffer.length < s.length) foldBuffer = new Uint16Array(s.length * 2)
  const out = foldBuffer
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const k = c < 0x370 ? c : c >= 0x2000 && c < 0x2070 ? c - 0x2000 + 0x370 : -1
    if (k < 0) return null
    const f = LATIN_FOLD[k]
    if (f === 0xFFFF) return null
    // 0xFFFE: a combining mark, dropped
    if (f !== 0xFFFE) out[n++] = f
  }
  return FOLD_DECODER.decode(out.subarray(0, n))
}

/** Lowercase, NFKC, no diacritics, confusables and leetspeak folded (whitespace untouched). */
function fold (cleaned: string, signals: Set<string>): string {
  let s = cleaned
  if (NON_ASCII_RE.test(s)) {
    if (FULLWIDTH_MATH_RE.test(s)) signals.add('obfuscation:homoglyph')
    s = foldLatin(s) ?? foldSlow(s)
    if (GREEK_CYRILLIC_RE.test(s)) {
      let mixed = false
      s = s.replace(SCRIPT_WORD_RE, (word) => {
        if (!LATIN_RE.test(word) || !GREEK_CYRILLIC_RE.test(word)) return word
        mixed = true
        return word.replace(CONFUSABLE_CHAR_RE, (ch) => CONFUSABLES[ch] ?? ch)
      })
      if (mixed) signals.add('obfuscation:homoglyph')
    }
  } else {
    s = s.toLowerCase()
  }
  if (LEET_TEST_RE.test(s)) s = foldLeet(s, signals)
  return s
}

function squashSpaces (s: string): string {
  return s.replace(SPACES_RE, ' ').replace(NEWLINES_RE, '\n').trim()
}

const EVIDENCE_ROT13 = 1
const EVIDENCE_REVERSED = 2
const EVIDENCE_SPACED = 4
const EVIDENCE_SQUASH = 8

// why 30 bits: the hashes stay small integers, which V8 stores and compares without allocating
const HASH_MASK = 0x3FFFFFFF

/** Polynomial hash of a lowercase word, the same as scanEvidence computes while reading it. */
function wordHash (w: string): number {
  let h = 0
  for (let k = 0; k < w.length; k++) h = (Math.imul(h, 31) + w.charCodeAt(k)) & HASH_MASK
  return h
}
// why hashes: the scan compares numbers instead of building a substring per word; a collision
// only costs an extra view, never a missed one
const ROT13_HASHES = new Set([...ROT13_OF_INDICATIVE].map(wordHash))
const REVERSED_HASHES = new Set([...REVERSED_OF_INDICATIVE].map(wordHash))
// why a 64K table in front of the sets: almost every word is ruled out by one array read
const HASH_FILTER = new Uint8Array(1 << 16)
for (const h of ROT13_HASHES) HASH_FILTER[h & 0xFFFF] = 1
for (const h of REVERSED_HASHES) HASH_FILTER[h & 0xFFFF] = 1
function isUnicodeSpace (c: number): boolean {
  return c === 0xA0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200A) || c === 0x2028 || c === 0x2029 || c === 0x202F || c === 0x205F || c === 0x3000 || c === 0xFEFF
}

/**
 * One pass over a folded, unsquashed text collecting cheap evidence, so the costlier views are
 * only built when they can apply: words (3 to 14 letters) whose ROT13 or reversed form is an
 * indicative word (bits EVIDENCE_ROT13, EVIDENCE_REVERSED once ENCODED_HITS_MIN is reached), a
 * letter-spaced run (EVIDENCE_SPACED) and whitespace that squashing would change (EVIDENCE_SQUASH).
 */
function scanEvidence (s: string): number {
  let rot = 0
  let rev = 0
  const n = s.length
  let flags = n > 0 && (s.charCodeAt(0) <= 32 || s.charCodeAt(n - 1) <= 32) ? EVIDENCE_SQUASH : 0
  let i = 0
  while (i < n) {
    let c = s.charCodeAt(i)
    if (c < 97 || c > 122) {
      // whitespace other than a single space between words: squashing would change it
      if (c <= 32 ? c !== 32 || s.charCodeAt(i + 1) <= 32 : c >= 0xA0 && isUnicodeSpace(c)) flags |= EVIDENCE_SQUASH
      i++
      continue
    }
    let h = c
    let j = i + 1
    while (j < n) {
      c = s.charCodeAt(j)
      if (c < 97 || c > 122) break
      h = (Math.imul(h, 31) + c) & HASH_MASK
      j++
    }
    const len = j - i
    if (len === 1) {
      // letter, separator, letter, same separator, letter, same separator, letter: a spaced word
      const sep = s.charCodeAt(j)
      if ((flags & EVIDENCE_SPACED) === 0 && isSeparatorCode(sep) && !(i > 0 && isWordCharCode(s.charCodeAt(i - 1))) &&
        isLetterCode(s.charCodeAt(j + 1)) && s.charCodeAt(j + 2) === sep && isLetterCode(s.charCodeAt(j + 3)) &&
        s.charCodeAt(j + 4) === sep && isLetterCode(s.charCodeAt(j + 5)) && !isWordCharCode(s.charCodeAt(j + 6))) flags |= EVIDENCE_SPACED
    } else if (len >= 3 && len <= 14 && HASH_FILTER[h & 0xFFFF] === 1) {
      if (ROT13_HASHES.has(h)) rot++
      if (REVERSED_HASHES.has(h)) rev++
    }
    i = j
  }
  if (rot >= ENCODED_HITS_MIN) flags |= EVIDENCE_ROT13
  if (rev >= ENCODED_HITS_MIN) flags |= EVIDENCE_REVERSED
  return flags
}

// why a table: one array read per character in the scan below
const BASE64_CODE = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  BASE64_CODE[c] = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95 ? 1 : 0
}
function isBase64Code (c: number): boolean {
  return c < 128 && BASE64_CODE[c] === 1
}

function decodeBase64Segments (cleaned: string): string[] {
  const out: string[] = []
  const n = cleaned.length
  let i = 0
  // why a manual scan with a skip: a run of BASE64_RUN_MIN must contain position i + BASE64_RUN_MIN - 1,
  // so when that character is not base64, no run starts in between and the scan jumps past it
  // (prose is crossed in steps of ~24 characters instead of one by one).
  while (i + BASE64_RUN_MIN <= n && out.length < BASE64_SEGMENTS_MAX) {
    const probe = i + BASE64_RUN_MIN - 1
    if (!isBase64Code(cleaned.charCodeAt(probe))) {
      i = probe + 1
      continue
    }
    let start = probe
    while (start > i && isBase64Code(cleaned.charCodeAt(start - 1))) start--
    let end = probe + 1
    while (end < n && isBase64Code(cleaned.charCodeAt(end))) end++
    if (end - start >= BASE64_RUN_MIN) {
      const decoded = decodeIfText(cleaned.slice(start, end))
      if (decoded !== null) out.push(decoded)
    }
    i = end + 1
  }
  return out
}

function decodeIfText (seg: string): string | null {
  // why: identifiers and hashes rarely mix both cases like base64 of prose does
  if (!/[a-z]/.test(seg) || !/[A-Z]/.test(seg)) return null
  const decoded = Buffer.from(seg, seg.includes('-') || seg.includes('_') ? 'base64url' : 'base64').toString('utf8')
  let printable = 0
  let spaces = 0
  let total = 0
  for (const ch of decoded) {
    const c = ch.codePointAt(0) ?? 0
    total++
    if (c === 32) spaces++
    if ((c >= 32 && c !== 0xFFFD && c !== 127) || c === 10 || c === 9) printable++
  }
  return total >= 8 && spaces >= 1 && printable / total >= BASE64_PRINTABLE_MIN ? decoded : null
}

const TAG_CHARS_RE = /[\u{E0020}-\u{E007E}]/gu

/** The ASCII text spelled by Unicode tag characters (U+E0020-U+E007E). */
function decodeTagChars (text: string): string {
  let out = ''
  for (const m of text.matchAll(TAG_CHARS_RE)) out += String.fromCharCode((m[0].codePointAt(0) ?? 0xE0020) - 0xE0000)
  return out
}

/** Normalized views of a text for the firewall to score. */
export interface NormalizedViews {
  /** The main scoring view: cleaned, NFKC, lowercased, diacritics, confusables and leetspeak folded. */
  folded: string
  /** Extra views, each folded the same way: letter-spacing collapsed, base64 decoded, ROT13, reversed. */
  views: string[]
  /** Obfuscation found, e.g. 'obfuscation:zero-width'. Never text from the input. */
  signals: string[]
}

/**
 * Builds the views the firewall scores. Obfuscation is undone where it is cheap and reported in
 * `signals`; it is a weak signal by itself (plenty of innocent text holds base64 or odd characters).
 */
export function normalizeViews (text: string): NormalizedViews {
  const signals = new Set<string>()
  let hidden = ''
  const invisible = INVISIBLE_TEST_RE.test(text)
  if (invisible) {
    if (ZERO_WIDTH_RE.test(text)) signals.add('obfuscation:zero-width')
    if (BIDI_RE.test(text)) signals.add('obfuscation:bidi')
    if (TAG_RE.test(text)) {
      signals.add('obfuscation:tag-chars')
      hidden = decodeTagChars(text)
    }
  }
  // same as cleanText(text), without testing for invisible characters twice
  let cleaned = text.indexOf('\r') === -1 ? text : text.replace(CR_RE, '\n')
  if (invisible) cleaned = cleaned.replace(INVISIBLE_RE, '')
  const unsquashed = fold(cleaned, signals)
  const evidence = scanEvidence(unsquashed)
  const folded = (evidence & EVIDENCE_SQUASH) !== 0 ? squashSpaces(unsquashed) : unsquashed
  const views: string[] = []

  // why before squashing: double spaces are what separate letter-spaced words
  const collapsed = (evidence & EVIDENCE_SPACED) !== 0 ? collapseSpacing(unsquashed) : null
  if (collapsed !== null) {
    signals.add('obfuscation:letter-spacing')
    views.push(squashSpaces(collapsed))
  }
  // why: tag characters are invisible ASCII; the text they spell is what a model may read
  if (hidden !== '') views.push(squashSpaces(fold(hidden, signals)))
  for (const decoded of decodeBase64Segments(cleaned)) {
    signals.add('obfuscation:base64')
    views.push(squashSpaces(fold(cleanText(decoded), signals)))
  }
  if ((evidence & EVIDENCE_ROT13) !== 0) {
    signals.add('obfuscation:rot13')
    views.push(rot13(folded))
  }
  if ((evidence & EVIDENCE_REVERSED) !== 0) {
    signals.add('obfuscation:reversed')
    views.push([...folded].reverse().join(''))
  }
  return { folded, views, signals: [...signals] }
}
