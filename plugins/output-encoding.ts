// Every JSON answer leaves with <, > and & as JSON escapes, so upstream text cannot become markup.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { escapeJsonForHtml } from '../security/json-escape.ts'

async function outputEncoding (fastify: FastifyInstance) {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type')
    if (typeof payload === 'string' && typeof type === 'string' && type.startsWith('application/json')) {
      done(null, escapeJsonForHtml(payload))
      return
    }
    done(null, payload)
  })
}

export default fp(outputEncoding, { name: 'output-encoding' })
