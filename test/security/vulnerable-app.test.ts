// The DAST self-test's target really is injectable, so a clean sqlmap run against the gateway means something.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startVulnerableApp } from '../fixtures/vulnerable-app.ts'

test('the vulnerable fixture app leaks every row through a classic quote injection', async (t) => {
  const app = await startVulnerableApp()
  t.after(() => app.close())
  const honest = await (await fetch(`${app.url}/items?name=apple`)).json() as { items: unknown[] }
  assert.equal(honest.items.length, 1)
  const injected = await (await fetch(`${app.url}/search`, { method: 'POST', body: JSON.stringify({ name: "x' OR '1'='1" }) })).json() as { items: unknown[] }
  assert.equal(injected.items.length, 3, 'the tautology returns all rows: the route is injectable on purpose')
})

test('the vulnerable fixture app answers a broken quote with a 500, the error oracle scanners use', async (t) => {
  const app = await startVulnerableApp()
  t.after(() => app.close())
  const res = await fetch(`${app.url}/items?name=${encodeURIComponent("it's")}`)
  assert.equal(res.status, 500)
})
