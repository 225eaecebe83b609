// The output scanner on a corpus written apart from it (test/fixtures/scanner/make-independent.ts):
// LLM-style answers with leaks, injections and exfiltration, and clean answers with look-alikes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createOutputScanner } from '../../security/output-scanner.ts'

const ITEMS = readFileSync(new URL('../fixtures/scanner/independent.jsonl', import.meta.url), 'utf8').trim().split('\n')
  .map((line) => JSON.parse(line) as { text: string, label: 'unsafe' | 'safe', kind: string })

test('every leak, injection and exfiltration of the independent corpus is discarded, every clean answer passes', () => {
  const scan = createOutputScanner({ allowedHosts: ['docs.example.com'] })
  const wrong = ITEMS.filter((item) => scan(item.text).safe !== (item.label === 'safe')).map((item) => `${item.label}/${item.kind}`)
  assert.deepEqual(wrong, [])
  assert.ok(ITEMS.filter((item) => item.label === 'unsafe').length >= 20)
  assert.ok(ITEMS.filter((item) => item.label === 'safe').length >= 15)
})
