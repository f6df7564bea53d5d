import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#libs/config';
import { listen } from '#libs/platform';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { connectAgent, type TestAgent } from '../../../../test/support/agents.js';
import { uniqueId } from '../../../../test/support/env.js';
import { capturedLogs, mediumDatabase, mediumLogger } from '../../../../test/support/medium.js';
import { createTestPki, type Issued, type TestPki } from '../../../../test/support/pki.js';
import { startTestRedis, type TestRedis } from '../../../../test/support/redis-server.js';
import { AgentPlaneModule } from '../agent-plane.module.js';
import { GatewayIoAdapter } from '../socket/socket-io.adapter.js';
import { TlsContextReloader } from './tls-context.reloader.js';
import { tlsOptions } from './tls-options.js';

// Real: the agent plane as bootstrap() starts it (AgentPlaneModule in ProcessModule through
// listen(), with the https options tlsOptions() reads from TLS_CERT/TLS_KEY and the socket.io
// adapter), its TlsContextReloader, real TLS clients (node:tls and socket.io-client) checking the
// certificate against the test CA; the medium Postgres database and a private redis-server.
// Faked: nothing. The TLS_RELOAD_S timer is not waited for: the test calls reload(), which is what
// the timer calls.
const fingerprintOf = (socket: TLSSocket): string => socket.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase();

describe('TLS hot reload (TLS_RELOAD_S)', () => {
  const logs = capturedLogs();
  let pki: TestPki;
  let dir: string;
  let redis: TestRedis;
  let app: NestExpressApplication;
  let port: number;
  let reloader: TlsContextReloader;
  const agents: TestAgent[] = [];
  const certPath = () => join(dir, 'server.cert.pem');
  const keyPath = () => join(dir, 'server.key.pem');
  const install = (issued: Issued) => {
    copyFileSync(issued.certPath, certPath());
    copyFileSync(issued.keyPath, keyPath());
  };

  /** The fingerprint of the certificate a new TLS connection is served (verified against the CA, for localhost). */
  const served = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caCertPem }, () => {
        resolve(fingerprintOf(socket));
        socket.end();
      });
      socket.once('error', reject);
    });

  beforeAll(async () => {
    pki = createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'agw-tls-reload-'));
    install(pki.server);
    redis = await startTestRedis();
    const config = loadConfig(
      {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await mediumDatabase(),
        DATABASE_POOL_SIZE: '2',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'medium-tls:',
        AUTH_METHODS: 'none',
        TLS_CERT: certPath(),
        TLS_KEY: keyPath(),
        TLS_RELOAD_S: '3600',
      },
      '0.0.0-medium',
    );
    const tls = config.tls;
    if (!tls) throw new Error('TLS_CERT and TLS_KEY should turn TLS on');
    const started = await listen(
      AgentPlaneModule.forRoot(config),
      config,
      {
        host: config.agentPlane.host,
        port: config.agentPlane.port,
        bodyLimit: config.agentPlane.maxMessageBytes,
        httpsOptions: tlsOptions(tls),
        configure: (nest) => nest.useWebSocketAdapter(new GatewayIoAdapter(nest, config)),
      },
      mediumLogger,
    );
    app = started.app;
    port = started.port;
    reloader = app.get(TlsContextReloader);
  });

  afterAll(async () => {
    for (const agent of agents) agent.socket.close();
    await app?.close();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
    pki?.cleanup();
  });

  const connect = async () => {
    const agent = await connectAgent(`https://localhost:${port}`, { agentId: uniqueId('tls'), tls: { ca: pki.caCertPem } });
    agents.push(agent);
    return agent;
  };
  /** GET /healthz over `agent`: the status, whether it reused a kept-alive connection, and that connection's certificate. */
  const healthz = (agent: HttpsAgent): Promise<{ status: number; reused: boolean; peer: string }> =>
    new Promise((resolve, reject) => {
      const request = httpsRequest({ host: '127.0.0.1', port, servername: 'localhost', path: '/healthz', agent }, (response) => {
        response.resume();
        response.once('end', () =>
          resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket, peer: fingerprintOf(request.socket as TLSSocket) }),
        );
      });
      request.once('error', reject);
      request.end();
    });

  /** The certificate the agent's open TLS connection was served. */
  const peerOf = (agent: TestAgent) => {
    const transport = agent.socket.io.engine.transport as unknown as { ws: { _socket: TLSSocket } };
    return fingerprintOf(transport.ws._socket);
  };
  const reloadErrors = () => logs.filter((l) => l.context === 'TlsContext' && l.level === 'error');

  it('serves a certificate rotated on disk to new connections after the reload; connections already open keep theirs', async () => {
    expect(await served()).toBe(pki.server.fingerprint256);
    const before = await connect();
    expect(peerOf(before)).toBe(pki.server.fingerprint256);
    const keepAlive = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: pki.caCertPem });
    expect(await healthz(keepAlive)).toEqual({ status: 200, reused: false, peer: pki.server.fingerprint256 });

    const rotated = pki.issueServer();
    install(rotated);
    // Not before the reload: the files are read when the reloader says so.
    expect(await served()).toBe(pki.server.fingerprint256);
    expect(reloader.reload()).toBe(true);
    expect(await served()).toBe(rotated.fingerprint256);
    const after = await connect();
    expect(peerOf(after)).toBe(rotated.fingerprint256);

    // The session opened before the rotation is still served, on its old TLS session.
    expect(await before.call('ping')).toEqual({ status: 'pong' });
    expect(peerOf(before)).toBe(pki.server.fingerprint256);
    expect(before.socket.connected).toBe(true);
    // So is a kept-alive HTTPS connection opened before it.
    expect(await healthz(keepAlive)).toEqual({ status: 200, reused: true, peer: pki.server.fingerprint256 });
    keepAlive.destroy();
    expect(reloadErrors()).toEqual([]);
  });

  it('keeps the current context, and says so, when the new files cannot be used: missing, not PEM, or a key of another certificate', async () => {
    const current = await served();
    const open = await connect();
    const next = pki.issueServer();

    renameSync(certPath(), `${certPath()}.moved`);
    expect(reloader.reload()).toBe(false);
    renameSync(`${certPath()}.moved`, certPath());
    expect(await served()).toBe(current);

    writeFileSync(certPath(), 'this is not a certificate\n');
    expect(reloader.reload()).toBe(false);
    expect(await served()).toBe(current);

    // Half a rotation: the new certificate with the old key.
    copyFileSync(next.certPath, certPath());
    expect(reloader.reload()).toBe(false);
    expect(await served()).toBe(current);

    expect(reloadErrors().map((l) => l.message)).toEqual([
      expect.stringMatching(/^TLS files not reloaded, keeping the previous ones: ENOENT/),
      expect.stringMatching(/^TLS files not reloaded, keeping the previous ones: /),
      expect.stringMatching(/^TLS files not reloaded, keeping the previous ones: .*key values mismatch/),
    ]);
    expect(await open.call('ping')).toEqual({ status: 'pong' });

    // The rest of the rotation arrives: the next reload takes it.
    copyFileSync(next.keyPath, keyPath());
    expect(reloader.reload()).toBe(true);
    expect(await served()).toBe(next.fingerprint256);
  });
});
