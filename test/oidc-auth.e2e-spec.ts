import * as jose from 'jose';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '#libs/client';
import { adminClient, type AdminClient } from './support/admin.js';
import { connectAgent, http, type TestAgent } from './support/agents.js';
import { uniqueId } from './support/env.js';
import { startGateway, type GatewayProcess } from './support/gateway-process.js';
import { startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';

// A real OpenID provider (oidc-provider, client-credentials grant) issuing JWT and opaque access
// tokens; real gateway processes validating them through discovery, the JWKS and introspection.
describe('OIDC access tokens (AUTH_METHODS=oidc)', () => {
  let issuer: TestIssuer;
  let gateway: GatewayProcess;
  let admin: AdminClient;
  let tenant: string;
  const open: TestAgent[] = [];
  const now = (): number => Math.floor(Date.now() / 1000);

  const oidcEnv = (audience: string): Record<string, string> => ({
    AUTH_METHODS: 'oidc,token',
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: audience,
    OIDC_AGENT_CLAIM: 'client_id',
    OIDC_ALLOW_HTTP: 'true',
    OIDC_CLIENT_ID: issuer.introspectionClient.clientId,
    OIDC_CLIENT_SECRET: issuer.introspectionClient.clientSecret,
    AUTH_FAILURE_LIMIT: '10000',
  });

  /** Registers an agent, an IdP client for it, and binds the client id to the agent. */
  const agentWithClient = async (): Promise<{ agentId: string; clientId: string; secret: string; bindingId: string }> => {
    const agentId = await admin.agent(tenant);
    const clientId = `client-${agentId}`;
    const secret = `secret-${agentId}`;
    issuer.addClient(clientId, secret);
    const binding = await admin.call('POST', `/admin/v1/agents/${agentId}/oidc-subjects`, { subject: clientId });
    return { agentId, clientId, secret, bindingId: binding.body.id as string };
  };

  /** A token signed with the IdP's real key, with any claims and header. */
  const forge = async (
    claims: jose.JWTPayload,
    header: Partial<jose.JWTHeaderParameters> = {},
    key?: jose.CryptoKey | Uint8Array,
  ): Promise<string> =>
    new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: issuer.signingKey.kid, typ: 'at+jwt', ...header })
      .sign(key ?? (await jose.importJWK(issuer.signingKey.privateJwk, 'RS256')));

  const claimsFor = (clientId: string, extra: jose.JWTPayload = {}): jose.JWTPayload => ({
    iss: issuer.issuer,
    aud: issuer.jwtAudience,
    client_id: clientId,
    sub: clientId,
    iat: now(),
    exp: now() + 300,
    jti: uniqueId('jti'),
    ...extra,
  });

  const connect = async (agentId: string, token: string): Promise<TestAgent> => {
    const agent = await connectAgent(gateway.url, { agentId, token });
    open.push(agent);
    return agent;
  };
  const refused = (agentId: string | undefined, token: string) =>
    connectAgent(gateway.url, { auth: { ...(agentId && { agent_id: agentId }), token } });

  beforeAll(async () => {
    issuer = await startTestIssuer();
    gateway = await startGateway(oidcEnv(issuer.jwtAudience));
    admin = adminClient(gateway);
    tenant = await admin.tenant();
  });

  afterAll(async () => {
    for (const agent of open) agent.socket.close();
    await gateway?.stop();
    await issuer?.stop();
  });

  it('accepts a JWT access token from the IdP (client-credentials grant) bound to an agent', async () => {
    const { agentId, clientId, secret } = await agentWithClient();
    const token = await issuer.jwtToken(clientId, secret);
    const agent = await connect(agentId, token);
    expect(agent.session).toMatchObject({ tenant_id: tenant, agent: { agent_id: agentId } });
    const exp = jose.decodeJwt(token).exp!;
    expect(agent.session.expires_at).toBe(new Date(exp * 1000).toISOString());
  });

  it('authenticates the agent HTTP API with the same token', async () => {
    const { clientId, secret } = await agentWithClient();
    const token = await issuer.jwtToken(clientId, secret);
    expect(await http('GET', `${gateway.url}/gateway/status`, { headers: { authorization: `Bearer ${token}` } })).toMatchObject({
      status: 200,
      body: { status: 'running' },
    });
  });

  describe('refuses every forged or misused token with UNAUTHORIZED, and keeps running', () => {
    let victim: { agentId: string; clientId: string; secret: string };
    let other: { agentId: string; clientId: string };

    beforeAll(async () => {
      victim = await agentWithClient();
      other = await agentWithClient();
    });

    const matrix: [string, string, () => Promise<{ agentId?: string; token: string }>][] = [
      [
        'an expired token',
        'expired',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor(victim.clientId, { exp: now() - 120, iat: now() - 500 })) }),
      ],
      [
        'a token not yet valid (nbf)',
        '"nbf"',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor(victim.clientId, { nbf: now() + 120 })) }),
      ],
      [
        'a token from another issuer',
        '"iss"',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor(victim.clientId, { iss: 'https://evil.example.com' })) }),
      ],
      [
        'a token for another audience',
        '"aud"',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor(victim.clientId, { aud: 'urn:someone-else' })) }),
      ],
      [
        'a token without exp',
        '"exp"',
        async () => ({ agentId: victim.agentId, token: await forge({ ...claimsFor(victim.clientId), exp: undefined }) }),
      ],
      [
        'an unsigned token (alg: none)',
        'algorithm "none" is not accepted',
        () => Promise.resolve({ agentId: victim.agentId, token: new jose.UnsecuredJWT(claimsFor(victim.clientId)).encode() }),
      ],
      [
        'a token HMAC-signed (HS256) with the IdP public key',
        'algorithm "HS256" is not accepted',
        async () => {
          const publicKey = await jose.importJWK(
            { ...issuer.signingKey.privateJwk, d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined },
            'RS256',
          );
          const pem = await jose.exportSPKI(publicKey as jose.CryptoKey);
          return {
            agentId: victim.agentId,
            token: await forge(claimsFor(victim.clientId), { alg: 'HS256' }, new TextEncoder().encode(pem)),
          };
        },
      ],
      [
        'a token signed with an unknown key (kid)',
        'unknown signing key',
        async () => {
          const { privateKey } = await jose.generateKeyPair('RS256');
          return { agentId: victim.agentId, token: await forge(claimsFor(victim.clientId), { kid: 'not-a-key-of-the-idp' }, privateKey) };
        },
      ],
      [
        'a token with a tampered payload',
        'signature verification failed',
        async () => {
          const [header, , signature] = (await forge(claimsFor(other.clientId))).split('.');
          const payload = Buffer.from(JSON.stringify(claimsFor(victim.clientId))).toString('base64url');
          return { agentId: victim.agentId, token: `${header}.${payload}.${signature}` };
        },
      ],
      [
        'a token with a tampered signature',
        'signature verification failed',
        async () => {
          const token = await forge(claimsFor(victim.clientId));
          const last = token.at(-5) === 'A' ? 'B' : 'A';
          return { agentId: victim.agentId, token: `${token.slice(0, -5)}${last}${token.slice(-4)}` };
        },
      ],
      [
        "agent B's valid token claiming to be agent A",
        'not the one this credential is bound to',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor(other.clientId)) }),
      ],
      [
        'a valid token whose subject is bound to no agent',
        'not bound to an agent',
        async () => ({ agentId: victim.agentId, token: await forge(claimsFor('client-nobody')) }),
      ],
      ['garbage', 'malformed JWT', () => Promise.resolve({ agentId: victim.agentId, token: 'not.a.jwt' })],
    ];

    it.each(matrix)('%s (%s)', async (_name, reason, make) => {
      const { agentId, token } = await make();
      await expect(refused(agentId, token)).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED', message: expect.stringContaining(reason) },
      });
    });

    it('a token of a disabled agent, and of a removed binding', async () => {
      const disabled = await agentWithClient();
      await admin.call('PATCH', `/admin/v1/agents/${disabled.agentId}`, { status: 'disabled' });
      await expect(refused(disabled.agentId, await issuer.jwtToken(disabled.clientId, disabled.secret))).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
      const unbound = await agentWithClient();
      await admin.call('DELETE', `/admin/v1/oidc-subjects/${unbound.bindingId}`);
      await expect(refused(unbound.agentId, await issuer.jwtToken(unbound.clientId, unbound.secret))).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
    });

    it('a token in the query string instead of the handshake or a header', async () => {
      const token = await issuer.jwtToken(victim.clientId, victim.secret);
      const socket = io(`${gateway.url}/gateway`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        query: { token, agent_id: victim.agentId },
        auth: { agent_id: victim.agentId },
      });
      const error = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.once('connect_error', resolve));
      socket.close();
      expect(error.data?.code).toBe('UNAUTHORIZED');
      expect(await http('GET', `${gateway.url}/gateway/agents?token=${token}`)).toMatchObject({ status: 401 });
    });

    it('and the gateway still serves a valid token afterwards', async () => {
      const agent = await connect(victim.agentId, await issuer.jwtToken(victim.clientId, victim.secret));
      expect(await agent.call('ping', {})).toEqual({ status: 'pong' });
      expect(gateway.child.exitCode).toBeNull();
    });
  });

  it('swaps in a new token with `refresh`, and closes the session with `expired` when none comes', async () => {
    const { agentId, clientId } = await agentWithClient();
    const firstExp = now() + 2;
    const agent = await connect(agentId, await forge(claimsFor(clientId, { exp: firstExp })));
    // The control: a session whose credential expires a second after the refreshed one's first did.
    const { agentId: shortId, clientId: shortClient } = await agentWithClient();
    const short = await connect(shortId, await forge(claimsFor(shortClient, { exp: firstExp + 1 })));
    const refreshed = await agent.call('refresh', { token: await forge(claimsFor(clientId, { exp: now() + 600 })) });
    expect(Date.parse(refreshed.expires_at as string)).toBeGreaterThan(Date.now() + 500_000);
    const stranger = await agentWithClient();
    expect(await agent.call('refresh', { token: await forge(claimsFor(stranger.clientId)) })).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    });

    // Barrier: the control is closed `expired` at its expiry, a second after the first token's:
    // by then the refreshed session would have been closed too, had the refresh not replaced it.
    await short.disconnected;
    expect(short.closed).toEqual([{ reason: 'expired', message: expect.any(String), reconnect: false }]);
    expect(agent.closed).toEqual([]);
    expect(agent.socket.connected).toBe(true);
  });

  it('the SDK refreshes on its own before expiry when its token option is a function', async () => {
    const { agentId, clientId } = await agentWithClient();
    let issued = 0;
    const client = new GatewayClient({
      url: gateway.url,
      agentId,
      token: async () => {
        issued++;
        return forge(claimsFor(clientId, { exp: now() + 3 }));
      },
    });
    const closed: string[] = [];
    client.on('disconnected', (reason) => closed.push(reason));
    try {
      const session = await client.connect();
      // Time is the point: well past the first token's expiry (3 s).
      await new Promise((r) => setTimeout(r, 4_500));
      expect(closed).toEqual([]);
      expect(client.state).toBe('ready');
      expect(issued).toBeGreaterThanOrEqual(2);
      expect(Date.parse(client.session!.expires_at!)).toBeGreaterThan(Date.parse(session.expires_at!));
    } finally {
      await client.close();
    }
  });

  it('validates opaque tokens by introspection (RFC 7662)', async () => {
    const opaque = await startGateway(oidcEnv(issuer.opaqueAudience));
    try {
      const { agentId, clientId, secret } = await agentWithClient();
      const token = await issuer.opaqueToken(clientId, secret);
      expect(token).not.toContain('.');
      const agent = await connectAgent(opaque.url, { agentId, token });
      expect(agent.session.agent.agent_id).toBe(agentId);
      agent.socket.close();
      await expect(connectAgent(opaque.url, { auth: { agent_id: agentId, token: `${token}x` } })).rejects.toMatchObject({
        data: { code: 'UNAUTHORIZED' },
      });
      // A JWT for the other audience is refused by this gateway.
      await expect(
        connectAgent(opaque.url, { auth: { agent_id: agentId, token: await issuer.jwtToken(clientId, secret) } }),
      ).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    } finally {
      await opaque.stop();
    }
  });

  it('answers UNAVAILABLE, never accepts, while the IdP is unreachable, and recovers', async () => {
    const { agentId, clientId, secret } = await agentWithClient();
    const jwt = await issuer.jwtToken(clientId, secret);
    const opaqueToken = await issuer.opaqueToken(clientId, secret);
    const fresh = await startGateway(oidcEnv(issuer.jwtAudience));
    const opaque = await startGateway(oidcEnv(issuer.opaqueAudience));
    try {
      await issuer.stop();
      await expect(connectAgent(fresh.url, { auth: { agent_id: agentId, token: jwt } })).rejects.toMatchObject({
        data: { code: 'UNAVAILABLE' },
      });
      await expect(connectAgent(opaque.url, { auth: { agent_id: agentId, token: opaqueToken } })).rejects.toMatchObject({
        data: { code: 'UNAVAILABLE' },
      });
      await issuer.start();
      await new Promise((r) => setTimeout(r, 1_100)); // discovery is retried at most once a second
      const agent = await connectAgent(fresh.url, { agentId, token: jwt });
      expect(agent.session.agent.agent_id).toBe(agentId);
      agent.socket.close();
    } finally {
      await Promise.all([fresh.stop(), opaque.stop()]);
    }
  });
});
