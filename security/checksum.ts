// CRC32 checksums in base62 (GitHub's token scheme), shared by gateway keys and the output scanner.
import { crc32 } from 'node:zlib'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
// why 6: 62^6 ≈ 5.7e10 > 2^32, so every CRC32 value fits; GitHub left-pads to this width.
const CHECKSUM_LENGTH = 6

/** CRC32 of the text (UTF-8), base62 with alphabet `0-9A-Za-z`, left-padded with '0' to 6 characters. */
export function crc32Base62 (text: string): string {
  let value = crc32(text)
  let out = ''
  while (value > 0) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out.padStart(CHECKSUM_LENGTH, '0')
}

/** True when the last 6 characters of `body` are the crc32Base62 of the characters before them. */
export function hasValidCrc32Suffix (body: string): boolean {
  if (body.length <= CHECKSUM_LENGTH) return false
  const split = body.length - CHECKSUM_LENGTH
  return crc32Base62(body.slice(0, split)) === body.slice(split)
}
