import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** One gateway node's throughput over its last sampling interval, as the Overview shows it. */
export interface NodeStats {
  node_id: string;
  sampled_at: string;
  /** Messages and results routed per second by this node. */
  messages_per_second: number;
  /** Mean time from event to Postgres row of the audit records this node wrote; null when it wrote none. */
  audit_lag_s: number | null;
}

/**
 * Every node's latest {@link NodeStats} in one Redis hash (field = node id), so that any node's admin
 * plane can show the whole cluster. An entry older than `maxAgeMs` is a node that stopped: it is
 * left out and removed.
 */
/** How long the stats hash outlives the last node that published into it. */
const NODE_STATS_TTL_MS = 60_000;

@Injectable()
export class NodeStatsRepository {
  constructor(private readonly redis: RedisService) {}

  async publish(stats: NodeStats): Promise<void> {
    const key = this.redis.key('node-stats');
    // The hash lives as long as some node keeps publishing (every 2 s): a TTL like every other key.
    await this.redis.command.multi().hset(key, stats.node_id, JSON.stringify(stats)).pexpire(key, NODE_STATS_TTL_MS).exec();
  }

  async list(now: number, maxAgeMs: number): Promise<NodeStats[]> {
    const key = this.redis.key('node-stats');
    const all = Object.values(await this.redis.command.hgetall(key)).map((raw) => JSON.parse(raw) as NodeStats);
    const stale = all.filter((s) => now - Date.parse(s.sampled_at) > maxAgeMs);
    if (stale.length > 0) await this.redis.command.hdel(key, ...stale.map((s) => s.node_id));
    return all.filter((s) => !stale.includes(s));
  }
}
