// Synthetic provider keys with each vendor's published shape, generated per run (never real keys).
import { randomBytes, randomInt } from 'node:crypto'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const URLSAFE = `${ALNUM}_-`
const LETTERS = ALNUM.slice(0, 52)

export function randomFrom (alphabet: string, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}

export const fakeKeys = {
  openaiLegacy: () => `sk-${randomFrom(ALNUM, 20)}T3BlbkFJ${randomFrom(ALNUM, 20)}`,
  openaiProject: () => `sk-proj-${randomFrom(URLSAFE, 74)}T3BlbkFJ${randomFrom(URLSAFE, 74)}`,
  openaiServiceAccount: () => `sk-svcacct-${randomFrom(URLSAFE, 150)}`,
  openaiAdmin: () => `sk-admin-${randomFrom(URLSAFE, 140)}`,
  anthropic: () => `sk-ant-api03-${randomFrom(URLSAFE, 93)}AA`,
  huggingface: () => `hf_${randomFrom(LETTERS, 34)}`
}

export const masterKey = (): string => randomBytes(32).toString('base64')

/** Every 8-character window of a string: none may appear in stored data. */
export function windows (value: string, size = 8): string[] {
  const out: string[] = []
  for (let i = 0; i + size <= value.length; i++) out.push(value.slice(i, i + size))
  return out
}
