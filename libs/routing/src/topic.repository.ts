import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** How long a topic's hash lives without a refresh from a node with subscribers. */
export const TOPIC_TTL_MS = 180_000;

/**
 * Which nodes have subscribers of a topic, and how many: one hash per (tenant, topic), a field per
 * node holding that node's local count. A publisher reads it to know which nodes to send to.
 * Every write sets the hash's TTL ({@link TOPIC_TTL_MS}) and each node re-writes its counts well
 * within it, so the hash of a topic whose subscribers' nodes all died expires; a dead node's field
 * in a topic that lives on is removed by the next publisher, which skips nodes that are not live.
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
    if (count > 0) await this.redis.command.multi().hset(key, nodeId, count).pexpire(key, TOPIC_TTL_MS).exec();
    else await this.redis.command.hdel(key, nodeId);
  }

  /** Re-writes this node's counts and the hashes' TTLs, in one round trip (per master on a cluster). */
  async refresh(counts: { tenantId: string; topic: string; count: number }[], nodeId: string): Promise<void> {
    if (counts.length === 0) return;
    const c = this.redis.command;
    // One command per key, auto-pipelined (an explicit pipeline cannot span a cluster's masters).
    await Promise.all(
      counts.flatMap(({ tenantId, topic, count }) => {
        const key = this.key(tenantId, topic);
        return [c.hset(key, nodeId, count), c.pexpire(key, TOPIC_TTL_MS)];
      }),
    );
  }

  async counts(tenantId: string, topic: string): Promise<Map<string, number>> {
    const raw = await this.redis.command.hgetall(this.key(tenantId, topic));
    return new Map(Object.entries(raw).map(([node, count]) => [node, Number(count)]));
  }

  /** Removes this node from every given topic (on shutdown). */
  async removeNode(topics: { tenantId: string; topic: string }[], nodeId: string): Promise<void> {
    if (topics.length === 0) return;
    await Promise.all(topics.map((t) => this.redis.command.hdel(this.key(t.tenantId, t.topic), nodeId)));
  }
}
