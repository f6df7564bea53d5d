import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { RedisService } from '#libs/redis';
import { TtlCache } from './ttl-cache.js';

// How often the routes learnt on this node are written to Redis, in one command.
const FLUSH_INTERVAL_MS = 50;
// Routes are grouped in hashes per time bucket; a lookup reads every live bucket.
const BUCKETS_PER_TTL = 8;

/**
 * Who sent the last message of a conversation to an agent, so that the agent's `result` goes back
 * to them. Written on the recipient's node when a message is delivered: into a local cache that
 * the hot path reads, and, batched every 50 ms into one `HSET`, into a Redis hash per time bucket,
 * so that a result still finds its way after the recipient reconnects to another node. Routes live
 * in Redis between `CONVERSATION_TTL_S` and that plus one bucket (TTL / 8).
 */
@Injectable()
export class ConversationRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('Conversations');
  private readonly cache: TtlCache<string>;
  private readonly ttlMs: number;
  private readonly bucketMs: number;
  private pending: string[] = [];
  private readonly flusher: NodeJS.Timeout;
  private failing = false;

  constructor(
    private readonly redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.ttlMs = config.routing.conversationTtlS * 1000;
    this.bucketMs = Math.ceil(this.ttlMs / BUCKETS_PER_TTL);
    this.cache = new TtlCache(this.ttlMs, 200_000);
    this.flusher = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.flusher.unref();
  }

  remember(recipient: string, conversationId: string, sender: string): void {
    const field = `${recipient}\u0000${conversationId}`;
    this.cache.set(field, sender);
    this.pending.push(field, sender);
  }

  async lookup(recipient: string, conversationId: string): Promise<string | null> {
    const field = `${recipient}\u0000${conversationId}`;
    const cached = this.cache.get(field);
    if (cached !== undefined) return cached;
    const now = Date.now();
    const pipeline = this.redis.command.pipeline();
    // Newest bucket first: the latest message of the conversation wins.
    for (let i = 0; i <= BUCKETS_PER_TTL; i++) pipeline.hget(this.bucketKey(now - i * this.bucketMs), field);
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, value] of replies) {
      if (error) throw error;
      if (typeof value === 'string') return value;
    }
    return null;
  }

  /** Writes the routes learnt since the last flush (also called on shutdown). */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const key = this.bucketKey(Date.now());
    try {
      await this.redis.command
        .multi()
        .hset(key, ...batch)
        .pexpire(key, this.ttlMs + this.bucketMs)
        .exec();
      if (this.failing) this.logger.log('conversation routes are persisted again');
      this.failing = false;
    } catch (error) {
      // The local cache still routes results on this node; only a reconnect elsewhere loses them.
      if (!this.failing) this.logger.warn(`conversation routes not persisted (Redis down?): ${(error as Error).message}`);
      this.failing = true;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush();
  }

  private bucketKey(at: number): string {
    return this.redis.key('conv', String(Math.floor(at / this.bucketMs)));
  }
}
