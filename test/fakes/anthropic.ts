// A fake Anthropic Messages upstream: a real HTTP server on 127.0.0.1 speaking Anthropic's wire format.
import { startFakeLlmServer } from './openai.ts'
import type { FakeUpstream, WireFormat } from './openai.ts'

export type { FakeReply, FakeUpstream, RecordedRequest } from './openai.ts'

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error'
}

const ANTHROPIC_WIRE: WireFormat = {
  path: '/v1/messages',
  // The SDK's base URL is the origin: it appends `/v1/messages` itself.
  basePath: '',
  success (content, model) {
    return {
      id: 'msg_' + Math.random().toString(36).slice(2, 14),
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: content }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 42, output_tokens: 7 }
    }
  },
  error (status, message) {
    return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message } }
  }
}

/** Start a fake Anthropic API; `url` is the origin (the SDK adds `/v1/messages`). */
export function startFakeAnthropic (): Promise<FakeUpstream> {
  return startFakeLlmServer(ANTHROPIC_WIRE)
}
