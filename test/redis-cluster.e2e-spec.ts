import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { uniqueId } from './support/env.js';
import { haScenario } from './support/ha-scenario.js';
import { startRedisCluster, type RedisNode, type TestRedisCluster } from './support/redis-topology.js';

// A private Redis Cluster (three masters, a replica each, AOF everysec, cluster-node-timeout 1 s) on
// ports 7100-7105 (cluster bus 7150-7155), under three real gateway processes. The master killed
// mid-burst holds both the audit queue (`{bull}`) and the receiving node's channel.
describe('three gateway nodes on a Redis Cluster', () => {
  let cluster: TestRedisCluster | null = null;
  let killed: RedisNode | null = null;

  afterAll(async () => {
    await cluster?.destroy();
  });

  haScenario('cluster', async (prefix) => {
    cluster = await startRedisCluster({ basePort: 7100, nodeTimeoutMs: 1_000 });
    const c = cluster;
    const queueKey = `${prefix}{bull}:audit:wait`;
    const target = await c.masterOf(queueKey);
    return {
      // The host of REDIS_URL is not used with REDIS_CLUSTER_NODES; only its credentials and TLS are.
      env: { REDIS_URL: 'redis://127.0.0.1:7100', REDIS_CLUSTER_NODES: c.seeds },
      async receiverNodeId(p) {
        for (;;) {
          const id = uniqueId('cluster-two');
          if ((await c.masterOf(`${p}bus:node:${id}`)) === target) return id;
        }
      },
      async killMaster() {
        killed = await c.masterOf(queueKey);
        const at = Date.now();
        await killed.kill();
        return at;
      },
      promoted: () => c.healthy(),
      // Node-to-node channels are sharded pub/sub (each on the one shard that owns its slot); no node channel is classic pub/sub.
      async afterwards(nodeIds) {
        const sharded = new Set<string>();
        const classic = new Set<string>();
        for (const node of c.nodes.filter((n) => n.running())) {
          const r = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true });
          await r.connect();
          for (const ch of (await r.call('PUBSUB', 'SHARDCHANNELS', `${prefix}bus:node:*`)) as string[]) sharded.add(ch);
          for (const ch of (await r.call('PUBSUB', 'CHANNELS', `${prefix}bus:*`)) as string[]) classic.add(ch);
          r.disconnect();
        }
        expect([...sharded].sort()).toEqual(nodeIds.map((id) => `${prefix}bus:node:${id}`).sort());
        expect([...classic].filter((ch) => ch.startsWith(`${prefix}bus:node:`))).toEqual([]);
        expect(classic).toContain(`${prefix}bus:identity`);
      },
      async describe() {
        return `audit queue's master on ${(await c.masterOf(queueKey)).port}`;
      },
    };
  });
});
