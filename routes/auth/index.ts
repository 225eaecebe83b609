// POST /auth/login: email and password for a short-lived JWT.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { LoginBodySchema, LoginResponseSchema } from '../../schemas/identity.ts'
import { ErrorSchema } from '../../schemas/common.ts'

const authRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/login', {
    config: { limit: 'login' },
    schema: {
      tags: ['identity'],
      summary: 'Exchange email and password for a JWT',
      body: LoginBodySchema,
      response: { 200: LoginResponseSchema, 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema }
    }
  }, async (request) => await fastify.identity.login(request, request.body.email, request.body.password))
}

export default authRoutes
