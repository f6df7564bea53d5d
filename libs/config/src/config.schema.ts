import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as z from 'zod';
import { parseCidr } from './cidr.js';
import { parseEgressEntry, type EgressAllowEntry } from './egress-allow.js';
import { TRACE_SAMPLERS, keyValueList, otlpProtocol, ratio, tracesUrl, type OtlpProtocol, type TraceSamplerName } from './otel.js';
import { redactUrl, scrubSecrets, urlProblem } from './redact.js';
import { parseEndpoint, parseSentinelUrl, redisTopology, type RedisTopology } from './redis-topology.js';
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
  /**
   * `true` for secrets: never echoed back in an error. `'url'` for URLs that may carry a password
   * (`DATABASE_URL`, `REDIS_URL`): echoed with the password replaced by `***`.
   */
  secret?: boolean | 'url';
}

function key<T>(doc: string, def: string | undefined, schema: z.ZodType<T>, secret: boolean | 'url' = false): ConfigKey<T> {
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
  z.string({ error: 'is required' }).superRefine((v, ctx) => {
    const problem = urlProblem(v, protocols);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const filePath = z
  .string()
  .min(1)
  .refine((v) => existsSync(v), { error: 'must name a readable file' })
  .optional();

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

// Asymmetric JWS algorithms only: `none` and HMAC (which would let a public key act as a shared secret) are never accepted.
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const algorithms = csv.pipe(
  z
    .array(
      z.enum(ASYMMETRIC_ALGORITHMS, {
        error: `must list asymmetric algorithms among ${ASYMMETRIC_ALGORITHMS.join(', ')} (never none or HS*)`,
      }),
    )
    .min(1, { error: 'must name at least one algorithm' }),
);

const cidrs = csv.pipe(
  z.array(z.string().refine((v) => parseCidr(v) !== null, { error: 'must list IP addresses or CIDR ranges (10.0.0.0/8, ::1)' })),
);

const egressAllow = csv.pipe(
  z.array(
    z.string().transform((v, ctx) => {
      const entry = parseEgressEntry(v);
      if (entry) return entry;
      ctx.addIssue({
        code: 'custom',
        message: `must list host names (agents.example.com, *.example.com), host:port, IP:port or CIDR ranges; "${v}" is none of them`,
      });
      return z.NEVER;
    }),
  ),
);

const secretsKey = z.string().min(32, { error: 'must be at least 32 characters' }).optional();

// Host names as the `Host` header carries them, without the port (`[::1]` for IPv6).
const hostNames = csv.pipe(
  z.array(
    z
      .string()
      .toLowerCase()
      .regex(/^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/, {
        error: 'must list host names without a port (gateway.example.com, localhost, [::1])',
      }),
  ),
);

// Origins exactly as browsers send them: scheme, host and a non-default port, nothing else.
const origins = csv.pipe(
  z.array(
    z.string().refine(
      (v) => {
        try {
          const parsed = new URL(v);
          return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.origin === v;
        } catch {
          return false;
        }
      },
      { error: 'must list origins like https://app.example.com (scheme, host, optional port; no path or trailing slash)' },
    ),
  ),
);

/** The `defaults` of a rate-limit document (contract §7.2). */
export const rateLimitDefaultsSchema = z.strictObject({
  messages_per_second: z.number().positive().max(1_000_000),
  burst: z.number().int().min(1).max(10_000_000),
  connects_per_minute_per_ip: z.number().int().min(1).max(1_000_000),
  tenant_messages_per_second: z.number().positive().max(10_000_000).optional(),
  tenant_burst: z.number().int().min(1).max(100_000_000).optional(),
});

/** The contract's example defaults, used when nothing else is configured. */
export const BUILT_IN_RATE_LIMIT_DEFAULTS: RateLimitDefaults = { messages_per_second: 100, burst: 200, connects_per_minute_per_ip: 60 };

export type RateLimitDefaults = z.infer<typeof rateLimitDefaultsSchema>;

/** A variable holding JSON: parsed, or refused with "must be JSON". */
const jsonText = z.string().transform((v, ctx) => {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
});

/** The roles of the admin API (contract §7). */
export const ADMIN_ROLES = ['admin', 'operator', 'auditor'] as const;
export type AdminRoleName = (typeof ADMIN_ROLES)[number];

/** One entry of `ADMIN_ROLE_MAP`: a role, or a role within one tenant. */
const adminRoleGrant = z.union([
  z.enum(ADMIN_ROLES),
  z.strictObject({
    role: z.enum(ADMIN_ROLES),
    tenant_id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
      .optional(),
  }),
]);
export interface AdminRoleGrant {
  role: AdminRoleName;
  tenantId: string | null;
}

const adminRoleMap = jsonText
  .pipe(z.record(z.string().min(1), adminRoleGrant))
  .transform((map): Record<string, AdminRoleGrant> =>
    Object.fromEntries(
      Object.entries(map).map(([value, grant]) => [
        value,
        typeof grant === 'string' ? { role: grant, tenantId: null } : { role: grant.role, tenantId: grant.tenant_id ?? null },
      ]),
    ),
  );

const rateLimitDefaults = jsonText.pipe(rateLimitDefaultsSchema.partial()).transform((v) => ({ ...BUILT_IN_RATE_LIMIT_DEFAULTS, ...v }));

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
  NODE_ENV: key(
    '`production` forbids the `none` auth method and (gateway, `apps/admin`) a Redis that may lose the audit queue on a restart, see `AUDIT_ALLOW_VOLATILE_REDIS`; anything else is development.',
    'development',
    z.string(),
  ),
  HOST: key('Agent plane bind address (socket.io, plain WebSocket, agent HTTP API).', '0.0.0.0', z.string().min(1)),
  PORT: key('Agent plane port; `0` picks a free port (logged at start).', '8700', int(0, 65535)),
  ADMIN_HOST: key('Admin plane bind address: internal unless opened on purpose.', '127.0.0.1', z.string().min(1)),
  ADMIN_PORT: key('Admin plane port (admin API, `/metrics`, health).', '8701', int(0, 65535)),
  ADMIN_ENABLED: key('Serve the admin plane from this process too (set `false` when running `apps/admin` separately).', 'true', bool),
  DATABASE_URL: key(
    'Postgres connection URL; the database is created if missing and migrated on start.',
    'postgresql://postgres@localhost:5432/agent_gateway',
    url(['postgresql:', 'postgres:']),
    'url',
  ),
  DATABASE_POOL_SIZE: key('Most Postgres connections one process opens (its agent and admin planes share one pool).', '10', int(1, 200)),
  REDIS_URL: key(
    'Redis (presence, routing between nodes, rate limits, queues): `redis://` or `rediss://` for one server, `redis+sentinel://[user:pass@]host:26379,…/<master>[?sentinelPassword=…&sentinelUsername=…&db=N]` (or `rediss+sentinel://`) for Sentinel; with `REDIS_CLUSTER_NODES`, only its user, password and TLS are used. See docs/operations.md, Redis topologies.',
    'redis://localhost:6379',
    z.string({ error: 'is required' }).superRefine((v, ctx) => {
      if (/^rediss?\+sentinel:/i.test(v)) {
        try {
          parseSentinelUrl(v);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
        return;
      }
      const problem = urlProblem(v, ['redis:', 'rediss:']);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: problem.startsWith('must be a URL')
            ? 'must be a URL starting with redis://, rediss://, redis+sentinel:// or rediss+sentinel://'
            : problem,
        });
    }),
    'url',
  ),
  REDIS_CLUSTER_NODES: key(
    'Seed nodes of a Redis Cluster, `host:port,…` (a few masters are enough: the rest is discovered). Set: the gateway runs on the cluster, with the user, password and TLS (`rediss://`) of `REDIS_URL`.',
    undefined,
    csv
      .superRefine((nodes, ctx) => {
        for (const node of nodes) {
          try {
            parseEndpoint(node, 6379);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: (error as Error).message });
            return;
          }
        }
      })
      .optional(),
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
  ADMIN_OIDC_ISSUER: key(
    'Issuer of admin SSO access tokens (the enterprise IdP); the admin API then accepts its bearer tokens.',
    undefined,
    url(['https:', 'http:']).optional(),
    'url',
  ),
  ADMIN_OIDC_AUDIENCE: key(
    'Required `aud` of admin access tokens. Required with `ADMIN_OIDC_ISSUER`.',
    undefined,
    z.string().min(1).optional(),
  ),
  ADMIN_OIDC_CLIENT_ID: key(
    'Client id of the gateway at the admin IdP, for RFC 7662 introspection of opaque admin tokens (with `ADMIN_OIDC_CLIENT_SECRET`).',
    undefined,
    z.string().min(1).optional(),
  ),
  ADMIN_OIDC_CLIENT_SECRET: key('Client secret of `ADMIN_OIDC_CLIENT_ID`.', undefined, z.string().min(1).optional(), true),
  ADMIN_ROLE_CLAIM: key(
    'Claim of admin tokens holding roles or groups: a name or a dotted path (`groups`, `roles`, `realm_access.roles`); a string, a space-separated string or an array.',
    'roles',
    z.string().regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, { error: 'must be a claim name or dotted path' }),
  ),
  ADMIN_ROLE_MAP: key(
    'JSON map from claim values to roles: `{"gw-admins":"admin","acme-ops":{"role":"operator","tenant_id":"acme"}}`. Unset: the values `admin`, `operator`, `auditor` map to themselves.',
    undefined,
    adminRoleMap.optional(),
  ),
  ADMIN_TENANT_CLAIM: key(
    'Claim binding an SSO admin to one tenant (unset: only `ADMIN_ROLE_MAP` binds admins to tenants).',
    undefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'must be a claim name' })
      .optional(),
  ),
  ADMIN_PUBLIC_URL: key(
    "Base URL of the admin listener as browsers reach it (`https://gateway.example.com`): the only origin console requests are accepted from (unset: the request's own host). With `ADMIN_OIDC_CLIENT_ID` it enables the browser SSO login; the IdP client must allow `<ADMIN_PUBLIC_URL>/admin/callback`. `https` makes the session cookie `Secure` (required when NODE_ENV=production).",
    undefined,
    url(['https:', 'http:']).optional(),
    'url',
  ),
  ADMIN_OIDC_SCOPES: key(
    'Scopes the browser login asks for (space-separated, must include `openid`).',
    'openid profile',
    z.string().regex(/(^|\s)openid(\s|$)/, { error: 'must include openid' }),
  ),
  ADMIN_SESSION_TTL_S: key(
    'Lifetime of a browser admin session, SSO or break-glass (the cookie and its record in Redis).',
    '28800',
    int(60, 604800),
  ),
  ADMIN_CORS_ORIGINS: key(
    'Comma list of origins allowed to call the admin API from a browser (CORS); unset: no CORS headers at all.',
    undefined,
    csv.optional(),
  ),
  AUTH_METHODS: key('Comma list of agent authentication methods: `token`, `oidc`, `mtls`, `none`.', 'token', authMethods),
  OIDC_ISSUER: key(
    'OIDC/OAuth issuer URL of agent access tokens (discovery at `/.well-known/openid-configuration`). Required with `oidc`.',
    undefined,
    url(['https:', 'http:']).optional(),
    'url',
  ),
  OIDC_AUDIENCE: key('Required `aud` of agent access tokens. Required with `oidc`.', undefined, z.string().min(1).optional()),
  OIDC_AGENT_CLAIM: key(
    'Claim whose value is bound to an agent (`sub`; `client_id` or `azp` for client-credentials tokens).',
    'sub',
    z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'must be a claim name' }),
  ),
  OIDC_ALGORITHMS: key('Accepted JWS algorithms of access tokens (asymmetric only).', 'RS256,PS256,ES256,EdDSA', algorithms),
  OIDC_CLOCK_SKEW_S: key('Clock skew tolerated on `exp` and `nbf`, in seconds.', '30', int(0, 300)),
  OIDC_CLIENT_ID: key(
    'Client id for RFC 7662 introspection of opaque tokens (with `OIDC_CLIENT_SECRET`); unset: opaque tokens are refused.',
    undefined,
    z.string().min(1).optional(),
  ),
  OIDC_CLIENT_SECRET: key('Client secret for introspection (client_secret_basic).', undefined, z.string().min(1).optional(), true),
  OIDC_JWKS_COOLDOWN_S: key('Least time between two JWKS fetches caused by an unknown `kid`.', '5', int(1, 3600)),
  OIDC_HTTP_TIMEOUT_MS: key(
    'Time-out of calls to the IdP (discovery, JWKS, introspection); past it the agent gets `UNAVAILABLE`.',
    '5000',
    int(100, 60_000),
  ),
  OIDC_ALLOW_HTTP: key('Allow a plain-HTTP issuer (tests, local IdPs). Refused when NODE_ENV=production.', 'false', bool),
  TLS_CERT: key('PEM certificate (chain) of the agent plane; with `TLS_KEY`, the agent plane serves TLS.', undefined, filePath),
  TLS_KEY: key('PEM private key of `TLS_CERT`.', undefined, filePath),
  TLS_CLIENT_CA: key('PEM CA bundle that client certificates must chain to (`mtls`).', undefined, filePath),
  TLS_CRL: key('PEM CRL(s) of `TLS_CLIENT_CA`; a revoked client certificate is refused.', undefined, filePath),
  TLS_RELOAD_S: key(
    'How often `TLS_CERT`, `TLS_KEY`, `TLS_CLIENT_CA` and `TLS_CRL` are re-read (rotation, new CRLs), in seconds.',
    '300',
    int(5, 86_400),
  ),
  TRUSTED_PROXIES: key(
    'Comma list of proxy addresses/CIDRs whose `X-Forwarded-Client-Cert` and `X-Forwarded-For` are believed; others are ignored.',
    '',
    cidrs,
  ),
  AUTH_FAILURE_LIMIT: key(
    'Failed authentications per remote address per window before further attempts get `RATE_LIMIT`.',
    '20',
    int(1, 100_000),
  ),
  AUTH_FAILURE_WINDOW_S: key('The window of `AUTH_FAILURE_LIMIT`, in seconds.', '60', int(1, 86_400)),
  CREDENTIAL_RECHECK_S: key(
    "How often live sessions' credentials are re-checked against Postgres (backstop of instant revocation).",
    '30',
    int(1, 3600),
  ),
  POLICY_CACHE_TTL_S: key(
    'Compiled policies are re-read in the background after this long (changes through the admin API apply at once on every node).',
    '30',
    int(1, 3600),
  ),
  RATE_LIMIT_FAILURE_MODE: key(
    'When Redis is down: `closed` refuses counted events with `UNAVAILABLE`; `open` enforces per-node limits only (logged loudly).',
    'closed',
    z.enum(['closed', 'open'], { error: 'must be closed or open' }),
  ),
  RATE_LIMIT_DEFAULTS: key(
    'JSON defaults used until the admin API stores a rate-limit document, e.g. `{"messages_per_second":100,"burst":200,"connects_per_minute_per_ip":60}`.',
    undefined,
    rateLimitDefaults.optional(),
  ),
  AUDIT_PAYLOADS: key('Store message content in audit records (`details.content`); its size and SHA-256 are always stored.', 'false', bool),
  AUDIT_RETENTION_DAYS: key(
    'Audit records older than this are purged (every six hours): whole partitions past it are dropped, each chain anchored where it was cut, so a record stays up to one `AUDIT_PARTITION_PERIOD` longer.',
    '365',
    int(1, 36_500),
  ),
  AUDIT_PARTITION_PERIOD: key(
    'Span of one partition of `audit_records` the writer creates: `month` or `day` (finer retention, more partitions). Existing partitions are kept; a changed period applies from the first period they do not cover.',
    'month',
    z.enum(['month', 'day'], { error: 'must be month or day' }),
  ),
  AUDIT_PARTITIONS_AHEAD: key(
    'Partitions of `audit_records` the writer keeps created ahead of the current one (at start and hourly).',
    '3',
    int(1, 366),
  ),
  AUDIT_WORKER: key('Run the audit writer in this process (set `false` when `apps/audit-worker` runs it).', 'true', bool),
  AUDIT_BATCH_MS: key(
    'Longest time an audit event waits in memory before it goes to Redis (its staging stream); a record a `delivered` waits for goes at the next turn of the event loop.',
    '5',
    int(1, 1000),
  ),
  AUDIT_BATCH_MAX: key('Most records in one queue job (one database transaction at most holds several).', '500', int(1, 10_000)),
  AUDIT_JOB_MS: key(
    "Longest time a record waits in its producer's staging stream before it joins a queue job (one job per producer per interval, sooner when `AUDIT_BATCH_MAX` are waiting). Adds at most this to the audit lag; does not delay `delivered`. Below saturation each job costs the queue and its writer about a dozen Redis commands and a transaction whatever its size, so a longer interval makes fewer, fuller jobs.",
    '100',
    int(1, 1000),
  ),
  AUDIT_WRITE_LINGER_MS: key(
    'How long the audit writer waits, when idle, for more batches to join a transaction (0: write each at once). Adds at most this to the audit lag; does not delay `delivered`.',
    '10',
    int(0, 1000),
  ),
  AUDIT_BUFFER_MAX: key(
    'Most records held in memory while Redis is unreachable; past it, new records are dropped and counted (`agw_audit_dropped_total`).',
    '100000',
    int(1000, 10_000_000),
  ),
  AUDIT_BUFFER_MAX_BYTES: key(
    'Most bytes of records held in memory while Redis is unreachable (two bytes per character of each serialized record, content included when `AUDIT_PAYLOADS=true`, plus 64 bytes a record); past it, new records are dropped and counted.',
    '134217728',
    int(1024 * 1024, 64 * 1024 * 1024 * 1024),
  ),
  AUDIT_ALLOW_VOLATILE_REDIS: key(
    'Acknowledge that Redis may lose queued audit records on a restart (no AOF with `appendfsync everysec` or `always`, or not verifiable): with NODE_ENV=production the gateway and `apps/admin` refuse to start on such a Redis unless this is `true`.',
    'false',
    bool,
  ),
  AUDIT_DURABLE_WAIT_MS: key(
    'Longest time `send` waits for its `message.routed` record to reach Redis before acknowledging; `0` never waits.',
    '1000',
    int(0, 30_000),
  ),
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
  MAX_CONNECTIONS_PER_ADDRESS: key(
    'Live agent connections from one client address on this node (`X-Forwarded-For` from `TRUSTED_PROXIES` counts); past it a connect is refused `LIMIT_EXCEEDED`. Generous: many agents may share a NAT address.',
    '1000',
    int(1, 10_000_000),
  ),
  AGENT_CONNECTS_PER_MINUTE: key(
    'Connects of one agent per minute, shared by every node (a reconnect storm, or two copies replacing each other); past it a connect is refused `RATE_LIMIT` with `retry_after_ms`.',
    '30',
    int(1, 100_000),
  ),
  MAX_TOPICS_PER_SESSION: key(
    'Topics one session may be subscribed to; past it `subscribe` is refused `LIMIT_EXCEEDED`.',
    '256',
    int(1, 100_000),
  ),
  MAX_PENDING_RESULTS_PER_AGENT: key(
    'Results one agent may await at once (`send` with `expect_result` not yet answered or timed out); past it such a `send` is refused `LIMIT_EXCEEDED`.',
    '1000',
    int(1, 1_000_000),
  ),
  MAX_INFLIGHT_DELIVERIES_PER_AGENT: key(
    "Messages delivered to one agent and not yet acknowledged by its client; past it a `send` to it is refused `RATE_LIMIT` (retry shortly) instead of piling up on the recipient's node.",
    '1000',
    int(1, 1_000_000),
  ),
  MAX_CARD_BYTES: key(
    'Largest agent card (name, capabilities, description, metadata as JSON): on `update_card`, at connect and on registration; larger is `PAYLOAD_TOO_LARGE`.',
    '16384',
    int(256, 1024 * 1024),
  ),
  MAX_JSON_DEPTH: key(
    'Deepest nesting of arrays and objects in a client frame or an admin JSON body, checked before anything walks or serializes it; deeper is `INVALID_MESSAGE`.',
    '64',
    int(4, 1000),
  ),
  SEND_BUFFER_LIMIT_BYTES: key(
    'Most bytes the gateway holds for one connection that does not read (a slow or stalled consumer); past it the session is closed with `slow_consumer`.',
    '16777216',
    int(65_536, 1024 * 1024 * 1024),
  ),
  WS_PING_INTERVAL_S: key(
    'Plain WebSocket keep-alive: the gateway pings every connection this often and drops one that missed the previous pong.',
    '25',
    int(1, 3600),
  ),
  WS_QUERY_TOKEN: key(
    'Accept the token in the `token` query parameter of `/gateway/connect` (for seed clients that cannot set headers; it may land in proxy logs). `false` accepts only `Authorization: Bearer`. Default: `true`, but `false` when NODE_ENV=production.',
    undefined,
    bool.optional(),
  ),
  HEARTBEAT_INTERVAL_S: key('How often agents are told to send `heartbeat`, in seconds.', '30', int(1, 3600)),
  HEARTBEAT_TIMEOUT_S: key('A connection silent this long is closed (`heartbeat_timeout`) and leaves the directory.', '60', int(2, 7200)),
  DELIVERY_TIMEOUT_MS: key("How long `send` waits for the recipient client's ack before answering `TIMEOUT`.", '10000', int(100, 600_000)),
  RESULT_TIMEOUT_MS: key('Default `timeout_ms` of `send` with `expect_result`.', '30000', int(100, 3_600_000)),
  MCP_TIMEOUT_MS: key(
    "How long an MCP `tools/call` waits for the agent's result before answering `isError` with `TIMEOUT` (the `timeout_ms` of its `send`).",
    '30000',
    int(100, 3_600_000),
  ),
  MCP_PUBLIC_URL: key(
    'Base URL of the agent plane as MCP clients reach it (`https://gateway.example.com`): the `resource` of the RFC 9728 metadata is `<MCP_PUBLIC_URL>/mcp`. Default: the origin of each request.',
    undefined,
    url(['https:', 'http:']).optional(),
  ),
  MCP_ALLOWED_HOSTS: key(
    'DNS-rebinding protection of `/mcp`: comma list of host names (no port) the `Host` header may name; empty: any host.',
    '',
    hostNames,
  ),
  MCP_ALLOWED_ORIGINS: key(
    'Comma list of browser origins (`https://app.example.com`) allowed to call `/mcp`; a request with any other `Origin` header is refused `FORBIDDEN` (empty: every request carrying an `Origin`).',
    '',
    origins,
  ),
  CONVERSATION_TTL_S: key(
    'How long the route of a `send` that names its `conversation_id` (without `expect_result`) is kept for a `result` to come back; a `send` with `expect_result` keeps its route for its `timeout_ms` plus a minute, and one with neither keeps none.',
    '3600',
    int(60, 30 * 86400),
  ),
  A2A_PUBLIC_URL: key(
    'Base URL of the agent plane as A2A clients reach it (`https://agents.example.com`), used in the agent cards. When unset, a card names the origin of the request that fetched it (its Host header): set it behind a proxy.',
    undefined,
    url(['https:', 'http:']).optional(),
  ),
  A2A_TIMEOUT_MS: key(
    "How long an A2A task waits for the agent's `result` before it ends `FAILED` (naming `TIMEOUT`).",
    '30000',
    int(100, 3_600_000),
  ),
  A2A_TASK_TTL_S: key('How long an A2A task is kept in Redis for `GetTask`, counted from its last change.', '86400', int(60, 30 * 86400)),
  A2A_STREAM_KEEPALIVE_S: key(
    'Interval of the SSE comment lines that keep an idle A2A stream (`SendStreamingMessage`, `SubscribeToTask`) open through proxies.',
    '15',
    int(1, 300),
  ),
  NODE_TIMEOUT_S: key(
    'A node that has not refreshed its liveness in Redis for this long is dead: its agents leave the directory and sends to them answer `AGENT_NOT_FOUND` at once. Refreshed every third of it.',
    '5',
    int(2, 300),
  ),
  SHUTDOWN_GRACE_MS: key('On SIGTERM, how long in-flight deliveries may finish before agents are disconnected.', '3000', int(0, 8000)),
  SECRETS_KEY: key(
    'Key for stored outbound credentials (A2A remotes, `a2a_credential`), at least 32 characters; AES-256-GCM keys are derived from it (HKDF-SHA256). Needed only once a credential is stored; a changed key is a clear error on use, see docs/a2a.md.',
    undefined,
    secretsKey,
    true,
  ),
  SECRETS_KEY_PREVIOUS: key(
    'The previous `SECRETS_KEY` during a rotation: credentials it sealed still open (each ciphertext names its key id); new ones are sealed with `SECRETS_KEY`.',
    undefined,
    secretsKey,
    true,
  ),
  A2A_EGRESS_ALLOW: key(
    'Comma list of what the gateway may call out to (remote A2A agents): host names (`agents.example.com`, `*.example.com`), `host:port`, `IP:port` or CIDRs. Empty: no egress. Loopback, link-local, private and metadata addresses are refused unless an IP or CIDR entry covers them.',
    '',
    egressAllow,
  ),
  A2A_EGRESS_TIMEOUT_MS: key(
    'Longest time one outbound A2A HTTP request may take (agent card, `SendMessage`, `GetTask`), connect to end of body.',
    '10000',
    int(100, 600_000),
  ),
  A2A_EGRESS_CONNECT_TIMEOUT_MS: key('Longest time to resolve and connect to a remote A2A agent.', '3000', int(50, 60_000)),
  A2A_EGRESS_MAX_RESPONSE_BYTES: key(
    'Largest response body accepted from a remote A2A agent; a larger one is refused (`PAYLOAD_TOO_LARGE`).',
    '1048576',
    int(1024, 64 * 1024 * 1024),
  ),
  GATEWAY_NAME: key('Name in the manifest.', 'agent-gateway', z.string().min(1).max(128)),
  GATEWAY_DESCRIPTION: key('Description in the manifest.', 'Enterprise gateway for AI agents', z.string().max(1024)),
  LOG_LEVEL: key(
    '`error`, `warn`, `log`, `debug` or `verbose`: that level and the ones before it are logged.',
    'log',
    z.enum(['error', 'warn', 'log', 'debug', 'verbose'], { error: 'must be one of error, warn, log, debug, verbose' }),
  ),
  LOG_FORMAT: key('`json` (one object per line) or `text`.', 'json', z.enum(['json', 'text'], { error: 'must be json or text' })),
  OTEL_SDK_DISABLED: key('`true`: no OpenTelemetry tracing, whatever else is set.', 'false', bool),
  OTEL_TRACES_EXPORTER: key(
    '`otlp` (traces go to the OTLP endpoint when one is set) or `none` (no tracing).',
    'otlp',
    z.enum(['otlp', 'none'], { error: 'must be otlp or none' }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: key(
    'Base URL of an OTLP/HTTP collector (`http://collector:4318`); traces go to `<it>/v1/traces`. Unset (and no `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): tracing is off, at no cost. See docs/observability.md.',
    undefined,
    url(['http:', 'https:']).optional(),
    'url',
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: key(
    'Full URL traces are posted to, used as is (overrides `OTEL_EXPORTER_OTLP_ENDPOINT` for traces).',
    undefined,
    url(['http:', 'https:']).optional(),
    'url',
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: key('OTLP encoding: `http/protobuf` or `http/json` (gRPC is not built in).', 'http/protobuf', otlpProtocol),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: key(
    'OTLP encoding of traces, overriding `OTEL_EXPORTER_OTLP_PROTOCOL`.',
    undefined,
    otlpProtocol.optional(),
  ),
  OTEL_EXPORTER_OTLP_HEADERS: key(
    'Headers sent to the collector, `key=value,…` (values percent-encoded), e.g. an API key: a secret, never logged.',
    undefined,
    keyValueList('header').optional(),
    true,
  ),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: key(
    'Headers for trace exports only, added to (and overriding) `OTEL_EXPORTER_OTLP_HEADERS`; a secret.',
    undefined,
    keyValueList('header').optional(),
    true,
  ),
  OTEL_EXPORTER_OTLP_TIMEOUT: key('Longest time one export request may take, in milliseconds.', '10000', int(100, 120_000)),
  OTEL_SERVICE_NAME: key('`service.name` of the spans.', 'agent-gateway', z.string().min(1).max(256)),
  OTEL_RESOURCE_ATTRIBUTES: key(
    'More resource attributes of the spans, `key=value,…` (`deployment.environment.name=prod`); `service.instance.id` is the `NODE_ID`.',
    undefined,
    keyValueList('resource attribute').optional(),
  ),
  OTEL_TRACES_SAMPLER: key(
    "Sampler: `parentbased_always_on`, `parentbased_traceidratio`, `traceidratio`, `always_on`, `always_off` or `parentbased_always_off`. `parentbased_*` follow the sampled flag of a client's `traceparent`.",
    'parentbased_always_on',
    z.enum(TRACE_SAMPLERS, { error: `must be one of ${TRACE_SAMPLERS.join(', ')}` }),
  ),
  OTEL_TRACES_SAMPLER_ARG: key('The ratio of the `*traceidratio` samplers, from 0 to 1 (`0.01`: one trace in a hundred).', '1', ratio),
  OTEL_BSP_SCHEDULE_DELAY: key('Milliseconds between two exports of finished spans.', '5000', int(10, 600_000)),
  OTEL_BSP_MAX_QUEUE_SIZE: key(
    'Finished spans held for export at most; past it new spans are dropped (counted in `agw_trace_spans_dropped_total`), never the process.',
    '2048',
    int(1, 1_000_000),
  ),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: key(
    'Spans in one export request at most (not more than `OTEL_BSP_MAX_QUEUE_SIZE`).',
    '512',
    int(1, 1_000_000),
  ),
} satisfies Record<string, ConfigKey<unknown>>;

/** The names of every configuration variable. */
export type ConfigKeyName = keyof typeof CONFIG_KEYS;

type Parsed = { [K in ConfigKeyName]: ReturnType<(typeof CONFIG_KEYS)[K]['parse']> };

/** The configuration of a gateway process, validated once at boot. */
/** What a client of one OpenID issuer needs (agent tokens and admin tokens each have one). */
export interface OidcIssuerSettings {
  issuer: string;
  audience: string;
  algorithms: string[];
  clockSkewS: number;
  clientId: string | undefined;
  clientSecret: string | undefined;
  jwksCooldownS: number;
  httpTimeoutMs: number;
  allowHttp: boolean;
}

export interface GatewayConfig {
  nodeEnv: string;
  production: boolean;
  nodeId: string;
  version: string;
  agentPlane: {
    host: string;
    port: number;
    maxMessageBytes: number;
    maxConnections: number;
    /** Plain WebSocket keep-alive ping interval. */
    wsPingIntervalS: number;
    /** What one non-reading connection may hold before it is closed with `slow_consumer`. */
    sendBufferLimitBytes: number;
    /** Whether `/gateway/connect` reads a `token` query parameter. */
    wsQueryToken: boolean;
    /** Live connections from one address on this node. */
    maxConnectionsPerAddress: number;
    /** Connects of one agent per minute, cluster-wide. */
    agentConnectsPerMinute: number;
  };
  /** Per-session and per-agent resource limits (each refused with a code the client can act on). */
  limits: {
    topicsPerSession: number;
    pendingResultsPerAgent: number;
    inflightDeliveriesPerAgent: number;
    cardBytes: number;
    jsonDepth: number;
  };
  adminPlane: {
    enabled: boolean;
    host: string;
    port: number;
    adminToken: string | undefined;
    corsOrigins: string[];
    /** Lifetime of a console session (SSO or break-glass), `ADMIN_SESSION_TTL_S`. */
    sessionTtlS: number;
    /** `ADMIN_PUBLIC_URL` without a trailing slash: the console's origin; null when unset. */
    publicUrl: string | null;
    /** Console cookies are `Secure` (and `__Host-`): `ADMIN_PUBLIC_URL` is https. */
    secureCookie: boolean;
  };
  /** Admin SSO: the IdP's access tokens for the admin API, and the browser login. */
  adminOidc: (OidcIssuerSettings & { roleClaim: string; roleMap: Record<string, AdminRoleGrant>; tenantClaim: string | undefined }) | null;
  /** The browser login of the admin console (authorization code + PKCE), when `ADMIN_PUBLIC_URL` is set. */
  adminLogin: { publicUrl: string; scopes: string; sessionTtlS: number; secureCookie: boolean } | null;
  databaseUrl: string;
  databasePoolSize: number;
  redis: {
    /** `REDIS_URL` as given (may carry a password: never log it, log `topology.where`). */
    url: string;
    keyPrefix: string;
    /** Standalone, Sentinel or Cluster, from `REDIS_URL` and `REDIS_CLUSTER_NODES`. */
    topology: RedisTopology;
  };
  auth: {
    methods: AuthMethod[];
    noneTenantId: string;
    failureLimit: number;
    failureWindowS: number;
    recheckS: number;
    trustedProxies: string[];
  };
  oidc: (OidcIssuerSettings & { agentClaim: string }) | null;
  tls: { certPath: string; keyPath: string; clientCaPath: string | undefined; crlPath: string | undefined; reloadS: number } | null;
  policy: { cacheTtlS: number };
  audit: {
    payloads: boolean;
    retentionDays: number;
    /** Span of one partition of `audit_records`, and how many the writer keeps created ahead of the current one. */
    partitionPeriod: 'month' | 'day';
    partitionsAhead: number;
    worker: boolean;
    batchMs: number;
    batchMax: number;
    jobMs: number;
    writeLingerMs: number;
    bufferMax: number;
    /** Bytes (see `heldRecordBytes`) of the records held in memory, at most. */
    bufferMaxBytes: number;
    durableWaitMs: number;
    /** Start in production on a Redis that may lose the queue (`AUDIT_ALLOW_VOLATILE_REDIS`). */
    allowVolatileRedis: boolean;
  };
  rateLimits: { failureMode: 'closed' | 'open'; defaults: RateLimitDefaults };
  heartbeat: { intervalS: number; timeoutS: number };
  routing: { deliveryTimeoutMs: number; defaultResultTimeoutMs: number; conversationTtlS: number; nodeTimeoutS: number };
  /** The A2A server of every agent (contract §9, inbound). */
  a2a: { publicUrl: string | null; timeoutMs: number; taskTtlS: number; streamKeepAliveS: number };
  shutdown: { graceMs: number };
  /** Sealing stored credentials (`SECRETS_KEY`); `key` undefined: none can be stored. */
  secrets: { key: string | undefined; previousKeys: string[] };
  /** Calls to remote A2A agents: where they may go and how long and large they may be. */
  a2aOutbound: { egressAllow: EgressAllowEntry[]; timeoutMs: number; connectTimeoutMs: number; maxResponseBytes: number };
  /** The MCP endpoint (contract §10). */
  mcp: { timeoutMs: number; publicUrl: string | null; allowedHosts: string[]; allowedOrigins: string[] };
  manifest: { name: string; description: string };
  log: { level: 'error' | 'warn' | 'log' | 'debug' | 'verbose'; format: 'json' | 'text' };
  /** OpenTelemetry tracing; `traces` null: off (no tracer provider, nothing on the hot path). */
  telemetry: {
    traces: { url: string; protocol: OtlpProtocol; headers: Record<string, string>; timeoutMs: number } | null;
    serviceName: string;
    resourceAttributes: Record<string, string>;
    sampler: { name: TraceSamplerName; ratio: number };
    batch: { scheduleDelayMs: number; maxQueueSize: number; maxExportBatchSize: number };
  };
}

/**
 * `text` with every secret of the environment replaced by `***`: values of secret variables and
 * passwords in the URL variables. For any start-up message that quotes a driver's error.
 */
export function scrubConfigSecrets(text: string, env: NodeJS.ProcessEnv): string {
  const secrets: (string | undefined)[] = [];
  const urls: (string | undefined)[] = [];
  for (const [name, def] of Object.entries(CONFIG_KEYS) as [ConfigKeyName, ConfigKey<unknown>][]) {
    if (def.secret === true) secrets.push(env[name]);
    else if (def.secret === 'url') urls.push(env[name] || def.default);
  }
  return scrubSecrets(text, secrets, urls);
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
      const shown = def.secret === true || raw === undefined ? '' : ` (got ${JSON.stringify(def.secret === 'url' ? redactUrl(raw) : raw)})`;
      problems.push(`${name} ${(error as Error).message}${shown}`);
    }
  }
  const p = parsed as Parsed;
  if (problems.length === 0) {
    if (p.NODE_ENV === 'production' && p.AUTH_METHODS.includes('none')) {
      problems.push('AUTH_METHODS must not include "none" when NODE_ENV=production: it lets any agent claim any agent_id');
    }
    const oidc = p.AUTH_METHODS.includes('oidc');
    if (oidc && !p.OIDC_ISSUER) problems.push('OIDC_ISSUER is required when AUTH_METHODS includes oidc');
    if (oidc && !p.OIDC_AUDIENCE) problems.push('OIDC_AUDIENCE is required when AUTH_METHODS includes oidc');
    if (!!p.OIDC_CLIENT_ID !== !!p.OIDC_CLIENT_SECRET) problems.push('OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together (introspection)');
    if (p.OIDC_ISSUER?.startsWith('http:') && !p.OIDC_ALLOW_HTTP)
      problems.push('OIDC_ISSUER must use https (set OIDC_ALLOW_HTTP=true for a local test IdP)');
    if (p.NODE_ENV === 'production' && p.OIDC_ALLOW_HTTP) problems.push('OIDC_ALLOW_HTTP must not be true when NODE_ENV=production');
    if (!!p.ADMIN_OIDC_ISSUER !== !!p.ADMIN_OIDC_AUDIENCE) problems.push('ADMIN_OIDC_ISSUER and ADMIN_OIDC_AUDIENCE go together');
    if (p.ADMIN_OIDC_ISSUER?.startsWith('http:') && !p.OIDC_ALLOW_HTTP)
      problems.push('ADMIN_OIDC_ISSUER must use https (set OIDC_ALLOW_HTTP=true for a local test IdP)');
    if (p.ADMIN_OIDC_CLIENT_SECRET && !p.ADMIN_OIDC_CLIENT_ID) problems.push('ADMIN_OIDC_CLIENT_SECRET needs ADMIN_OIDC_CLIENT_ID');
    // Without any ADMIN_OIDC_ISSUER the URL serves the console's break-glass sign-in alone; with one, SSO is meant.
    if (p.ADMIN_PUBLIC_URL && p.ADMIN_OIDC_ISSUER && !p.ADMIN_OIDC_CLIENT_ID)
      problems.push('ADMIN_PUBLIC_URL (browser login) needs ADMIN_OIDC_ISSUER and ADMIN_OIDC_CLIENT_ID');
    if (p.NODE_ENV === 'production' && p.ADMIN_PUBLIC_URL?.startsWith('http:'))
      problems.push('ADMIN_PUBLIC_URL must use https when NODE_ENV=production (the session cookie is only sent over TLS)');
    if (!!p.TLS_CERT !== !!p.TLS_KEY) problems.push('TLS_CERT and TLS_KEY go together');
    if (p.TLS_CRL && !p.TLS_CLIENT_CA) problems.push('TLS_CRL needs TLS_CLIENT_CA');
    if (p.TLS_CLIENT_CA && !p.TLS_CERT) problems.push('TLS_CLIENT_CA needs TLS_CERT and TLS_KEY (client certificates come over TLS)');
    if (p.AUTH_METHODS.includes('mtls') && !p.TLS_CLIENT_CA && p.TRUSTED_PROXIES.length === 0) {
      problems.push(
        'AUTH_METHODS includes mtls: set TLS_CERT, TLS_KEY and TLS_CLIENT_CA, or TRUSTED_PROXIES for a TLS-terminating proxy sending X-Forwarded-Client-Cert',
      );
    }
    if (p.SECRETS_KEY_PREVIOUS && !p.SECRETS_KEY)
      problems.push('SECRETS_KEY_PREVIOUS needs SECRETS_KEY (the key new credentials are sealed with)');
    if (p.SECRETS_KEY && p.SECRETS_KEY === p.SECRETS_KEY_PREVIOUS) problems.push('SECRETS_KEY_PREVIOUS must differ from SECRETS_KEY');
    if (p.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > p.OTEL_BSP_MAX_QUEUE_SIZE)
      problems.push(
        `OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${p.OTEL_BSP_MAX_EXPORT_BATCH_SIZE} > ${p.OTEL_BSP_MAX_QUEUE_SIZE})`,
      );
    if (p.REDIS_CLUSTER_NODES?.length) {
      try {
        redisTopology(p.REDIS_URL, p.REDIS_CLUSTER_NODES);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
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
    agentPlane: {
      host: p.HOST,
      port: p.PORT,
      maxMessageBytes: p.MAX_MESSAGE_BYTES,
      maxConnections: p.MAX_CONNECTIONS,
      wsPingIntervalS: p.WS_PING_INTERVAL_S,
      sendBufferLimitBytes: p.SEND_BUFFER_LIMIT_BYTES,
      wsQueryToken: p.WS_QUERY_TOKEN ?? p.NODE_ENV !== 'production',
      maxConnectionsPerAddress: p.MAX_CONNECTIONS_PER_ADDRESS,
      agentConnectsPerMinute: p.AGENT_CONNECTS_PER_MINUTE,
    },
    limits: {
      topicsPerSession: p.MAX_TOPICS_PER_SESSION,
      pendingResultsPerAgent: p.MAX_PENDING_RESULTS_PER_AGENT,
      inflightDeliveriesPerAgent: p.MAX_INFLIGHT_DELIVERIES_PER_AGENT,
      cardBytes: p.MAX_CARD_BYTES,
      jsonDepth: p.MAX_JSON_DEPTH,
    },
    adminPlane: {
      enabled: p.ADMIN_ENABLED,
      host: p.ADMIN_HOST,
      port: p.ADMIN_PORT,
      adminToken: p.ADMIN_TOKEN,
      corsOrigins: p.ADMIN_CORS_ORIGINS ?? [],
      sessionTtlS: p.ADMIN_SESSION_TTL_S,
      publicUrl: p.ADMIN_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
      secureCookie: p.ADMIN_PUBLIC_URL?.startsWith('https:') ?? false,
    },
    adminOidc:
      p.ADMIN_OIDC_ISSUER && p.ADMIN_OIDC_AUDIENCE
        ? {
            issuer: p.ADMIN_OIDC_ISSUER,
            audience: p.ADMIN_OIDC_AUDIENCE,
            algorithms: p.OIDC_ALGORITHMS,
            clockSkewS: p.OIDC_CLOCK_SKEW_S,
            clientId: p.ADMIN_OIDC_CLIENT_ID,
            clientSecret: p.ADMIN_OIDC_CLIENT_SECRET,
            jwksCooldownS: p.OIDC_JWKS_COOLDOWN_S,
            httpTimeoutMs: p.OIDC_HTTP_TIMEOUT_MS,
            allowHttp: p.OIDC_ALLOW_HTTP,
            roleClaim: p.ADMIN_ROLE_CLAIM,
            roleMap: p.ADMIN_ROLE_MAP ?? {
              admin: { role: 'admin', tenantId: null },
              operator: { role: 'operator', tenantId: null },
              auditor: { role: 'auditor', tenantId: null },
            },
            tenantClaim: p.ADMIN_TENANT_CLAIM,
          }
        : null,
    adminLogin:
      p.ADMIN_PUBLIC_URL && p.ADMIN_OIDC_ISSUER && p.ADMIN_OIDC_CLIENT_ID
        ? {
            publicUrl: p.ADMIN_PUBLIC_URL.replace(/\/+$/, ''),
            scopes: p.ADMIN_OIDC_SCOPES,
            sessionTtlS: p.ADMIN_SESSION_TTL_S,
            secureCookie: p.ADMIN_PUBLIC_URL.startsWith('https:'),
          }
        : null,
    databaseUrl: p.DATABASE_URL,
    databasePoolSize: p.DATABASE_POOL_SIZE,
    redis: { url: p.REDIS_URL, keyPrefix: p.REDIS_KEY_PREFIX, topology: redisTopology(p.REDIS_URL, p.REDIS_CLUSTER_NODES ?? []) },
    auth: {
      methods: p.AUTH_METHODS,
      noneTenantId: p.NONE_TENANT_ID,
      failureLimit: p.AUTH_FAILURE_LIMIT,
      failureWindowS: p.AUTH_FAILURE_WINDOW_S,
      recheckS: p.CREDENTIAL_RECHECK_S,
      trustedProxies: p.TRUSTED_PROXIES,
    },
    oidc:
      p.OIDC_ISSUER && p.OIDC_AUDIENCE
        ? {
            issuer: p.OIDC_ISSUER,
            audience: p.OIDC_AUDIENCE,
            agentClaim: p.OIDC_AGENT_CLAIM,
            algorithms: p.OIDC_ALGORITHMS,
            clockSkewS: p.OIDC_CLOCK_SKEW_S,
            clientId: p.OIDC_CLIENT_ID,
            clientSecret: p.OIDC_CLIENT_SECRET,
            jwksCooldownS: p.OIDC_JWKS_COOLDOWN_S,
            httpTimeoutMs: p.OIDC_HTTP_TIMEOUT_MS,
            allowHttp: p.OIDC_ALLOW_HTTP,
          }
        : null,
    tls:
      p.TLS_CERT && p.TLS_KEY
        ? { certPath: p.TLS_CERT, keyPath: p.TLS_KEY, clientCaPath: p.TLS_CLIENT_CA, crlPath: p.TLS_CRL, reloadS: p.TLS_RELOAD_S }
        : null,
    heartbeat: { intervalS: p.HEARTBEAT_INTERVAL_S, timeoutS: p.HEARTBEAT_TIMEOUT_S },
    routing: {
      deliveryTimeoutMs: p.DELIVERY_TIMEOUT_MS,
      defaultResultTimeoutMs: p.RESULT_TIMEOUT_MS,
      conversationTtlS: p.CONVERSATION_TTL_S,
      nodeTimeoutS: p.NODE_TIMEOUT_S,
    },
    a2a: {
      publicUrl: p.A2A_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
      timeoutMs: p.A2A_TIMEOUT_MS,
      taskTtlS: p.A2A_TASK_TTL_S,
      streamKeepAliveS: p.A2A_STREAM_KEEPALIVE_S,
    },
    shutdown: { graceMs: p.SHUTDOWN_GRACE_MS },
    secrets: { key: p.SECRETS_KEY, previousKeys: p.SECRETS_KEY_PREVIOUS ? [p.SECRETS_KEY_PREVIOUS] : [] },
    a2aOutbound: {
      egressAllow: p.A2A_EGRESS_ALLOW,
      timeoutMs: p.A2A_EGRESS_TIMEOUT_MS,
      connectTimeoutMs: p.A2A_EGRESS_CONNECT_TIMEOUT_MS,
      maxResponseBytes: p.A2A_EGRESS_MAX_RESPONSE_BYTES,
    },
    mcp: {
      timeoutMs: p.MCP_TIMEOUT_MS,
      publicUrl: p.MCP_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
      allowedHosts: p.MCP_ALLOWED_HOSTS,
      allowedOrigins: p.MCP_ALLOWED_ORIGINS,
    },
    manifest: { name: p.GATEWAY_NAME, description: p.GATEWAY_DESCRIPTION },
    policy: { cacheTtlS: p.POLICY_CACHE_TTL_S },
    audit: {
      payloads: p.AUDIT_PAYLOADS,
      retentionDays: p.AUDIT_RETENTION_DAYS,
      partitionPeriod: p.AUDIT_PARTITION_PERIOD,
      partitionsAhead: p.AUDIT_PARTITIONS_AHEAD,
      worker: p.AUDIT_WORKER,
      batchMs: p.AUDIT_BATCH_MS,
      batchMax: p.AUDIT_BATCH_MAX,
      jobMs: p.AUDIT_JOB_MS,
      writeLingerMs: p.AUDIT_WRITE_LINGER_MS,
      bufferMax: p.AUDIT_BUFFER_MAX,
      bufferMaxBytes: p.AUDIT_BUFFER_MAX_BYTES,
      durableWaitMs: p.AUDIT_DURABLE_WAIT_MS,
      allowVolatileRedis: p.AUDIT_ALLOW_VOLATILE_REDIS,
    },
    rateLimits: { failureMode: p.RATE_LIMIT_FAILURE_MODE, defaults: p.RATE_LIMIT_DEFAULTS ?? BUILT_IN_RATE_LIMIT_DEFAULTS },
    log: { level: p.LOG_LEVEL, format: p.LOG_FORMAT },
    telemetry: telemetryConfig(p),
  };
}

/** Tracing is on when an endpoint is set, unless `OTEL_SDK_DISABLED` or `OTEL_TRACES_EXPORTER=none`. */
function telemetryConfig(p: Parsed): GatewayConfig['telemetry'] {
  const url =
    p.OTEL_SDK_DISABLED || p.OTEL_TRACES_EXPORTER === 'none'
      ? null
      : tracesUrl(p.OTEL_EXPORTER_OTLP_ENDPOINT, p.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  return {
    traces: url
      ? {
          url,
          protocol: p.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? p.OTEL_EXPORTER_OTLP_PROTOCOL,
          headers: { ...p.OTEL_EXPORTER_OTLP_HEADERS, ...p.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
          timeoutMs: p.OTEL_EXPORTER_OTLP_TIMEOUT,
        }
      : null,
    serviceName: p.OTEL_SERVICE_NAME,
    resourceAttributes: p.OTEL_RESOURCE_ATTRIBUTES ?? {},
    sampler: { name: p.OTEL_TRACES_SAMPLER, ratio: p.OTEL_TRACES_SAMPLER_ARG },
    batch: {
      scheduleDelayMs: p.OTEL_BSP_SCHEDULE_DELAY,
      maxQueueSize: p.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: p.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
  };
}
