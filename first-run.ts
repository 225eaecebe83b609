// First start outside production: write .env (mode 0600) with fresh secrets, never overwriting one.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'dotenv'
import { generateSecrets } from './security/secrets.ts'

export interface FirstRunResult { wrote: boolean, path: string }

/**
 * Writes `.env` from `.env.example` with generated JWT_SECRET and MASTER_KEY when the process is
 * not in production and neither secret is in the environment nor in an existing `.env`.
 */
export function ensureLocalSecrets (env: NodeJS.ProcessEnv, cwd: string): FirstRunResult {
  const path = join(cwd, '.env')
  if ((env.NODE_ENV ?? 'development') === 'production') return { wrote: false, path }
  if (existsSync(path)) return { wrote: false, path }
  if (env.JWT_SECRET !== undefined || env.MASTER_KEY !== undefined) return { wrote: false, path }
  const examplePath = join(cwd, '.env.example')
  const template = existsSync(examplePath) ? readFileSync(examplePath, 'utf8') : 'JWT_SECRET=\nMASTER_KEY=\n'
  const secrets = generateSecrets()
  const content = template
    .replace(/^JWT_SECRET=.*$/m, `JWT_SECRET=${secrets.JWT_SECRET}`)
    .replace(/^MASTER_KEY=.*$/m, `MASTER_KEY=${secrets.MASTER_KEY}`)
  // 'wx' fails if the file appeared meanwhile: an existing .env is never overwritten.
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' })
  return { wrote: true, path }
}

/** Reads `.env` (if any) into a copy of `env`; variables already set in the environment win. */
export function loadDotEnv (env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  const path = join(cwd, '.env')
  if (!existsSync(path)) return { ...env }
  const fromFile = parse(readFileSync(path))
  return { ...fromFile, ...env }
}
