import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisTopology } from '#libs/config';
import { createRedis, isCluster, reconnectDelayMs } from './redis-client.js';

describe('createRedis: one factory for the three topologies', () => {
  it('reconnects after 200 ms, 400 ms, 800 ms, then every second', () => {
    expect([1, 2, 3, 4, 5, 50].map(reconnectDelayMs)).toEqual([200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('gives a standalone URL to ioredis as it is', () => {
    const client = createRedis(redisTopology('redis://:pw@cache:6380/2', []), { lazyConnect: true });
    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({
      host: 'cache',
      port: 6380,
      password: 'pw',
      db: 2,
      maxRetriesPerRequest: 1,
      commandTimeout: 5_000,
    });
    client.disconnect();
  });

  it('asks the sentinels for the master, follows +switch-master, reconnects on READONLY', () => {
    const topology = redisTopology('rediss+sentinel://app:pw@s1:26380,s2/agw?sentinelPassword=spw&db=1', []);
    const client = createRedis(topology, { lazyConnect: true }) as Redis;
    expect(client.options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
      ],
      name: 'agw',
      role: 'master',
      username: 'app',
      password: 'pw',
      sentinelPassword: 'spw',
      db: 1,
      enableTLSForSentinelMode: true,
      failoverDetector: true,
    });
    expect(client.options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(client.options.reconnectOnError?.(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(client.options.sentinelRetryStrategy?.(3)).toBe(800);
    client.disconnect();
  });

  it('makes a Cluster with the node options per node and the queue, pipelining and retry options on the cluster', () => {
    const topology = redisTopology('rediss://gw:pw@ignored', ['r1:7000', 'r2:7001']);
    const client = createRedis(topology, {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      connectionName: 'n:cmd',
      shardedSubscribers: true,
    });
    expect(client).toBeInstanceOf(Cluster);
    expect(isCluster(client)).toBe(true);
    const options = (client as Cluster).options;
    expect(options).toMatchObject({
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      lazyConnect: true,
      shardedSubscribers: true,
      retryDelayOnFailover: 200,
    });
    expect(options.redisOptions).toMatchObject({
      username: 'gw',
      password: 'pw',
      tls: {},
      connectionName: 'n:cmd',
      maxRetriesPerRequest: 1,
    });
    expect(options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    expect(options.clusterRetryStrategy?.(2)).toBe(400);
    client.disconnect();
  });

  it('does not reconnect at all for the preflight (retryStrategy returning null)', () => {
    const cluster = createRedis(redisTopology('redis://x', ['r1:7000']), { lazyConnect: true, retryStrategy: () => null }) as Cluster;
    expect(cluster.options.clusterRetryStrategy?.(1)).toBeNull();
    const sentinel = createRedis(redisTopology('redis+sentinel://s1/agw', []), { lazyConnect: true, retryStrategy: () => null }) as Redis;
    expect(sentinel.options).toMatchObject({ failoverDetector: false });
    expect(sentinel.options.sentinelRetryStrategy?.(1)).toBeNull();
    cluster.disconnect();
    sentinel.disconnect();
  });
});
