// The bench's gateway: server.ts itself, plus one reference route that exists only here.
//
// POST /bench/unverified-webhook is the "unverified raw-body route" the webhook target is measured
// against: the same process, plugins and global hooks as POST /github/secure-webhook (security
// headers, per-IP rate limit, metrics, output encoding) and the same raw-body parser and 25 MB
// limit, but no signature check, no JSON parse, no payload schema, no replay claim and no write.
// The gap between the two routes is what verification, deduplication and persistence cost.
// It is never registered by server.ts: an unverified webhook route has no place in production.

export const UNVERIFIED_WEBHOOK_PATH = '/bench/unverified-webhook'

if (import.meta.main) {
  // Imported here, not at the top: bench/scenarios.ts reads the path above, and the bench runner
  // must not load the whole gateway for it.
  const { startServer } = await import('../server.ts')
  const { WEBHOOK_BODY_LIMIT_BYTES } = await import('../plugins/raw-body-hmac.ts')
  const { WebhookAcceptedSchema } = await import('../schemas/github.ts')
  await startServer(async (app) => {
    await app.register(async (scope) => {
      scope.useRawJsonBody(scope)
      scope.post(UNVERIFIED_WEBHOOK_PATH, {
        bodyLimit: WEBHOOK_BODY_LIMIT_BYTES,
        schema: { response: { 202: WebhookAcceptedSchema } }
      }, async (_request, reply) => {
        reply.code(202)
        return { accepted: true as const }
      })
    })
  })
}
