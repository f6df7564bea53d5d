import { ReplyError, type Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis-client.js';
import type { RedisPersistenceMode } from '#libs/protocol';

/**
 * Redis's persistence settings, and what they mean for data it holds (the audit queue) when it
 * restarts. Only AOF with `appendfsync everysec` or `always` counts as durable.
 */
export interface RedisPersistence {
  mode: RedisPersistenceMode;
  /** `aof_everysec` or `aof_always`: queued records survive a Redis restart. */
  durable: boolean;
  /** The settings as read, for a log line: `appendonly no, save ""`, `INFO persistence: aof_enabled:0`. */
  settings: string;
  /** What to change on Redis to make it durable; empty when it is. */
  fix: string;
}

// `ReplyError` is typed `any` by ioredis: an error reply of the server (unknown command, NOPERM…).
const RedisReplyError = ReplyError as new (...args: never[]) => Error;

/** True when Redis answered the command with an error (refused it), rather than not answering. */
function isRefusal(error: unknown): error is Error {
  return error instanceof RedisReplyError;
}

const FIX_APPENDONLY = 'set appendonly yes and appendfsync everysec on Redis (redis.conf, or CONFIG SET then CONFIG REWRITE)';
const FIX_APPENDFSYNC = 'set appendfsync everysec on Redis (redis.conf, or CONFIG SET then CONFIG REWRITE)';
const FIX_UNKNOWN =
  'make sure Redis runs with appendonly yes and appendfsync everysec (ask the provider if CONFIG is disabled), or allow this process to run CONFIG GET';

/**
 * What the `CONFIG GET` values mean. `save` (RDB snapshot points) is reported but never makes
 * Redis durable: a restart loses everything queued since the last snapshot.
 *
 * @example
 * persistenceFromConfig('yes', 'everysec', '3600 1').mode // 'aof_everysec'
 */
export function persistenceFromConfig(
  appendonly: string | undefined,
  appendfsync: string | undefined,
  save: string | undefined,
): RedisPersistence {
  if (appendonly === 'yes') {
    const settings = `appendonly yes, appendfsync ${appendfsync ?? '(not reported)'}`;
    if (appendfsync === 'everysec') return { mode: 'aof_everysec', durable: true, settings, fix: '' };
    if (appendfsync === 'always') return { mode: 'aof_always', durable: true, settings, fix: '' };
    if (appendfsync === 'no') return { mode: 'aof_no', durable: false, settings, fix: FIX_APPENDFSYNC };
    return { mode: 'unknown', durable: false, settings, fix: FIX_APPENDFSYNC };
  }
  if (appendonly === 'no') {
    const snapshots = save ? ` (RDB snapshots only: a restart loses what was queued since the last one)` : '';
    return {
      mode: 'volatile',
      durable: false,
      settings: `appendonly no, save ${JSON.stringify(save ?? '')}${snapshots}`,
      fix: FIX_APPENDONLY,
    };
  }
  return { mode: 'unknown', durable: false, settings: `appendonly ${appendonly ?? '(not reported)'}`, fix: FIX_UNKNOWN };
}

/**
 * What `INFO persistence` tells when `CONFIG` is refused: whether AOF is on (`aof_enabled`), not
 * its fsync policy. So AOF off is `volatile`, and AOF on is `unknown` (it may be `appendfsync no`).
 */
export function persistenceFromInfo(info: string, configRefusal: string): RedisPersistence {
  const enabled = /^aof_enabled:(\d)/m.exec(info)?.[1];
  const refused = `CONFIG GET refused (${configRefusal})`;
  if (enabled === '0')
    return { mode: 'volatile', durable: false, settings: `${refused}; INFO persistence: aof_enabled:0`, fix: FIX_APPENDONLY };
  if (enabled === '1')
    return {
      mode: 'unknown',
      durable: false,
      settings: `${refused}; INFO persistence: aof_enabled:1, but not the fsync policy`,
      fix: FIX_UNKNOWN,
    };
  return { mode: 'unknown', durable: false, settings: `${refused}; INFO persistence has no aof_enabled`, fix: FIX_UNKNOWN };
}

/**
 * Reads the persistence settings of the Redis behind `client`: `CONFIG GET appendonly`,
 * `appendfsync` and `save`; when Redis refuses `CONFIG` (managed services often disable it, ACLs
 * may forbid it), `INFO persistence`; when that is refused too, `unknown`. Rejects only when
 * Redis does not answer at all.
 */
export async function readRedisPersistence(client: Redis): Promise<RedisPersistence> {
  let config: (string | undefined)[];
  try {
    // One parameter per call (several in one CONFIG GET need Redis 7); they share a round trip.
    config = await Promise.all(['appendonly', 'appendfsync', 'save'].map((name) => configValue(client, name)));
  } catch (error) {
    if (!isRefusal(error)) throw error;
    const configRefusal = firstLine(error.message);
    try {
      return persistenceFromInfo(await client.info('persistence'), configRefusal);
    } catch (infoError) {
      if (!isRefusal(infoError)) throw infoError;
      return {
        mode: 'unknown',
        durable: false,
        settings: `CONFIG GET refused (${configRefusal}); INFO persistence refused (${firstLine(infoError.message)})`,
        fix: FIX_UNKNOWN,
      };
    }
  }
  const [appendonly, appendfsync, save] = config;
  return persistenceFromConfig(appendonly, appendfsync, save);
}

const RANK: Record<RedisPersistenceMode, number> = { volatile: 0, aof_no: 1, unknown: 2, aof_everysec: 3, aof_always: 4 };

/**
 * The persistence of the Redis behind `client`. On a cluster, every node's (masters and replicas:
 * a failover promotes a replica), the least durable of them, its settings prefixed by its address;
 * elsewhere {@link readRedisPersistence}'s (behind Sentinel: the current master's).
 */
export async function readPersistenceOf(client: RedisClient): Promise<RedisPersistence> {
  if (!isCluster(client)) return readRedisPersistence(client);
  const nodes = client.nodes('all');
  if (nodes.length === 0) throw new Error('no cluster node is known yet');
  const each = await Promise.all(
    nodes.map(async (node) => ({
      where: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`,
      persistence: await readRedisPersistence(node),
    })),
  );
  const worst = each.reduce((a, b) => (RANK[b.persistence.mode] < RANK[a.persistence.mode] ? b : a));
  const same = each.every((e) => e.persistence.mode === worst.persistence.mode);
  return {
    ...worst.persistence,
    settings: same ? `${worst.persistence.settings} (all ${each.length} nodes)` : `${worst.where}: ${worst.persistence.settings}`,
  };
}

/** `CONFIG GET name` answers `[name, value]`, or `[]` for a parameter this Redis does not have. */
async function configValue(client: Redis, name: string): Promise<string | undefined> {
  const reply = (await client.config('GET', name)) as string[];
  return reply[1];
}

// Redis error replies can quote the arguments; the first 120 characters say enough.
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line.trim();
}
