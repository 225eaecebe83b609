// Starts the test fakes of OpenAI, Anthropic, GitHub and Hugging Face on fixed 127.0.0.1 ports for DAST runs.
// Run alone (`node scripts/security/fake-upstreams.ts`): prints one JSON line of the gateway env, then
// serves until SIGTERM/SIGINT. The DAST driver imports startFakeUpstreams() instead.
import { createServer, connect } from 'node:net'
import type { Server } from 'node:net'
import { startFakeOpenAi } from '../../test/fakes/openai.ts'
import { startFakeAnthropic } from '../../test/fakes/anthropic.ts'
import { makeRepo, startFakeGitHub } from '../../test/fakes/github.ts'
import { hubModelMetadata, startFakeHub, startFakeInference } from '../../test/fakes/huggingface.ts'

/** Fixed ports (a block unlikely to be taken on a CI machine); each forwards to a fake on an ephemeral port. */
export const FAKE_PORTS = { openai: 18101, anthropic: 18102, github: 18103, hfHub: 18104, hfInference: 18105 } as const

/** Models the fake Hub declares trusted (well-known authors, many downloads, safetensors). */
export const FAKE_HF_MODELS = {
  'distilbert/distilbert-base-uncased-finetuned-sst-2-english': 'text-classification',
  'dslim/bert-base-NER': 'token-classification',
  'facebook/bart-large-cnn': 'summarization'
} as const

export interface FakeUpstreams {
  /** Gateway variables pointing every upstream at its fake. */
  env: Record<string, string>
  close: () => Promise<void>
}

/** A TCP forwarder from a fixed loopback port to a fake's ephemeral one (the fakes bind port 0). */
async function forward (fixedPort: number, targetUrl: string): Promise<Server> {
  const target = new URL(targetUrl)
  const server = createServer((socket) => {
    const upstream = connect(Number(target.port), target.hostname)
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(fixedPort, '127.0.0.1', resolve)
  })
  return server
}

function onPort (url: string, port: number): string {
  const u = new URL(url)
  u.port = String(port)
  return u.toString().replace(/\/$/, '')
}

/** Starts all fakes (answering cleanly) behind their fixed ports. */
export async function startFakeUpstreams (): Promise<FakeUpstreams> {
  const openai = await startFakeOpenAi()
  const anthropic = await startFakeAnthropic()
  const github = await startFakeGitHub()
  const hub = await startFakeHub()
  const inference = await startFakeInference()
  openai.setReply({ content: 'A short, neutral summary of the text.' })
  anthropic.setReply({ content: 'A short, neutral summary of the text.' })
  github.users.set('octocat', [makeRepo('octocat', 'hello-world'), makeRepo('octocat', 'spoon-knife')])
  for (const [id, task] of Object.entries(FAKE_HF_MODELS)) {
    hub.setModel(id, hubModelMetadata(id))
    inference.setModel(id, task, hubModelMetadata(id).sha as string)
  }
  // The fakes keep every request; a long scan must not grow them without bound.
  const trim = setInterval(() => {
    for (const list of [openai.requests, anthropic.requests, github.requests, hub.requests, inference.requests]) list.length = 0
  }, 5000)
  trim.unref()

  const forwarders = [
    await forward(FAKE_PORTS.openai, openai.url),
    await forward(FAKE_PORTS.anthropic, anthropic.url),
    await forward(FAKE_PORTS.github, github.url),
    await forward(FAKE_PORTS.hfHub, hub.url),
    await forward(FAKE_PORTS.hfInference, inference.url)
  ]
  const env = {
    OPENAI_BASE_URL: onPort(openai.url, FAKE_PORTS.openai),
    OPENAI_API_KEY: 'sk-dast-operator-default-0000000000000000',
    ANTHROPIC_BASE_URL: onPort(anthropic.url, FAKE_PORTS.anthropic),
    ANTHROPIC_API_KEY: 'sk-ant-dast-operator-default-000000000000',
    GITHUB_API_URL: onPort(github.url, FAKE_PORTS.github),
    GITHUB_TOKEN: 'dast-github-token',
    HF_HUB_URL: onPort(hub.url, FAKE_PORTS.hfHub),
    HF_ENDPOINT_URL: onPort(inference.url, FAKE_PORTS.hfInference),
    HF_TOKEN: 'hf_dast_token',
    HF_ALLOWED_MODELS: Object.keys(FAKE_HF_MODELS).join(',')
  }
  return {
    env,
    async close () {
      clearInterval(trim)
      for (const s of forwarders) s.close()
      await Promise.allSettled([openai.close(), anthropic.close(), github.close(), hub.close(), inference.close()])
    }
  }
}

if (import.meta.main) {
  const fakes = await startFakeUpstreams()
  process.stdout.write(JSON.stringify(fakes.env) + '\n')
  const stop = (): void => { void fakes.close().finally(() => process.exit(0)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
