/** A host and port of a Redis node or sentinel. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/**
 * Which Redis the gateway runs on, as `REDIS_URL` and `REDIS_CLUSTER_NODES` say (docs/operations.md,
 * "Redis topologies"). Credentials are kept apart from the addresses so that `where` can be logged.
 */
export type RedisTopology =
  | {
      kind: 'standalone';
      /** `redis://` or `rediss://`, as given (ioredis parses it: user, password, TLS, db). */
      url: string;
      where: string;
    }
  | {
      kind: 'sentinel';
      sentinels: RedisEndpoint[];
      /** The name the sentinels monitor the master under (the URL's path). */
      masterName: string;
      username: string | undefined;
      password: string | undefined;
      sentinelUsername: string | undefined;
      sentinelPassword: string | undefined;
      db: number;
      /** TLS to the master and to the sentinels (`rediss+sentinel://`). */
      tls: boolean;
      where: string;
    }
  | {
      kind: 'cluster';
      /** Seed nodes (`REDIS_CLUSTER_NODES`); the rest of the cluster is discovered from them. */
      nodes: RedisEndpoint[];
      /** From `REDIS_URL` (its host and port are not used). */
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
      where: string;
    };

const SENTINEL_SCHEMES = ['redis+sentinel:', 'rediss+sentinel:'];
const SENTINEL_PARAMS = new Set(['sentinelUsername', 'sentinelPassword', 'db']);

/** Throws a message naming what is wrong (the caller prefixes the variable). */
function fail(message: string): never {
  throw new Error(message);
}

/** `host:port` or `[v6]:port`, with `defaultPort` when the port is left out. */
export function parseEndpoint(raw: string, defaultPort: number): RedisEndpoint {
  const text = raw.trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(text);
  const match = v6 ?? plain;
  if (!match?.[1]) fail(`has "${text}", which is not host:port`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`has port "${match[2]}", which is not a port number from 1 to 65535`);
  return { host: match[1], port };
}

const whereOf = (endpoints: RedisEndpoint[]): string =>
  endpoints.map((e) => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)).join(',');

function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(`has a ${what} that is not percent-encoded properly`);
  }
}

/**
 * Parses `redis+sentinel://[user:pass@]host1:26379,host2:26379/<master-name>[?sentinelPassword=…&sentinelUsername=…&db=N]`
 * (`rediss+sentinel://` for TLS to the master and the sentinels). Unknown parameters are refused.
 *
 * @example
 * parseSentinelUrl('redis+sentinel://:pw@s1:26379,s2/mymaster?db=2').sentinels // [{host:'s1',port:26379},{host:'s2',port:26379}]
 */
export function parseSentinelUrl(raw: string): Extract<RedisTopology, { kind: 'sentinel' }> {
  const scheme = SENTINEL_SCHEMES.find((s) => raw.toLowerCase().startsWith(`${s}//`));
  if (!scheme) fail('must start with redis+sentinel:// or rediss+sentinel://');
  const rest = raw.slice(scheme.length + 2);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = queryAt < 0 ? '' : rest.slice(queryAt + 1);
  const slash = beforeQuery.indexOf('/');
  if (slash < 0) fail('must name the master after the hosts (redis+sentinel://host:26379/<master-name>)');
  const authority = beforeQuery.slice(0, slash);
  const masterName = decoded(beforeQuery.slice(slash + 1), 'master name');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(masterName)) fail('must name the master after the hosts: 1-64 letters, digits, ".", "_", "-"');
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? null : authority.slice(0, at);
  const hosts = at < 0 ? authority : authority.slice(at + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== null) {
    const colon = userinfo.indexOf(':');
    username = decoded(colon < 0 ? userinfo : userinfo.slice(0, colon), 'user name') || undefined;
    password = colon < 0 ? undefined : decoded(userinfo.slice(colon + 1), 'password') || undefined;
  }
  const sentinels = hosts.split(',').map((h) => parseEndpoint(h, 26379));
  if (sentinels.length === 0 || hosts.trim() === '') fail('must list at least one sentinel host');
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (!SENTINEL_PARAMS.has(name)) fail(`has an unknown parameter "${name}" (known: ${[...SENTINEL_PARAMS].join(', ')})`);
  }
  const dbRaw = params.get('db') ?? '0';
  if (!/^\d{1,2}$/.test(dbRaw)) fail(`has db "${dbRaw}", which is not a database number`);
  return {
    kind: 'sentinel',
    sentinels,
    masterName,
    username,
    password,
    sentinelUsername: params.get('sentinelUsername') || undefined,
    sentinelPassword: params.get('sentinelPassword') || undefined,
    db: Number(dbRaw),
    tls: scheme === 'rediss+sentinel:',
    where: `sentinels ${whereOf(sentinels)} (master "${masterName}")`,
  };
}

/**
 * The topology of `REDIS_URL` and `REDIS_CLUSTER_NODES` (already checked one by one). With
 * cluster nodes, `REDIS_URL` must be `redis://` or `rediss://` and gives only the credentials and
 * TLS; a database other than 0 is refused (a cluster has only database 0).
 */
export function redisTopology(url: string, clusterNodes: string[]): RedisTopology {
  const sentinel = SENTINEL_SCHEMES.some((s) => url.toLowerCase().startsWith(s));
  if (clusterNodes.length > 0) {
    if (sentinel) fail('REDIS_CLUSTER_NODES cannot be combined with a redis+sentinel:// REDIS_URL (a cluster has no sentinels)');
    const parsed = new URL(url);
    const db = parsed.pathname.replace(/^\//, '');
    if (db !== '' && db !== '0')
      fail('REDIS_URL must not select a database when REDIS_CLUSTER_NODES is set (a cluster has only database 0)');
    const nodes = clusterNodes.map((n) => parseEndpoint(n, 6379));
    return {
      kind: 'cluster',
      nodes,
      username: decodeURIComponent(parsed.username) || undefined,
      password: decodeURIComponent(parsed.password) || undefined,
      tls: parsed.protocol === 'rediss:',
      where: `cluster ${whereOf(nodes)}`,
    };
  }
  if (sentinel) return parseSentinelUrl(url);
  const parsed = new URL(url);
  return { kind: 'standalone', url, where: `${parsed.hostname || 'localhost'}:${parsed.port || 6379}` };
}
