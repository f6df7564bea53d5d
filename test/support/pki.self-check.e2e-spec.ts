import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type Issued, type TestPki } from './pki.js';

/** What the server saw of the client's certificate. */
interface Report {
  authorized: boolean;
  error: string | null;
  cn: string | null;
  uri: string | null;
  fingerprint256: string | null;
}

/** The test PKI works with Node's TLS: trusted, revoked, foreign and missing client certificates. */
describe('test PKI (self-check)', () => {
  let pki: TestPki;
  let server: tls.Server;
  let port: number;

  beforeAll(async () => {
    const started = Date.now();
    pki = createTestPki();
    expect(Date.now() - started).toBeLessThan(5_000);
    server = tls.createServer(
      {
        key: pki.server.keyPem,
        cert: pki.server.certPem,
        ca: pki.caCertPem,
        crl: pki.crlPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (socket) => {
        const peer = socket.getPeerCertificate();
        const cn = peer.subject?.CN;
        const report: Report = {
          authorized: socket.authorized,
          error: socket.authorizationError?.toString() ?? null,
          cn: Array.isArray(cn) ? cn.join(',') : (cn ?? null),
          uri: peer.subjectaltname ?? null,
          fingerprint256: peer.fingerprint256 ?? null,
        };
        socket.end(JSON.stringify(report));
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    pki?.cleanup();
  });

  /** Connects (trusting the CA for the server's certificate) and resolves with the server's report. */
  function connectAs(client: Issued | undefined): Promise<Report> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: pki.caCertPem,
        ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
      });
      let body = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (body += chunk));
      socket.on('end', () => {
        try {
          resolve(JSON.parse(body) as Report);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      socket.on('error', reject);
    });
  }

  const bare = (fingerprint: string | null): string | null => fingerprint?.replaceAll(':', '').toLowerCase() ?? null;

  it('accepts a client certificate issued by the trusted CA, with its SPIFFE ID', async () => {
    const client = pki.issueClient({ cn: 'agent-a', spiffeId: 'spiffe://example.org/agent/a' });
    const report = await connectAs(client);
    expect(report).toMatchObject({ authorized: true, error: null, cn: 'agent-a' });
    expect(report.uri).toContain('spiffe://example.org/agent/a');
    expect(bare(report.fingerprint256)).toBe(client.fingerprint256);
    expect(client.fingerprint256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('issues a new key and certificate on every call', () => {
    const first = pki.issueClient({ cn: 'agent-a' });
    const second = pki.issueClient({ cn: 'agent-a' });
    expect(second.certPath).not.toBe(first.certPath);
    expect(second.keyPem).not.toBe(first.keyPem);
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
  });

  it('rejects the revoked client certificate: CERT_REVOKED', async () => {
    const report = await connectAs(pki.revokedClient);
    expect(report).toMatchObject({ authorized: false, error: 'CERT_REVOKED', cn: 'revoked-agent' });
    expect(bare(report.fingerprint256)).toBe(pki.revokedClient.fingerprint256);
  });

  it('rejects a client certificate issued by another CA', async () => {
    const report = await connectAs(pki.foreignClient);
    expect(report.authorized).toBe(false);
    expect(report.error).toEqual(expect.any(String));
    expect(report.error).not.toBe('');
    expect(report.cn).toBe('foreign-agent');
    expect(bare(report.fingerprint256)).toBe(pki.foreignClient.fingerprint256);
  });

  it('does not authorize a connection without a client certificate', async () => {
    const report = await connectAs(undefined);
    expect(report.authorized).toBe(false);
    expect(report.cn).toBeNull();
  });
});
