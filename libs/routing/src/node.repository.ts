import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** A gateway node as the cluster sees it. */
export interface NodeEntry {
  node_id: string;
  version: string;
  max_connections: number;
  started_at: string;
}

/**
 * The gateway nodes in Redis: `node:<id>` holds a live node's entry with a short TTL
 * (`NODE_TIMEOUT_S`) that the node keeps refreshing, and the sorted set `nodes` scores each node by
 * when that entry expires. A member whose score is past is a node that died: whoever sees it first
 * removes what it left (its presence) and then the member. The entry and the index are separate
 * keys (different slots on a Redis Cluster), written by separate commands.
 */
@Injectable()
export class NodeRepository {
  constructor(private readonly redis: RedisService) {}

  /** Writes the node's entry; false when it was not there any more (expired: others may have reaped the node). */
  async refresh(entry: NodeEntry, ttlMs: number): Promise<boolean> {
    const index = this.redis.key('nodes');
    const c = this.redis.command;
    // Separate commands (the entry and the index are in different slots on a cluster), sent together.
    // The index is written after the entry: a reader that finds the member finds the entry too.
    const previous = await c.set(this.redis.key('node', entry.node_id), JSON.stringify(entry), 'PX', ttlMs, 'GET');
    // The index lives as long as some node refreshes it; dead members are reaped, not kept.
    await Promise.all([c.zadd(index, Date.now() + ttlMs, entry.node_id), c.pexpire(index, ttlMs * 4)]);
    return previous !== null;
  }

  /** Removes a node that stops on purpose (its sessions were closed first). */
  async remove(nodeId: string): Promise<void> {
    const c = this.redis.command;
    await Promise.all([c.del(this.redis.key('node', nodeId)), c.zrem(this.redis.key('nodes'), nodeId)]);
  }

  /** The entries of the live nodes. */
  async live(): Promise<NodeEntry[]> {
    const ids = await this.redis.command.zrangebyscore(this.redis.key('nodes'), Date.now(), '+inf');
    if (ids.length === 0) return [];
    const raws = await this.redis.getMany(ids.map((id) => this.redis.key('node', id)));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as NodeEntry);
  }

  /** Whether a node's entry is there (it refreshed within `NODE_TIMEOUT_S`). */
  async isLive(nodeId: string): Promise<boolean> {
    return (await this.redis.command.exists(this.redis.key('node', nodeId))) === 1;
  }

  /** Nodes whose entry expired without a clean stop: they died. */
  dead(): Promise<string[]> {
    return this.redis.command.zrangebyscore(this.redis.key('nodes'), '-inf', Date.now());
  }

  /** Drops a dead node from the index once what it left is removed. */
  async forget(nodeId: string): Promise<void> {
    await this.redis.command.zrem(this.redis.key('nodes'), nodeId);
  }
}
