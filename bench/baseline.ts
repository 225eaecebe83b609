// The bare forwarder the gateway is measured against: Fastify 5, TypeBox schemas, undici Pools, no security controls.
// Same paths and answer shapes as the gateway, so one autocannon request definition drives both.
/* eslint-disable security/detect-non-literal-fs-filename -- the CA path is handed over by the bench in a temp dir */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Pool } from 'undici'
import { GenerateBodySchema, GenerateResponseSchema } from '../schemas/llm.ts'
import { UserReposParamsSchema, UserReposResponseSchema } from '../schemas/github.ts'
import { ListPodsQuerySchema, ListPodsResponseSchema } from '../schemas/kubernetes.ts'

export interface BaselineOptions {
  openaiUrl: string
  anthropicUrl: string
  githubUrl: string
  kubernetes?: { url: string, caFile: string, token: string }
}

// Same pool shape as the gateway's LLM transport: keep-alive, no pipelining.
const POOL_OPTIONS = { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 }
const SYSTEM = 'You summarize the text you are given.'

interface RepoIn { name: string, full_name: string, description: string | null, html_url: string, stargazers_count: number, language: string | null, updated_at: string }
interface PodIn { metadata?: { name?: string, creationTimestamp?: string }, status?: { phase?: string, containerStatuses?: Array<{ ready?: boolean, restartCount?: number }> } }

async function postJson (pool: Pool, path: string, headers: Record<string, string>, body: unknown): Promise<unknown> {
  const answer = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const json = await answer.body.json()
  if (answer.statusCode !== 200) throw new Error(`upstream answered ${answer.statusCode}`)
  return json
}

export async function buildBaseline (options: BaselineOptions): Promise<FastifyInstance> {
  const fastify = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>()
  const openaiUrl = new URL(options.openaiUrl)
  const openai = new Pool(openaiUrl.origin, POOL_OPTIONS)
  const anthropic = new Pool(new URL(options.anthropicUrl).origin, POOL_OPTIONS)
  const github = new Pool(new URL(options.githubUrl).origin, POOL_OPTIONS)
  const k8s = options.kubernetes === undefined
    ? null
    : new Pool(new URL(options.kubernetes.url).origin, { ...POOL_OPTIONS, connect: { ca: readFileSync(options.kubernetes.caFile) } })
  fastify.addHook('onClose', async () => {
    await Promise.all([openai.close(), anthropic.close(), github.close(), k8s?.close()])
  })

  const generate = { body: GenerateBodySchema, response: { 200: GenerateResponseSchema } }
  fastify.post('/openai/secure-generate', { schema: generate }, async (request) => {
    const { text, maxTokens } = request.body
    const answer = await postJson(openai, `${openaiUrl.pathname}/chat/completions`, { authorization: 'Bearer sk-bench' }, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: text }],
      max_completion_tokens: maxTokens
    }) as { model: string, choices: Array<{ message: { content: string } }> }
    return { output: answer.choices[0].message.content, provider: 'openai' as const, model: answer.model }
  })
  fastify.post('/anthropic/secure-generate', { schema: generate }, async (request) => {
    const { text, maxTokens } = request.body
    const answer = await postJson(anthropic, '/v1/messages', { 'x-api-key': 'sk-ant-bench', 'anthropic-version': '2023-06-01' }, {
      model: 'claude-3-5-haiku-latest',
      max_tokens: maxTokens,
      system: SYSTEM,
      messages: [{ role: 'user', content: text }]
    }) as { model: string, content: Array<{ text: string }> }
    return { output: answer.content.map((block) => block.text).join(''), provider: 'anthropic' as const, model: answer.model }
  })

  fastify.get('/github/user-repos/:username', { schema: { params: UserReposParamsSchema, response: { 200: UserReposResponseSchema } } }, async (request) => {
    const { username } = request.params
    const answer = await github.request({ method: 'GET', path: `/users/${encodeURIComponent(username)}/repos?per_page=30&page=1&sort=updated`, headers: { accept: 'application/vnd.github+json', 'user-agent': 'bench' } })
    const repos = await answer.body.json() as RepoIn[]
    if (answer.statusCode !== 200) throw new Error(`upstream answered ${answer.statusCode}`)
    return {
      username,
      repos: repos.map((r) => ({ name: r.name, fullName: r.full_name, description: r.description, url: r.html_url, stars: r.stargazers_count, language: r.language, updatedAt: r.updated_at }))
    }
  })

  if (k8s !== null && options.kubernetes !== undefined) {
    const authorization = `Bearer ${options.kubernetes.token}`
    fastify.get('/kubernetes/secure-list-pods', { schema: { querystring: ListPodsQuerySchema, response: { 200: ListPodsResponseSchema } } }, async (request) => {
      const namespace = request.query.namespace ?? 'default'
      const answer = await k8s.request({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods?limit=${request.query.limit}`, headers: { authorization, accept: 'application/json' } })
      const list = await answer.body.json() as { items: PodIn[], metadata?: { continue?: string } }
      if (answer.statusCode !== 200) throw new Error(`upstream answered ${answer.statusCode}`)
      return {
        namespace,
        pods: list.items.map((p) => {
          const statuses = p.status?.containerStatuses ?? []
          return {
            name: p.metadata?.name ?? '',
            phase: p.status?.phase ?? 'Unknown',
            ready: `${statuses.filter((s) => s.ready === true).length}/${statuses.length}`,
            restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
            createdAt: p.metadata?.creationTimestamp ?? null
          }
        }),
        next: list.metadata?.continue ?? null
      }
    })
  }

  // The unverified counterpart of the signed webhook: read the raw body, answer 202.
  await fastify.register(async (raw) => {
    raw.removeContentTypeParser('application/json')
    raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
    raw.post('/github/secure-webhook', { schema: { response: { 202: Type.Object({ accepted: Type.Literal(true) }) } } }, async (_request, reply) => {
      reply.code(202)
      return { accepted: true as const }
    })
  })
  return fastify
}

// Child-process entry: configured by the bench through the environment.
if (import.meta.main) {
  const env = process.env
  const app = await buildBaseline({
    openaiUrl: env.OPENAI_BASE_URL ?? '',
    anthropicUrl: env.ANTHROPIC_BASE_URL ?? '',
    githubUrl: env.GITHUB_API_URL ?? '',
    kubernetes: env.BENCH_K8S_URL !== undefined && env.BENCH_K8S_CA_FILE !== undefined
      ? { url: env.BENCH_K8S_URL, caFile: env.BENCH_K8S_CA_FILE, token: env.BENCH_K8S_TOKEN ?? '' }
      : undefined
  })
  await app.listen({ host: '127.0.0.1', port: Number(env.PORT ?? 0) })
}
