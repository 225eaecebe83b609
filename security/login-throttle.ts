// Login backoff: after a few failures per account or per address, attempts wait exponentially longer.
export interface ThrottleOptions { freeAttempts?: number, baseDelayMs?: number, maxDelayMs?: number, forgetAfterMs?: number, maxEntries?: number }

// Why these numbers: 5 free attempts cover typos; the wait doubles from 1 s and stops at 60 s, so a
// guesser gets ~60 tries an hour per account while a locked-out owner waits at most a minute.
export const DEFAULT_THROTTLE = { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000, forgetAfterMs: 15 * 60_000, maxEntries: 50_000 }

interface Entry { failures: number, blockedUntil: number, lastFailure: number }

export class LoginThrottle {
  #entries = new Map<string, Entry>()
  #options: typeof DEFAULT_THROTTLE
  constructor (options: ThrottleOptions = {}) {
    this.#options = { ...DEFAULT_THROTTLE, ...options }
  }

  /** Milliseconds the caller must still wait for any of these keys (0 when free to try). */
  waitMs (keys: readonly string[], now = Date.now()): number {
    let wait = 0
    for (const key of keys) {
      const entry = this.#entries.get(key)
      if (entry === undefined) continue
      if (now - entry.lastFailure > this.#options.forgetAfterMs) { this.#entries.delete(key); continue }
      wait = Math.max(wait, entry.blockedUntil - now)
    }
    return Math.max(0, wait)
  }

  failure (keys: readonly string[], now = Date.now()): void {
    if (this.#entries.size >= this.#options.maxEntries) this.#evictStale(now)
    for (const key of keys) {
      const entry = this.#entries.get(key) ?? { failures: 0, blockedUntil: 0, lastFailure: now }
      entry.failures += 1
      entry.lastFailure = now
      const over = entry.failures - this.#options.freeAttempts
      if (over > 0) entry.blockedUntil = now + Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (over - 1))
      this.#entries.set(key, entry)
    }
  }

  success (keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key)
  }

  #evictStale (now: number): void {
    for (const [key, entry] of this.#entries) if (now - entry.lastFailure > this.#options.forgetAfterMs || entry.blockedUntil < now) this.#entries.delete(key)
    if (this.#entries.size >= this.#options.maxEntries) this.#entries.clear()
  }
}
