import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

/**
 * A real OpenID provider (`oidc-provider`) over plain HTTP on 127.0.0.1, for end-to-end tests of
 * OAuth 2.0 access-token validation. Clients use the client_credentials grant with
 * client_secret_basic; the `resource` parameter of the token request selects the token format.
 *
 * Claims of a JWT access token (header `{ alg: 'RS256', typ: 'at+jwt', kid }`), as built by
 * oidc-provider's lib/models/formats/jwt.js for the client_credentials grant:
 *   iss        the issuer (`http://127.0.0.1:<port>`)
 *   aud        `jwtAudience` (a string)
 *   client_id  the client's id
 *   sub        the client's id too (there is no end user: `sub` falls back to `client_id`)
 *   jti, iat, exp (exp = iat + 300)
 *   scope      absent: these token requests ask for no scope
 *
 * An opaque access token (`opaqueAudience`) is a random string (no dots); its introspection
 * response carries `active: true`, `client_id`, `aud` (a string), `iss`, `iat`, `exp`,
 * `token_type: 'Bearer'` and no `sub` (client_credentials tokens have no account). Only the
 * introspection client and the token's own client get `active: true`; any other caller gets
 * `{ active: false }`.
 */
export interface TestIssuer {
  /** E.g. http://127.0.0.1:54321: exactly the `iss` of its tokens and of its discovery document. */
  issuer: string;
  port: number;
  /** The resource/audience of JWT access tokens. */
  jwtAudience: string;
  /** The resource/audience of opaque access tokens (introspection needed). */
  opaqueAudience: string;
  /** Confidential client allowed to call the introspection endpoint (client_secret_basic). */
  introspectionClient: { clientId: string; clientSecret: string };
  /** Registers (before or after start) a confidential client for the client_credentials grant. */
  addClient(clientId: string, clientSecret: string, claims?: Record<string, unknown>): void;
  /**
   * Registers a confidential web client for the authorization code grant (PKCE, `client_secret_basic`)
   * redirecting to `redirectUri`; it may also introspect tokens.
   */
  addWebClient(clientId: string, clientSecret: string, redirectUri: string): void;
  /**
   * Registers an end user for the browser login. The provider's own login and consent pages
   * (oidc-provider's dev interactions: any password) sign them in; a login name not registered here
   * has no account and the sign-in fails. `claims` are served for the `profile` scope: from
   * UserInfo, not in the ID token (oidc-provider's conformant default).
   */
  addUser(login: string, claims: Record<string, unknown>): void;
  /** client_credentials grant → a JWT access token (RS256) for `jwtAudience`. */
  jwtToken(clientId: string, clientSecret: string): Promise<string>;
  /** client_credentials grant → an opaque access token for `opaqueAudience`. */
  opaqueToken(clientId: string, clientSecret: string): Promise<string>;
  /** The provider's RSA signing key as a private JWK (with its `kid`), so tests can forge tokens signed with the real key. */
  signingKey: { privateJwk: jose.JWK; kid: string };
  /** Stops listening (simulates the IdP being down); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

const JWT_AUDIENCE = 'urn:agent-gateway:test';
const OPAQUE_AUDIENCE = 'urn:agent-gateway:opaque';
const ACCESS_TOKEN_TTL = 300;

// ---------------------------------------------------------------------------------------------
// oidc-provider ships no type declarations: the little of it used here, typed by hand.

interface ProviderClient {
  clientId: string;
}

interface ProviderToken {
  clientId: string;
}

interface ResourceServerInfo {
  scope: string;
  audience: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt' | 'opaque';
  jwt: { sign: { alg: 'RS256' } };
}

interface ProviderInstance {
  urlFor(name: string): string;
  on(event: string, listener: (...args: never[]) => void): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

interface OidcProviderModule {
  Provider: new (issuer: string, configuration: object) => ProviderInstance;
  errors: { InvalidTarget: new (description?: string) => Error };
}

/** Stored payloads of oidc-provider's models (tokens, sessions, …) and client metadata. */
type Payload = Record<string, unknown>;

/**
 * A minimal in-memory adapter (the interface of oidc-provider's lib/adapters/memory_adapter.js).
 * The `Client` model reads the helper's own client map, so clients added after the provider was
 * constructed are found; every other model (e.g. the opaque `ClientCredentials` tokens that
 * introspection looks up) lives in `store`.
 */
class TestAdapter {
  constructor(
    private readonly model: string,
    private readonly store: Map<string, { payload: Payload; expiresAt: number }>,
    private readonly clients: ReadonlyMap<string, Payload>,
  ) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  private get(key: string): Payload | undefined {
    const entry = this.store.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.store.delete(key);
      return undefined;
    }
    return entry?.payload;
  }

  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    this.store.set(this.key(id), { payload, expiresAt });
    for (const index of ['uid', 'userCode'] as const) {
      const value = payload[index];
      if (typeof value === 'string') this.store.set(`${this.model}:${index}:${value}`, { payload, expiresAt });
    }
    return Promise.resolve();
  }

  find(id: string): Promise<Payload | undefined> {
    if (this.model === 'Client') {
      const metadata = this.clients.get(id);
      return Promise.resolve(metadata ? structuredClone(metadata) : undefined);
    }
    return Promise.resolve(this.get(this.key(id)));
  }

  findByUid(uid: string): Promise<Payload | undefined> {
    return Promise.resolve(this.get(`${this.model}:uid:${uid}`));
  }

  findByUserCode(userCode: string): Promise<Payload | undefined> {
    return Promise.resolve(this.get(`${this.model}:userCode:${userCode}`));
  }

  consume(id: string): Promise<void> {
    const payload = this.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.store.delete(this.key(id));
    return Promise.resolve();
  }

  revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, { payload }] of this.store) {
      if (payload.grantId === grantId) this.store.delete(key);
    }
    return Promise.resolve();
  }
}

/**
 * Runs `fn` without oidc-provider's known notices, which would print into every test file that
 * uses this helper: "Unsupported runtime" on import (it recommends Node 22+) and the reminder that
 * devInteractions are for development (this is a test IdP).
 */
async function quietly<T>(fn: () => T | Promise<T>): Promise<T> {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /Unsupported runtime|devInteractions is enabled/.test(args[0])) return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

/** The specifier is not a literal so that TypeScript does not look for the missing declarations. */
async function importOidcProvider(): Promise<OidcProviderModule> {
  const specifier: string = 'oidc-provider';
  return quietly(async () => (await import(specifier)) as OidcProviderModule);
}

function webClientMetadata(clientId: string, clientSecret: string, redirectUri: string): Payload {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

function clientMetadata(clientId: string, clientSecret: string): Payload {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

/** RFC 6749 §2.3.1: the client id and secret are form-urlencoded before the Basic encoding. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

async function listen(server: Server, port: number): Promise<void> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
}

/** Starts a real OpenID provider on 127.0.0.1 (random free port) and returns its handle. */
export async function startTestIssuer(
  options: {
    /** More resource indicators (RFC 8707) it issues JWT access tokens for, beside `jwtAudience` (an MCP resource URL). */
    resources?: string[];
  } = {},
): Promise<TestIssuer> {
  const jwtResources = new Set([JWT_AUDIENCE, ...(options.resources ?? [])]);
  const { Provider, errors } = await importOidcProvider();

  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const exported = await jose.exportJWK(privateKey);
  const kid = await jose.calculateJwkThumbprint(exported);
  const privateJwk: jose.JWK = { ...exported, kid, alg: 'RS256', use: 'sig' };

  const introspectionClient = { clientId: 'introspector', clientSecret: 'introspector-secret' };
  const clients = new Map<string, Payload>();
  // Extra claims of each client's access tokens (roles, groups, tenant: admin SSO tests).
  const clientClaims = new Map<string, Record<string, unknown>>();
  const addClient = (clientId: string, clientSecret: string, claims?: Record<string, unknown>) => {
    clients.set(clientId, clientMetadata(clientId, clientSecret));
    if (claims) clientClaims.set(clientId, claims);
  };
  addClient(introspectionClient.clientId, introspectionClient.clientSecret);
  const webClients = new Set<string>();
  const addWebClient = (clientId: string, clientSecret: string, redirectUri: string) => {
    clients.set(clientId, webClientMetadata(clientId, clientSecret, redirectUri));
    webClients.add(clientId);
  };
  const users = new Map<string, Record<string, unknown>>();

  // The issuer contains the port, so the server listens before the provider (its request handler) exists.
  const server = createServer();
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const store = new Map<string, { payload: Payload; expiresAt: number }>();
  const provider = await quietly(
    () =>
      new Provider(issuer, {
        adapter: (model: string) => new TestAdapter(model, store, clients),
        jwks: { keys: [{ ...privateJwk }] },
        // Set explicitly (the defaults log a notice each).
        ttl: {
          ClientCredentials: () => ACCESS_TOKEN_TTL,
          AccessToken: () => ACCESS_TOKEN_TTL,
          AuthorizationCode: () => 60,
          IdToken: () => ACCESS_TOKEN_TTL,
          Interaction: () => 600,
          Session: () => 3600,
          Grant: () => 3600,
        },
        extraTokenClaims: (_ctx: unknown, token: ProviderToken) => clientClaims.get(token.clientId),
        findAccount: (_ctx: unknown, sub: string) => {
          const claims = users.get(sub);
          return claims && { accountId: sub, claims: () => ({ ...claims, sub }) };
        },
        // Claims of the `profile` scope: the role and tenant claims the admin SSO tests map.
        claims: { openid: ['sub'], profile: ['name', 'groups', 'tenant'] },
        pkce: { required: () => true },
        // Errors as JSON (the default HTML page logs a notice).
        renderError: (ctx: { type: string; body: unknown }, out: Record<string, unknown>) => {
          ctx.type = 'json';
          ctx.body = out;
        },
        features: {
          // The provider's own (development) login and consent pages: what a browser would see.
          devInteractions: { enabled: true },
          clientCredentials: { enabled: true },
          introspection: {
            enabled: true,
            allowedPolicy: (_ctx: unknown, client: ProviderClient, token: ProviderToken) =>
              client.clientId === introspectionClient.clientId || client.clientId === token.clientId,
          },
          resourceIndicators: {
            enabled: true,
            // Web clients' tokens are for UserInfo (no resource); client_credentials tokens for the gateway.
            defaultResource: (_ctx: unknown, client: ProviderClient, oneOf?: string | string[]) =>
              oneOf ?? (webClients.has(client.clientId) ? undefined : JWT_AUDIENCE),
            useGrantedResource: () => true,
            getResourceServerInfo: (_ctx: unknown, resourceIndicator: string): ResourceServerInfo => {
              if (!jwtResources.has(resourceIndicator) && resourceIndicator !== OPAQUE_AUDIENCE) {
                throw new errors.InvalidTarget();
              }
              return {
                scope: 'agents',
                audience: resourceIndicator,
                accessTokenTTL: ACCESS_TOKEN_TTL,
                accessTokenFormat: jwtResources.has(resourceIndicator) ? 'jwt' : 'opaque',
                jwt: { sign: { alg: 'RS256' } },
              };
            },
          },
        },
      }),
  );
  // A provider bug or misconfiguration shows up as a bare 500 page: print its cause.
  provider.on('server_error', (_ctx: unknown, error: Error) => console.error('oidc-provider server_error:', error));
  server.on('request', provider.callback());
  const tokenEndpoint = provider.urlFor('token');

  async function requestToken(clientId: string, clientSecret: string, resource: string): Promise<string> {
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuth(clientId, clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
    });
    const body = (await response.json()) as { access_token?: unknown; error?: string; error_description?: string };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(`token request for ${clientId} failed: ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
    }
    return body.access_token;
  }

  return {
    issuer,
    port,
    jwtAudience: JWT_AUDIENCE,
    opaqueAudience: OPAQUE_AUDIENCE,
    introspectionClient,
    addClient,
    addWebClient,
    addUser: (login, claims) => users.set(login, claims),
    jwtToken: (clientId, clientSecret) => requestToken(clientId, clientSecret, JWT_AUDIENCE),
    opaqueToken: (clientId, clientSecret) => requestToken(clientId, clientSecret, OPAQUE_AUDIENCE),
    signingKey: { privateJwk, kid },
    async stop() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      await closed;
    },
    async start() {
      if (server.listening) return;
      await listen(server, port);
    },
  };
}
