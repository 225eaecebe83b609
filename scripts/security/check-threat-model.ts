// Checks that every test cited by docs/threat-model.md and docs/security-controls.md exists: the file, and the test name in it.
// A cited name is written as in the source (`${…}` templates included), so a rename breaks this check, not the docs silently.
/* eslint-disable security/detect-non-literal-fs-filename -- paths come from the repository's own docs */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..', '..')
const DOCS = ['docs/threat-model.md', 'docs/security-controls.md']
const CITATION = /`(test\/[^`]+\.ts)` › "([^"]+)"/g

let cited = 0
const problems: string[] = []
for (const doc of DOCS) {
  const path = join(ROOT, doc)
  if (!existsSync(path)) { problems.push(`${doc} is missing`); continue }
  const text = readFileSync(path, 'utf8')
  for (const line of text.split('\n')) {
    // Every threat row (| T-… | or | R-… |) must cite at least one test.
    if (/^\| [TR]-[A-Z0-9.]+ \|/.test(line) && !line.includes('` › "')) problems.push(`${doc}: row without a test citation: ${line.slice(0, 80)}`)
    for (const [, file, name] of line.matchAll(CITATION)) {
      cited++
      const source = join(ROOT, file)
      if (!existsSync(source)) { problems.push(`${doc}: ${file} does not exist`); continue }
      if (!readFileSync(source, 'utf8').includes(name)) problems.push(`${doc}: ${file} has no test named "${name}"`)
    }
  }
}
for (const p of problems) process.stdout.write(`  ${p}\n`)
process.stdout.write(`threat-model references: ${cited} cited tests, ${problems.length} problems\n`)
process.exitCode = problems.length === 0 && cited > 0 ? 0 : 1
