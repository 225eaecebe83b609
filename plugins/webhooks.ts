// Webhook replay protection: a delivery id is claimed once (Redis SET NX, and a unique row in the store).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createWebhookEvents } from '../store/webhook-events.ts'
import type { WebhookEventRecord } from '../store/webhook-events.ts'

// GitHub redelivers for up to a few days; a week of remembered ids covers any manual redelivery.
const DELIVERY_TTL_SECONDS = 7 * 24 * 3600

declare module 'fastify' {
  interface FastifyInstance {
    webhookEvents: ReturnType<typeof createWebhookEvents> & {
      /** Records a delivery exactly once across instances; false for a replay. */
      claim: (event: WebhookEventRecord) => Promise<boolean>
    }
  }
}

async function webhooks (fastify: FastifyInstance) {
  const events = createWebhookEvents(fastify.store.db)
  const redis = fastify.redis
  fastify.decorate('webhookEvents', {
    ...events,
    async claim (event: WebhookEventRecord) {
      // With Redis the claim is shared by every instance, whatever database each one uses.
      if (redis !== null) {
        const claimed = await redis.set(`microgate:webhook-delivery:${event.deliveryId}`, '1', 'EX', DELIVERY_TTL_SECONDS, 'NX')
        if (claimed !== 'OK') return false
      }
      return await events.recordOnce(event)
    }
  })
}

export default fp(webhooks, { name: 'webhooks', dependencies: ['store'] })
