// The operator dashboard: static files from dashboard/ at /dashboard/, under their own strict CSP.
import fp from 'fastify-plugin'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { computeHelmetHeaders } from './security-headers.ts'

export const DASHBOARD_ROOT = join(import.meta.dirname, '..', 'dashboard')
export const DASHBOARD_PREFIX = '/dashboard/'

// Scripts, styles and fetches from this origin only; nothing inline, nothing framed.
// `data:` images only for the empty favicon (no /favicon.ico request).
// Trusted Types with no policy: any string reaching an HTML/script sink throws in the browser.
// form-action 'none': every form is handled by fetch, so a native submission is never legitimate.
export const DASHBOARD_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  requireTrustedTypesFor: ["'script'"],
  trustedTypes: ["'none'"]
}

// Only the three files the page needs are served; README.md and anything added later are not.
const SERVED_FILES = ['index.html', 'app.js', 'styles.css']

async function dashboard (fastify: FastifyInstance) {
  const csp = computeHelmetHeaders(DASHBOARD_CSP_DIRECTIVES)['content-security-policy']

  // Encapsulated: the CSP override below applies to these routes only; the API keeps its own.
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', csp)
      done()
    })
    scope.get('/dashboard', (_request, reply) => { reply.redirect(DASHBOARD_PREFIX, 302) })
    await scope.register(fastifyStatic, {
      root: DASHBOARD_ROOT,
      prefix: DASHBOARD_PREFIX,
      // One route per file found at start: no wildcard, so no path is resolved from the URL.
      wildcard: false,
      globIgnore: ['**/*.md'],
      allowedPath: (pathName) => pathName === '/' || SERVED_FILES.includes(pathName.slice(1)),
      index: 'index.html',
      redirect: false,
      dotfiles: 'deny',
      // The security-headers plugin's `no-store` stays: a signed-out reload always gets fresh files.
      cacheControl: false,
      decorateReply: false
    })
  })
}

export default fp(dashboard, { name: 'dashboard', dependencies: ['env'] })
