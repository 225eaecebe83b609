import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32Base62, hasValidCrc32Suffix } from '../../security/checksum.ts'

test('crc32Base62 encodes the standard CRC32 check value of "123456789" (0xCBF43926) in base62', () => {
  assert.equal(crc32Base62('123456789'), '3jZRME')
})

test('crc32Base62 left-pads with 0 to six characters', () => {
  assert.equal(crc32Base62(''), '000000')
  for (const text of ['a', 'hello', 'gw', 'x'.repeat(100)]) {
    const value = crc32Base62(text)
    assert.equal(value.length, 6)
    assert.match(value, /^[0-9A-Za-z]{6}$/)
  }
})

test('crc32Base62 uses the alphabet 0-9A-Za-z (digits, then capitals, then small letters)', () => {
  // CRC32("hello") = 907060870 = 0xD*62^4 + … ; decoding the output must give the number back
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  const decoded = [...crc32Base62('hello')].reduce((n, c) => n * 62 + alphabet.indexOf(c), 0)
  assert.equal(decoded, 907060870)
})

test('hasValidCrc32Suffix accepts a body followed by the checksum of what precedes it', () => {
  const random = 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1'
  assert.equal(hasValidCrc32Suffix(random + crc32Base62(random)), true)
  const gatewayBody = 'Zq8Lm2Np4Rt6Vx8Bz0Cd2Fh4Jk'
  assert.equal(hasValidCrc32Suffix(gatewayBody + crc32Base62(gatewayBody)), true)
})

test('hasValidCrc32Suffix rejects a body with one character changed, a changed checksum, or nothing before the checksum', () => {
  const random = 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1'
  const valid = random + crc32Base62(random)
  assert.equal(hasValidCrc32Suffix('X' + valid.slice(1)), false)
  const last = valid.at(-1) === 'a' ? 'b' : 'a'
  assert.equal(hasValidCrc32Suffix(valid.slice(0, -1) + last), false)
  assert.equal(hasValidCrc32Suffix(crc32Base62('')), false)
  assert.equal(hasValidCrc32Suffix(''), false)
})
