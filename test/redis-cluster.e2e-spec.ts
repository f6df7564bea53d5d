import { afterAll, describe } from 'vitest';
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
      async describe() {
        return `audit queue's master on ${(await c.masterOf(queueKey)).port}`;
      },
    };
  });
});
