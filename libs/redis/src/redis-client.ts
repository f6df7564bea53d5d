import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTopology } from '#libs/config';

/** A connection to the gateway's Redis, whichever its topology: one server (also behind Sentinel) or a cluster. */
export type RedisClient = Redis | Cluster;

/** Reconnect delay after the `attempt`-th failure: from 200 ms, doubling, capped at 1 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 4), 1_000);
}

/** How often a cluster client re-reads the slot map (CLUSTER SLOTS) whatever happens; see the cluster options below. */
export const SLOTS_REFRESH_INTERVAL_MS = 1_000;

// A master demoted by a failover answers writes with READONLY: reconnect (through the sentinels, to
// the new master) and resend the command, instead of failing every write until the next restart.
const reconnectOnReadonly = (error: Error): 2 | false => (error.message.startsWith('READONLY') ? 2 : false);

/**
 * A Redis client with the gateway's defaults for `topology` (config `redis.topology`): bounded
 * retries per command, a 5 s command and connect time-out, reconnects capped at 1 s apart.
 *
 * - standalone: `new Redis(url)`.
 * - sentinel: asks the sentinels for the master, and follows `+switch-master` (ioredis's failover
 *   detector) so a promotion is picked up at once rather than at the next reconnect attempt.
 * - cluster: `new Cluster(seeds)`; commands follow MOVED/ASK and retry through a failover
 *   (`retryDelayOnFailover`, `retryDelayOnClusterDown`, at most `maxRedirections` times), and the
 *   slot map is re-read every second; the connection-level options go to every node's connection. `shardedSubscribers` makes one
 *   subscriber connection per master, for `SSUBSCRIBE`.
 *
 * `options` are ioredis's; `retryStrategy: () => null` means no reconnect at all (the preflight).
 *
 * @example
 * const client = createRedis(config.redis.topology, { connectionName: 'node-1:cmd', enableAutoPipelining: true });
 */
export function createRedis(topology: RedisTopology, options: RedisOptions & { shardedSubscribers?: boolean } = {}): RedisClient {
  const { shardedSubscribers, ...rest } = options;
  const base: RedisOptions = {
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelayMs,
    ...rest,
  };
  // `retryStrategy: () => null`: one attempt, no reconnect (the preflight); also for sentinels and cluster nodes.
  const reconnects = typeof base.retryStrategy !== 'function' || base.retryStrategy(1) != null;
  switch (topology.kind) {
    case 'standalone':
      return new Redis(topology.url, base);
    case 'sentinel':
      return new Redis({
        ...base,
        sentinels: topology.sentinels,
        name: topology.masterName,
        role: 'master',
        ...(topology.username !== undefined && { username: topology.username }),
        ...(topology.password !== undefined && { password: topology.password }),
        ...(topology.sentinelUsername !== undefined && { sentinelUsername: topology.sentinelUsername }),
        ...(topology.sentinelPassword !== undefined && { sentinelPassword: topology.sentinelPassword }),
        db: topology.db,
        ...(topology.tls && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
        failoverDetector: reconnects,
        sentinelRetryStrategy: (attempt: number) => (reconnects ? reconnectDelayMs(attempt) : null),
        reconnectOnError: reconnectOnReadonly,
      });
    case 'cluster': {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a cluster reconnects its own way (clusterRetryStrategy)
      const { enableOfflineQueue, enableAutoPipelining, lazyConnect, retryStrategy, ...nodeOptions } = base;
      const clusterOptions: ClusterOptions = {
        ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
        ...(enableAutoPipelining !== undefined && { enableAutoPipelining }),
        ...(lazyConnect !== undefined && { lazyConnect }),
        clusterRetryStrategy: (attempt: number) => (reconnects ? reconnectDelayMs(attempt) : null),
        // A failed-over master: its slots answer from the promoted replica once the others agree.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 100,
        maxRedirections: 16,
        slotsRefreshTimeout: 2_000,
        // Auto-pipelined commands of several slots that all get MOVED (a failover) fail without
        // ioredis re-learning the slots (redis/ioredis#2075): the map is refreshed every second,
        // not every 5 s, so such commands fail for about a second at most.
        slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
        shardedSubscribers: shardedSubscribers ?? false,
        redisOptions: {
          ...nodeOptions,
          ...(topology.username !== undefined && { username: topology.username }),
          ...(topology.password !== undefined && { password: topology.password }),
          ...(topology.tls && { tls: {} }),
          reconnectOnError: reconnectOnReadonly,
        },
      };
      return new Cluster(topology.nodes, clusterOptions);
    }
  }
}

/** True for a client of a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
