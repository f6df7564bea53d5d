import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigTable } from './config-table.js';
import { CONFIG_KEYS, ConfigError, loadConfig } from './config.schema.js';

/** The problems `loadConfig` names for `env` (none: it loaded). */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, '0');
  } catch (e) {
    return (e as ConfigError).problems;
  }
  return [];
}

describe('loadConfig', () => {
  it('starts with nothing set: the contract defaults', () => {
    const config = loadConfig({}, '1.2.3');
    expect(config.agentPlane).toMatchObject({ host: '0.0.0.0', port: 8700, maxMessageBytes: 1_048_576 });
    expect(config.adminPlane).toMatchObject({ host: '127.0.0.1', port: 8701, adminToken: undefined });
    expect(config.databaseUrl).toBe('postgresql://postgres@localhost:5432/agent_gateway');
    expect(config.redis.url).toBe('redis://localhost:6379');
    expect(config.auth.methods).toEqual(['token']);
    expect(config.version).toBe('1.2.3');
  });

  it('names every faulty variable at once and never echoes a secret', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: '99999', AUTH_METHODS: 'token,magic', ADMIN_TOKEN: 'too-short', REDIS_URL: 'http://x' }, '0');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'PORT must be at most 65535 (got "99999")',
      'REDIS_URL must be a URL starting with redis://, rediss://, redis+sentinel:// or rediss+sentinel:// (got "http://x")',
      'ADMIN_TOKEN must be at least 32 characters',
      expect.stringMatching(/^AUTH_METHODS must list methods among token, oidc, mtls, none \(got "token,magic"\)$/),
    ]);
    expect(error.message).not.toContain('too-short');
  });

  it('validates SECRETS_KEY (never echoed) and A2A_EGRESS_ALLOW once, at boot; egress is closed by default', () => {
    expect(loadConfig({}, '0').a2aOutbound.egressAllow).toEqual([]);
    expect(loadConfig({}, '0').secrets.key).toBeUndefined();
    expect(problems({ SECRETS_KEY: 'short-secret-key' })).toEqual(['SECRETS_KEY must be at least 32 characters']);
    expect(problems({ SECRETS_KEY_PREVIOUS: 'p'.repeat(40) })).toEqual([
      'SECRETS_KEY_PREVIOUS needs SECRETS_KEY (the key new credentials are sealed with)',
    ]);
    expect(problems({ A2A_EGRESS_ALLOW: 'agents.example.com,http://x/y' })[0]).toMatch(
      /^A2A_EGRESS_ALLOW must list host names.*"http:\/\/x\/y"/,
    );
    const config = loadConfig({ SECRETS_KEY: 's'.repeat(32), A2A_EGRESS_ALLOW: 'agents.example.com:443, 10.0.0.0/8, 127.0.0.1:9000' }, '0');
    expect(config.secrets).toEqual({ key: 's'.repeat(32), previousKeys: [] });
    expect(config.a2aOutbound.egressAllow).toEqual([
      { kind: 'host', host: 'agents.example.com', wildcard: false, port: 443 },
      { kind: 'cidr', cidr: '10.0.0.0/8' },
      { kind: 'ip', address: '127.0.0.1', port: 9000 },
    ]);
  });

  it('shows URL variables with their password masked, and says what is wrong with them', () => {
    expect(problems({ DATABASE_URL: 'postgresql://app:hunter2pw@db:99999/gw', REDIS_URL: 'redis://:hunter2pw@ca che:6379' })).toEqual([
      'DATABASE_URL has port "99999", which is not a port number from 1 to 65535 (got "postgresql://***@db:99999/gw")',
      'REDIS_URL is not a valid URL (a URL starting with redis:// or rediss://, host, optional port and path) (got "redis://***@ca che:6379")',
    ]);
    expect(problems({ OIDC_ISSUER: 'ftp://u:hunter2pw@idp' }).join('\n')).not.toContain('hunter2pw');
  });

  it('refuses `none` in production and a heartbeat time-out not above the interval', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_METHODS: 'none' }, '0')).toThrow(
      /must not include "none" when NODE_ENV=production/,
    );
    expect(() => loadConfig({ HEARTBEAT_INTERVAL_S: '30', HEARTBEAT_TIMEOUT_S: '30' }, '0')).toThrow(
      /HEARTBEAT_TIMEOUT_S must be greater than HEARTBEAT_INTERVAL_S/,
    );
  });

  it('enables the admin browser login only with an IdP client, with a Secure cookie behind https', () => {
    const sso = { ADMIN_OIDC_ISSUER: 'https://idp.example.com', ADMIN_OIDC_AUDIENCE: 'gw' };
    expect(() => loadConfig({ ...sso, ADMIN_PUBLIC_URL: 'https://gw.example.com' }, '0')).toThrow(
      /ADMIN_PUBLIC_URL \(browser login\) needs ADMIN_OIDC_ISSUER and ADMIN_OIDC_CLIENT_ID/,
    );
    const login = { ...sso, ADMIN_OIDC_CLIENT_ID: 'console' };
    expect(() => loadConfig({ ...login, NODE_ENV: 'production', ADMIN_PUBLIC_URL: 'http://gw.example.com' }, '0')).toThrow(
      /ADMIN_PUBLIC_URL must use https when NODE_ENV=production/,
    );
    expect(() => loadConfig({ ...login, ADMIN_PUBLIC_URL: 'https://gw.example.com', ADMIN_OIDC_SCOPES: 'profile' }, '0')).toThrow(
      /ADMIN_OIDC_SCOPES/,
    );
    expect(loadConfig({ ...login, ADMIN_PUBLIC_URL: 'https://gw.example.com/' }, '0').adminLogin).toEqual({
      publicUrl: 'https://gw.example.com',
      scopes: 'openid profile',
      sessionTtlS: 28800,
      secureCookie: true,
    });
    expect(loadConfig(sso, '0').adminLogin).toBeNull();
  });

  it('reads the WebSocket query token only outside production unless told otherwise', () => {
    expect(loadConfig({}, '0').agentPlane.wsQueryToken).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }, '0').agentPlane.wsQueryToken).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', WS_QUERY_TOKEN: 'true' }, '0').agentPlane.wsQueryToken).toBe(true);
    expect(loadConfig({ WS_QUERY_TOKEN: 'false' }, '0').agentPlane.wsQueryToken).toBe(false);
  });

  it('reads the MCP keys: time-out, public URL without a trailing slash, allowed hosts and origins, each validated', () => {
    expect(loadConfig({}, '0').mcp).toEqual({ timeoutMs: 30_000, publicUrl: null, allowedHosts: [], allowedOrigins: [] });
    const config = loadConfig(
      {
        MCP_TIMEOUT_MS: '5000',
        MCP_PUBLIC_URL: 'https://gw.example.com/',
        MCP_ALLOWED_HOSTS: 'GW.example.com, localhost,[::1]',
        MCP_ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:6274',
      },
      '0',
    );
    expect(config.mcp).toEqual({
      timeoutMs: 5000,
      publicUrl: 'https://gw.example.com',
      allowedHosts: ['gw.example.com', 'localhost', '[::1]'],
      allowedOrigins: ['https://app.example.com', 'http://localhost:6274'],
    });
    const problems = (env: NodeJS.ProcessEnv): string[] => {
      try {
        loadConfig(env, '0');
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ MCP_ALLOWED_HOSTS: 'gw.example.com:443' })).toEqual([
      expect.stringMatching(/^MCP_ALLOWED_HOSTS must list host names/),
    ]);
    expect(problems({ MCP_ALLOWED_ORIGINS: 'https://app.example.com/' })).toEqual([
      expect.stringMatching(/^MCP_ALLOWED_ORIGINS must list origins/),
    ]);
    expect(problems({ MCP_TIMEOUT_MS: '50' })).toEqual(['MCP_TIMEOUT_MS must be at least 100 (got "50")']);
  });

  it('dedupes AUTH_METHODS and trims spaces', () => {
    expect(loadConfig({ AUTH_METHODS: ' token , none,token' }, '0').auth.methods).toEqual(['token', 'none']);
  });

  it('is documented: docs/configuration.md holds the table of the schema (npm run docs:config writes it)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toContain(renderConfigTable());
    expect(Object.keys(CONFIG_KEYS).filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });
});
