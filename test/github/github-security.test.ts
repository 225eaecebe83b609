import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import {
  GITHUB_USERNAME_PATTERN,
  isDeliveryId,
  isValidGitHubUsername,
  parseWebhookEvents,
  parseWebhookSecrets,
  sanitizeDescription,
  verifyWebhookSignature
} from '../../security/github.ts'
import { signWebhook } from '../fakes/github.ts'

const VALID_USERNAMES = ['a', 'Z', '0', 'octocat', 'mojombo', 'A1', 'a-b', 'a-b-c', 'a1-b2-c3', 'x'.repeat(39), `a${'-b'.repeat(19)}`]
const INVALID_USERNAMES = [
  '', '-', '--', '-a', 'a-', 'a--b', '-a-', '../admin', '..', '.', '%2e%2e', '%2E%2E%2Fadmin', 'a/b', 'a\\b',
  'x'.repeat(40), `a${'-b'.repeat(20)}`, 'a b', ' a', 'a ', 'a\n', 'a\r\n', '\ta', 'a\u0000', 'a_b', 'a.b', 'a?x=1', 'a#b', 'a@b',
  'ü', 'münchen', 'ａ', 'İ', 'a\u200bb', 'a\u202eb', 'octocat\u{1F600}', '\u{1D41A}', '\uD800'
]
// The pattern is a constant of ours; compiling it is what the test is about.
// eslint-disable-next-line security/detect-non-literal-regexp
const usernameRegex = new RegExp(GITHUB_USERNAME_PATTERN)
// Ajv compiles `pattern` with the `u` flag by default; check that form too.
// eslint-disable-next-line security/detect-non-literal-regexp
const usernameRegexUnicode = new RegExp(GITHUB_USERNAME_PATTERN, 'u')

test('accepts the usernames GitHub allows', () => {
  for (const name of VALID_USERNAMES) {
    assert.equal(isValidGitHubUsername(name), true, name)
    assert.equal(usernameRegex.test(name), true, name)
    assert.equal(usernameRegexUnicode.test(name), true, name)
  }
})

test('rejects traversal, encodings, bad hyphens, overlong, whitespace and non-ASCII usernames', () => {
  for (const name of INVALID_USERNAMES) {
    assert.equal(isValidGitHubUsername(name), false, JSON.stringify(name))
    assert.equal(usernameRegex.test(name), false, JSON.stringify(name))
    assert.equal(usernameRegexUnicode.test(name), false, JSON.stringify(name))
  }
})

test('rejects non-string usernames without throwing', () => {
  for (const value of [undefined, null, 42, ['octocat'], { toString: () => 'octocat' }]) {
    assert.equal(isValidGitHubUsername(value as unknown as string), false)
  }
})

test('the username pattern and function agree on random strings', () => {
  // An alphabet dense in the characters that matter makes the edge cases likely.
  const unit = fc.constantFrom('a', 'Z', '7', '-', '-', '.', '/', ' ', '_', 'é', '\n', '\u200b')
  fc.assert(fc.property(fc.string({ unit, maxLength: 45 }), (name) => {
    const expected = isValidGitHubUsername(name)
    return usernameRegex.test(name) === expected && usernameRegexUnicode.test(name) === expected
  }), { numRuns: 20_000 })
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 45 }), (name) => {
    return usernameRegex.test(name) === isValidGitHubUsername(name)
  }), { numRuns: 5_000 })
})

test('the username check and pattern finish on long adversarial inputs', () => {
  const inputs = ['a-'.repeat(200_000), `${'a'.repeat(500_000)}!`, `${'a-'.repeat(200_000)}-`, '-'.repeat(500_000)]
  for (const input of inputs) {
    assert.equal(isValidGitHubUsername(input), false)
    assert.equal(usernameRegex.test(input), false)
    assert.equal(usernameRegexUnicode.test(input), false)
  }
})

const SECRET = 'It\'s a Secret to Everybody'
const OTHER_SECRET = 'another-secret-entirely'
const PAYLOAD = { zen: 'Design for failure.', hook_id: 1, repository: { full_name: 'octocat/Hello-World' }, sender: { login: 'octocat' } }
const BODY = Buffer.from(JSON.stringify(PAYLOAD))

test('verifies GitHub\'s documented example signature', async () => {
  // From GitHub's "Validating webhook deliveries" documentation.
  const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
  assert.equal(await verifyWebhookSignature([SECRET], Buffer.from('Hello, World!'), header), true)
  assert.equal(await verifyWebhookSignature([SECRET], 'Hello, World!', header), true)
  assert.equal(signWebhook(SECRET, 'Hello, World!'), header)
})

test('accepts a body signed with the configured secret, as Buffer or string', async () => {
  const header = signWebhook(SECRET, BODY)
  assert.equal(await verifyWebhookSignature([SECRET], BODY, header), true)
  assert.equal(await verifyWebhookSignature([SECRET], BODY.toString('utf8'), header), true)
})

test('rejects a body with one flipped byte', async () => {
  const header = signWebhook(SECRET, BODY)
  for (const index of [0, Math.floor(BODY.length / 2), BODY.length - 1]) {
    const tampered = Buffer.from(BODY)
    tampered[index] ^= 0x01
    assert.equal(await verifyWebhookSignature([SECRET], tampered, header), false, `byte ${index}`)
  }
})

test('rejects a signature with one changed hex digit', async () => {
  const header = signWebhook(SECRET, BODY)
  const last = header.at(-1) === '0' ? '1' : '0'
  assert.equal(await verifyWebhookSignature([SECRET], BODY, header.slice(0, -1) + last), false)
})

test('rejects a webhook whose signature was made with another secret', async () => {
  assert.equal(await verifyWebhookSignature([SECRET], BODY, signWebhook(OTHER_SECRET, BODY)), false)
})

test('rejects a missing, SHA-1-only or malformed signature header', async () => {
  const good = signWebhook(SECRET, BODY)
  const hex = good.slice('sha256='.length)
  const sha1 = `sha1=${'a'.repeat(40)}`
  const malformed = [
    undefined, '', sha1, 'sha256=', 'sha256', hex, `sha256=${hex.slice(1)}`, `sha256=${hex}0`, `sha256=${hex} `, ` ${good}`,
    `${good}\n`, `sha256:${hex}`, `sha512=${hex}`, `${good}, ${good}`, `sha256=${'z'.repeat(64)}`, `sha256=${hex.slice(0, 62)}\u00e9\u00e9`,
    `sha256=${'0'.repeat(100_000)}`
  ]
  for (const header of malformed) {
    assert.equal(await verifyWebhookSignature([SECRET], BODY, header), false, JSON.stringify(header?.slice(0, 80)))
  }
})

test('accepts the signature hex in upper case (same digest)', async () => {
  const header = signWebhook(SECRET, BODY)
  assert.equal(await verifyWebhookSignature([SECRET], BODY, `sha256=${header.slice(7).toUpperCase()}`), true)
})

test('rejects the pretty-printed JSON of the same payload', async () => {
  const header = signWebhook(SECRET, BODY)
  const pretty = Buffer.from(JSON.stringify(PAYLOAD, null, 2))
  assert.deepEqual(JSON.parse(pretty.toString()), JSON.parse(BODY.toString()))
  assert.equal(await verifyWebhookSignature([SECRET], pretty, header), false)
})

test('accepts both secrets of a rotation and nothing else', async () => {
  const secrets = parseWebhookSecrets(`${SECRET}, ${OTHER_SECRET}`)
  assert.equal(await verifyWebhookSignature(secrets, BODY, signWebhook(SECRET, BODY)), true)
  assert.equal(await verifyWebhookSignature(secrets, BODY, signWebhook(OTHER_SECRET, BODY)), true)
  assert.equal(await verifyWebhookSignature(secrets, BODY, signWebhook('third-secret', BODY)), false)
})

test('rejects everything when no usable secret is configured', async () => {
  // An HMAC under the empty key is computable by anyone.
  assert.equal(await verifyWebhookSignature([], BODY, signWebhook(SECRET, BODY)), false)
  assert.equal(await verifyWebhookSignature([''], BODY, signWebhook('', BODY)), false)
})

test('rejects an empty body without throwing', async () => {
  assert.equal(await verifyWebhookSignature([SECRET], Buffer.alloc(0), signWebhook(SECRET, 'x')), false)
  assert.equal(await verifyWebhookSignature([SECRET], '', signWebhook(SECRET, 'x')), false)
})

test('verifies the exact bytes of multi-byte UTF-8 bodies', async () => {
  const text = JSON.stringify({ zen: 'Ça marche 😀 中文 \u00e9\u0301 \u202e', hook_id: 2 })
  const utf8 = Buffer.from(text, 'utf8')
  assert.notEqual(utf8.length, text.length)
  const header = signWebhook(SECRET, utf8)
  assert.equal(await verifyWebhookSignature([SECRET], utf8, header), true)
  assert.equal(await verifyWebhookSignature([SECRET], text, header), true)
  // The same characters in another encoding are other bytes.
  const accented = '{"zen":"Ça été"}'
  const latin1 = Buffer.from(accented, 'latin1')
  assert.equal(await verifyWebhookSignature([SECRET], latin1, signWebhook(SECRET, Buffer.from(accented, 'utf8'))), false)
  assert.equal(await verifyWebhookSignature([SECRET], Buffer.from(accented, 'utf8'), signWebhook(SECRET, latin1)), false)
  // A UTF-8 byte-order mark is part of the signed bytes.
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8])
  assert.equal(await verifyWebhookSignature([SECRET], withBom, header), false)
  assert.equal(await verifyWebhookSignature([SECRET], withBom, signWebhook(SECRET, withBom)), true)
})

test('rejects bodies that are not UTF-8, so that no two byte strings share a signature', async () => {
  const prefix = Buffer.from('{"zen":"')
  const suffix = Buffer.from('","hook_id":3}')
  const withFF = Buffer.concat([prefix, Buffer.from([0xff]), suffix])
  const withFE = Buffer.concat([prefix, Buffer.from([0xfe]), suffix])
  // Both decode to the same string (U+FFFD), so a string-based check could not tell them apart.
  assert.equal(withFF.toString('utf8'), withFE.toString('utf8'))
  assert.equal(await verifyWebhookSignature([SECRET], withFE, signWebhook(SECRET, withFF)), false)
  assert.equal(await verifyWebhookSignature([SECRET], withFF, signWebhook(SECRET, withFF.toString('utf8'))), false)
  // Even a signature over these exact bytes: JSON on the wire is UTF-8, GitHub never sends this.
  assert.equal(await verifyWebhookSignature([SECRET], withFF, signWebhook(SECRET, withFF)), false)
  const overlong = Buffer.concat([prefix, Buffer.from([0xc0, 0xaf]), suffix])
  assert.equal(await verifyWebhookSignature([SECRET], overlong, signWebhook(SECRET, overlong)), false)
  const surrogate = Buffer.concat([prefix, Buffer.from([0xed, 0xa0, 0x80]), suffix])
  assert.equal(await verifyWebhookSignature([SECRET], surrogate, signWebhook(SECRET, surrogate)), false)
})

test('rejects string bodies with lone surrogates', async () => {
  const lone = '{"zen":"\uD800"}'
  const replaced = '{"zen":"\uFFFD"}'
  assert.equal(await verifyWebhookSignature([SECRET], lone, signWebhook(SECRET, Buffer.from(replaced))), false)
})

test('parses comma-separated webhook secrets, trimming and dropping empties', () => {
  assert.deepEqual(parseWebhookSecrets(undefined), [])
  assert.deepEqual(parseWebhookSecrets(''), [])
  assert.deepEqual(parseWebhookSecrets(' , ,'), [])
  assert.deepEqual(parseWebhookSecrets('one'), ['one'])
  assert.deepEqual(parseWebhookSecrets(' new-secret , old-secret ,, '), ['new-secret', 'old-secret'])
})

test('parses accepted webhook events, always including ping', () => {
  assert.deepEqual([...parseWebhookEvents(undefined)].sort(), ['issues', 'ping', 'pull_request', 'push', 'release'])
  assert.deepEqual([...parseWebhookEvents('')].sort(), ['issues', 'ping', 'pull_request', 'push', 'release'])
  assert.deepEqual([...parseWebhookEvents('push')].sort(), ['ping', 'push'])
  assert.deepEqual([...parseWebhookEvents(' Push , bad-name, x y, ,workflow_run ')].sort(), ['ping', 'push', 'workflow_run'])
})

test('recognises X-GitHub-Delivery GUIDs only', () => {
  for (const id of ['72d3162e-cc78-11e3-81ab-4c9367dc0958', '00000000-0000-0000-0000-000000000000', crypto.randomUUID(), 'ABCDEF01-2345-6789-ABCD-EF0123456789']) {
    assert.equal(isDeliveryId(id), true, id)
  }
  for (const id of ['', 'not-a-guid', '72d3162ecc7811e381ab4c9367dc0958', '{72d3162e-cc78-11e3-81ab-4c9367dc0958}',
    '72d3162e-cc78-11e3-81ab-4c9367dc0958\n', ' 72d3162e-cc78-11e3-81ab-4c9367dc0958', '72d3162e-cc78-11e3-81ab-4c9367dc095g',
    '72d3162e-cc78-11e3-81ab-4c9367dc09580', '../../../etc/passwd', `${'a'.repeat(8)}-`.repeat(10_000)]) {
    assert.equal(isDeliveryId(id), false, id.slice(0, 60))
  }
  assert.equal(isDeliveryId(undefined as unknown as string), false)
})

test('sanitizeDescription removes controls, zero-width, bidi and tag characters', () => {
  const cases: Array<[string, string | null]> = [
    ['plain text', 'plain text'],
    ['Ça marche 😀 中文', 'Ça marche 😀 中文'],
    ['a\u0000b\u0007c\u001bd\u007fe\u0085f\u009bg', 'abcdefg'],
    ['line one\nline two\r\nthree\tfour\u2028five', 'line one line two  three four five'],
    ['zero\u200bwidth\u200c\u200d\u2060\ufeffjoin', 'zerowidthjoin'],
    ['safe \u202egnp.exe\u202c \u2066iso\u2069 \u200emark\u200f \u061c', 'safe gnp.exe iso mark'],
    ['hidden\u{E0041}\u{E0042}\u{E007F} tags', 'hidden tags'],
    ['soft\u00adhyphen', 'softhyphen'],
    ['lone \uD800 surrogate \uDC00', 'lone \uFFFD surrogate \uFFFD'],
    ['tag \uDB40 high half only', 'tag \uFFFD high half only'],
    ['  padded  ', 'padded'],
    ['\u200b\u202e\u0000 \n', null],
    ['', null]
  ]
  for (const [input, expected] of cases) {
    assert.equal(sanitizeDescription(input), expected, JSON.stringify(input))
  }
  assert.equal(sanitizeDescription(null), null)
  assert.equal(sanitizeDescription(42 as unknown as string), null)
})

test('sanitizeDescription bounds the length in code points without splitting surrogate pairs', () => {
  const exact = 'a'.repeat(300)
  assert.equal(sanitizeDescription(exact), exact)
  const long = sanitizeDescription('a'.repeat(1000))
  assert.equal(long, `${'a'.repeat(299)}…`)
  const emoji = sanitizeDescription('😀'.repeat(400)) ?? ''
  assert.equal([...emoji].length, 300)
  assert.ok(emoji.isWellFormed())
  assert.ok(emoji.endsWith('…'))
  // 300 emoji are 600 UTF-16 units but only 300 code points: kept whole.
  assert.equal(sanitizeDescription('😀'.repeat(300)), '😀'.repeat(300))
  assert.equal(sanitizeDescription('abcdef', 3), 'ab…')
  assert.equal(sanitizeDescription('abc', 3), 'abc')
  assert.equal(sanitizeDescription('ab', 1), '…')
  assert.equal(sanitizeDescription('word '.repeat(100), 10), 'word word…')
  assert.throws(() => sanitizeDescription('x', 0), RangeError)
})

test('sanitizeDescription handles megabyte inputs of hostile characters', () => {
  const hostile = '\u202e\u200b\u0000a'.repeat(250_000)
  const result = sanitizeDescription(hostile) ?? ''
  assert.equal(result, `${'a'.repeat(299)}…`)
  assert.equal(sanitizeDescription('\u{E0041}'.repeat(500_000)), null)
})
