import * as jose from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './oidc-issuer.js';

interface Discovery {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  introspection_endpoint: string;
}

/** The test issuer is a real OpenID provider: discovery, JWKS, JWT and opaque tokens, introspection, restart. */
describe('test OpenID issuer (self-check)', () => {
  let idp: TestIssuer;
  let discovery: Discovery;

  beforeAll(async () => {
    idp = await startTestIssuer();
  });

  afterAll(async () => {
    await idp?.stop();
  });

  async function fetchDiscovery(): Promise<Discovery> {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    return (await response.json()) as Discovery;
  }

  it('publishes a discovery document for its exact issuer', async () => {
    expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}`);
    discovery = await fetchDiscovery();
    expect(discovery.issuer).toBe(idp.issuer);
    expect(discovery.jwks_uri).toBe(`${idp.issuer}/jwks`);
    expect(discovery.introspection_endpoint).toBe(`${idp.issuer}/token/introspection`);
    expect(discovery.token_endpoint).toBe(`${idp.issuer}/token`);
  });

  it('issues RS256 JWT access tokens to a client added after start, verifiable with its JWKS', async () => {
    idp.addClient('late-agent', 'late-secret');
    const token = await idp.jwtToken('late-agent', 'late-secret');
    const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: idp.issuer,
      audience: idp.jwtAudience,
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: idp.signingKey.kid });
    expect(payload).toEqual({
      iss: idp.issuer,
      aud: idp.jwtAudience,
      client_id: 'late-agent',
      sub: 'late-agent',
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(payload.exp! - payload.iat!).toBe(300);

    await expect(idp.jwtToken('late-agent', 'wrong-secret')).rejects.toThrow(/401 invalid_client/);
    await expect(idp.jwtToken('unknown-agent', 'late-secret')).rejects.toThrow(/401 invalid_client/);
  });

  it('issues opaque access tokens that the introspection client can introspect', async () => {
    idp.addClient('opaque-agent', 'opaque-secret');
    const token = await idp.opaqueToken('opaque-agent', 'opaque-secret');
    expect(token).not.toContain('.');

    const { clientId, clientSecret } = idp.introspectionClient;
    const config = await client.discovery(new URL(idp.issuer), clientId, clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const introspection = await client.tokenIntrospection(config, token);
    console.log('introspection response', introspection);
    expect(introspection).toEqual({
      active: true,
      client_id: 'opaque-agent',
      aud: idp.opaqueAudience,
      iss: idp.issuer,
      iat: expect.any(Number),
      exp: expect.any(Number),
      token_type: 'Bearer',
    });

    const unknown = await client.tokenIntrospection(config, 'not-a-token');
    expect(unknown).toEqual({ active: false });

    // A client that is neither the introspection client nor the token's owner learns nothing.
    idp.addClient('nosy-agent', 'nosy-secret');
    const nosy = await client.discovery(new URL(idp.issuer), 'nosy-agent', 'nosy-secret', undefined, {
      execute: [client.allowInsecureRequests],
    });
    expect(await client.tokenIntrospection(nosy, token)).toEqual({ active: false });
  });

  it('exposes its signing key so tests can forge tokens that verify', async () => {
    const { privateJwk, kid } = idp.signingKey;
    expect(privateJwk).toMatchObject({ kty: 'RSA', kid, alg: 'RS256', use: 'sig', d: expect.any(String) });
    const forged = await new jose.SignJWT({ client_id: 'forged-agent' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(idp.issuer)
      .setAudience(idp.jwtAudience)
      .setSubject('forged-agent')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await jose.importJWK(privateJwk, 'RS256'));
    const { payload } = await jose.jwtVerify(forged, jose.createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: idp.issuer,
      audience: idp.jwtAudience,
      algorithms: ['RS256'],
    });
    expect(payload.client_id).toBe('forged-agent');
  });

  it('goes down on stop() and comes back on the same port on start()', async () => {
    const jwtBefore = await idp.jwtToken('late-agent', 'late-secret');
    await idp.stop();
    await expect(fetch(`${idp.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
    await expect(idp.jwtToken('late-agent', 'late-secret')).rejects.toThrow();

    await idp.start();
    expect((await fetchDiscovery()).issuer).toBe(idp.issuer);
    // Same provider, same keys: tokens from before the restart still verify.
    const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
    const options = { issuer: idp.issuer, audience: idp.jwtAudience, algorithms: ['RS256'] };
    await jose.jwtVerify(jwtBefore, jwks, options);
    await jose.jwtVerify(await idp.jwtToken('late-agent', 'late-secret'), jwks, options);
  });
});
