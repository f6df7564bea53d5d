import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** A tenant's counter lives this long after its last message (then `total_messages` starts again from 0). */
const COUNTER_TTL_MS = 30 * 86_400_000;

/**
 * Messages routed per tenant (`total_messages` of `/gateway/status`), counted in memory and added
 * to Redis in one round trip per flush, so the hot path never waits on Redis for a counter.
 */
@Injectable()
export class MessageCounterRepository {
  private pending = new Map<string, number>();

  constructor(private readonly redis: RedisService) {}

  increment(tenantId: string): void {
    this.pending.set(tenantId, (this.pending.get(tenantId) ?? 0) + 1);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const c = this.redis.command;
    try {
      // One MULTI per tenant's key (one slot), all sent together: a counter is never left without its TTL.
      await Promise.all(
        [...batch].map(async ([tenant, n]) => {
          const key = this.redis.key('stats', 'messages', tenant);
          const replies = (await c.multi().incrby(key, n).pexpire(key, COUNTER_TTL_MS).exec()) ?? [];
          const failed = replies.find(([error]) => error);
          if (failed) throw failed[0] as Error;
        }),
      );
    } catch (error) {
      for (const [tenant, n] of batch) this.pending.set(tenant, (this.pending.get(tenant) ?? 0) + n);
      throw error;
    }
  }

  async total(tenantId: string): Promise<number> {
    const stored = Number((await this.redis.command.get(this.redis.key('stats', 'messages', tenantId))) ?? 0);
    return stored + (this.pending.get(tenantId) ?? 0);
  }
}
