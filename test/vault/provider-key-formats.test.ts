// Provider key shapes: each vendor's published format accepted, look-alikes and hostile inputs refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isPlausibleProviderKey, isProvider, last4, MAX_PROVIDER_KEY_LENGTH } from '../../security/provider-key-formats.ts'
import { fakeKeys, randomFrom } from './fixtures.ts'

const URLSAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

test('keys with each provider\'s published shape are accepted for that provider only', () => {
  const cases: Array<[string, string]> = [
    ['openai', fakeKeys.openaiLegacy()], ['openai', fakeKeys.openaiProject()], ['openai', fakeKeys.openaiServiceAccount()],
    ['openai', fakeKeys.openaiAdmin()], ['anthropic', fakeKeys.anthropic()], ['huggingface', fakeKeys.huggingface()]
  ]
  for (const [provider, key] of cases) {
    assert.equal(isPlausibleProviderKey(provider, key), true, `${provider} ${key.slice(0, 12)}`)
    for (const other of ['openai', 'anthropic', 'huggingface'].filter((p) => p !== provider)) {
      assert.equal(isPlausibleProviderKey(other, key), false, `${key.slice(0, 12)} is not a ${other} key`)
    }
  }
})

test('OpenAI project keys are accepted across the undocumented body lengths (40 to 400)', () => {
  assert.equal(isPlausibleProviderKey('openai', `sk-proj-${randomFrom(URLSAFE, 40)}`), true)
  assert.equal(isPlausibleProviderKey('openai', `sk-proj-${randomFrom(URLSAFE, 400)}`), true)
  assert.equal(isPlausibleProviderKey('openai', `sk-proj-${randomFrom(URLSAFE, 39)}`), false)
  assert.equal(isPlausibleProviderKey('openai', `sk-proj-${randomFrom(URLSAFE, 401)}`), false)
})

test('look-alikes, placeholders, masked keys, wrong charsets and whitespace are refused', () => {
  const anthropicBody = randomFrom(URLSAFE, 93)
  const refused: Array<[string, string]> = [
    ['openai', ''], ['openai', 'sk-...'], ['openai', 'sk-…a1b2'], ['openai', 'YOUR_OPENAI_API_KEY'],
    ['openai', `sk-${'a'.repeat(48)}`], // legacy length without the marker
    ['openai', `sk-${'a'.repeat(19)}T3BlbkFJ${'a'.repeat(20)}`],
    ['openai', `sk-${'a'.repeat(20)}T3BlbkFJ${'a'.repeat(19)}_`],
    ['openai', `sk-proj-${'a'.repeat(60)} `], [' openai', fakeKeys.openaiLegacy()], ['openai', ` ${fakeKeys.openaiLegacy()}`],
    ['openai', `${fakeKeys.openaiLegacy()}\n`], ['openai', `sk-proj-${'a'.repeat(60)}.b`], ['openai', `sk-user-${'a'.repeat(60)}`],
    ['openai', `SK-PROJ-${'a'.repeat(60)}`], ['openai', `sk-proj-${'é'.repeat(60)}`],
    ['anthropic', `sk-ant-api03-${anthropicBody}BA`], ['anthropic', `sk-ant-api03-${anthropicBody.slice(1)}AA`],
    ['anthropic', `sk-ant-api03-${anthropicBody}xAA`], ['anthropic', `sk-ant-admin01-${anthropicBody}AA`],
    ['anthropic', `sk-ant-api02-${anthropicBody}AA`], ['anthropic', `sk-ant-api03-${anthropicBody.replace(/^./, '+')}AA`],
    ['huggingface', `hf_${'a'.repeat(33)}`], ['huggingface', `hf_${'a'.repeat(35)}`], ['huggingface', `hf_${'a'.repeat(33)}1`],
    ['huggingface', `HF_${'a'.repeat(34)}`], ['huggingface', `api_org_${'a'.repeat(34)}`],
    ['mistral', fakeKeys.openaiLegacy()], ['__proto__', fakeKeys.openaiLegacy()], ['constructor', 'x']
  ]
  for (const [provider, key] of refused) assert.equal(isPlausibleProviderKey(provider, key), false, `${JSON.stringify(provider)} ${JSON.stringify(key.slice(0, 24))}`)
  assert.equal(isPlausibleProviderKey('openai', 42 as unknown as string), false)
})

test('long adversarial inputs are refused by the length bound, in linear time', () => {
  const hostile = [
    `sk-proj-${'a'.repeat(MAX_PROVIDER_KEY_LENGTH)}`, `sk-ant-api03-${'A'.repeat(100_000)}`, `hf_${'a'.repeat(1_000_000)}`,
    `sk-${'a'.repeat(20)}${'T3BlbkFJ'.repeat(50)}`, `sk-ant-api03-${'AA'.repeat(200)}!`
  ]
  for (const key of hostile) {
    for (const provider of ['openai', 'anthropic', 'huggingface']) assert.equal(isPlausibleProviderKey(provider, key), false)
  }
})

test('last4 is the last four characters; isProvider knows exactly the three providers', () => {
  assert.equal(last4('hf_abcdefghijklmnopqrstuvwxyzABCDWXYZ'), 'WXYZ')
  assert.deepEqual(['openai', 'anthropic', 'huggingface', 'github', 'toString', ''].map(isProvider), [true, true, true, false, false, false])
})
