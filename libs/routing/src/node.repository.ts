import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** A gateway node as the cluster sees it. */
export interface NodeEntry {
  node_id: string;
  version: string;
  max_connections: number;
  started_at: string;
}

/** The live gateway nodes: each refreshes its entry; a dead node's entry expires. */
@Injectable()
export class NodeRepository {
  constructor(private readonly redis: RedisService) {}

  async refresh(entry: NodeEntry, ttlMs: number): Promise<void> {
    await this.redis.command
      .multi()
      .set(this.redis.key('node', entry.node_id), JSON.stringify(entry), 'PX', ttlMs)
      .zadd(this.redis.key('nodes'), Date.now() + ttlMs, entry.node_id)
      .exec();
  }

  async remove(nodeId: string): Promise<void> {
    await this.redis.command.multi().del(this.redis.key('node', nodeId)).zrem(this.redis.key('nodes'), nodeId).exec();
  }

  async live(): Promise<NodeEntry[]> {
    const index = this.redis.key('nodes');
    await this.redis.command.zremrangebyscore(index, '-inf', Date.now());
    const ids = await this.redis.command.zrange(index, 0, -1);
    if (ids.length === 0) return [];
    const raws = await this.redis.command.mget(ids.map((id) => this.redis.key('node', id)));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as NodeEntry);
  }
}
