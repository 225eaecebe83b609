// Configuration: the TypeBox env schema validated by @fastify/env, plus secret-strength checks.
import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import envSchema from 'env-schema'
import type { FastifyInstance } from 'fastify'
import { EnvSchema } from '../schemas/env.ts'
import type { Env } from '../schemas/env.ts'
import { jwtSecretWeakness, masterKeyWeakness } from '../security/secrets.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Env
  }
}

/** A configuration error: its message names the variable and says how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Validates raw variables against EnvSchema (the same engine @fastify/env uses) and checks secrets.
 * In production a weak or missing secret is fatal; elsewhere only its shape is enforced.
 */
export function loadConfig (input: NodeJS.ProcessEnv): Env {
  const raw = withoutEmptyValues(input)
  const production = raw.NODE_ENV === 'production'
  if (production) {
    const problems = [jwtSecretWeakness(raw.JWT_SECRET), masterKeyWeakness('MASTER_KEY', raw.MASTER_KEY)]
    if (raw.MASTER_KEY_PREVIOUS !== undefined) problems.push(masterKeyWeakness('MASTER_KEY_PREVIOUS', raw.MASTER_KEY_PREVIOUS))
    const first = problems.find((p) => p !== null)
    if (first) throw new ConfigError(first)
  }
  let config: Env
  try {
    // env: false — only the variables given are read, so a test or CLI never picks up the shell's.
    config = envSchema<Env>({ schema: EnvSchema, data: { ...raw }, dotenv: false, env: false })
  } catch (err) {
    // ajv's text already names the variable ("env/PORT must be integer"); keep it, drop the noise.
    throw new ConfigError(`invalid configuration: ${(err as Error).message.replaceAll('env/', '')}`)
  }
  if (config.CORS_ORIGINS.split(',').some((o) => o.trim() === '*')) {
    throw new ConfigError('CORS_ORIGINS must list exact origins; "*" is never allowed')
  }
  if (config.MASTER_KEY_PREVIOUS !== undefined && config.MASTER_KEY_PREVIOUS === config.MASTER_KEY) {
    throw new ConfigError('MASTER_KEY_PREVIOUS must differ from MASTER_KEY')
  }
  return config
}

/** `OPENAI_API_KEY=` in a .env means "not set": an empty value never counts as configuration. */
function withoutEmptyValues (env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''))
}

/** Splits a comma-separated variable into trimmed, non-empty items. */
export function listOf (value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

async function envPlugin (fastify: FastifyInstance, opts: { env: NodeJS.ProcessEnv }) {
  const data = withoutEmptyValues(opts.env)
  await fastify.register(fastifyEnv, { schema: EnvSchema, confKey: 'config', data, dotenv: false, env: false })
}

export default fp(envPlugin, { name: 'env', fastify: '5.x' })
