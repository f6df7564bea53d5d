import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { RedisService } from '#libs/redis';
import { TtlCache } from './ttl-cache.js';

/**
 * Who sent the last message of a conversation to an agent, so that the agent's `result` goes back
 * to them. Written on the recipient's node when a message is delivered: into a local cache (the
 * hot path reads it) and, without waiting, into Redis (so a result still finds its way after the
 * recipient reconnects to another node).
 */
@Injectable()
export class ConversationRepository {
  private readonly logger = new Logger('Conversations');
  private readonly cache: TtlCache<string>;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.ttlMs = config.routing.conversationTtlS * 1000;
    this.cache = new TtlCache(this.ttlMs, 200_000);
  }

  private key(recipient: string, conversationId: string): string {
    return this.redis.key('conv', recipient, conversationId);
  }

  remember(recipient: string, conversationId: string, sender: string): void {
    this.cache.set(`${recipient}\u0000${conversationId}`, sender);
    this.redis.command
      .set(this.key(recipient, conversationId), sender, 'PX', this.ttlMs)
      .catch((error: Error) => this.logger.warn(`conversation route not persisted: ${error.message}`));
  }

  async lookup(recipient: string, conversationId: string): Promise<string | null> {
    const cached = this.cache.get(`${recipient}\u0000${conversationId}`);
    if (cached !== undefined) return cached;
    return this.redis.command.get(this.key(recipient, conversationId));
  }
}
