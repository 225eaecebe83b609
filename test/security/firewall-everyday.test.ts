// Everyday texts must never be rejected: short ones (reviews, greetings, notes in six languages),
// which the public benchmark's short attacks make look suspicious to an n-gram model, and ordinary
// documents (meeting notes, notices, recipes, release notes, fiction) of the kind users summarize.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createFirewall } from '../../security/firewall.ts'

const TEXTS: string[] = JSON.parse(readFileSync(new URL('../fixtures/everyday/short-texts.json', import.meta.url), 'utf8'))
const DOCUMENTS: string[] = JSON.parse(readFileSync(new URL('../fixtures/everyday/documents.json', import.meta.url), 'utf8'))

test('the firewall rejects none of the everyday short texts', () => {
  const firewall = createFirewall()
  const rejected = TEXTS.filter((text) => firewall(text).rejected)
  assert.deepEqual(rejected, [])
})

test('the firewall rejects none of the everyday documents', () => {
  const firewall = createFirewall()
  const rejected = DOCUMENTS.filter((text) => firewall(text).rejected).map((text) => text.slice(0, 60))
  assert.deepEqual(rejected, [])
})
