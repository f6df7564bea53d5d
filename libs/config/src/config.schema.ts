import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { AuthMethod } from '#libs/protocol';

/**
 * Every environment variable the gateway reads, each with its one-line doc, default and parser.
 * This table is the only place that knows variable names; `docs/configuration.md` is checked
 * against it by a unit test.
 */
export interface ConfigKey<T> {
  /** One line for the configuration table. */
  doc: string;
  /** The default as an operator would write it, or undefined when the variable is optional. */
  default: string | undefined;
  /** Parses the raw string (the default applied); a thrown message names the problem. */
  parse: (raw: string | undefined) => T;
  /** Set for secrets: never echoed back in an error. */
  secret?: boolean;
}

function key<T>(doc: string, def: string | undefined, schema: z.ZodType<T>, secret = false): ConfigKey<T> {
  return {
    doc,
    default: def,
    secret,
    parse: (raw) => {
      const result = schema.safeParse(raw === undefined || raw === '' ? def : raw);
      if (!result.success) throw new Error(result.error.issues[0]?.message ?? 'invalid value');
      return result.data;
    },
  };
}

const int = (min: number, max: number) =>
  z
    .string({ error: 'is required' })
    .regex(/^-?\d+$/, { error: `must be an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );

const bool = z
  .string()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.string({ error: 'is required' }).refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const AUTH_METHOD_NAMES = ['token', 'oidc', 'mtls', 'none'] as const;

const authMethods = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.enum(AUTH_METHOD_NAMES, { error: `must list methods among ${AUTH_METHOD_NAMES.join(', ')}` }))
      .min(1, { error: 'must name at least one method' }),
  )
  .transform((list) => [...new Set(list)] as AuthMethod[]);

/** The configuration table, in the order the docs list it. */
export const CONFIG_KEYS = {
  NODE_ENV: key('`production` forbids the `none` auth method; anything else is development.', 'development', z.string()),
  HOST: key('Agent plane bind address (socket.io, plain WebSocket, agent HTTP API).', '0.0.0.0', z.string().min(1)),
  PORT: key('Agent plane port; `0` picks a free port (logged at start).', '8700', int(0, 65535)),
  ADMIN_HOST: key('Admin plane bind address: internal unless opened on purpose.', '127.0.0.1', z.string().min(1)),
  ADMIN_PORT: key('Admin plane port (admin API, `/metrics`, health).', '8701', int(0, 65535)),
  ADMIN_ENABLED: key('Serve the admin plane from this process too (set `false` when running `apps/admin` separately).', 'true', bool),
  DATABASE_URL: key(
    'Postgres connection URL; the database is created if missing and migrated on start.',
    'postgresql://postgres@localhost:5432/agent_gateway',
    url(['postgresql:', 'postgres:']),
  ),
  REDIS_URL: key(
    'Redis connection URL (presence, routing between nodes, rate limits, queues).',
    'redis://localhost:6379',
    url(['redis:', 'rediss:']),
  ),
  REDIS_KEY_PREFIX: key(
    'Prefix of every Redis key and channel, so deployments can share a Redis.',
    'agw:',
    z.string().regex(/^[A-Za-z0-9:._-]{1,32}$/, { error: 'must be 1-32 characters of letters, digits, ":", ".", "_", "-"' }),
  ),
  ADMIN_TOKEN: key(
    'Break-glass admin bearer token (at least 32 characters). Unset: the admin API accepts only SSO tokens.',
    undefined,
    z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
    true,
  ),
  AUTH_METHODS: key('Comma list of agent authentication methods: `token`, `oidc`, `mtls`, `none`.', 'token', authMethods),
  NONE_TENANT_ID: key(
    'Tenant that agents authenticated with `none` belong to.',
    'default',
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, { error: 'must be a tenant id' }),
  ),
  NODE_ID: key(
    "This node's id in presence and audit records; default: hostname, pid and a random suffix.",
    undefined,
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, { error: 'must be 1-64 letters, digits, ".", "_", ":", "-"' })
      .optional(),
  ),
  MAX_MESSAGE_BYTES: key('Largest client frame accepted; larger ones get `PAYLOAD_TOO_LARGE`.', '1048576', int(1024, 64 * 1024 * 1024)),
  MAX_CONNECTIONS: key('Agent connections this node accepts; the manifest reports the sum over live nodes.', '10000', int(1, 10_000_000)),
  HEARTBEAT_INTERVAL_S: key('How often agents are told to send `heartbeat`, in seconds.', '30', int(1, 3600)),
  HEARTBEAT_TIMEOUT_S: key('A connection silent this long is closed (`heartbeat_timeout`) and leaves the directory.', '60', int(2, 7200)),
  DELIVERY_TIMEOUT_MS: key("How long `send` waits for the recipient client's ack before answering `TIMEOUT`.", '10000', int(100, 600_000)),
  RESULT_TIMEOUT_MS: key('Default `timeout_ms` of `send` with `expect_result`.', '30000', int(100, 3_600_000)),
  CONVERSATION_TTL_S: key('How long a conversation is remembered for routing `result` back.', '86400', int(60, 30 * 86400)),
  SHUTDOWN_GRACE_MS: key('On SIGTERM, how long in-flight deliveries may finish before agents are disconnected.', '3000', int(0, 8000)),
  GATEWAY_NAME: key('Name in the manifest.', 'agent-gateway', z.string().min(1).max(128)),
  GATEWAY_DESCRIPTION: key('Description in the manifest.', 'Enterprise gateway for AI agents', z.string().max(1024)),
  LOG_LEVEL: key(
    '`error`, `warn`, `log`, `debug` or `verbose`: that level and the ones before it are logged.',
    'log',
    z.enum(['error', 'warn', 'log', 'debug', 'verbose'], { error: 'must be one of error, warn, log, debug, verbose' }),
  ),
  LOG_FORMAT: key('`json` (one object per line) or `text`.', 'json', z.enum(['json', 'text'], { error: 'must be json or text' })),
} satisfies Record<string, ConfigKey<unknown>>;

/** The names of every configuration variable. */
export type ConfigKeyName = keyof typeof CONFIG_KEYS;

type Parsed = { [K in ConfigKeyName]: ReturnType<(typeof CONFIG_KEYS)[K]['parse']> };

/** The configuration of a gateway process, validated once at boot. */
export interface GatewayConfig {
  nodeEnv: string;
  production: boolean;
  nodeId: string;
  version: string;
  agentPlane: { host: string; port: number; maxMessageBytes: number; maxConnections: number };
  adminPlane: { enabled: boolean; host: string; port: number; adminToken: string | undefined };
  databaseUrl: string;
  redis: { url: string; keyPrefix: string };
  auth: { methods: AuthMethod[]; noneTenantId: string };
  heartbeat: { intervalS: number; timeoutS: number };
  routing: { deliveryTimeoutMs: number; defaultResultTimeoutMs: number; conversationTtlS: number };
  shutdown: { graceMs: number };
  manifest: { name: string; description: string };
  log: { level: 'error' | 'warn' | 'log' | 'debug' | 'verbose'; format: 'json' | 'text' };
}

/** The configuration was refused; `problems` has one line per variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Reads and validates the configuration from an environment. Throws {@link ConfigError} naming
 * every faulty variable; a secret's value is never echoed.
 *
 * @example
 * const config = loadConfig(process.env, '0.1.0');
 */
export function loadConfig(env: NodeJS.ProcessEnv, version: string): GatewayConfig {
  const problems: string[] = [];
  const parsed: Partial<Record<ConfigKeyName, unknown>> = {};
  for (const [name, def] of Object.entries(CONFIG_KEYS) as [ConfigKeyName, ConfigKey<unknown>][]) {
    const raw = env[name];
    try {
      parsed[name] = def.parse(raw);
    } catch (error) {
      const shown = def.secret || raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(`${name} ${(error as Error).message}${shown}`);
    }
  }
  const p = parsed as Parsed;
  if (problems.length === 0) {
    if (p.NODE_ENV === 'production' && p.AUTH_METHODS.includes('none')) {
      problems.push('AUTH_METHODS must not include "none" when NODE_ENV=production: it lets any agent claim any agent_id');
    }
    const unbuilt = p.AUTH_METHODS.filter((m) => m === 'oidc' || m === 'mtls');
    if (unbuilt.length > 0) problems.push(`AUTH_METHODS includes ${unbuilt.join(', ')}, which this build does not implement yet`);
    if (p.HEARTBEAT_TIMEOUT_S <= p.HEARTBEAT_INTERVAL_S) {
      problems.push(
        `HEARTBEAT_TIMEOUT_S must be greater than HEARTBEAT_INTERVAL_S (${p.HEARTBEAT_TIMEOUT_S} <= ${p.HEARTBEAT_INTERVAL_S})`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: p.NODE_ENV,
    production: p.NODE_ENV === 'production',
    nodeId: p.NODE_ID ?? `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`,
    version,
    agentPlane: { host: p.HOST, port: p.PORT, maxMessageBytes: p.MAX_MESSAGE_BYTES, maxConnections: p.MAX_CONNECTIONS },
    adminPlane: { enabled: p.ADMIN_ENABLED, host: p.ADMIN_HOST, port: p.ADMIN_PORT, adminToken: p.ADMIN_TOKEN },
    databaseUrl: p.DATABASE_URL,
    redis: { url: p.REDIS_URL, keyPrefix: p.REDIS_KEY_PREFIX },
    auth: { methods: p.AUTH_METHODS, noneTenantId: p.NONE_TENANT_ID },
    heartbeat: { intervalS: p.HEARTBEAT_INTERVAL_S, timeoutS: p.HEARTBEAT_TIMEOUT_S },
    routing: {
      deliveryTimeoutMs: p.DELIVERY_TIMEOUT_MS,
      defaultResultTimeoutMs: p.RESULT_TIMEOUT_MS,
      conversationTtlS: p.CONVERSATION_TTL_S,
    },
    shutdown: { graceMs: p.SHUTDOWN_GRACE_MS },
    manifest: { name: p.GATEWAY_NAME, description: p.GATEWAY_DESCRIPTION },
    log: { level: p.LOG_LEVEL, format: p.LOG_FORMAT },
  };
}
