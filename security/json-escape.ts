// Output encoding: JSON whose strings cannot become markup if a client drops them into a page.
const ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' }
const NEEDS_ESCAPE = /[<>&]/
const ESCAPE_ALL = /[<>&]/g

/**
 * Replaces `<`, `>` and `&` in serialized JSON by their JSON escapes. JSON's structure never
 * uses these characters, so they only occur inside strings and the parsed value is unchanged.
 */
export function escapeJsonForHtml (json: string): string {
  return NEEDS_ESCAPE.test(json) ? json.replace(ESCAPE_ALL, (ch) => ESCAPES[ch]) : json
}
