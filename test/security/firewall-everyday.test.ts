// Everyday short texts (reviews, greetings, notes in six languages) must never be rejected: the
// public benchmark's short attacks make short text itself look suspicious to an n-gram model.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createFirewall } from '../../security/firewall.ts'

const TEXTS: string[] = JSON.parse(readFileSync(new URL('../fixtures/everyday/short-texts.json', import.meta.url), 'utf8'))

test('the firewall rejects none of the everyday short texts', () => {
  const firewall = createFirewall()
  const rejected = TEXTS.filter((text) => firewall(text).rejected)
  assert.deepEqual(rejected, [])
})
