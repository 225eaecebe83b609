// Load shedding: 503 OVERLOADED while the event loop or the heap is saturated.
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { OverloadedError } from '../errors.ts'

// Why these bounds: a 1 s event-loop delay means every client is already waiting a second; past
// 90% of the heap limit GC thrashes. Utilisation is not used: a busy gateway at full throughput
// is healthy, not overloaded.
export const MAX_EVENT_LOOP_DELAY_MS = 1000
export const MAX_HEAP_FRACTION = 0.9

async function pressure (fastify: FastifyInstance) {
  const { getHeapStatistics } = await import('node:v8')
  await fastify.register(underPressure, {
    maxEventLoopDelay: MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * MAX_HEAP_FRACTION),
    retryAfter: 10,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply, type) => {
      reply.header('retry-after', '10')
      throw Object.assign(new OverloadedError(), { reason: type })
    }
  })
}

export default fp(pressure, { name: 'under-pressure' })
