// Process entry: first-run secrets, build the app, listen (HTTP or TLS), close with grace.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { ensureLocalSecrets, loadDotEnv } from './first-run.ts'
import { ConfigError } from './plugins/env.ts'
import { bootstrapAdmin } from './plugins/auth.ts'
import { loggableError } from './plugins/errors.ts'

// In-flight requests get this long to finish after SIGTERM/SIGINT before the process exits anyway.
const CLOSE_GRACE_MS = 10_000

/**
 * Starts the gateway from the environment (and `.env`). `extend` may register more routes before
 * the app is ready: only the bench uses it, for its in-gateway reference route.
 */
export async function startServer (extend?: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const cwd = process.cwd()
  const firstRun = ensureLocalSecrets(process.env, cwd)
  if (firstRun.wrote) process.stdout.write(`microgate: first run: wrote ${firstRun.path} (mode 0600) with fresh JWT_SECRET and MASTER_KEY\n`)
  const env = loadDotEnv(process.env, cwd)

  let app
  try {
    app = await buildApp({ env })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`microgate: cannot start: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  if (extend !== undefined) await extend(app)
  await app.ready()
  await bootstrapAdmin(app, true)

  closeWithGrace({ delay: CLOSE_GRACE_MS }, async ({ err, signal }) => {
    if (err) app.log.error({ error: loggableError(err) }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ host: app.config.HOST, port: app.config.PORT })
}

if (import.meta.main) {
  startServer().catch((err: Error) => {
    process.stderr.write(`microgate: cannot start: ${err.message}\n`)
    process.exit(1)
  })
}
