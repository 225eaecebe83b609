import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { build, tempDir } from '../helper.ts'

function selfSigned (dir: string): { cert: string, key: string } {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' })
  return { cert, key }
}

function handshake (port: number, options: { minVersion?: 'TLSv1' | 'TLSv1.2', maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3', ciphers?: string }): Promise<{ ok: boolean, protocol?: string | null, cipher?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const result = { ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name }
      socket.end()
      resolve(result)
    })
    socket.on('error', () => resolve({ ok: false }))
  })
}

test('with TLS_CERT_FILE and TLS_KEY_FILE the gateway serves HTTPS with TLS >= 1.2 and forward-secret AEAD suites only', async (t) => {
  const dir = tempDir(t)
  const { cert, key } = selfSigned(dir)
  const app = await build(t, { TLS_CERT_FILE: cert, TLS_KEY_FILE: key })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const modern = await handshake(port, {})
  assert.equal(modern.ok, true)
  assert.equal(modern.protocol, 'TLSv1.3')
  const tls12 = await handshake(port, { maxVersion: 'TLSv1.2' })
  assert.equal(tls12.ok, true)
  assert.match(String(tls12.cipher), /^ECDHE-.*(GCM|CHACHA20)/)
  assert.equal((await handshake(port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' })).ok, false, 'TLS 1.1 refused')
  assert.equal((await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-GCM-SHA256' })).ok, false, 'CBC and non-FS suites refused')
  const res = await fetch(`https://127.0.0.1:${port}/healthz`).catch(() => null)
  // Node's fetch rejects the self-signed certificate: reaching that point proves the listener is TLS.
  assert.equal(res, null)
})

test('TLS_CERT_FILE without TLS_KEY_FILE stops the start with a message naming both', async (t) => {
  await assert.rejects(build(t, { TLS_CERT_FILE: '/nonexistent.pem' }), /TLS_CERT_FILE and TLS_KEY_FILE/)
})
