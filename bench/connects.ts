/**
 * The connect benchmark of `npm run bench`: connections per second per authentication method
 * (API token, JWT access token, mTLS client certificate) against one TLS gateway, so that every
 * method pays the same TLS handshake. Each connection is opened, authenticated, gets its
 * `session`, and is closed; `concurrency` of them run at once, each worker with its own agent.
 *
 * The JWTs are signed by a key served from a minimal discovery + JWKS endpoint started here: the
 * gateway validates JWTs locally and fetches keys once, so an IdP's own speed is not in the loop.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { createTestPki } from '../test/support/pki.js';
import { BENCH_ADMIN_TOKEN, adminCall } from './admin.js';

const AUDIENCE = 'urn:agent-gateway:bench';

export interface ConnectFigures {
  method: string;
  connects_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** Share of one CPU the gateway used during the run: below 100%, the load generator was the limit. */
  gateway_cpu_pct: number;
}

/** CPU time (user + system) a process has used, in ms, from /proc. */
function cpuMs(pid: number): number {
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** One worker's credentials, as the load process gets them. */
export interface ConnectCredential {
  agentId: string;
  token?: string;
  cert?: string;
  key?: string;
}

async function startIdp(): Promise<{ issuer: string; sign: (sub: string) => Promise<string>; close: () => void }> {
  const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'bench-key', alg: 'RS256', use: 'sig' };
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(
        JSON.stringify({
          issuer: base,
          jwks_uri: `${base}/jwks`,
          token_endpoint: `${base}/token`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    sign: (sub) =>
      new jose.SignJWT({ client_id: sub, sub })
        .setProtectedHeader({ alg: 'RS256', kid: 'bench-key' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    close: () => server.close(),
  };
}

/**
 * Runs the connect benchmark. `startGateway` starts the gateway with the given environment on
 * CPU 0 and resolves to its ports; `loadCommand` builds the pinned command of the load process.
 */
export async function benchConnects(options: {
  startGateway: (env: Record<string, string>) => Promise<{ port: number; adminPort: number; pid: number; stop: () => void }>;
  loadCommand: (args: string[]) => [string, string[]];
  concurrency: number;
  seconds: number;
}): Promise<ConnectFigures[]> {
  const pki = createTestPki();
  const idp = await startIdp();
  const gateway = await options.startGateway({
    AUTH_METHODS: 'token,oidc,mtls',
    TLS_CERT: pki.server.certPath,
    TLS_KEY: pki.server.keyPath,
    TLS_CLIENT_CA: pki.caCertPath,
    TLS_CRL: pki.crlPath,
    OIDC_ISSUER: idp.issuer,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_AGENT_CLAIM: 'client_id',
    OIDC_ALLOW_HTTP: 'true',
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    AUTH_FAILURE_LIMIT: '100000',
    MAX_CONNECTIONS: '100000',
    RATE_LIMIT_DEFAULTS: '{"messages_per_second":1000000,"burst":1000000,"connects_per_minute_per_ip":1000000}',
    // Each worker reconnects its one agent several times a second: a storm the gateway refuses by default.
    AGENT_CONNECTS_PER_MINUTE: '100000',
  });
  try {
    const adminUrl = `http://127.0.0.1:${gateway.adminPort}`;
    const tenant = `bench-connects-${process.pid}`;
    await adminCall(adminUrl, 'POST', '/admin/v1/tenants', { tenant_id: tenant, name: tenant });
    const credentials: Record<'token' | 'jwt' | 'mtls', ConnectCredential[]> = { token: [], jwt: [], mtls: [] };
    for (let i = 0; i < options.concurrency; i++) {
      for (const method of ['token', 'jwt', 'mtls'] as const) {
        const agentId = `${tenant}-${method}-${i}`;
        await adminCall(adminUrl, 'POST', '/admin/v1/agents', { agent_id: agentId, tenant_id: tenant });
        if (method === 'token') {
          credentials.token.push({
            agentId,
            token: (await adminCall(adminUrl, 'POST', `/admin/v1/agents/${agentId}/tokens`, {})).token as string,
          });
        } else if (method === 'jwt') {
          await adminCall(adminUrl, 'POST', `/admin/v1/agents/${agentId}/oidc-subjects`, { subject: agentId });
          credentials.jwt.push({ agentId, token: await idp.sign(agentId) });
        } else {
          const cert = pki.issueClient({ cn: agentId });
          await adminCall(adminUrl, 'POST', `/admin/v1/agents/${agentId}/certificates`, { fingerprint_sha256: cert.fingerprint256 });
          credentials.mtls.push({ agentId, cert: cert.certPem, key: cert.keyPem });
        }
      }
    }
    const results: ConnectFigures[] = [];
    for (const method of ['token', 'jwt', 'mtls'] as const) {
      const file = join(tmpdir(), `agw-bench-${process.pid}-${method}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          url: `https://localhost:${gateway.port}`,
          ca: pki.caCertPem,
          credentials: credentials[method],
          seconds: options.seconds,
        }),
      );
      const [cmd, args] = options.loadCommand([fileURLToPath(new URL('./load.js', import.meta.url)), 'connects', file]);
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      const cpuBefore = cpuMs(gateway.pid);
      const wallBefore = Date.now();
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`connect load for ${method} exited ${code}`);
      const cpuPct = Math.round(((cpuMs(gateway.pid) - cpuBefore) / (Date.now() - wallBefore)) * 100);
      results.push({
        method,
        ...(JSON.parse(out.trim().split('\n').pop()!) as Omit<ConnectFigures, 'method' | 'gateway_cpu_pct'>),
        gateway_cpu_pct: cpuPct,
      });
    }
    return results;
  } finally {
    gateway.stop();
    idp.close();
    pki.cleanup();
  }
}
