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

  /** The failures in the current window (a plain GET: the common case, an address under its limit, costs one command). */
  async count(address: string): Promise<number> {
    return Number((await this.redis.command.get(this.redis.key('authfail', address))) ?? 0);
  }

  /** Milliseconds until the current window ends (0 when there is none). */
  async remainingMs(address: string): Promise<number> {
    const ttl = await this.redis.command.pttl(this.redis.key('authfail', address));
    return ttl > 0 ? ttl : 0;
  }
}
