import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '#libs/config';
import { createRedis, RedisService, type RedisClient } from '#libs/redis';
import { Inject } from '@nestjs/common';

/** What one trip to the shared bucket(s) answered. */
export interface BucketAnswer {
  /** Tokens granted (0 when refused). */
  granted: number;
  /** Tokens left in the most constrained bucket after the grant. */
  remaining: number;
  /** When refused: milliseconds until one token is back. */
  retryAfterMs: number;
  /** Milliseconds until the most constrained bucket is full again. */
  resetMs: number;
}

/**
 * One token-bucket step over up to two buckets (the agent's and its tenant's aggregate), atomic
 * and in one round trip. Time is Redis's own (`TIME`), so nodes with skewed clocks agree.
 * A bucket is a hash `{ tokens, ts }` that expires once it would be full again.
 *
 * KEYS: bucket, [tenant bucket]. ARGV: rate/s, burst, tenant rate/s (0: none), tenant burst, tokens wanted.
 * Returns { granted, remaining, retry_after_ms, reset_ms } as integers.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, rate, burst)
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if tokens == nil then return burst end
  return math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
end
local function store(key, tokens, rate, burst)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
end
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local trate, tburst = tonumber(ARGV[3]), tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local a = level(KEYS[1], rate, burst)
local avail = a
local b = nil
if trate > 0 then
  b = level(KEYS[2], trate, tburst)
  avail = math.min(a, b)
end
local grant = math.min(want, math.floor(avail))
local reset = math.ceil((burst - a + grant) * 1000 / rate)
if b ~= nil then reset = math.max(reset, math.ceil((tburst - b + grant) * 1000 / trate)) end
if grant >= 1 then
  store(KEYS[1], a - grant, rate, burst)
  if b ~= nil then store(KEYS[2], b - grant, trate, tburst) end
  return { grant, math.floor(avail - grant), 0, reset }
end
local wait = math.ceil((1 - a) * 1000 / rate)
if b ~= nil and b < 1 then wait = math.max(wait, math.ceil((1 - b) * 1000 / trate)) end
return { 0, 0, math.max(1, wait), reset }`;

/**
 * The shared token buckets in Redis, on a connection of their own that fails fast (no offline
 * queue, short command time-out): a rate-limit check must not hang when Redis does.
 */
@Injectable()
export class TokenBucketRepository implements OnModuleInit, OnApplicationShutdown {
  private readonly client: RedisClient;

  constructor(
    private readonly redis: RedisService,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.client = createRedis(config.redis.topology, {
      connectionName: `${config.nodeId}:ratelimit`,
      enableOfflineQueue: false,
      commandTimeout: 500,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      lazyConnect: true,
    });
    this.client.on('error', () => undefined);
    this.client.defineCommand('agwTake', { numberOfKeys: 2, lua: TAKE });
  }

  async onModuleInit(): Promise<void> {
    await this.client.connect().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }

  /**
   * Takes up to `want` tokens from the bucket at `key` (and the tenant's, when a tenant limit is
   * given). `slot` is the hash tag both keys share, so that the script's two keys are in one slot
   * of a Redis Cluster: `rl:{t:<tenant>}:m:<agent>` and `rl:{t:<tenant>}:t:<tenant>`; without it,
   * `rl:<key>` (a one-key bucket: connects per address or per agent).
   */
  async take(
    key: string,
    rate: number,
    burst: number,
    want: number,
    tenant?: { key: string; rate: number; burst: number },
    slot?: string,
  ): Promise<BucketAnswer> {
    // `defineCommand` adds the method at run time; ioredis's types cannot know it.
    const client = this.client as unknown as { agwTake: (...args: (string | number)[]) => Promise<number[]> };
    const bucket = (name: string): string => (slot === undefined ? this.redis.key('rl', name) : this.redis.key('rl', `{${slot}}`, name));
    const [granted = 0, remaining = 0, retryAfterMs = 0, resetMs = 0] = await client.agwTake(
      bucket(key),
      bucket(tenant?.key ?? key),
      rate,
      burst,
      tenant?.rate ?? 0,
      tenant?.burst ?? 0,
      want,
    );
    return { granted, remaining, retryAfterMs, resetMs };
  }
}
