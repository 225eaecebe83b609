// Upstream clients built once from configuration: GitHub, Kubernetes, LLMs, Hugging Face.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createGitHubClient } from '../providers/github.ts'
import type { GitHubClient } from '../providers/github.ts'

declare module 'fastify' {
  interface FastifyInstance {
    github: GitHubClient
  }
}

async function providers (fastify: FastifyInstance) {
  const { config } = fastify
  const github = createGitHubClient({ apiUrl: config.GITHUB_API_URL, token: config.GITHUB_TOKEN, timeoutMs: config.UPSTREAM_TIMEOUT_MS })
  fastify.decorate('github', github)
  fastify.addHook('onClose', async () => { await github.close() })
}

export default fp(providers, { name: 'providers', dependencies: ['env'] })
