// Checks deploy/k8s (or the directory given) against the Kubernetes schemas and the project's policy.
// Usage: node scripts/check-manifests.ts [dir]   — exits 1 when there is any finding.
/* eslint-disable security/detect-non-literal-fs-filename -- reads the directory its operator names on the command line */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { checkManifestFiles, RULES } from '../security/k8s-policy.ts'
import type { ManifestFile } from '../security/k8s-policy.ts'

const DEFAULT_DIR = resolve(import.meta.dirname, '..', 'deploy', 'k8s')

const dir = process.argv[2] !== undefined ? resolve(process.argv[2]) : DEFAULT_DIR

let files: ManifestFile[]
try {
  files = readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => ({ file: name, text: readFileSync(join(dir, name), 'utf8') }))
} catch (error) {
  console.error(`check-manifests: cannot read ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  process.exit(2)
}

if (files.length === 0) {
  console.error(`check-manifests: no YAML files in ${dir}`)
  process.exit(1)
}

const findings = checkManifestFiles(files)
const shown = relative(process.cwd(), dir) || '.'
for (const finding of findings) {
  const where = finding.object === '' ? finding.file : `${finding.file} ${finding.object}`
  console.log(`✗ [${finding.rule}] ${where}: ${finding.message}`)
}
if (findings.length > 0) {
  const rules = [...new Set(findings.map((f) => f.rule))]
  console.log(`\n${findings.length} finding(s) in ${shown}; rules broken: ${rules.map((r) => `${r} (${RULES[r]})`).join('; ')}`)
  process.exit(1)
}
console.log(`✓ ${files.length} file(s) in ${shown}: schema valid, ${Object.keys(RULES).length} policy rules pass`)
