// The bench's gateway: server.ts itself, plus one reference route that exists only here.
//
// POST /bench/unverified-webhook is the "unverified raw-body route" the webhook target is measured
// against: the same process, plugins and global hooks as POST /github/secure-webhook (security
// headers, per-IP rate limit, metrics, output encoding) and the same raw-body parser and 25 MB
// limit, but no signature check, no JSON parse, no payload schema, no replay claim and no write.
// The gap between the two routes is what verification, deduplication and persistence cost.
// It is never registered by server.ts: an unverified webhook route has no place in production.
import { Type } from 'typebox'
import { startServer } from '../server.ts'
import { WEBHOOK_BODY_LIMIT_BYTES } from '../plugins/raw-body-hmac.ts'

export const UNVERIFIED_WEBHOOK_PATH = '/bench/unverified-webhook'

if (import.meta.main) {
  await startServer(async (app) => {
    await app.register(async (scope) => {
      scope.useRawJsonBody(scope)
      scope.post(UNVERIFIED_WEBHOOK_PATH, {
        bodyLimit: WEBHOOK_BODY_LIMIT_BYTES,
        schema: { response: { 202: Type.Object({ accepted: Type.Literal(true) }) } }
      }, async (_request, reply) => {
        reply.code(202)
        return { accepted: true as const }
      })
    })
  })
}
