// Upstream clients built once from configuration: GitHub, Kubernetes, LLMs, Hugging Face.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { abortOnDisconnect } from './llm-guard.ts'
import { ProviderNotConfiguredError } from '../errors.ts'
import { createGitHubClient } from '../providers/github.ts'
import type { GitHubClient } from '../providers/github.ts'
import { createKubernetesClient } from '../providers/kubernetes.ts'
import type { PodPage } from '../providers/kubernetes.ts'
import { parseNamespaceList } from '../security/kubernetes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    github: GitHubClient
    /** Lists pods of an allowed namespace; a refusal by the cluster is a security event (misconfiguration). */
    listPods: (request: FastifyRequest, reply: FastifyReply, query: { namespace?: string, limit: number, continue?: string }) => Promise<PodPage>
  }
}

async function providers (fastify: FastifyInstance) {
  const { config } = fastify
  const github = createGitHubClient({ apiUrl: config.GITHUB_API_URL, token: config.GITHUB_TOKEN, timeoutMs: config.UPSTREAM_TIMEOUT_MS })
  fastify.decorate('github', github)
  const kubernetes = createKubernetesClient({
    serviceAccountDir: config.K8S_SERVICEACCOUNT_DIR,
    host: config.KUBERNETES_SERVICE_HOST,
    port: config.KUBERNETES_SERVICE_PORT,
    allowedNamespaces: parseNamespaceList(config.K8S_NAMESPACES),
    timeoutMs: config.UPSTREAM_TIMEOUT_MS
  })
  fastify.decorate('listPods', async (request: FastifyRequest, reply: FastifyReply, query: { namespace?: string, limit: number, continue?: string }) => {
    // Outside a cluster there is no own namespace (and no service account): nothing to list.
    const namespace = query.namespace ?? kubernetes.defaultNamespace
    if (namespace === '') throw new ProviderNotConfiguredError()
    try {
      return await kubernetes.listPods(namespace, { limit: query.limit, continueToken: query.continue }, abortOnDisconnect(reply))
    } catch (err) {
      if ((err as { securityEvent?: string }).securityEvent === 'k8s-forbidden') fastify.audit(request, 'upstream-refused', { reason: 'k8s-forbidden' })
      throw err
    }
  })
  fastify.addHook('onClose', async () => {
    kubernetes.close()
    await github.close()
  })
}

export default fp(providers, { name: 'providers', dependencies: ['env', 'audit'] })
