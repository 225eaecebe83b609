// `npm start`, the container's CMD and the bench start the gateway with the same Node flags.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFlags } from '../../bench/processes.ts'

const ROOT = join(import.meta.dirname, '..', '..')

test('npm start runs server.ts with a larger semi-space and a bounded old space, and the Dockerfile CMD uses the same flags', () => {
  const flags = startFlags()
  assert.ok(flags.includes('--max-semi-space-size=64'), `npm start flags: ${flags.join(' ')}`)
  assert.ok(flags.includes('--max-old-space-size=512'), `npm start flags: ${flags.join(' ')}`)
  const cmd = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((line) => line.startsWith('CMD '))
  assert.ok(cmd !== undefined, 'the Dockerfile has a CMD')
  assert.deepEqual(JSON.parse(cmd.slice('CMD '.length)), ['node', ...flags, 'server.ts'])
})
