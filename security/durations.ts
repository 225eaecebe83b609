// Durations in configuration ("15m", "1 minute") to milliseconds.
const UNIT_MS: Record<string, number> = Object.fromEntries([
  [['ms', 'millisecond', 'milliseconds'], 1],
  [['s', 'second', 'seconds'], 1000],
  [['m', 'minute', 'minutes'], 60_000],
  [['h', 'hour', 'hours'], 3_600_000],
  [['d', 'day', 'days'], 86_400_000]
].flatMap(([names, ms]) => (names as string[]).map((name) => [name, ms as number])))

/** Parses `<n>[ ]<unit>`; a bare number is seconds. Throws with the value's name on anything else. */
export function durationToMs (value: string, name = 'duration'): number {
  const match = /^([1-9][0-9]{0,8}) ?([a-z]{0,12})$/.exec(value.trim())
  const unit = match?.[2] === '' ? 's' : match?.[2]
  if (!match || unit === undefined || !Object.hasOwn(UNIT_MS, unit)) throw new Error(`${name} must look like "15m", "30 s" or "1 minute"`)
  return Number(match[1]) * UNIT_MS[unit]
}
