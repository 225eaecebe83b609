// Output scanner: every upstream answer is checked before it is returned; a suspicious one is discarded whole.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UnsafeOutputError } from '../errors.ts'
import { createOutputScanner } from '../security/output-scanner.ts'
import type { ScanOptions } from '../security/output-scanner.ts'
import { listOf } from './env.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Throws 502 UNSAFE_OUTPUT (and records the finding types) unless `text` is safe to return. */
    assertSafeOutput: (request: FastifyRequest, text: string, context?: Omit<ScanOptions, 'allowedHosts'>) => void
  }
}

async function outputScanner (fastify: FastifyInstance) {
  const allowedHosts = listOf(fastify.config.OUTPUT_ALLOWED_HOSTS)
  // Validated at start: a malformed OUTPUT_ALLOWED_HOSTS entry stops the gateway with its name.
  const plain = createOutputScanner({ allowedHosts })
  fastify.decorate('assertSafeOutput', (request: FastifyRequest, text: string, context: Omit<ScanOptions, 'allowedHosts'> = {}) => {
    const scan = context.canary === undefined && context.boundary === undefined && context.systemPrompt === undefined
      ? plain
      : createOutputScanner({ allowedHosts, ...context })
    const result = scan(text)
    if (!result.safe) {
      fastify.audit(request, 'unsafe-output', { reason: result.findings.slice(0, 3).join(','), details: { findings: result.findings } })
      throw new UnsafeOutputError()
    }
  })
}

export default fp(outputScanner, { name: 'output-scanner', dependencies: ['env', 'audit'] })
