// The configuration contract: one TypeBox schema over process.env (mirrored in .env.example).
import { Type } from 'typebox'
import type { Static } from 'typebox'

// Why these patterns: secrets are checked for shape here and for strength in security/secrets.ts;
// a value that fails either stops the start with a message naming the variable.
const BASE64_32_BYTES = '^[A-Za-z0-9+/]{43}=$'
const DURATION = '^[1-9][0-9]{0,6}(ms|s|m|h|d)?$'
const WINDOW = '^[1-9][0-9]{0,6} ?(ms|millisecond|milliseconds|s|second|seconds|m|minute|minutes|h|hour|hours)?$'
const URL = '^https?://[^\\s]+$'
export const EMAIL = '^[^\\s@]+@[^\\s@.]+(\\.[^\\s@.]+)+$'

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  DATABASE_URL: Type.String({ default: 'sqlite:./data/microgate.db', pattern: '^(sqlite:.+|postgres(ql)?://.+)$' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://.+$' })),
  JWT_SECRET: Type.String({ minLength: 32 }),
  JWT_TTL: Type.String({ default: '15m', pattern: DURATION }),
  MASTER_KEY: Type.String({ pattern: BASE64_32_BYTES }),
  MASTER_KEY_PREVIOUS: Type.Optional(Type.String({ pattern: BASE64_32_BYTES })),
  CORS_ORIGINS: Type.String({ default: '' }),
  TRUST_PROXY: Type.String({ default: 'false' }),
  RATE_LIMIT_PER_KEY: Type.Integer({ default: 60, minimum: 1 }),
  RATE_LIMIT_PER_IP: Type.Integer({ default: 100, minimum: 1 }),
  RATE_LIMIT_WINDOW: Type.String({ default: '1 minute', pattern: WINDOW }),
  RATE_LIMIT_LOGIN: Type.Integer({ default: 10, minimum: 1 }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 30000, minimum: 100, maximum: 600000 }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 1048576, minimum: 1024, maximum: 33554432 }),
  BOOTSTRAP_ADMIN_EMAIL: Type.Optional(Type.String({ pattern: EMAIL, maxLength: 254 })),
  BOOTSTRAP_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12, maxLength: 256 })),
  OPENAI_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  OPENAI_BASE_URL: Type.String({ default: 'https://api.openai.com/v1', pattern: URL }),
  OPENAI_MODEL: Type.String({ default: 'gpt-4o-mini', minLength: 1 }),
  ANTHROPIC_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  ANTHROPIC_BASE_URL: Type.String({ default: 'https://api.anthropic.com', pattern: URL }),
  ANTHROPIC_MODEL: Type.String({ default: 'claude-3-5-haiku-latest', minLength: 1 }),
  HF_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  HF_ENDPOINT_URL: Type.Optional(Type.String({ pattern: URL })),
  HF_HUB_URL: Type.String({ default: 'https://huggingface.co', pattern: URL }),
  HF_ALLOWED_MODELS: Type.String({ default: '' }),
  HF_TRUSTED_AUTHORS: Type.Optional(Type.String()),
  HF_MIN_DOWNLOADS: Type.Integer({ default: 10000, minimum: 0 }),
  GITHUB_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  GITHUB_API_URL: Type.String({ default: 'https://api.github.com', pattern: URL }),
  GITHUB_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  GITHUB_WEBHOOK_EVENTS: Type.String({ default: 'push,pull_request,issues,release' }),
  OUTPUT_ALLOWED_HOSTS: Type.String({ default: '' }),
  FIREWALL_THRESHOLD: Type.Optional(Type.Number({ minimum: 0 })),
  DOCS_ENABLED: Type.Boolean({ default: false }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  K8S_NAMESPACES: Type.Optional(Type.String()),
  K8S_SERVICEACCOUNT_DIR: Type.String({ default: '/var/run/secrets/kubernetes.io/serviceaccount' }),
  KUBERNETES_SERVICE_HOST: Type.Optional(Type.String()),
  KUBERNETES_SERVICE_PORT: Type.Optional(Type.String())
})

export type Env = Static<typeof EnvSchema>
