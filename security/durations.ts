// Durations in configuration ("15m", "1 minute") to milliseconds.
const UNIT_MS: Record<string, number> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, second: 1000, seconds: 1000,
  m: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000
}

/** Parses `<n>[ ]<unit>`; a bare number is seconds. Throws with the value's name on anything else. */
export function durationToMs (value: string, name = 'duration'): number {
  const match = /^([1-9][0-9]{0,8}) ?([a-z]{0,12})$/.exec(value.trim())
  const unit = match?.[2] === '' ? 's' : match?.[2]
  if (!match || unit === undefined || !Object.hasOwn(UNIT_MS, unit)) throw new Error(`${name} must look like "15m", "30 s" or "1 minute"`)
  return Number(match[1]) * UNIT_MS[unit]
}
