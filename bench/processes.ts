// Child processes of the bench: the fake upstreams, the bare baseline and the gateway, each with the probe preloaded.
/* eslint-disable security/detect-non-literal-fs-filename -- every path is inside a temp dir this module created */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { request } from 'undici'
import type { FakePorts } from './fake-upstreams.ts'
import type { ProbeSample } from './probe.ts'
import { K8S_NAMESPACE } from './fake-upstreams.ts'

const ROOT = resolve(import.meta.dirname, '..')
const PROBE = join(ROOT, 'bench', 'probe.ts')
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000

export const BENCH_ADMIN = { email: 'bench-admin@example.test', password: `Bench-${randomBytes(12).toString('base64url')}` }
export const WEBHOOK_SECRET = `bench-webhook-${randomBytes(16).toString('hex')}`

export interface Child {
  name: string
  process: ChildProcess
  logFile: string
  url: string
  probe (): Promise<ProbeSample>
  stop (): Promise<void>
  /** The last lines of the child's output, for error reports. */
  tail (): string
}

/** A free TCP port on 127.0.0.1 (closed again; the child binds it right after). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function spawnChild (name: string, script: string, options: { env: NodeJS.ProcessEnv, cwd: string, logDir: string, execArgv?: string[] }): { child: ChildProcess, logFile: string } {
  const logFile = join(options.logDir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  const child = spawn(process.execPath, [...(options.execArgv ?? []), '--import', PROBE, script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', fd, fd, 'ipc']
  })
  closeSync(fd)
  return { child, logFile }
}

function wrap (name: string, child: ChildProcess, logFile: string, url: string): Child {
  return {
    name,
    process: child,
    logFile,
    url,
    probe () {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { child.off('message', onMessage); reject(new Error(`${name}: no probe answer`)) }, 5000)
        function onMessage (message: ProbeSample): void {
          if (message?.type !== 'probe') return
          clearTimeout(timer)
          child.off('message', onMessage)
          resolve(message)
        }
        child.on('message', onMessage)
        child.send({ type: 'probe' })
      })
    },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      // A clean exit through the probe lets --cpu-prof write its profile.
      if (child.connected) child.send({ type: 'exit' })
      else child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },
    tail () {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')
      } catch {
        return ''
      }
    }
  }
}

async function waitForHttp (url: string, child: ChildProcess, logFile: string): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}):\n${readFileSync(logFile, 'utf8').slice(-2000)}`)
    try {
      const res = await request(url)
      await res.body.dump()
      if (res.statusCode < 500) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url}: not up after ${START_TIMEOUT_MS} ms`)
}

export interface Workspace {
  dir: string
  /** Service-account dir for the Kubernetes client, or null when openssl is unavailable. */
  k8s: { saDir: string, caFile: string, certFile: string, keyFile: string, token: string } | null
  cleanup (): void
}

/** A temp dir with the gateway's DB, logs and (if openssl works) a CA + service-account dir for the Kubernetes fake. */
export async function createWorkspace (withKubernetes: boolean): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'microgate-bench-'))
  let k8s: Workspace['k8s'] = null
  if (withKubernetes) {
    try {
      // The test fixture's generator: a throwaway CA and a 127.0.0.1 server certificate (openssl CLI).
      const { generateTlsMaterial } = await import('../test/fakes/kubernetes-api.ts')
      const tls = generateTlsMaterial()
      const saDir = join(dir, 'serviceaccount')
      const token = `bench-sa-token.${randomBytes(18).toString('base64url')}`
      const { mkdirSync } = await import('node:fs')
      mkdirSync(saDir)
      writeFileSync(join(saDir, 'ca.crt'), tls.caCert)
      writeFileSync(join(saDir, 'token'), token, { mode: 0o600 })
      writeFileSync(join(saDir, 'namespace'), K8S_NAMESPACE)
      const certFile = join(dir, 'server.crt')
      const keyFile = join(dir, 'server.key')
      writeFileSync(certFile, tls.serverCert)
      writeFileSync(keyFile, tls.serverKey, { mode: 0o600 })
      k8s = { saDir, caFile: join(saDir, 'ca.crt'), certFile, keyFile, token }
    } catch (err) {
      process.stderr.write(`bench: Kubernetes scenario disabled (${(err as Error).message.split('\n')[0]})\n`)
    }
  }
  return { dir, k8s, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Only what a child needs: never the bench's own environment (no stray OPENAI_* or DATABASE_URL). */
function baseEnv (): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: '' }
}

export async function startFakes (ws: Workspace): Promise<{ child: Child, ports: FakePorts }> {
  const env = { ...baseEnv(), ...(ws.k8s === null ? {} : { BENCH_TLS_CERT_FILE: ws.k8s.certFile, BENCH_TLS_KEY_FILE: ws.k8s.keyFile, BENCH_K8S_TOKEN: ws.k8s.token }) }
  const { child, logFile } = spawnChild('fakes', join(ROOT, 'bench', 'fake-upstreams.ts'), { env, cwd: ws.dir, logDir: ws.dir })
  const ports = await new Promise<FakePorts>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake upstreams did not start')), START_TIMEOUT_MS)
    child.on('message', (message: { type?: string, ports?: FakePorts }) => {
      if (message?.type !== 'ready' || message.ports === undefined) return
      clearTimeout(timer)
      resolve(message.ports)
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`fake upstreams exited (${code})`)) })
  })
  return { child: wrap('fakes', child, logFile, ''), ports }
}

function upstreamEnv (ports: FakePorts): NodeJS.ProcessEnv {
  return {
    OPENAI_BASE_URL: `http://127.0.0.1:${ports.openai}/v1`,
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${ports.anthropic}`,
    GITHUB_API_URL: `http://127.0.0.1:${ports.github}`
  }
}

export async function startBaseline (ws: Workspace, ports: FakePorts, execArgv: string[] = []): Promise<Child> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    ...upstreamEnv(ports),
    PORT: String(port),
    ...(ws.k8s !== null && ports.kubernetes !== null ? { BENCH_K8S_URL: `https://127.0.0.1:${ports.kubernetes}`, BENCH_K8S_CA_FILE: ws.k8s.caFile, BENCH_K8S_TOKEN: ws.k8s.token } : {})
  }
  // The same Node flags as the gateway: the comparison is about the controls, not V8 tuning.
  const { child, logFile } = spawnChild('baseline', join(ROOT, 'bench', 'baseline.ts'), { env, cwd: ws.dir, logDir: ws.dir, execArgv: [...startFlags(), ...execArgv] })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/nothing-here`, child, logFile)
  return wrap('baseline', child, logFile, url)
}

export interface GatewayOptions {
  name: string
  /** Overrides (e.g. RATE_LIMIT_PER_KEY for the rate-limit scenario). */
  env?: NodeJS.ProcessEnv
  execArgv?: string[]
}

/**
 * The Node flags production starts with: those of `npm start` (package.json), between `node` and
 * `server.ts`, so the bench measures the gateway as it is run. The Dockerfile's CMD carries the same
 * flags (test/foundation/start-flags.test.ts).
 */
export function startFlags (): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const words = pkg.scripts.start.split(/\s+/)
  const first = words.indexOf('node')
  const last = words.indexOf('server.ts')
  if (first < 0 || last < first) throw new Error(`package.json: unexpected start script: ${pkg.scripts.start}`)
  return words.slice(first + 1, last)
}

// Budgets far above anything a run sends, so the limiters do all their work but never refuse.
const HIGH_LIMIT = '100000000'

/** Starts server.ts as production would, configured through the environment only. */
export async function startGateway (ws: Workspace, ports: FakePorts, options: GatewayOptions): Promise<Child> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    ...upstreamEnv(ports),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATABASE_URL: `sqlite:${join(ws.dir, `${options.name}.db`)}`,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MASTER_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_ADMIN_EMAIL: BENCH_ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: BENCH_ADMIN.password,
    OPENAI_API_KEY: `sk-bench-${randomBytes(16).toString('hex')}`,
    ANTHROPIC_API_KEY: `sk-ant-bench-${randomBytes(16).toString('hex')}`,
    GITHUB_TOKEN: `ghp_${randomBytes(18).toString('hex')}`,
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RATE_LIMIT_PER_IP: HIGH_LIMIT,
    RATE_LIMIT_PER_KEY: HIGH_LIMIT,
    RATE_LIMIT_LOGIN: '1000',
    ...(ws.k8s !== null && ports.kubernetes !== null
      ? { K8S_SERVICEACCOUNT_DIR: ws.k8s.saDir, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(ports.kubernetes), K8S_NAMESPACES: K8S_NAMESPACE }
      : {}),
    ...options.env
  }
  // cwd is the temp dir: server.ts reads `.env` from its cwd, and a developer's .env must not leak in.
  const execArgv = [...startFlags(), ...(options.execArgv ?? [])]
  const { child, logFile } = spawnChild(options.name, join(ROOT, 'bench', 'gateway.ts'), { env, cwd: ws.dir, logDir: ws.dir, execArgv })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/healthz`, child, logFile)
  return wrap(options.name, child, logFile, url)
}

async function call (url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: unknown): Promise<unknown> {
  const res = await request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const json = await res.body.json()
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${JSON.stringify(json)}`)
  return json
}

/** Through the public API: admin login, a user with the `user` role, its login, and a gw_ key of its own. */
export async function createApiKey (gateway: Child): Promise<string> {
  const admin = await call(`${gateway.url}/auth/login`, 'POST', {}, BENCH_ADMIN) as { token: string }
  const user = { email: `bench-user-${randomBytes(4).toString('hex')}@example.test`, password: `User-${randomBytes(12).toString('base64url')}` }
  await call(`${gateway.url}/users`, 'POST', { authorization: `Bearer ${admin.token}` }, { ...user, role: 'user' })
  const login = await call(`${gateway.url}/auth/login`, 'POST', {}, user) as { token: string }
  const created = await call(`${gateway.url}/keys`, 'POST', { authorization: `Bearer ${login.token}` }, { name: 'bench' }) as { key: string }
  return created.key
}
