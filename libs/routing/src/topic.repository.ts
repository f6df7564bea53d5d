import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/**
 * Which nodes have subscribers of a topic, and how many: one hash per (tenant, topic), a field per
 * node holding that node's local count. A publisher reads it to know which nodes to send to.
 * A dead node's field stays until its topics are unsubscribed; readers skip nodes that are not live.
 */
@Injectable()
export class TopicRepository {
  constructor(private readonly redis: RedisService) {}

  // `|` appears in neither tenant ids nor topic names, so the key cannot be ambiguous.
  private key(tenantId: string, topic: string): string {
    return this.redis.key('topic', `${tenantId}|${topic}`);
  }

  async setCount(tenantId: string, topic: string, nodeId: string, count: number): Promise<void> {
    const key = this.key(tenantId, topic);
    if (count > 0) await this.redis.command.hset(key, nodeId, count);
    else await this.redis.command.hdel(key, nodeId);
  }

  async counts(tenantId: string, topic: string): Promise<Map<string, number>> {
    const raw = await this.redis.command.hgetall(this.key(tenantId, topic));
    return new Map(Object.entries(raw).map(([node, count]) => [node, Number(count)]));
  }

  /** Removes this node from every given topic (on shutdown). */
  async removeNode(topics: { tenantId: string; topic: string }[], nodeId: string): Promise<void> {
    if (topics.length === 0) return;
    const pipeline = this.redis.command.pipeline();
    for (const t of topics) pipeline.hdel(this.key(t.tenantId, t.topic), nodeId);
    await pipeline.exec();
  }
}
