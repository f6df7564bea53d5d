import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';

/** Failed authentications per remote address, counted in Redis so every node sees them. */
@Injectable()
export class AuthFailureRepository {
  constructor(private readonly redis: RedisService) {}

  /** Adds a failure; the window starts at the first failure. Returns the count. */
  async record(address: string, windowMs: number): Promise<number> {
    const key = this.redis.key('authfail', address);
    const [[, count]] = ((await this.redis.command.multi().incr(key).pexpire(key, windowMs, 'NX').exec()) ?? [[null, 0]]) as [
      [Error | null, number],
    ];
    return count;
  }

  /** The failures in the current window and the milliseconds until it ends. */
  async current(address: string): Promise<{ count: number; resetMs: number }> {
    const key = this.redis.key('authfail', address);
    const results = (await this.redis.command.multi().get(key).pttl(key).exec()) ?? [];
    const count = Number(results[0]?.[1] ?? 0);
    const ttl = Number(results[1]?.[1] ?? -1);
    return { count, resetMs: ttl > 0 ? ttl : 0 };
  }
}
