import { afterAll, describe } from 'vitest';
import { uniqueId } from './support/env.js';
import { haScenario } from './support/ha-scenario.js';
import { startRedisSentinel, type TestRedisSentinel } from './support/redis-topology.js';
import { waitFor } from './support/agents.js';

// A private Sentinel group (a master, a replica, three sentinels with quorum 2 and
// down-after-milliseconds 1 s; AOF everysec, a password on the data nodes) on ports 7110-7114,
// under three real gateway processes that reach it through redis+sentinel://.
describe('three gateway nodes on Redis Sentinel', () => {
  let group: TestRedisSentinel | null = null;

  afterAll(async () => {
    await group?.destroy();
  });

  haScenario('sentinel', async () => {
    group = await startRedisSentinel({ basePort: 7110, downAfterMs: 1_000, password: 'sentinel-test-pw' });
    const g = group;
    return {
      env: { REDIS_URL: g.url },
      receiverNodeId: () => Promise.resolve(uniqueId('sentinel-two')),
      async killMaster() {
        const at = Date.now();
        await g.master.kill();
        return at;
      },
      promoted: () => waitFor(async () => (await g.currentMasterPort()) === g.replica.port, 20_000, 'the sentinels to promote the replica'),
      async describe() {
        return `master on ${await g.currentMasterPort()}`;
      },
    };
  });
});
