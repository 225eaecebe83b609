#!/usr/bin/env node
// microgate's admin CLI: users, API keys, master-key rotation and the security-event log, straight on the database.
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ParseArgsConfig } from 'node:util'
import { Value } from 'typebox/value'
import { loadDotEnv } from '../first-run.ts'
import { loadConfig } from '../plugins/env.ts'
import type { Env } from '../schemas/env.ts'
import { CreateKeyBodySchema, CreateUserBodySchema } from '../schemas/identity.ts'
import { openDatabase } from '../store/database.ts'
import type { StoreConnection } from '../store/database.ts'
import { migrateToLatest } from '../store/migrations.ts'
import { createRepositories } from '../store/repositories.ts'
import type { ApiKeyRecord, Repositories, SecurityEvent } from '../store/repositories.ts'
import { createProviderKeyRepository, rotateProviderKeys } from '../store/provider-keys.ts'
import { hashPassword, passwordWeakness } from '../security/passwords.ts'
import { REVOCATION_CHANNEL, displayPrefix, generateApiKey, hashApiKey } from '../security/api-keys.ts'
import { isRole } from '../security/rbac.ts'
import { createVault } from '../security/vault.ts'

const REDIS_TIMEOUT_MS = 3000 // a revocation must not hang on an unreachable Redis; the database write is already done
const EVENTS_POLL_INTERVAL_MS = 1000
const EVENTS_DEFAULT_LIMIT = 20
const EVENTS_MAX_LIMIT = 1000
const EVENTS_BATCH = 500
const LIST_PAGE = 100
const DAY_MS = 86_400_000
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EVENT_TYPE = /^[a-z0-9-]{1,64}$/

const EXIT_FAILURE = 1
const EXIT_USAGE = 2

/** An expected failure: its message is the one line the user sees. */
class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = EXIT_FAILURE) {
    super(message)
    this.exitCode = exitCode
  }
}

interface Context {
  config: Env
  connection: StoreConnection
  repos: Repositories
  out: (line: string) => void
}

type Values = Record<string, string | boolean | undefined>

interface Command {
  summary: string
  usage: string
  details: string
  options: NonNullable<ParseArgsConfig['options']>
  run: (values: Values, context: Context) => Promise<void>
}

const str = (values: Values, name: string): string | undefined => typeof values[name] === 'string' ? values[name] : undefined
function required (values: Values, name: string): string {
  const value = str(values, name)
  if (value === undefined || value === '') throw new CliError(`--${name} is required (see --help)`, EXIT_USAGE)
  return value
}
function integer (values: Values, name: string, min: number, max: number): number | undefined {
  const raw = str(values, name)
  if (raw === undefined) return undefined
  if (!/^[0-9]{1,7}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}`, EXIT_USAGE)
  return Number(raw)
}
function email (values: Values): string {
  const value = required(values, 'email')
  if (!Value.Check(CreateUserBodySchema.properties.email, value)) throw new CliError('--email is not a valid email address', EXIT_USAGE)
  return value
}
async function userByEmail (context: Context, address: string) {
  const user = await context.repos.users.findByEmail(address)
  if (user === undefined) throw new CliError(`no user with email ${address}`)
  return user
}

async function publishRevocation (url: string, keyHash: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { lazyConnect: true, connectTimeout: REDIS_TIMEOUT_MS, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null })
  // ioredis rejects with a vague "Connection is closed."; the socket error says what went wrong.
  let cause: Error | undefined
  client.on('error', (err: Error) => { cause ??= err })
  try {
    await client.connect()
    await client.publish(REVOCATION_CHANNEL, keyHash)
  } catch (err) {
    throw cause ?? err
  } finally {
    client.disconnect()
  }
}

const eventLine = (event: SecurityEvent): string => JSON.stringify(event)

const COMMANDS: Record<string, Command> = {
  'create-user': {
    summary: 'Create a user (viewer, user or admin)',
    usage: 'create-user --email E --role viewer|user|admin [--password P]',
    details: [
      'The password comes from --password or, better (it stays out of the process list and shell',
      'history), from the MICROGATE_PASSWORD environment variable. It must satisfy the password policy:',
      'at least 12 characters, not a common password, not based on the email address.'
    ].join('\n'),
    options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' } },
    async run (values, context) {
      const address = email(values)
      const role = required(values, 'role')
      if (!isRole(role)) throw new CliError('--role must be viewer, user or admin', EXIT_USAGE)
      const password = str(values, 'password') ?? process.env.MICROGATE_PASSWORD
      if (password === undefined || password === '') throw new CliError('set the password with --password or the MICROGATE_PASSWORD environment variable', EXIT_USAGE)
      const weakness = passwordWeakness(password, address)
      if (weakness !== null) throw new CliError(weakness)
      if (await context.repos.users.findByEmail(address) !== undefined) throw new CliError(`a user with email ${address.toLowerCase()} already exists`)
      const user = await context.repos.users.create({ email: address, passwordHash: await hashPassword(password), role })
      context.out(`created ${user.role} ${user.email} (id ${user.id})`)
    }
  },

  'create-key': {
    summary: 'Create a gateway API key for a user (printed once)',
    usage: 'create-key --email E --name N [--expires-days D]',
    details: [
      'The key is printed once: only its SHA-256 is stored, so it cannot be shown again.',
      '--name: 1-100 letters, digits, spaces and . _ : / @ -; --expires-days: 1-3650 (default: never).'
    ].join('\n'),
    options: { email: { type: 'string' }, name: { type: 'string' }, 'expires-days': { type: 'string' } },
    async run (values, context) {
      const address = email(values)
      const name = required(values, 'name')
      if (!Value.Check(CreateKeyBodySchema.properties.name, name)) throw new CliError('--name must be 1-100 letters, digits, spaces or . _ : / @ -', EXIT_USAGE)
      const days = integer(values, 'expires-days', 1, 3650)
      const user = await userByEmail(context, address)
      const key = generateApiKey()
      const expiresAt = days === undefined ? null : new Date(Date.now() + days * DAY_MS).toISOString()
      const record = await context.repos.apiKeys.create({ userId: user.id, name, prefix: displayPrefix(key), keyHash: hashApiKey(key), expiresAt })
      context.out([
        `created API key ${record.id} for ${user.email} (${record.name}), expires ${expiresAt ?? 'never'}`,
        'the key is shown ONCE; store it now:',
        key
      ].join('\n'))
    }
  },

  'revoke-key': {
    summary: 'Revoke an API key',
    usage: 'revoke-key --id ID',
    details: [
      'The key is marked revoked in the database. Running servers cache keys for at most 5 s (SQLite)',
      'or 1 s (PostgreSQL); with REDIS_URL set the revocation is also published on the Redis channel',
      `${REVOCATION_CHANNEL}, so every instance drops the key at once (otherwise within 60 s).`
    ].join('\n'),
    options: { id: { type: 'string' } },
    async run (values, context) {
      const id = required(values, 'id')
      if (!UUID.test(id)) throw new CliError('--id must be a key id (a UUID, as list-keys shows)', EXIT_USAGE)
      const record = await context.repos.apiKeys.findById(id.toLowerCase())
      if (record === undefined) throw new CliError(`no API key with id ${id}`)
      if (record.revokedAt !== null) {
        context.out(`API key ${record.id} (${record.prefix}…) was already revoked at ${record.revokedAt}`)
        return
      }
      await context.repos.apiKeys.revoke(record.id)
      await context.repos.events.insert({ type: 'key-revoked', reason: 'cli', details: { keyId: record.id } })
      if (context.config.REDIS_URL !== undefined) {
        try {
          await publishRevocation(context.config.REDIS_URL, record.keyHash)
        } catch (err) {
          throw new CliError(`API key ${record.id} is revoked in the database, but the Redis notice failed (${(err as Error).message}): running servers drop it within 60 s`)
        }
      }
      context.out(`revoked API key ${record.id} (${record.prefix}…)`)
    }
  },

  'list-keys': {
    summary: 'List API keys (never the keys themselves)',
    usage: 'list-keys [--email E] [--json]',
    details: 'Active (not revoked) keys of one user, or of everyone, newest first. --json prints one JSON object per line.',
    options: { email: { type: 'string' }, json: { type: 'boolean' } },
    async run (values, context) {
      const owner = str(values, 'email') === undefined ? null : await userByEmail(context, email(values))
      const keys: ApiKeyRecord[] = []
      let cursor: string | undefined
      do {
        const page = await context.repos.apiKeys.list(owner?.id ?? null, LIST_PAGE, cursor)
        keys.push(...page.items)
        cursor = page.next ?? undefined
      } while (cursor !== undefined)
      const emails = new Map<string, string>()
      for (const k of keys) {
        if (!emails.has(k.userId)) emails.set(k.userId, (await context.repos.users.findById(k.userId))?.email ?? '?')
      }
      const rows = keys.map((k) => ({ id: k.id, owner: emails.get(k.userId) ?? '?', name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, expiresAt: k.expiresAt }))
      if (values.json === true) {
        for (const row of rows) context.out(JSON.stringify(row))
        return
      }
      if (rows.length === 0) {
        context.out('no API keys')
        return
      }
      const table = [['ID', 'OWNER', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES'], ...rows.map((r) => [r.id, r.owner, r.name, `${r.prefix}…`, r.createdAt, r.lastUsedAt ?? '-', r.expiresAt ?? 'never'])]
      const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)))
      for (const r of table) context.out(r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd())
    }
  },

  'rotate-master-key': {
    summary: 'Re-encrypt stored provider keys under MASTER_KEY',
    usage: 'rotate-master-key',
    details: [
      'Set MASTER_KEY to the NEW key and MASTER_KEY_PREVIOUS to the OLD one (environment or .env), then run this.',
      'Every provider key not already under MASTER_KEY is re-encrypted, all in one transaction: an',
      'interruption leaves every row readable with one of the two keys. Safe to re-run. When it reports',
      '0 failed, restart the servers without MASTER_KEY_PREVIOUS. Exits 1 when some rows could not be decrypted.'
    ].join('\n'),
    options: {},
    async run (_values, context) {
      const vault = createVault({ masterKey: context.config.MASTER_KEY, previousKey: context.config.MASTER_KEY_PREVIOUS })
      const result = await rotateProviderKeys(createProviderKeyRepository(context.connection.db), vault)
      context.out(`rotated: ${result.rotated}, already current: ${result.alreadyCurrent}, failed: ${result.failed}, changed meanwhile: ${result.skipped}`)
      if (result.failed > 0) {
        const hint = context.config.MASTER_KEY_PREVIOUS === undefined ? 'set MASTER_KEY_PREVIOUS to the old key' : 'neither MASTER_KEY nor MASTER_KEY_PREVIOUS is the key they were written with'
        throw new CliError(`${result.failed} provider key(s) could not be decrypted and were left unchanged: ${hint}`)
      }
    }
  },

  events: {
    summary: 'Print security events as JSON lines',
    usage: 'events [--type T] [--since ISO-8601] [--limit N] [--follow]',
    details: [
      `Prints the newest --limit (default ${EVENTS_DEFAULT_LIMIT}, at most ${EVENTS_MAX_LIMIT}) matching events, oldest first, one JSON object a line.`,
      `--follow keeps polling every ${EVENTS_POLL_INTERVAL_MS / 1000} s for new ones until interrupted (Ctrl-C).`,
      'Types: login-failed, login-throttled, credential-invalid, forbidden, rate-limited, validation-failed,',
      'prompt-rejected, unsafe-output, bad-signature, model-not-trusted, upstream-refused, output-anomaly, key-revoked.'
    ].join('\n'),
    options: { type: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, follow: { type: 'boolean' } },
    async run (values, context) {
      const type = str(values, 'type')
      if (type !== undefined && !EVENT_TYPE.test(type)) throw new CliError('--type must be an event type such as login-failed', EXIT_USAGE)
      const sinceRaw = str(values, 'since')
      const sinceMs = sinceRaw === undefined ? undefined : Date.parse(sinceRaw)
      if (sinceMs !== undefined && Number.isNaN(sinceMs)) throw new CliError('--since must be an ISO-8601 date or time, e.g. 2025-01-31T12:00:00Z', EXIT_USAGE)
      const since = sinceMs === undefined ? undefined : new Date(sinceMs).toISOString()
      const limit = integer(values, 'limit', 1, EVENTS_MAX_LIMIT) ?? EVENTS_DEFAULT_LIMIT
      const page = await context.repos.events.list({ type, since, limit })
      const initial = page.items.reverse()
      for (const event of initial) context.out(eventLine(event))
      if (values.follow !== true) return

      let lastId = initial.at(-1)?.id ?? 0
      const interrupted = new AbortController()
      const onSignal = () => { interrupted.abort() }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const { db } = context.connection
      while (!interrupted.signal.aborted) {
        let q = db.selectFrom('security_events').selectAll().where('id', '>', lastId).orderBy('id', 'asc').limit(EVENTS_BATCH)
        if (type !== undefined) q = q.where('type', '=', type)
        if (since !== undefined) q = q.where('at', '>=', since)
        for (const r of await q.execute()) {
          lastId = Number(r.id)
          context.out(eventLine({ id: Number(r.id), type: r.type, at: r.at, method: r.method, route: r.route, ip: r.ip, principal: r.principal, reason: r.reason, details: r.details === null ? null : JSON.parse(r.details) as Record<string, unknown> }))
        }
        // An interruption ends the wait at once; the database is then closed by main().
        await sleep(EVENTS_POLL_INTERVAL_MS, undefined, { signal: interrupted.signal }).catch(() => {})
      }
    }
  }
}

function globalHelp (): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return [
    'Usage: microgate <command> [options]      (from a checkout: npm run cli -- <command> [options])',
    '',
    'Administers a microgate installation directly through its database; the HTTP server need not run.',
    'Configuration is read like the server\'s: the environment, then ./.env (DATABASE_URL, MASTER_KEY, ...).',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command: -h, --help',
    'Run `microgate <command> --help` for a command\'s options. Exit status: 0 ok, 1 failure, 2 usage error.'
  ].join('\n')
}

function commandHelp (command: Command): string {
  return [`Usage: microgate ${command.usage}`, '', command.summary + '.', '', command.details].join('\n')
}

/** Opens the store exactly as the server does (migrations included), without the HTTP server. */
async function openContext (): Promise<Context> {
  const config = loadConfig(loadDotEnv(process.env, process.cwd()))
  const connection = openDatabase(config.DATABASE_URL)
  try {
    await migrateToLatest(connection.db, connection.dialect)
  } catch (err) {
    await connection.close()
    throw err
  }
  return { config, connection, repos: createRepositories(connection.db), out: (line) => { process.stdout.write(`${line}\n`) } }
}

async function main (argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === undefined) throw new CliError('no command given (see --help)', EXIT_USAGE)
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${globalHelp()}\n`)
    return
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) throw new CliError(`unknown command "${name.slice(0, 40)}" (see --help)`, EXIT_USAGE)
  let values: Values
  try {
    values = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new CliError((err as Error).message.split('. ')[0], EXIT_USAGE)
  }
  if (values.help === true) {
    process.stdout.write(`${commandHelp(command)}\n`)
    return
  }
  const context = await openContext()
  try {
    await command.run(values, context)
  } finally {
    await context.connection.close()
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // One line, no stack: the message of a configuration or database error already says what is wrong.
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`microgate: ${message.split('\n')[0].trim()}\n`)
  process.exitCode = err instanceof CliError ? err.exitCode : EXIT_FAILURE
})
